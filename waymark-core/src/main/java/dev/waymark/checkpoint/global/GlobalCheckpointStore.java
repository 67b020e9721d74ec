package dev.waymark.checkpoint.global;

import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * Where a partitioned job's two-phase global checkpoints and its success or failure marker live:
 * files under the job's state folder ({@code FileGlobalCheckpointStore}) or database rows ({@code
 * JdbcGlobalCheckpointStore}).
 *
 * <h2>The protocol</h2>
 *
 * <pre>{@code
 * long n = store.issueBarrier();                       // 1. barrier N, durable
 * store.mark(n, PartitionMark.of("0", committed0));    // 2. each partition's committed position
 * store.mark(n, PartitionMark.of("1", committed1));    //    at its next unit boundary
 * store.complete(n, List.of("0", "1"));                // 3. "N complete", one atomic write
 * }</pre>
 *
 * <p>Only step 3 makes N usable: barriers and markers without a complete record (a crash between
 * them) are partial, never read for recovery, and deleted when a writer next opens the store.
 * Numbers grow across runs: a barrier never reuses the number of one issued before, complete or
 * not.
 *
 * <p>Writes need the job's writer (its lock, or its epoch in the database); reads may run beside
 * it. Implementations are thread-safe.
 */
public interface GlobalCheckpointStore extends AutoCloseable {
  /** Default number of complete global checkpoints kept. */
  int DEFAULT_KEEP = 10;

  /** The job's name. */
  String job();

  /**
   * Durably records barrier N, one more than the last barrier ever issued, and returns N.
   *
   * @throws dev.waymark.WaymarkException if the write fails
   */
  long issueBarrier();

  /**
   * Durably records {@code mark} as its partition's marker for barrier {@code n}.
   *
   * @throws IllegalStateException if {@code n} is not the barrier last issued
   * @throws dev.waymark.WaymarkException if the write fails
   */
  void mark(long n, PartitionMark mark);

  /**
   * Writes "global checkpoint N complete" atomically, holding the markers of {@code partitions},
   * then drops the markers and all but the last {@code keep} complete checkpoints.
   *
   * @throws IllegalStateException if a partition has no marker for {@code n}
   * @throws dev.waymark.WaymarkException if the write fails; N is then not complete
   */
  GlobalCheckpoint complete(long n, Collection<String> partitions);

  /**
   * The newest complete global checkpoint, if any.
   *
   * @throws dev.waymark.checkpoint.CheckpointInvalidException if its record is damaged
   */
  Optional<GlobalCheckpoint> lastComplete();

  /** The numbers of the kept complete global checkpoints, ascending. */
  List<Long> completeNumbers();

  /**
   * Complete global checkpoint {@code n}.
   *
   * @throws GlobalCheckpointNotAvailableException if {@code n} is not complete or no longer kept;
   *     the message lists the kept ones
   * @throws dev.waymark.checkpoint.CheckpointInvalidException if its record is damaged
   */
  GlobalCheckpoint read(long n);

  /**
   * The success or failure marker of the job's last run, if it has one.
   *
   * @throws dev.waymark.checkpoint.CheckpointInvalidException if the marker is damaged
   */
  Optional<JobOutcome> outcome();

  /** Durably records the run's outcome, replacing any earlier one. */
  void recordOutcome(JobOutcome outcome);

  /**
   * Durably removes the success and failure markers: a new run starts, or the job's position was
   * moved (rollback, reset), so the last outcome no longer describes it.
   */
  void clearOutcome();

  @Override
  void close();
}
