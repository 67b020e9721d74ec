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
import dev.waymark.ingest.sink.Sink;
import dev.waymark.ingest.sink.TableSpec;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * An ingestion run as one of many worker processes of a job: the partitioned runner, with the
 * partitions it runs chosen by a {@link Coordinator} (claimed, or taken over from a worker whose
 * lease expired) and each unit's commit fenced by the partition's epoch in the data's own
 * transaction. Runs until every partition of the job is done, by this worker or another. The job's
 * global checkpoints and success marker are written through {@link WorkerGlobals}, never by the
 * runner's own coordinator ({@link PartitionHooks#ownsGlobalCheckpoints}).
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
                    + dev.waymark.ingest.sink.JdbcUrls.redact(e.getMessage(), options.db),
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
      return IngestJob.run(options, listener, new Hooks(coordinator, globals));
    }
  }

  /** The runner's hooks for one worker process. Thread-safe: the runner's threads share it. */
  private static final class Hooks implements PartitionHooks {
    private final Coordinator coordinator;
    private final Map<String, Lease> leases = new ConcurrentHashMap<>();
    private final WorkerGlobals globals;
    private final AtomicBoolean jobFinished = new AtomicBoolean();
    private volatile boolean failed;

    Hooks(Coordinator coordinator, WorkerGlobals globals) {
      this.coordinator = coordinator;
      this.globals = globals;
    }

    /** A unit boundary: the partition's marker for a barrier this worker has not marked yet. */
    @Override
    public void unitCommitted(String partition, Cursor cursor) {
      globals.unitCommitted(partition, cursor);
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
    private long fence(java.sql.Connection tx, String partition) throws java.sql.SQLException {
      try {
        return coordinator.fence().check(tx, partition);
      } catch (FencedException e) {
        Lease lost = leases.remove(partition);
        if (lost != null) {
          coordinator.forget(lost);
        }
        throw new PartitionLostException(e.getMessage());
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
