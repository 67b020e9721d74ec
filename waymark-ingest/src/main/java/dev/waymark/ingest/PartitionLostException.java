package dev.waymark.ingest;

import dev.waymark.WaymarkException;

/**
 * Thrown by a {@link PartitionHooks#beforeCommit} guard when this worker no longer owns the
 * partition (its lease was taken over): the unit is rolled back and the worker moves on to another
 * partition instead of failing the run.
 */
public final class PartitionLostException extends WaymarkException {
  public PartitionLostException(String message) {
    super(message);
  }
}
