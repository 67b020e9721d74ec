package dev.waymark.ingest;

import dev.waymark.WaymarkException;

/** A transient failure (a lost connection, a busy database) that outlived its retries. Exit 75. */
public final class RetriesExhaustedException extends WaymarkException {
  public RetriesExhaustedException(String message, Throwable cause) {
    super(Kind.TRANSIENT_EXHAUSTED, message, cause);
  }
}
