package dev.waymark.ingest;

import java.time.Duration;

/**
 * Progress of a run, for the CLI's lines or progress bar. Every method has an empty default.
 *
 * <p>A run with one partition calls {@link #started}, {@link #fileCommitted(int, int, String, long,
 * long)}, {@link #fileQuarantined(int, int, String, String)} and {@link #retrying(int, int,
 * Duration, Throwable)}; a run with several calls their partitioned forms instead, with indexes and
 * totals within the partition. Calls come from the run's worker threads, one at a time (the run
 * serialises them), each partition's in order.
 */
public interface IngestListener {

  /**
   * The run starts at file {@code startIndex} (0-based) of {@code total}, named {@code startName}
   * (null when every file is committed already); {@code resumed} is whether a checkpoint said where
   * to start.
   */
  default void started(int startIndex, int total, String startName, boolean resumed) {}

  /**
   * A partitioned run starts: {@code total} files in {@code partitions} partitions run by {@code
   * workers} threads; {@code resumed} partitions resume from a checkpoint, and {@code committed}
   * files were committed before this run.
   */
  default void startedPartitions(
      int total, int partitions, int workers, int resumed, int committed) {}

  /** File {@code index} (0-based) is committed, with its counts. */
  default void fileCommitted(int index, int total, String name, long newRows, long duplicates) {}

  /** File {@code index} (0-based) of the partition's {@code total} files is committed. */
  default void fileCommitted(
      String partition, int index, int total, String name, long newRows, long duplicates) {}

  /** File {@code index} was refused and quarantined. */
  default void fileQuarantined(int index, int total, String name, String error) {}

  /** File {@code index} (0-based) of the partition's {@code total} files was quarantined. */
  default void fileQuarantined(String partition, int index, int total, String name, String error) {}

  /** A transient failure; the unit is retried from its beginning after {@code delay}. */
  default void retrying(int attempt, int maxAttempts, Duration delay, Throwable error) {}

  /** A transient failure in a partition; its unit is retried after {@code delay}. */
  default void retrying(
      String partition, int attempt, int maxAttempts, Duration delay, Throwable error) {
    retrying(attempt, maxAttempts, delay, error);
  }

  /** The run has finished. */
  default void finished(IngestSummary summary) {}
}
