package dev.waymark.ingest;

import java.time.Duration;

/**
 * Progress of a run, for the CLI's lines or progress bar. Called from the run's writer thread, in
 * order. Every method has an empty default.
 */
public interface IngestListener {

  /**
   * The run starts at file {@code startIndex} (0-based) of {@code total}, named {@code startName}
   * (null when every file is committed already); {@code resumed} is whether a checkpoint said where
   * to start.
   */
  default void started(int startIndex, int total, String startName, boolean resumed) {}

  /** File {@code index} (0-based) is committed, with its counts. */
  default void fileCommitted(int index, int total, String name, long newRows, long duplicates) {}

  /** File {@code index} was refused and quarantined. */
  default void fileQuarantined(int index, int total, String name, String error) {}

  /** A transient failure; the unit is retried from its beginning after {@code delay}. */
  default void retrying(int attempt, int maxAttempts, Duration delay, Throwable error) {}

  /** The run has finished. */
  default void finished(IngestSummary summary) {}
}
