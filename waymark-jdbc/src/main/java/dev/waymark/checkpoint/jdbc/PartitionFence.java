package dev.waymark.checkpoint.jdbc;

import dev.waymark.checkpoint.FencedException;
import java.sql.Connection;
import java.sql.SQLException;

/**
 * Decides, inside a commit's own transaction, whether this writer still owns a partition: the
 * fencing of a store {@link JdbcCheckpointStore#openFencedByPartition opened fenced by partition},
 * where many processes write one job and each owns some partitions through a lease.
 *
 * <p>An implementation must check ownership with a statement that locks what a takeover changes
 * (for example a conditional {@code UPDATE} of the lease row), so that a takeover waits for the
 * commit in flight, and a commit that comes after a takeover sees it.
 */
@FunctionalInterface
public interface PartitionFence {

  /**
   * Checks, in {@code tx}, that this writer still owns {@code partition}.
   *
   * @return the epoch at which this writer owns the partition, recorded in its checkpoint
   * @throws FencedException if another writer has taken the partition over; the caller rolls back
   * @throws SQLException on a database error; the caller rolls back
   */
  long check(Connection tx, String partition) throws SQLException;
}
