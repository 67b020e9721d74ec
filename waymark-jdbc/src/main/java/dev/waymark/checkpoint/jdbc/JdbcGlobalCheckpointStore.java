package dev.waymark.checkpoint.jdbc;

import dev.waymark.WaymarkException;
import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.Names;
import dev.waymark.checkpoint.format.CheckpointCodec;
import dev.waymark.checkpoint.format.GlobalRecordCodec;
import dev.waymark.checkpoint.global.GlobalCheckpoint;
import dev.waymark.checkpoint.global.GlobalCheckpointNotAvailableException;
import dev.waymark.checkpoint.global.GlobalCheckpointStore;
import dev.waymark.checkpoint.global.JobOutcome;
import dev.waymark.checkpoint.global.PartitionMark;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A {@link GlobalCheckpointStore} in database tables beside {@link JdbcCheckpointStore}'s;
 * PostgreSQL and SQLite. Thread-safe: calls are serialised on the store's own connection, which is
 * opened again once if the server ended it (a restart), as a unit's connection is.
 *
 * <h2>Tables</h2>
 *
 * <pre>
 * waymark_global_checkpoint  (job, n) PK, state, record     one row per barrier; state 'barrier'
 *                                                           until complete, then 'complete' with
 *                                                           the cut in record
 * waymark_global_marker      (job, n, partition_id) PK, record   markers of a barrier in progress
 * waymark_job_outcome        (job PK, outcome, record)      the success or failure marker
 * </pre>
 *
 * {@code record} holds a {@link GlobalRecordCodec} line (checksum included), checked like a file.
 * "N complete" is one transaction: the row turns complete with the whole cut, and the markers go.
 * The newest row is never deleted, so barrier numbers keep growing across runs; rows of barriers
 * that never completed, and their markers, are deleted by {@link #open}.
 */
public final class JdbcGlobalCheckpointStore implements GlobalCheckpointStore {
  public static final String GLOBAL_TABLE = "waymark_global_checkpoint",
      MARKER_TABLE = "waymark_global_marker",
      OUTCOME_TABLE = "waymark_job_outcome";
  private static final String BARRIER = "barrier", COMPLETE = "complete";
  private static final int SQLITE_BUSY_TIMEOUT_MS = 30_000;
  private static final int SQLITE_BUSY =
      5; // primary result code; extended codes keep it in the low byte

  /** Lost connections (a database restart, a killed backend) are retried for this long. */
  private static final Duration RECONNECT_BUDGET = Duration.ofMinutes(2);

  private final ConnectionSource connections;
  private final Object lock = new Object();
  private Connection connection; // guarded by lock; replaced when the database drops it
  private final String job;
  private final int keep;
  private final boolean writable;
  private final boolean sqlite;
  private final Clock clock = Clock.systemUTC();
  private volatile boolean closed;

  private JdbcGlobalCheckpointStore(
      ConnectionSource connections,
      Connection connection,
      String job,
      int keep,
      boolean writable,
      boolean sqlite) {
    this.connections = connections;
    this.connection = connection;
    this.sqlite = sqlite;
    this.job = job;
    this.keep = keep;
    this.writable = writable;
  }

  /**
   * Opens the job's global checkpoints for writing: creates the tables if absent and deletes
   * partial global checkpoints. The caller must be the job's writer.
   *
   * @param keep how many complete global checkpoints to keep, at least 1
   * @throws WaymarkException if the database cannot be reached
   */
  public static JdbcGlobalCheckpointStore open(ConnectionSource connections, String job, int keep) {
    if (keep < 1) {
      throw new IllegalArgumentException("keep must be at least 1: " + keep);
    }
    JdbcGlobalCheckpointStore store = connect(connections, job, keep, true);
    return closedOnFailure(
        store,
        c -> {
          createTables(c);
          // Markers of a barrier in progress belong to a run that stopped.
          update(c, "DELETE FROM " + MARKER_TABLE + " WHERE job = ?", store.job);
          update(
              c,
              "DELETE FROM "
                  + GLOBAL_TABLE
                  + " WHERE job = ? AND state = '"
                  + BARRIER
                  + "' AND n < (SELECT MAX(n) FROM "
                  + GLOBAL_TABLE
                  + " WHERE job = ?)",
              store.job,
              store.job);
          return null;
        });
  }

  /**
   * Opens the global checkpoints of a job that many worker processes share ({@code waymark
   * worker}): creates the tables if absent and deletes nothing, since another process may be in the
   * middle of a barrier. Barriers are issued only by the worker elected to coordinate, which calls
   * {@link #discardPartial} as it takes over; every worker marks its partitions with {@link
   * #markCommitted}.
   *
   * @throws WaymarkException if the database cannot be reached
   */
  public static JdbcGlobalCheckpointStore shared(
      ConnectionSource connections, String job, int keep) {
    if (keep < 1) {
      throw new IllegalArgumentException("keep must be at least 1: " + keep);
    }
    JdbcGlobalCheckpointStore store = connect(connections, job, keep, true);
    store.inTransaction(
        c -> {
          JdbcCheckpointStore.createTables(c); // markers are read from its rows; creates ours too
          return null;
        });
    return store;
  }

  /**
   * Deletes partial global checkpoints: every marker, and every barrier row but the newest (which
   * keeps barrier numbers growing). Only for the one process that issues barriers, as it starts.
   */
  public void discardPartial() {
    requireWritable();
    inTransaction(
        c -> {
          update(c, "DELETE FROM " + MARKER_TABLE + " WHERE job = ?", job);
          update(
              c,
              "DELETE FROM "
                  + GLOBAL_TABLE
                  + " WHERE job = ? AND state = '"
                  + BARRIER
                  + "' AND n < (SELECT MAX(n) FROM "
                  + GLOBAL_TABLE
                  + " WHERE job = ?)",
              job,
              job);
          return null;
        });
  }

  /** The number of the last barrier issued, 0 if none: cheap, one indexed row. */
  public long lastBarrier() {
    return inTransaction(this::lastIssued);
  }

  /** The partitions that have a marker for barrier {@code n}. */
  public Set<String> marked(long n) {
    return inTransaction(
        c -> {
          Set<String> marked = new TreeSet<>();
          try (PreparedStatement ps =
              c.prepareStatement(
                  "SELECT partition_id FROM " + MARKER_TABLE + " WHERE job = ? AND n = ?")) {
            ps.setString(1, job);
            ps.setLong(2, n);
            try (ResultSet rs = ps.executeQuery()) {
              while (rs.next()) {
                marked.add(rs.getString(1));
              }
            }
          }
          return marked;
        });
  }

  /** Decides, inside the marker's transaction, whether the marker may be written. */
  @FunctionalInterface
  public interface MarkGuard {
    /** True to write the marker; may lock rows, which stay locked until the marker commits. */
    boolean allows(Connection tx) throws SQLException;
  }

  /**
   * Marks {@code partition} for barrier {@code n} with its committed checkpoint row ({@link
   * JdbcCheckpointStore}'s), in one transaction that first runs {@code guard}: the marker is the
   * partition's committed position when it is written, never uncommitted work.
   *
   * @return false if {@code n} is no longer the last barrier issued, the partition already has a
   *     marker for it, or {@code guard} refused
   * @throws dev.waymark.checkpoint.CheckpointInvalidException if the checkpoint row is damaged
   */
  public boolean markCommitted(long n, String partition, MarkGuard guard) {
    requireWritable();
    Names.requireValid("partition", partition);
    return inTransaction(
        c -> {
          if (lastIssued(c) != n || !guard.allows(c)) {
            return false;
          }
          if (queryString(
                  c,
                  "SELECT partition_id FROM "
                      + MARKER_TABLE
                      + " WHERE job = ? AND n = ? AND partition_id = ?",
                  job,
                  n,
                  partition)
              != null) {
            return false;
          }
          String record =
              queryString(
                  c,
                  "SELECT record FROM "
                      + JdbcCheckpointStore.CHECKPOINT_TABLE
                      + " WHERE job = ? AND partition_id = ?",
                  job,
                  partition);
          Optional<Checkpoint> committed =
              record == null
                  ? Optional.empty()
                  : Optional.of(
                      CheckpointCodec.decode(
                          bytes(record),
                          Path.of(
                              JdbcCheckpointStore.CHECKPOINT_TABLE
                                  + "(job="
                                  + job
                                  + ",partition="
                                  + partition
                                  + ")"),
                          new CheckpointCodec.Expectation(
                              job,
                              partition,
                              "--db JDBC_URL --job " + job + " --partition " + partition)));
          PartitionMark mark = PartitionMark.of(partition, committed);
          try (PreparedStatement ps =
              c.prepareStatement(
                  "INSERT INTO "
                      + MARKER_TABLE
                      + " (job, n, partition_id, record) VALUES (?, ?, ?, ?)")) {
            ps.setString(1, job);
            ps.setLong(2, n);
            ps.setString(3, partition);
            ps.setString(4, line(GlobalRecordCodec.encodeMarker(job, n, mark, clock.instant())));
            ps.executeUpdate();
          }
          return true;
        });
  }

  /** A read-only view for status and {@code wait}; creates the tables if absent. */
  public static JdbcGlobalCheckpointStore reader(ConnectionSource connections, String job) {
    JdbcGlobalCheckpointStore store = connect(connections, job, DEFAULT_KEEP, false);
    return closedOnFailure(
        store,
        c -> {
          createTables(c);
          return null;
        });
  }

  /** Runs the store's first transaction; if it fails, closes the store's connection. */
  private static JdbcGlobalCheckpointStore closedOnFailure(
      JdbcGlobalCheckpointStore store, SqlWork<Void> first) {
    try {
      store.inTransaction(first);
      return store;
    } catch (RuntimeException | Error e) {
      store.close();
      throw e;
    }
  }

  private static JdbcGlobalCheckpointStore connect(
      ConnectionSource connections, String job, int keep, boolean writable) {
    Names.requireValid("job", job);
    try {
      Connection c = openConnection(connections);
      return new JdbcGlobalCheckpointStore(
          connections, c, job, keep, writable, Dialect.of(c) == Dialect.SQLITE);
    } catch (SQLException e) {
      throw new WaymarkException(
          "Cannot open the global checkpoint tables for job '" + job + "': " + e.getMessage(), e);
    }
  }

  private static Connection openConnection(ConnectionSource connections) throws SQLException {
    Connection c = connections.open();
    try {
      if (Dialect.of(c) == Dialect.SQLITE) {
        // The workers' write transactions hold SQLite's one write lock for a unit at a time:
        // wait for it, as the sinks do, rather than fail at once.
        try (Statement s = c.createStatement()) {
          s.execute("PRAGMA busy_timeout = " + SQLITE_BUSY_TIMEOUT_MS);
        }
      }
      c.setAutoCommit(false);
      return c;
    } catch (SQLException e) {
      try {
        c.close();
      } catch (SQLException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  /** Creates the tables if absent, in {@code c}'s transaction. */
  static void createTables(Connection c) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute(
          "CREATE TABLE IF NOT EXISTS "
              + GLOBAL_TABLE
              + " (job VARCHAR(100) NOT NULL, n BIGINT NOT NULL, state VARCHAR(10) NOT NULL,"
              + " record TEXT NOT NULL, PRIMARY KEY (job, n))");
      s.execute(
          "CREATE TABLE IF NOT EXISTS "
              + MARKER_TABLE
              + " (job VARCHAR(100) NOT NULL, n BIGINT NOT NULL, partition_id VARCHAR(100) NOT"
              + " NULL, record TEXT NOT NULL, PRIMARY KEY (job, n, partition_id))");
      s.execute(
          "CREATE TABLE IF NOT EXISTS "
              + OUTCOME_TABLE
              + " (job VARCHAR(100) PRIMARY KEY, outcome VARCHAR(10) NOT NULL, record TEXT NOT"
              + " NULL)");
    }
  }

  /** Deletes the job's success marker in {@code tx}: its position is about to move. */
  static void invalidateSuccess(Connection tx, String job) throws SQLException {
    update(tx, "DELETE FROM " + OUTCOME_TABLE + " WHERE job = ? AND outcome = 'success'", job);
  }

  @Override
  public String job() {
    return job;
  }

  @Override
  public long issueBarrier() {
    requireWritable();
    return inTransaction(
        c -> {
          long n = lastIssued(c) + 1;
          try (PreparedStatement ps =
              c.prepareStatement(
                  "INSERT INTO " + GLOBAL_TABLE + " (job, n, state, record) VALUES (?, ?, ?, ?)")) {
            ps.setString(1, job);
            ps.setLong(2, n);
            ps.setString(3, BARRIER);
            ps.setString(4, line(GlobalRecordCodec.encodeBarrier(job, n, clock.instant())));
            ps.executeUpdate();
          }
          return n;
        });
  }

  @Override
  public void mark(long n, PartitionMark mark) {
    requireWritable();
    inTransaction(
        c -> {
          long last = lastIssued(c);
          if (n != last) {
            throw new IllegalStateException(
                "marker for barrier " + n + ", but the last barrier issued is " + last);
          }
          update(
              c,
              "DELETE FROM " + MARKER_TABLE + " WHERE job = ? AND n = ? AND partition_id = ?",
              job,
              n,
              mark.partition());
          try (PreparedStatement ps =
              c.prepareStatement(
                  "INSERT INTO "
                      + MARKER_TABLE
                      + " (job, n, partition_id, record) VALUES (?, ?, ?, ?)")) {
            ps.setString(1, job);
            ps.setLong(2, n);
            ps.setString(3, mark.partition());
            ps.setString(4, line(GlobalRecordCodec.encodeMarker(job, n, mark, clock.instant())));
            ps.executeUpdate();
          }
          return null;
        });
  }

  @Override
  public GlobalCheckpoint complete(long n, Collection<String> partitions) {
    requireWritable();
    return inTransaction(
        c -> {
          List<PartitionMark> marks = new ArrayList<>();
          for (String p : partitions) {
            String record =
                queryString(
                    c,
                    "SELECT record FROM "
                        + MARKER_TABLE
                        + " WHERE job = ? AND n = ? AND partition_id = ?",
                    job,
                    n,
                    p);
            if (record == null) {
              throw new IllegalStateException(
                  "global checkpoint "
                      + n
                      + " cannot complete: partition '"
                      + p
                      + "' has no marker");
            }
            marks.add(
                GlobalRecordCodec.decodeMarker(
                    bytes(record),
                    Path.of(MARKER_TABLE + "(job=" + job + ",n=" + n + ",partition=" + p + ")"),
                    job,
                    n,
                    "Run the job again: markers of an unfinished global checkpoint are discarded."));
          }
          GlobalCheckpoint g =
              new GlobalCheckpoint(job, n, clock.instant(), GlobalCheckpoint.cutOf(marks));
          int updated =
              update(
                  c,
                  "UPDATE "
                      + GLOBAL_TABLE
                      + " SET state = '"
                      + COMPLETE
                      + "', record = ? WHERE job = ? AND n = ? AND state = '"
                      + BARRIER
                      + "'",
                  line(GlobalRecordCodec.encode(g)),
                  job,
                  n);
          if (updated != 1) {
            throw new IllegalStateException("barrier " + n + " of job '" + job + "' is not open");
          }
          update(c, "DELETE FROM " + MARKER_TABLE + " WHERE job = ? AND n = ?", job, n);
          List<Long> kept = completeNumbers(c);
          if (kept.size() > keep) {
            update(
                c,
                "DELETE FROM "
                    + GLOBAL_TABLE
                    + " WHERE job = ? AND state = '"
                    + COMPLETE
                    + "' AND n <= ?",
                job,
                kept.get(kept.size() - keep - 1));
          }
          return g;
        });
  }

  @Override
  public Optional<GlobalCheckpoint> lastComplete() {
    List<Long> kept = completeNumbers();
    return kept.isEmpty() ? Optional.empty() : Optional.of(read(kept.get(kept.size() - 1)));
  }

  @Override
  public List<Long> completeNumbers() {
    return inTransaction(this::completeNumbers);
  }

  private List<Long> completeNumbers(Connection c) throws SQLException {
    List<Long> numbers = new ArrayList<>();
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT n FROM " + GLOBAL_TABLE + " WHERE job = ? AND state = ? ORDER BY n")) {
      ps.setString(1, job);
      ps.setString(2, COMPLETE);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          numbers.add(rs.getLong(1));
        }
      }
    }
    return numbers;
  }

  @Override
  public GlobalCheckpoint read(long n) {
    return inTransaction(
        c -> {
          String record =
              queryString(
                  c,
                  "SELECT record FROM "
                      + GLOBAL_TABLE
                      + " WHERE job = ? AND n = ? AND state = '"
                      + COMPLETE
                      + "'",
                  job,
                  n);
          if (record == null) {
            throw new GlobalCheckpointNotAvailableException(
                n, job, completeNumbers(c), lastIssued(c), keep);
          }
          Path where = Path.of(GLOBAL_TABLE + "(job=" + job + ",n=" + n + ")");
          return GlobalRecordCodec.decodeComplete(
              bytes(record),
              where,
              job,
              "Delete that row to fall back to the previous complete global checkpoint, or run the"
                  + " job again to write a new one.");
        });
  }

  @Override
  public Optional<JobOutcome> outcome() {
    return inTransaction(
        c -> {
          String record =
              queryString(c, "SELECT record FROM " + OUTCOME_TABLE + " WHERE job = ?", job);
          if (record == null) {
            return Optional.empty();
          }
          return Optional.of(
              GlobalRecordCodec.decodeOutcome(
                  bytes(record),
                  Path.of(OUTCOME_TABLE + "(job=" + job + ")"),
                  job,
                  "Delete that row and run the job again to write a new one."));
        });
  }

  @Override
  public void recordOutcome(JobOutcome outcome) {
    requireWritable();
    inTransaction(
        c -> {
          writeOutcome(c, job, outcome);
          return null;
        });
  }

  /**
   * Replaces the outcome of {@code outcome}'s job with it in the caller's transaction {@code tx},
   * whose tables exist ({@link JdbcCheckpointStore#createTables}): for a write that must commit
   * together with another, such as a worker's record that the job failed. The caller commits.
   */
  public static void writeOutcome(Connection tx, JobOutcome outcome) throws SQLException {
    writeOutcome(tx, outcome.job(), outcome);
  }

  private static void writeOutcome(Connection tx, String job, JobOutcome outcome)
      throws SQLException {
    update(tx, "DELETE FROM " + OUTCOME_TABLE + " WHERE job = ?", job);
    try (PreparedStatement ps =
        tx.prepareStatement(
            "INSERT INTO " + OUTCOME_TABLE + " (job, outcome, record) VALUES (?, ?, ?)")) {
      ps.setString(1, job);
      ps.setString(2, outcome.succeeded() ? "success" : "failure");
      ps.setString(3, line(GlobalRecordCodec.encode(outcome)));
      ps.executeUpdate();
    }
  }

  @Override
  public void clearOutcome() {
    requireWritable();
    inTransaction(c -> update(c, "DELETE FROM " + OUTCOME_TABLE + " WHERE job = ?", job));
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      synchronized (lock) {
        closeQuietly(connection);
      }
    }
  }

  @Override
  public String toString() {
    return "JdbcGlobalCheckpointStore[job " + job + "]";
  }

  // ---------------------------------------------------------------- helpers

  private long lastIssued(Connection c) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement("SELECT MAX(n) FROM " + GLOBAL_TABLE + " WHERE job = ?")) {
      ps.setString(1, job);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getLong(1) : 0; // NULL reads as 0
      }
    }
  }

  private void requireWritable() {
    if (!writable) {
      throw new IllegalStateException("a reader of global checkpoints cannot write");
    }
  }

  @FunctionalInterface
  private interface SqlWork<T> {
    T run(Connection c) throws SQLException;
  }

  /**
   * Runs {@code work} in one transaction on the store's connection. On SQLite a transaction that
   * reads and then writes can be refused at once with SQLITE_BUSY when a worker committed in
   * between (no busy handler runs for a stale snapshot), so it is rolled back and run again. A lost
   * connection (the database restarted, the backend was killed) is opened again and the work run
   * again, with backoff, for up to {@link #RECONNECT_BUDGET}: every piece of work is one
   * transaction, so running it again after a rollback is safe.
   */
  private <T> T inTransaction(SqlWork<T> work) {
    if (closed) {
      throw new IllegalStateException("the global checkpoint store of job '" + job + "' is closed");
    }
    synchronized (lock) {
      long deadline = System.nanoTime() + SQLITE_BUSY_TIMEOUT_MS * 1_000_000L;
      long reconnectDeadline = System.nanoTime() + RECONNECT_BUDGET.toNanos();
      long backoffMs = 100;
      while (true) {
        try {
          if (connection == null) {
            connection = openConnection(connections);
          }
          T result = work.run(connection);
          connection.commit();
          return result;
        } catch (SQLException | RuntimeException e) {
          if (connection != null) {
            try {
              connection.rollback();
            } catch (SQLException r) {
              e.addSuppressed(r);
            }
          }
          if (e instanceof SQLException sql && sqliteBusy(sql) && System.nanoTime() < deadline) {
            pause();
            continue;
          }
          if (e instanceof SQLException sql
              && lostConnection(sql)
              && System.nanoTime() < reconnectDeadline) {
            closeQuietly(connection);
            connection = null;
            sleep(backoffMs);
            backoffMs = Math.min(backoffMs * 2, 5_000);
            continue;
          }
          if (e instanceof RuntimeException re) {
            throw re;
          }
          throw new WaymarkException(
              "Global checkpoint operation for job '" + job + "' failed: " + e.getMessage(), e);
        }
      }
    }
  }

  /**
   * A connection the database dropped or refused: SQLState class 08 (connection exception) or
   * 57P01-57P03 (PostgreSQL shutting down, crashed or starting).
   */
  private static boolean lostConnection(SQLException e) {
    String state = e.getSQLState();
    return state != null && (state.startsWith("08") || state.matches("57P0[123]"));
  }

  private static void closeQuietly(Connection c) {
    if (c != null) {
      try {
        c.close();
      } catch (SQLException ignored) {
        // A dropped connection has nothing more to release.
      }
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new WaymarkException("interrupted while reconnecting to the database", e);
    }
  }

  private boolean sqliteBusy(SQLException e) {
    return sqlite && (e.getErrorCode() & 0xff) == SQLITE_BUSY;
  }

  private static void pause() {
    try {
      Thread.sleep(ThreadLocalRandom.current().nextLong(5, 50));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new WaymarkException("interrupted while waiting for a busy SQLite database", e);
    }
  }

  private static int update(Connection c, String sql, Object... params) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      bind(ps, params);
      return ps.executeUpdate();
    }
  }

  private static String queryString(Connection c, String sql, Object... params)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      bind(ps, params);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getString(1) : null;
      }
    }
  }

  private static void bind(PreparedStatement ps, Object... params) throws SQLException {
    for (int i = 0; i < params.length; i++) {
      if (params[i] instanceof Long l) {
        ps.setLong(i + 1, l);
      } else {
        ps.setString(i + 1, (String) params[i]);
      }
    }
  }

  private static String line(byte[] encoded) {
    return new String(encoded, 0, encoded.length - 1, StandardCharsets.UTF_8);
  }

  private static byte[] bytes(String record) {
    return (record + "\n").getBytes(StandardCharsets.UTF_8);
  }
}
