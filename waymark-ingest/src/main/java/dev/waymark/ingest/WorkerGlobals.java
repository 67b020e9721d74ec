package dev.waymark.ingest;

import dev.waymark.WaymarkException;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.global.GlobalCheckpoint;
import dev.waymark.checkpoint.global.JobOutcome;
import dev.waymark.checkpoint.jdbc.ConnectionSource;
import dev.waymark.checkpoint.jdbc.JdbcGlobalCheckpointStore;
import dev.waymark.ingest.coord.Coordinator;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Two-phase global checkpoints and the success marker of a job that many worker processes share, as
 * rows in the coordinator's database. One instance per worker process. Thread-safe.
 *
 * <h2>Design notes</h2>
 *
 * <ul>
 *   <li><b>One coordinator at a time.</b> The worker holding the session advisory lock {@code
 *       pg_try_advisory_lock(hashtext('waymark_global'), hashtext(job))} issues the barriers. The
 *       lock lives on a connection of its own and dies with the process (SIGKILL included), so
 *       another worker takes over at its next tick; it first discards the partial global checkpoint
 *       the dead one left ({@link JdbcGlobalCheckpointStore#discardPartial}), which is therefore
 *       never used.
 *   <li><b>A coordinator that stops answering.</b> A paused or frozen coordinating worker (SIGSTOP,
 *       a suspended VM) does not die, and neither does its session, so it would keep the lock, and
 *       the finishing worker would wait for it in {@link #finishJob}, for as long as the pause
 *       lasts. So the lock's session has {@code idle_session_timeout} set to {@link
 *       #IDLE_SESSION_LEASES} leases, and the coordinating worker uses it every {@link #TICK}
 *       ({@link #keepLock}): silent that long, it loses the session, the lock with it, and another
 *       worker takes over. Resumed, it finds the session gone at its next tick, or its next step of
 *       a round, and stops coordinating. (PostgreSQL before 14 has no such timeout: there the lock
 *       is held until the session dies, as before.)
 *   <li><b>Who marks.</b> A worker marks each partition it owns at its next unit boundary after
 *       seeing barrier N ({@link #unitCommitted}); the latest N is read every {@link #TICK} on this
 *       class's thread, so a unit boundary costs one volatile read. A partition no worker owns
 *       (free or done) is marked by the coordinator, under the partition's row lock so that no
 *       claim can move it meanwhile.
 *   <li><b>Why the marker is the checkpoint row.</b> Every marker is read from the partition's
 *       committed checkpoint row in the marker's own transaction: a committed position by
 *       construction, whoever writes it, even a worker that lost the partition a moment ago.
 *       Partitions share no input and no rows, so such positions form a consistent cut.
 *   <li><b>The end.</b> The worker that sets the job's {@code done_at} ({@link
 *       Coordinator#completedTheJob}) waits for the coordinator's lock, writes the final global
 *       checkpoint (every partition done, so all marked from their rows) and the success marker.
 *       Its totals are the job's, summed over the partitions' rows in the coordinator, where each
 *       unit added its counts in its own transaction ({@link Coordinator#addTotals}): every
 *       committed file and row once, whichever worker committed it. A coordinator elected once the
 *       job is done issues no barrier: the finishing worker's is the last.
 * </ul>
 */
final class WorkerGlobals implements AutoCloseable {
  /** How often a worker reads the latest barrier and tries to become the coordinator. */
  static final Duration TICK = Duration.ofMillis(200);

  /**
   * The lock session's {@code idle_session_timeout}, in leases: as long as a worker's open
   * transaction may stay idle (the workers' data and coordinator connections), so that a paused
   * worker holds nothing up for longer.
   */
  static final int IDLE_SESSION_LEASES = 3;

  private final ConnectionSource connections;
  private final JdbcGlobalCheckpointStore store;
  private final Coordinator coordinator;
  private final List<String> partitions;
  private final Duration every;
  private final Faults faults;
  private final Map<String, Long> lastMarked = new ConcurrentHashMap<>();
  private final Object lockGuard = new Object();
  private Connection lockConnection; // guarded by lockGuard; holds the advisory lock
  private boolean coordinating; // guarded by lockGuard
  private volatile long barrier; // the latest barrier seen
  private volatile boolean closed;
  private Thread thread;

  WorkerGlobals(
      String db,
      Coordinator coordinator,
      List<String> partitions,
      Duration every,
      int keep,
      Faults faults) {
    this.connections = ConnectionSource.of(db);
    this.coordinator = coordinator;
    this.partitions = List.copyOf(partitions);
    this.every = every;
    this.faults = faults;
    this.store = JdbcGlobalCheckpointStore.shared(connections, coordinator.spec().job(), keep);
  }

  /** Starts following barriers, and issuing them when elected, if there is an interval. */
  void start() {
    if (every == null) {
      return;
    }
    thread = new Thread(this::loop, "waymark-worker-global-checkpoints");
    thread.setDaemon(true);
    thread.start();
  }

  /** A unit boundary of a partition this worker owns: marks it for the latest barrier, once. */
  void unitCommitted(String partition, Cursor cursor) {
    long n = barrier;
    if (n == 0 || lastMarked.getOrDefault(partition, 0L) >= n) {
      return;
    }
    store.markCommitted(n, partition, tx -> true);
    lastMarked.put(partition, n);
  }

  /**
   * This worker set the job's {@code done_at}: writes the final global checkpoint, every partition
   * being done, then the success marker. Waits for a coordinating worker to end its round.
   */
  void finishJob() {
    stopThread();
    try {
      synchronized (lockGuard) {
        if (!coordinating) {
          try (PreparedStatement ps =
              lockConnection()
                  .prepareStatement("SELECT pg_advisory_lock(hashtext(?), hashtext(?))")) {
            bind(ps).executeQuery().close();
          }
          coordinating = true;
          store.discardPartial();
        }
      }
      GlobalCheckpoint last;
      try {
        last = round(true);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new WaymarkException("interrupted while writing the final global checkpoint", e);
      }
      // Every partition is done, so every unit that will ever count has committed its totals.
      store.recordOutcome(JobOutcome.succeeded(last, Instant.now(), coordinator.totals()));
    } catch (SQLException e) {
      throw new WaymarkException(
          "Cannot take the global checkpoint lock of job '"
              + coordinator.spec().job()
              + "': "
              + e.getMessage(),
          e);
    }
  }

  @Override
  public void close() {
    stopThread();
    synchronized (lockGuard) {
      if (lockConnection != null) {
        try {
          lockConnection.close(); // releases the advisory lock
        } catch (SQLException ignored) {
          // The server releases it when the session ends.
        }
        lockConnection = null;
      }
    }
    store.close();
  }

  // ---------------------------------------------------------------- the coordinator's side

  private void loop() {
    long next = System.nanoTime() + every.toNanos();
    while (!closed) {
      try {
        barrier = store.lastBarrier();
        keepLock();
        // Once the job is done, the final global checkpoint is the finishing worker's alone: a
        // periodic one issued after it would leave the success marker behind the last complete.
        if (System.nanoTime() >= next && elected() && !coordinator.status().jobDone()) {
          round(false);
          next = System.nanoTime() + every.toNanos();
        }
        Thread.sleep(TICK.toMillis());
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException | SQLException e) {
        if (closed) {
          return;
        }
        // A failed round stays partial and is discarded by the next coordinator; try again.
        dropLock();
        try {
          Thread.sleep(TICK.toMillis());
        } catch (InterruptedException stop) {
          return;
        }
      }
    }
  }

  /** Whether this worker coordinates: it holds the advisory lock, or just took it. */
  private boolean elected() throws SQLException {
    synchronized (lockGuard) {
      if (!coordinating) {
        try (PreparedStatement ps =
                lockConnection()
                    .prepareStatement("SELECT pg_try_advisory_lock(hashtext(?), hashtext(?))");
            ResultSet rs = bind(ps).executeQuery()) {
          coordinating = rs.next() && rs.getBoolean(1);
        }
        if (coordinating) {
          store.discardPartial(); // the previous coordinator's unfinished barrier
        }
      }
      return coordinating;
    }
  }

  /**
   * If this worker coordinates, uses the lock's session, which keeps the server from ending it as
   * idle, and finds out whether the server has ended it already: then this throws, the lock is
   * gone, and the caller stops coordinating.
   */
  private void keepLock() throws SQLException {
    synchronized (lockGuard) {
      if (coordinating) {
        try (Statement s = lockConnection.createStatement()) {
          s.execute("SELECT 1");
        }
      }
    }
  }

  private PreparedStatement bind(PreparedStatement ps) throws SQLException {
    ps.setString(1, "waymark_global");
    ps.setString(2, coordinator.spec().job());
    return ps;
  }

  private Connection lockConnection() throws SQLException {
    if (lockConnection == null || lockConnection.isClosed()) {
      lockConnection = connections.open();
      lockConnection.setAutoCommit(true);
      long timeout = coordinator.lease().multipliedBy(IDLE_SESSION_LEASES).toMillis();
      try (Statement s = lockConnection.createStatement()) {
        s.execute("SET idle_session_timeout = " + timeout);
      } catch (SQLException e) {
        if (!"42704".equals(e.getSQLState())) { // undefined_object: PostgreSQL before 14
          throw e;
        }
      }
    }
    return lockConnection;
  }

  /**
   * Issues a barrier and waits for every partition's marker, marking unowned ones itself, then
   * writes "N complete". Returns null if this worker is stopping first: the barrier stays partial.
   *
   * @throws SQLException if the lock's session is gone ({@link #keepLock}): the barrier stays
   *     partial, for the next coordinator to discard
   */
  private GlobalCheckpoint round(boolean last) throws InterruptedException, SQLException {
    long n = store.issueBarrier();
    barrier = n;
    while (true) {
      keepLock();
      Set<String> marked = store.marked(n);
      for (String p : partitions) {
        if (!marked.contains(p)
            && store.markCommitted(n, p, tx -> coordinator.lockIfUnowned(tx, p))) {
          marked.add(p);
        }
      }
      if (marked.containsAll(partitions)) {
        break;
      }
      if (closed && !last) {
        return null;
      }
      Thread.sleep(TICK.toMillis() / 2);
    }
    faults.maybeCrash(Faults.Point.BEFORE_GLOBAL_COMPLETE, n);
    return store.complete(n, partitions);
  }

  private void dropLock() {
    synchronized (lockGuard) {
      coordinating = false;
      if (lockConnection != null) {
        try {
          lockConnection.close();
        } catch (SQLException ignored) {
          // The server releases the lock with the session.
        }
        lockConnection = null;
      }
    }
  }

  private void stopThread() {
    closed = true;
    if (thread != null) {
      thread.interrupt();
      try {
        thread.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      thread = null;
    }
  }
}
