package dev.waymark.ingest;

import dev.waymark.WaymarkException;

/** A run refused before it started, because of how it was asked for (a flag, a setting). */
public final class BadUsageException extends WaymarkException {
  public BadUsageException(String message) {
    super(message);
  }
}
