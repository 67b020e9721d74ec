package dev.waymark.ingest;

import java.time.Duration;
import java.util.List;

/**
 * The totals of one run (this process), not of the whole job.
 *
 * @param job the job
 * @param totalFiles files in the listing
 * @param startIndex with one partition, the first file this run processed (0-based); with several,
 *     how many files were committed before this run
 * @param files files committed by this run (quarantined ones included)
 * @param rowsRead records read
 * @param newRows rows really inserted
 * @param duplicates records whose dedup key was already present
 * @param badFiles files quarantined, with their errors
 * @param units units of work committed
 * @param elapsed wall time of the run
 * @param partitions the same totals per partition, in partition order (one entry for an
 *     unpartitioned run)
 */
public record IngestSummary(
    String job,
    int totalFiles,
    int startIndex,
    int files,
    long rowsRead,
    long newRows,
    long duplicates,
    List<BadFile> badFiles,
    long units,
    Duration elapsed,
    List<Partition> partitions) {

  /** A quarantined file. */
  public record BadFile(String name, String position, String error) {}

  /**
   * One partition's totals in this run.
   *
   * @param partition its id
   * @param totalFiles files of the listing in this partition
   * @param startIndex the first of them this run processed (0-based); also how many were committed
   *     before
   * @param files files committed by this run
   * @param rowsRead records read
   * @param newRows rows really inserted
   * @param duplicates records whose dedup key was already present
   * @param badFiles files quarantined
   * @param units units of work committed
   */
  public record Partition(
      String partition,
      int totalFiles,
      int startIndex,
      int files,
      long rowsRead,
      long newRows,
      long duplicates,
      int badFiles,
      long units) {}

  /** Records read per second of wall time. */
  public double rowsPerSecond() {
    double seconds = elapsed.toNanos() / 1e9;
    return seconds <= 0 ? 0 : rowsRead / seconds;
  }
}
