package dev.waymark.checkpoint;

import java.util.List;
import java.util.Optional;

/**
 * Read access to one job's checkpoints. Implementations are thread-safe.
 *
 * <p>Reads never guess: a checkpoint that exists but cannot be trusted throws {@link
 * CheckpointInvalidException}; it is never reported as absent.
 */
public interface CheckpointReader {

  /** The partition used by jobs that are not partitioned. */
  String DEFAULT_PARTITION = "0";

  /** The job this reader reads. */
  String job();

  /**
   * Returns the partition's current checkpoint, or empty if the partition has never committed.
   *
   * @throws CheckpointInvalidException if a checkpoint exists but is unreadable, damaged, another
   *     job's or partition's, of an unknown or unmigrated format version, or if the partition
   *     committed before and its checkpoint is now missing
   * @throws IllegalArgumentException if {@code partition} is not a valid name
   */
  Optional<Checkpoint> read(String partition);

  /** {@link #read(String)} of the {@linkplain #DEFAULT_PARTITION default partition}. */
  default Optional<Checkpoint> read() {
    return read(DEFAULT_PARTITION);
  }

  /** The partitions that have state in this store, sorted by name. */
  List<String> partitions();

  /**
   * Returns the kept history of a partition, oldest first. The newest entry is the current
   * checkpoint, unless retention keeps no history.
   *
   * @throws CheckpointInvalidException if a kept entry is damaged
   */
  List<Checkpoint> history(String partition);

  /**
   * The job's recorded partition layout, or empty if none was recorded (a job that never recorded
   * one, or a store that cannot keep one).
   *
   * @throws CheckpointInvalidException if a recorded layout is damaged
   */
  default Optional<PartitionLayout> layout() {
    return Optional.empty();
  }
}
