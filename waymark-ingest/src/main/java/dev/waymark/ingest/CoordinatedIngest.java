package dev.waymark.ingest;

import dev.waymark.WaymarkException;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.FencedException;
import dev.waymark.checkpoint.jdbc.ConnectionSource;
import dev.waymark.checkpoint.jdbc.JdbcCheckpointStore;
import dev.waymark.checkpoint.jdbc.JdbcStoreOptions;
import dev.waymark.ingest.IngestOptions.CheckpointStoreKind;
import dev.waymark.ingest.coord.Coordinator;
import dev.waymark.ingest.coord.Lease;
import dev.waymark.ingest.sink.JdbcUrls;
import dev.waymark.ingest.sink.Sink;
import dev.waymark.ingest.sink.TableSpec;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * An ingestion run as one of many worker processes of a job: the partitioned runner, with the
 * partitions it runs chosen by a {@link Coordinator} (claimed, or taken over from a worker whose
 * lease expired) and each unit's commit fenced by the partition's epoch in the data's own
 * transaction. Runs until every partition of the job is done, by this worker or another. The job's
 * global checkpoints and success marker are written through {@link WorkerGlobals}, never by the
 * runner's own coordinator ({@link PartitionHooks#ownsGlobalCheckpoints}).
 *
 * <h2>When a worker job fails</h2>
 *
 * A job fails when running one of its partitions fails, in the worker that holds it, on an error
 * that running it again would meet again ({@link #failsTheJob}): a malformed file with {@code
 * --on-bad-file fail} (exit 5), a file deleted or arrived late behind the partition's checkpoint, a
 * damaged checkpoint, a database error that is not transient. That worker records the job failed
 * and its failure marker ({@link Coordinator#failJob}), frees the partition and exits with the
 * error's code. No worker claims a partition of the job from then on, and the others stop at their
 * next unit boundary with {@link JobFailedException} (exit 6), their committed work kept. Not a job
 * failure, because another worker, or this one run again, may well succeed: a transient failure
 * that outlived its retries (exit 75), a lost lease, a stop (interrupt), the JVM's own failure (out
 * of memory), and anything before the worker claimed a partition (its flags, the coordinator, the
 * input directory it sees). A worker that joins a failed job clears the failure and resumes it.
 */
public final class CoordinatedIngest {
  private CoordinatedIngest() {}

  /**
   * Runs {@code options} as a worker of {@code coordinator}'s job.
   *
   * @throws IllegalArgumentException if {@code options} cannot run as a worker (the checkpoint must
   *     be in the database, the coordinator's)
   * @throws BadInputException if a file is malformed and {@code --on-bad-file} is {@code fail}
   * @throws RetriesExhaustedException if a transient failure outlived its retries
   * @throws WaymarkException for anything else; a partition's checkpoint never passes uncommitted
   *     work, and never moves once another worker has taken the partition over
   */
  public static IngestSummary run(
      IngestOptions options, IngestListener listener, Coordinator coordinator) {
    if (options.checkpointStore != CheckpointStoreKind.DB) {
      throw new IllegalArgumentException(
          "A worker keeps its checkpoints in the database (--checkpoint-store db): they are"
              + " committed with the rows, fenced by the partition's epoch.");
    }
    if (options.partitions != coordinator.spec().partitions()) {
      throw new IllegalArgumentException(
          "--partitions "
              + options.partitions
              + " differs from the coordinator's job, which has "
              + coordinator.spec().partitions());
    }
    // Every worker creates the same tables as it starts; one at a time, or they collide.
    coordinator.setUpExclusively(
        () -> {
          try (Sink sink =
              Sink.open(
                  options.db,
                  new TableSpec(options.table, List.copyOf(options.columns.keySet())))) {
            sink.createTables();
          } catch (SQLException e) {
            throw new WaymarkException(
                "Cannot create table "
                    + options.table
                    + ": "
                    + JdbcUrls.redact(e.getMessage(), options.db),
                e);
          }
        });
    List<String> partitions = new ArrayList<>();
    for (int p = 0; p < options.partitions; p++) {
      partitions.add(Partitioning.id(p));
    }
    try (WorkerGlobals globals =
        new WorkerGlobals(
            options.db,
            coordinator,
            partitions,
            options.globalCheckpointEvery,
            options.globalKeep,
            options.faults)) {
      globals.start();
      return IngestJob.run(options, listener, new Hooks(coordinator, globals, options.db));
    }
  }

  /**
   * Whether {@code error}, raised while running a partition, fails the whole job: whether running
   * the partition again, on any worker, would meet it again. See the class's notes.
   */
  static boolean failsTheJob(Throwable error) {
    if (error instanceof JobFailedException
        || error instanceof PartitionLostException
        || error instanceof FencedException) {
      return false; // the job failed elsewhere, or the partition is another worker's
    }
    if (error instanceof WaymarkException w
        && (w.kind() == WaymarkException.Kind.TRANSIENT_EXHAUSTED
            || w.kind() == WaymarkException.Kind.LOCK_HELD)) {
      return false;
    }
    for (Throwable c = error; c != null; c = c.getCause()) {
      if (c instanceof VirtualMachineError || c instanceof InterruptedException) {
        return false; // this JVM's trouble, or a stop: not the partition's
      }
    }
    return true;
  }

  /** How often a worker's unit boundary asks the coordinator whether the job failed elsewhere. */
  static final Duration FAILURE_CHECK = WorkerGlobals.TICK;

  /** The runner's hooks for one worker process. Thread-safe: the runner's threads share it. */
  private static final class Hooks implements PartitionHooks {
    private final Coordinator coordinator;
    private final Map<String, Lease> leases = new ConcurrentHashMap<>();
    private final WorkerGlobals globals;
    private final String db; // whose password no failure message may carry
    private final AtomicBoolean jobFinished = new AtomicBoolean();
    private final AtomicLong nextFailureCheck = new AtomicLong(System.nanoTime());
    private volatile JobFailedException failedElsewhere;
    private volatile boolean failed;

    Hooks(Coordinator coordinator, WorkerGlobals globals, String db) {
      this.coordinator = coordinator;
      this.globals = globals;
      this.db = db;
    }

    /** In the unit's transaction, after the fence: the unit's counts join the job's totals. */
    @Override
    public void beforeCommit(String partition, Connection tx, Cursor cursor, UnitCounts unit)
        throws SQLException {
      try {
        coordinator.addTotals(tx, partition, unit.files(), unit.rowsRead(), unit.newRows());
      } catch (FencedException e) {
        lost(partition);
        throw new PartitionLostException(e.getMessage());
      }
    }

    /**
     * A unit boundary: the partition's marker for a barrier this worker has not marked yet; then,
     * if another worker failed the job, this one stops here.
     */
    @Override
    public void unitCommitted(String partition, Cursor cursor) {
      globals.unitCommitted(partition, cursor);
      stopIfTheJobFailed(false);
    }

    /**
     * Throws {@link JobFailedException} if a worker recorded the job failed; asks the coordinator
     * at most every {@link CoordinatedIngest#FAILURE_CHECK} unless {@code now}. A coordinator that
     * cannot answer is asked again later: the claims refuse a failed job's partitions anyway.
     */
    private void stopIfTheJobFailed(boolean now) {
      JobFailedException known = failedElsewhere;
      if (known != null) {
        throw known;
      }
      long t = System.nanoTime(), due = nextFailureCheck.get();
      if (!now
          && (t - due < 0 || !nextFailureCheck.compareAndSet(due, t + FAILURE_CHECK.toNanos()))) {
        return;
      }
      Optional<Coordinator.Failure> failure;
      try {
        failure = coordinator.failure();
      } catch (RuntimeException e) {
        return;
      }
      if (failure.isPresent()) {
        Coordinator.Failure f = failure.get();
        JobFailedException stop =
            new JobFailedException(
                "Job '"
                    + coordinator.spec().job()
                    + "' failed "
                    + f
                    + ". This worker stopped at its next unit boundary; what it committed stays"
                    + " committed, and no worker claims the job's partitions now. Fix the cause,"
                    + " then start the workers again: a worker that joins a failed job resumes it"
                    + " from its partitions' checkpoints.");
        failedElsewhere = stop;
        throw stop;
      }
    }

    /** Claims the next partition, waiting while every unfinished one is owned by a live worker. */
    @Override
    public String nextPartition(Supplier<String> unclaimed) {
      long poll = Math.max(100, coordinator.lease().toMillis() / 3);
      while (!failed) {
        Optional<Lease> claimed = coordinator.claim();
        if (claimed.isPresent()) {
          leases.put(claimed.get().partition(), claimed.get());
          return claimed.get().partition();
        }
        stopIfTheJobFailed(true); // no claim: perhaps because the job failed
        if (coordinator.status().jobDone()) {
          return null;
        }
        try {
          Thread.sleep(poll);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return null;
        }
      }
      return null;
    }

    /**
     * Many processes share the job: none of them runs a local global coordinator; {@link
     * WorkerGlobals} writes the job's global checkpoints and success marker.
     */
    @Override
    public boolean ownsGlobalCheckpoints() {
      return false;
    }

    @Override
    public JdbcCheckpointStore openDbStore(String db, String job) {
      return JdbcCheckpointStore.openFencedByPartition(
          ConnectionSource.of(db), job, JdbcStoreOptions.ofDefaults(), this::fence);
    }

    /** The coordinator's fence, telling the runner to move on when the partition is lost. */
    private long fence(Connection tx, String partition) throws SQLException {
      try {
        return coordinator.fence().check(tx, partition);
      } catch (FencedException e) {
        lost(partition);
        throw new PartitionLostException(e.getMessage());
      }
    }

    private void lost(String partition) {
      Lease lost = leases.remove(partition);
      if (lost != null) {
        coordinator.forget(lost);
      }
    }

    /** The run is stopping: no more claims, and the partition is free for another worker. */
    @Override
    public void partitionFailed(String partition) {
      failed = true;
      Lease lease = leases.remove(partition);
      if (lease != null) {
        coordinator.release(lease);
      }
    }

    /**
     * Running the partition failed: if the error fails the job ({@link #failsTheJob}) and the
     * partition was still this worker's, records the job failed before freeing the partition, so
     * that no worker claims it in between and meets the same error.
     */
    @Override
    public void partitionFailed(String partition, RuntimeException error) {
      failed = true;
      if (leases.containsKey(partition) && failsTheJob(error)) {
        try {
          coordinator.failJob(
              error instanceof WaymarkException w
                  ? w.kind().name()
                  : WaymarkException.Kind.FAILURE.name(),
              "worker "
                  + coordinator.workerId()
                  + ", partition "
                  + partition
                  + ": "
                  + JdbcUrls.redact(String.valueOf(error.getMessage()), db));
        } catch (RuntimeException e) {
          // The lease runs out, and the partition's next owner meets the error and records it.
          error.addSuppressed(e);
        }
      }
      partitionFailed(partition);
    }

    @Override
    public void partitionFinished(String partition, Optional<Cursor> cursor) {
      Lease lease = leases.remove(partition);
      if (lease != null) {
        coordinator.finish(lease);
      }
      // The worker that set done_at writes the job's final global checkpoint and success marker.
      if (coordinator.completedTheJob() && jobFinished.compareAndSet(false, true)) {
        globals.finishJob();
      }
    }
  }
}
