package dev.waymark.ingest;

import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.jdbc.ConnectionSource;
import dev.waymark.checkpoint.jdbc.JdbcCheckpointStore;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Internal: where the layers built on a partitioned run (global checkpoints, workers on many
 * machines) plug into {@link IngestJob}. Every method has a default that does nothing special, so
 * {@link #NONE} is today's run. Methods are called from the worker thread that owns the partition
 * at that moment; an implementation shared by several workers must be thread-safe.
 */
interface PartitionHooks {
  /** No hooks: every partition of the layout once, no guard, no callbacks. */
  PartitionHooks NONE = new PartitionHooks() {};

  /**
   * Picks the partition a free worker runs next, or null to let the worker stop. {@code unclaimed}
   * yields, each once, the partitions no worker of this run has taken yet, then null. A partition
   * may be returned again later (after a lease was taken over, say): the runner then resumes it
   * from its checkpoint. Never return a partition that another worker of this run is still running.
   */
  default String nextPartition(Supplier<String> unclaimed) {
    return unclaimed.get();
  }

  /**
   * Runs inside the unit's data transaction, after its rows (and, with the db store, its checkpoint
   * row) are written and before the commit: a conditional update of a lease row, say. Throwing
   * rolls the unit back; {@link PartitionLostException} then makes the worker give the partition up
   * and move on, anything else fails the partition as a database error would.
   */
  default void beforeCommit(String partition, Connection tx, Cursor cursor) throws SQLException {}

  /**
   * {@link #beforeCommit(String, Connection, Cursor)} with what the unit did, for hooks that count
   * it in the same transaction. Calls the three-argument form by default.
   */
  default void beforeCommit(String partition, Connection tx, Cursor cursor, UnitCounts unit)
      throws SQLException {
    beforeCommit(partition, tx, cursor);
  }

  /**
   * What one unit about to commit did: its files (quarantined ones included), the rows read from
   * them, and the rows new to the table.
   */
  record UnitCounts(int files, long rowsRead, long newRows) {}

  /**
   * The unit's data and checkpoint are durable: {@code cursor} is the partition's committed
   * position. A unit boundary: the worker has no uncommitted work in the partition.
   */
  default void unitCommitted(String partition, Cursor cursor) {}

  /**
   * The partition has no file left: {@code cursor} is its committed position, empty if the
   * partition holds no file and never committed.
   */
  default void partitionFinished(String partition, Optional<Cursor> cursor) {}

  /**
   * The partition failed (the run is stopping with that failure): a hook holding it for this
   * process lets it go.
   */
  default void partitionFailed(String partition) {}

  /**
   * Running the partition failed with {@code error}, which the run is stopping with (or, if another
   * worker of the run failed first, adds to that failure). Calls {@link #partitionFailed(String)}
   * by default.
   */
  default void partitionFailed(String partition, RuntimeException error) {
    partitionFailed(partition);
  }

  /**
   * Whether this run owns the job's global checkpoints and its success or failure marker: by
   * default it does, being the job's only writer. Workers of a job that many processes share do
   * not: each process sees only the partitions it holds, so a local {@link GlobalCoordinator} would
   * mark other processes' partitions as idle, race them for barrier numbers, delete their markers
   * as it opens the store, and clear a finished job's outcome as it starts.
   */
  default boolean ownsGlobalCheckpoints() {
    return true;
  }

  /**
   * Opens the database checkpoint store: by default fenced by the job's epoch, which makes this
   * process the job's only writer. Workers of a job that many processes share open it fenced by
   * partition instead.
   */
  default JdbcCheckpointStore openDbStore(String db, String job) {
    return JdbcCheckpointStore.open(ConnectionSource.of(db), job);
  }
}
