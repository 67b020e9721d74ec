package dev.waymark.checkpoint.jdbc;

import dev.waymark.WaymarkException;
import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.CheckpointInvalidException;
import dev.waymark.checkpoint.CheckpointReader;
import dev.waymark.checkpoint.CheckpointStore;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.FencedException;
import dev.waymark.checkpoint.LockHeldException;
import dev.waymark.checkpoint.Names;
import dev.waymark.checkpoint.PartitionLayout;
import dev.waymark.checkpoint.Retention;
import dev.waymark.checkpoint.format.CheckpointCodec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.WeakHashMap;

/**
 * A {@link CheckpointStore} in database tables, committed in the same transaction as the data: the
 * data and the checkpoint become durable together or not at all, so "checkpoint ahead of data" and
 * "data ahead of checkpoint" are both impossible by construction. Supports PostgreSQL and SQLite.
 * Thread-safe.
 *
 * <h2>Tables</h2>
 *
 * <pre>
 * waymark_job                  (job PK, epoch)                      the job's current fencing token
 * waymark_checkpoint           (job, partition_id) PK, sequence, epoch, record
 * waymark_checkpoint_history   (job, partition_id, sequence) PK, committed_at_ms, record
 * waymark_layout               (job PK, partitions, hash)           the job's partition layout
 * </pre>
 *
 * plus the tables of {@link JdbcGlobalCheckpointStore}, whose success marker a rollback or reset
 * deletes in its own transaction.
 *
 * <p>{@code record} holds the checkpoint's format-version-1 line (checksum included), so a row is
 * checked exactly like a file. Tables are created if absent.
 *
 * <h2>Use in the data's transaction</h2>
 *
 * <pre>{@code
 * try (Connection tx = dataSource.getConnection()) {
 *   tx.setAutoCommit(false);
 *   insertRows(tx, rows);
 *   store.commit(tx, partition, cursor);   // fenced: throws if a newer writer took over
 *   tx.commit();                           // data and checkpoint together
 * }
 * }</pre>
 *
 * <h2>Fencing</h2>
 *
 * Opening the store increments the job's epoch. Every commit reads the job's epoch row (with {@code
 * FOR SHARE} on PostgreSQL, so a takeover waits for in-flight commits) and refuses with {@link
 * FencedException} if it has moved on; the caller's transaction must then be rolled back, taking
 * the data with it.
 *
 * <p>A job written by many processes at once, each owning some partitions, cannot share one
 * job-level epoch: each opening would fence the others. {@link #openFencedByPartition} opens a
 * store that takes no job epoch and instead asks a {@link PartitionFence} (a partition lease, such
 * as waymark-ingest's coordinator) in every commit's transaction; the checkpoint row then records
 * the partition's epoch.
 *
 * <h2>Repairs beside a running writer</h2>
 *
 * A writer that opened the store later than a repair would fence it, so a repair must not run while
 * a writer is live. On PostgreSQL every writer ({@link #open}, {@link #openFencedByPartition})
 * holds the job's session advisory lock {@code (hashtext('waymark_checkpoint'),
 * hashtext(SCHEMA.JOB))} in <em>shared</em> mode on the store's own connection for as long as the
 * store is open: writers do not block each other (a newer one still takes over by epoch), and the
 * lock dies with the writer's connection, SIGKILL included. {@link #openForRepair} takes it
 * <em>exclusively</em> and refuses with {@link LockHeldException} while any writer holds it, and a
 * writer refuses to open while a repair holds it. A writer whose own connection the server dropped
 * (a restart) no longer holds the lock; a repair then still fences it by epoch, as before. SQLite
 * has no such lock: there a repair fences a running writer.
 */
public final class JdbcCheckpointStore implements CheckpointStore {
  public static final String JOB_TABLE = "waymark_job",
      CHECKPOINT_TABLE = "waymark_checkpoint",
      HISTORY_TABLE = "waymark_checkpoint_history",
      LAYOUT_TABLE = "waymark_layout";

  /** The first key of the job's advisory lock on PostgreSQL (the second is {@link #JOB_KEY}). */
  private static final String LOCK_CLASS = "waymark_checkpoint";

  /**
   * The second key, for the job bound to {@code ?}: a hash of the schema the tables are in and the
   * job's name. Advisory locks are per database, the tables per schema: a job of the same name in
   * another schema is another job, and must not hold this one's repairs off.
   */
  private static final String JOB_KEY = "hashtext(COALESCE(current_schema(), '') || '.' || ?)";

  private final Connection connection; // the store's own, for standalone calls; guarded by itself
  private final Dialect dialect;
  private final String job;
  private final JdbcStoreOptions options;
  private final long epoch; // the job's, or 0 when fenced by partition

  /**
   * The tables the store's connection reaches (Dialect#whichTables), once asked; and the callers'
   * connections seen to reach the same.
   */
  private volatile String tables;

  private final Set<Connection> sameTables =
      Collections.synchronizedSet(Collections.newSetFromMap(new WeakHashMap<>()));
  private final PartitionFence fence; // null: fenced by the job's epoch
  private volatile boolean closed;

  private JdbcCheckpointStore(
      Connection connection,
      Dialect dialect,
      String job,
      JdbcStoreOptions options,
      long epoch,
      PartitionFence fence) {
    this.connection = connection;
    this.dialect = dialect;
    this.job = job;
    this.options = options;
    this.epoch = epoch;
    this.fence = fence;
  }

  /**
   * Opens the job's store: creates the tables if absent and takes the next epoch, fencing any
   * earlier writer of the job.
   *
   * @throws IllegalArgumentException if {@code job} is not a valid name
   * @throws WaymarkException if the database cannot be reached or is not PostgreSQL or SQLite
   */
  public static JdbcCheckpointStore open(
      ConnectionSource connections, String job, JdbcStoreOptions options) {
    Names.requireValid("job", job);
    return onNewConnection(
        connections,
        "Cannot open the checkpoint tables for job '" + job + "': ",
        (connection, dialect) -> {
          createTables(connection);
          lockAsWriter(connection, dialect, job);
          long epoch = takeNextEpoch(connection, dialect, job, options.epochWait());
          return new JdbcCheckpointStore(connection, dialect, job, options, epoch, null);
        });
  }

  /** Work on a connection just opened, which is closed again if the work fails. */
  private interface OnConnection<T> {
    T apply(Connection connection, Dialect dialect) throws SQLException;
  }

  /**
   * Opens a connection (auto-commit off) and returns what {@code work} makes of it; if {@code work}
   * fails, closes the connection, and reports a {@link SQLException} as a {@link WaymarkException}
   * whose message is {@code failure} followed by the database's.
   */
  private static <T> T onNewConnection(
      ConnectionSource connections, String failure, OnConnection<T> work) {
    Connection connection = null;
    try {
      connection = connections.open();
      connection.setAutoCommit(false);
      return work.apply(connection, Dialect.of(connection));
    } catch (SQLException e) {
      closeQuietly(connection);
      throw new WaymarkException(failure + e.getMessage(), e);
    } catch (RuntimeException e) {
      closeQuietly(connection);
      throw e;
    }
  }

  /**
   * Opens the job's store for a repair ({@code waymark checkpoint rollback} or {@code reset}): as
   * {@link #open(ConnectionSource, String, JdbcStoreOptions)}, but on PostgreSQL it first takes the
   * job's advisory lock exclusively, and refuses if a writer of the job holds it, rather than fence
   * that writer. The lock is held until the store is closed, so no writer opens meanwhile.
   *
   * @throws LockHeldException if a writer of the job (or another repair) is live on PostgreSQL; the
   *     message names its server process, application and client
   * @throws IllegalArgumentException if {@code job} is not a valid name
   * @throws WaymarkException if the database cannot be reached or is not PostgreSQL or SQLite
   */
  public static JdbcCheckpointStore openForRepair(ConnectionSource connections, String job) {
    Names.requireValid("job", job);
    return onNewConnection(
        connections,
        "Cannot open the checkpoint tables for job '" + job + "': ",
        (connection, dialect) -> {
          createTables(connection);
          if (dialect == Dialect.POSTGRESQL
              && !advisoryLock(connection, "pg_try_advisory_lock", job)) {
            String holders = holders(connection, job);
            throw new LockHeldException(
                "Job '"
                    + job
                    + "' is being written: a writer holds its checkpoint lock in the database ("
                    + holders
                    + "). A rollback or reset now would fence that run and make it stop. Wait for it"
                    + " to finish, or stop it (the lock goes with its connection, so there is nothing"
                    + " to release by hand), then run this command again.",
                holders);
          }
          long epoch =
              takeNextEpoch(connection, dialect, job, JdbcStoreOptions.ofDefaults().epochWait());
          return new JdbcCheckpointStore(
              connection, dialect, job, JdbcStoreOptions.ofDefaults(), epoch, null);
        });
  }

  /**
   * A writer's share of the job's advisory lock on PostgreSQL, held by {@code c}'s session: refused
   * while a repair holds the lock exclusively.
   */
  private static void lockAsWriter(Connection c, Dialect dialect, String job) throws SQLException {
    if (dialect != Dialect.POSTGRESQL) {
      return;
    }
    if (!advisoryLock(c, "pg_try_advisory_lock_shared", job)) {
      String holders = holders(c, job);
      throw new LockHeldException(
          "Job '"
              + job
              + "' is being repaired: `waymark checkpoint rollback` or `reset` holds its checkpoint"
              + " lock in the database ("
              + holders
              + "). Run this again once the repair has finished.",
          holders);
    }
  }

  /** Tries {@code function} ({@code pg_try_advisory_lock[_shared]}) on the job's key. */
  private static boolean advisoryLock(Connection c, String function, String job)
      throws SQLException {
    boolean taken;
    try (PreparedStatement ps =
        c.prepareStatement("SELECT " + function + "(hashtext(?), " + JOB_KEY + ")")) {
      ps.setString(1, LOCK_CLASS);
      ps.setString(2, job);
      try (ResultSet rs = ps.executeQuery()) {
        taken = rs.next() && rs.getBoolean(1);
      }
    }
    c.commit(); // a session lock outlives the transaction; the session stays idle, not in one
    return taken;
  }

  /** Who holds the job's advisory lock, from {@code pg_locks}: for the refusal's message. */
  private static String holders(Connection c, String job) throws SQLException {
    List<String> found = new ArrayList<>();
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT a.pid, l.mode, a.application_name, a.client_addr, a.backend_start"
                + " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                + " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2"
                + " AND l.classid = hashtext(?)::oid AND l.objid = ("
                + JOB_KEY
                + ")::oid"
                + " AND l.pid <> pg_backend_pid() ORDER BY a.backend_start")) {
      ps.setString(1, LOCK_CLASS);
      ps.setString(2, job);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          String client = rs.getString(4);
          Timestamp since = rs.getTimestamp(5);
          found.add(
              "PostgreSQL server process "
                  + rs.getInt(1)
                  + (rs.getString(2).startsWith("Share") ? " (a writer)" : " (a repair)")
                  + ", application '"
                  + rs.getString(3)
                  + "'"
                  + (client == null ? "" : ", client " + client)
                  + (since == null ? "" : ", connected since " + since.toInstant()));
        }
      }
    }
    c.commit();
    return found.isEmpty()
        ? "its holder has just let go, or is not visible to this user in pg_stat_activity"
        : String.join("; ", found);
  }

  /**
   * Opens the job's store for a writer that owns some of its partitions, not the whole job: it
   * takes no job epoch (so it fences no other process), and each commit, rollback or reset of a
   * partition first asks {@code fence}, in the same transaction, for the epoch at which this writer
   * owns that partition. The checkpoint row records that epoch, and a commit is refused if the row
   * already holds a higher one. {@link #epoch()} is 0.
   *
   * @throws IllegalArgumentException if {@code job} is not a valid name
   * @throws WaymarkException if the database cannot be reached or is not PostgreSQL or SQLite
   */
  public static JdbcCheckpointStore openFencedByPartition(
      ConnectionSource connections, String job, JdbcStoreOptions options, PartitionFence fence) {
    Names.requireValid("job", job);
    Objects.requireNonNull(fence, "fence");
    return onNewConnection(
        connections,
        "Cannot open the checkpoint tables for job '" + job + "': ",
        (connection, dialect) -> {
          createTables(connection);
          lockAsWriter(connection, dialect, job);
          return new JdbcCheckpointStore(connection, dialect, job, options, 0, fence);
        });
  }

  /**
   * A reader of the job's checkpoints that takes no epoch (so it fences no writer) and writes
   * nothing: for status beside a running job. Close it to release its connection.
   *
   * @throws IllegalArgumentException if {@code job} is not a valid name
   * @throws WaymarkException if the database cannot be reached or holds no checkpoint tables
   */
  public static Reader reader(ConnectionSource connections, String job) {
    Names.requireValid("job", job);
    return onNewConnection(
        connections,
        "Cannot read the checkpoint tables for job '" + job + "': ",
        (connection, dialect) -> {
          requireTables(connection);
          return new Reader(
              new JdbcCheckpointStore(
                  connection, dialect, job, JdbcStoreOptions.ofDefaults(), 0, null));
        });
  }

  /** The jobs with a checkpoint, a kept version or an epoch in the database, sorted by name. */
  public static List<String> jobs(ConnectionSource connections) {
    try (Connection c = connections.open()) {
      requireTables(c);
      List<String> jobs = new ArrayList<>();
      try (Statement s = c.createStatement();
          ResultSet rs =
              s.executeQuery(
                  "SELECT job FROM "
                      + CHECKPOINT_TABLE
                      + " UNION SELECT job FROM "
                      + HISTORY_TABLE
                      + " UNION SELECT job FROM "
                      + JOB_TABLE
                      + " ORDER BY 1")) {
        while (rs.next()) {
          jobs.add(rs.getString(1));
        }
      }
      return jobs;
    } catch (SQLException e) {
      throw new WaymarkException("Cannot list the jobs in the checkpoint tables: " + e, e);
    }
  }

  private static void requireTables(Connection c) throws SQLException {
    try (ResultSet rs = c.getMetaData().getTables(null, c.getSchema(), CHECKPOINT_TABLE, null)) {
      if (!rs.next()) {
        throw new WaymarkException(
            "The database holds no "
                + CHECKPOINT_TABLE
                + " table (in schema "
                + c.getSchema()
                + "): no job has committed a checkpoint to it. Check --db, or use --state for"
                + " the file store.");
      }
    }
  }

  /** A read-only view of one job's checkpoints in the database; see {@link #reader}. */
  public static final class Reader implements CheckpointReader, AutoCloseable {
    private final JdbcCheckpointStore store;

    private Reader(JdbcCheckpointStore store) {
      this.store = store;
    }

    @Override
    public String job() {
      return store.job();
    }

    @Override
    public Optional<Checkpoint> read(String partition) {
      return store.read(partition);
    }

    @Override
    public List<String> partitions() {
      return store.partitions();
    }

    @Override
    public List<Checkpoint> history(String partition) {
      return store.history(partition);
    }

    @Override
    public Optional<PartitionLayout> layout() {
      try {
        return store.layout();
      } catch (CheckpointInvalidException damaged) {
        throw damaged;
      } catch (WaymarkException e) {
        if (e.getCause() instanceof SQLException sql && isMissingTable(sql)) {
          return Optional.empty(); // a database from before layouts has no waymark_layout table
        }
        throw e;
      }
    }

    /** Where the partition's checkpoint is kept, for messages: the table and its key. */
    public Path location(String partition) {
      return store.location(partition);
    }

    @Override
    public void close() {
      store.close();
    }
  }

  /** {@link #open(ConnectionSource, String, JdbcStoreOptions)} with default options. */
  public static JdbcCheckpointStore open(ConnectionSource connections, String job) {
    return open(connections, job, JdbcStoreOptions.ofDefaults());
  }

  /**
   * Creates the store's tables if they are absent, in {@code connection}'s transaction (committed
   * if the connection is in auto-commit mode).
   */
  public static void createTables(Connection connection) throws SQLException {
    try (Statement s = connection.createStatement()) {
      s.execute(
          "CREATE TABLE IF NOT EXISTS "
              + JOB_TABLE
              + " (job VARCHAR(100) PRIMARY KEY, epoch BIGINT NOT NULL)");
      s.execute(
          "CREATE TABLE IF NOT EXISTS "
              + CHECKPOINT_TABLE
              + " (job VARCHAR(100) NOT NULL, partition_id VARCHAR(100) NOT NULL,"
              + " sequence BIGINT NOT NULL, epoch BIGINT NOT NULL, record TEXT NOT NULL,"
              + " PRIMARY KEY (job, partition_id))");
      s.execute(
          "CREATE TABLE IF NOT EXISTS "
              + HISTORY_TABLE
              + " (job VARCHAR(100) NOT NULL, partition_id VARCHAR(100) NOT NULL,"
              + " sequence BIGINT NOT NULL, committed_at_ms BIGINT NOT NULL, record TEXT NOT NULL,"
              + " PRIMARY KEY (job, partition_id, sequence))");
      s.execute(
          "CREATE TABLE IF NOT EXISTS "
              + LAYOUT_TABLE
              + " (job VARCHAR(100) PRIMARY KEY, partitions INTEGER NOT NULL,"
              + " hash VARCHAR(64) NOT NULL)");
    }
    // The success marker lives beside the checkpoints: rollback and reset invalidate it.
    JdbcGlobalCheckpointStore.createTables(connection);
    if (!connection.getAutoCommit()) {
      connection.commit();
    }
  }

  private static long takeNextEpoch(Connection c, Dialect dialect, String job, Duration wait)
      throws SQLException {
    if (dialect == Dialect.POSTGRESQL) {
      try (Statement s = c.createStatement()) {
        s.execute("SET LOCAL lock_timeout = " + wait.toMillis()); // this transaction only
      }
    }
    // The highest epoch on any checkpoint counts too: a deleted job row must not let a new writer
    // fall below one that already committed.
    long jobEpoch;
    try {
      jobEpoch =
          queryLong(c, "SELECT epoch FROM " + JOB_TABLE + " WHERE job = ?" + dialect.forUpdate, job)
              .orElse(0);
    } catch (SQLException e) {
      if (!"55P03".equals(e.getSQLState())) { // lock_not_available
        throw e;
      }
      c.rollback();
      String holders = holders(c, job);
      throw new LockHeldException(
          "Job '"
              + job
              + "' is being written: a writer has held the job's row in waymark_job inside an open"
              + " transaction for more than "
              + wait.toMillis()
              + " ms ("
              + holders
              + "); a writer stopped or stuck in its commit holds it for as long as that lasts."
              + " Wait for it to finish, or stop it (its transaction ends with its connection),"
              + " then run this again.",
          holders);
    }
    long highest =
        Math.max(
            jobEpoch,
            queryLong(c, "SELECT MAX(epoch) FROM " + CHECKPOINT_TABLE + " WHERE job = ?", job)
                .orElse(0));
    long next = highest + 1;
    try (PreparedStatement ps =
        c.prepareStatement(
            "INSERT INTO "
                + JOB_TABLE
                + " (job, epoch) VALUES (?, ?) ON CONFLICT (job) DO UPDATE SET epoch ="
                + " excluded.epoch")) {
      ps.setString(1, job);
      ps.setLong(2, next);
      ps.executeUpdate();
    }
    c.commit();
    return next;
  }

  @Override
  public String job() {
    return job;
  }

  @Override
  public long epoch() {
    return epoch;
  }

  // ------------------------------------------------------------- in the caller's transaction

  /**
   * Advances the partition's checkpoint inside the caller's open transaction. Nothing is durable
   * until the caller commits {@code tx}; if the caller rolls back, the checkpoint does not move.
   *
   * @param tx a connection with auto-commit off, to the database and schema the store was opened on
   *     (from the same {@link ConnectionSource}), holding the data the checkpoint stands for
   * @throws IllegalArgumentException if {@code tx} is in auto-commit mode, or {@code partition} is
   *     not a valid name
   * @throws FencedException if a newer writer has taken over the job (or, for a store {@link
   *     #openFencedByPartition opened fenced by partition}, the partition); roll back {@code tx}
   * @throws CheckpointInvalidException if the stored checkpoint is damaged
   * @throws WaymarkException on a database error, or if {@code tx} reaches other tables than the
   *     store's (another database, schema or SQLite file); roll back {@code tx}
   */
  public Checkpoint commit(Connection tx, String partition, Cursor cursor) {
    Names.requireValid("partition", partition);
    Objects.requireNonNull(cursor, "cursor");
    try {
      if (tx.getAutoCommit()) {
        throw new IllegalArgumentException(
            "commit(tx, ...) of "
                + where(partition)
                + " needs the caller's transaction, but the connection is in auto-commit mode: the"
                + " checkpoint would commit on its own, ahead of the data it stands for. Call"
                + " setAutoCommit(false) on it, write the data and the checkpoint, then commit the"
                + " connection.");
      }
      requireSameTables(tx, partition);
      long writer = checkEpoch(tx, partition);
      Optional<Checkpoint> current = read(tx, partition, true);
      if (current.isPresent() && current.get().epoch() > writer) {
        throw new FencedException(where(partition), writer, current.get().epoch());
      }
      return write(tx, partition, cursor, current.map(Checkpoint::sequence), writer);
    } catch (SQLException e) {
      if (isMissingTable(e)) {
        throw new WaymarkException(
            "Commit of "
                + where(partition)
                + " failed: the connection given to commit does not see the store's tables ("
                + e.getMessage()
                + "). Give it a connection to the database and schema the store was opened on,"
                + " from the same ConnectionSource.",
            e);
      }
      throw new WaymarkException(
          "Commit of " + where(partition) + " failed: " + e.getMessage() + ". Roll back and retry.",
          e);
    }
  }

  /**
   * Refuses a caller's connection that reaches other tables than the store's (another database,
   * schema or file): its commit would land where the store never reads. Asked once per connection.
   */
  private void requireSameTables(Connection tx, String partition) throws SQLException {
    if (sameTables.contains(tx)) {
      return;
    }
    String ours = tables;
    if (ours == null) {
      ours = inOwnTransaction(dialect::whichTables);
      tables = ours;
    }
    String theirs = dialect.whichTables(tx);
    if (!theirs.equals(ours)) {
      throw new WaymarkException(
          "Commit of "
              + where(partition)
              + " refused: the connection given to commit reaches other tables ("
              + theirs
              + ") than the store, which was opened on "
              + ours
              + " (another database, schema or file). Give it a connection to the database and"
              + " schema the store was opened on, from the same ConnectionSource.");
    }
    sameTables.add(tx);
  }

  /** Whether the database said that a table does not exist (PostgreSQL, SQLite). */
  static boolean isMissingTable(SQLException e) {
    String message = String.valueOf(e.getMessage());
    return "42P01".equals(e.getSQLState()) || message.contains("no such table");
  }

  /** Reads the partition's checkpoint in the caller's transaction. */
  public Optional<Checkpoint> read(Connection tx, String partition) {
    Names.requireValid("partition", partition);
    try {
      return read(tx, partition, false);
    } catch (SQLException e) {
      throw new WaymarkException(
          "Cannot read the checkpoint of " + where(partition) + ": " + e.getMessage(), e);
    }
  }

  private Optional<Checkpoint> read(Connection c, String partition, boolean forUpdate)
      throws SQLException {
    // One statement, so one snapshot: in two, under PostgreSQL's READ COMMITTED, another writer's
    // first commit could land between them, its kept version seen without its row, and a checkpoint
    // being born would read as one deleted (a worker saw that in CI).
    String record;
    OptionalLong kept;
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT (SELECT record FROM "
                + CHECKPOINT_TABLE
                + " WHERE job = ? AND partition_id = ?"
                + (forUpdate ? dialect.forUpdate : "")
                + "), (SELECT MAX(sequence) FROM "
                + HISTORY_TABLE
                + " WHERE job = ? AND partition_id = ?)")) {
      ps.setString(1, job);
      ps.setString(2, partition);
      ps.setString(3, job);
      ps.setString(4, partition);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        record = rs.getString(1);
        long newest = rs.getLong(2);
        kept = rs.wasNull() ? OptionalLong.empty() : OptionalLong.of(newest);
      }
    }
    if (record != null) {
      return Optional.of(decode(record, partition, location(partition)));
    }
    if (kept.isPresent()) {
      // Kept versions without a current row: the row was deleted, not the partition reset (a
      // reset deletes both). Reading it as never committed would start the partition over.
      String args = "--db JDBC_URL --job " + job + " --partition " + partition;
      throw new CheckpointInvalidException(
          CheckpointInvalidException.Reason.MISSING,
          location(partition),
          "the partition committed before but its checkpoint row is gone",
          "a row in " + CHECKPOINT_TABLE + ", because " + HISTORY_TABLE + " keeps its versions",
          "no row (the newest kept version is " + kept.getAsLong() + ")",
          "Restore it from history: `waymark checkpoint history "
              + args
              + "`, then `waymark checkpoint rollback "
              + args
              + " --to SEQUENCE`; or start over with `waymark checkpoint reset "
              + args
              + " --yes`.");
    }
    return Optional.empty();
  }

  /** Fails unless this writer may write {@code partition}; returns the epoch it writes at. */
  private long checkEpoch(Connection c, String partition) throws SQLException {
    if (fence != null) {
      return fence.check(c, partition);
    }
    long recorded =
        queryLong(c, "SELECT epoch FROM " + JOB_TABLE + " WHERE job = ?" + dialect.forShare, job)
            .orElse(0);
    if (recorded > epoch) {
      throw new FencedException(where(partition), epoch, recorded);
    }
    if (recorded < epoch) {
      // No writer takes an older epoch: these are other tables than the ones the store opened.
      throw new WaymarkException(
          "Commit of "
              + where(partition)
              + " refused: the connection sees the job at epoch "
              + recorded
              + " in "
              + JOB_TABLE
              + ", but the store opened it at epoch "
              + epoch
              + ", so the connection reaches other tables (another database or schema) than the"
              + " store. Give commit a connection to the database and schema the store was opened"
              + " on, from the same ConnectionSource.");
    }
    return epoch;
  }

  private Checkpoint write(
      Connection c, String partition, Cursor cursor, Optional<Long> currentSequence, long epoch)
      throws SQLException {
    return write(c, partition, cursor, currentSequence, epoch, 1);
  }

  /**
   * Writes the partition's checkpoint after {@code currentSequence}, or, with no current row, as
   * sequence {@code firstSequence}.
   */
  private Checkpoint write(
      Connection c,
      String partition,
      Cursor cursor,
      Optional<Long> currentSequence,
      long epoch,
      long firstSequence)
      throws SQLException {
    long sequence = currentSequence.map(s -> s + 1).orElse(firstSequence);
    Instant now = options.clock().instant();
    Checkpoint next = new Checkpoint(job, partition, cursor, sequence, epoch, now);
    String record = encode(next);
    if (currentSequence.isPresent()) {
      try (PreparedStatement ps =
          c.prepareStatement(
              "UPDATE "
                  + CHECKPOINT_TABLE
                  + " SET sequence = ?, epoch = ?, record = ?"
                  + " WHERE job = ? AND partition_id = ? AND sequence = ?")) {
        ps.setLong(1, sequence);
        ps.setLong(2, epoch);
        ps.setString(3, record);
        ps.setString(4, job);
        ps.setString(5, partition);
        ps.setLong(6, currentSequence.get());
        if (ps.executeUpdate() != 1) {
          throw new WaymarkException(
              "Commit of "
                  + where(partition)
                  + " lost a race: another writer moved the checkpoint past sequence "
                  + currentSequence.get()
                  + " in the meantime. Roll back; only one writer may run a job.");
        }
      }
    } else {
      try (PreparedStatement ps =
          c.prepareStatement(
              "INSERT INTO "
                  + CHECKPOINT_TABLE
                  + " (job, partition_id, sequence, epoch, record) VALUES (?, ?, ?, ?, ?)")) {
        ps.setString(1, job);
        ps.setString(2, partition);
        ps.setLong(3, sequence);
        ps.setLong(4, epoch);
        ps.setString(5, record);
        ps.executeUpdate();
      }
    }
    Retention retention = options.retention();
    if (retention.keepsHistory()) {
      try (PreparedStatement ps =
          c.prepareStatement(
              "INSERT INTO "
                  + HISTORY_TABLE
                  + " (job, partition_id, sequence, committed_at_ms, record) VALUES (?, ?, ?, ?, ?)"
                  + " ON CONFLICT (job, partition_id, sequence) DO UPDATE SET"
                  + " committed_at_ms = excluded.committed_at_ms, record = excluded.record")) {
        ps.setString(1, job);
        ps.setString(2, partition);
        ps.setLong(3, sequence);
        ps.setLong(4, now.toEpochMilli());
        ps.setString(5, record);
        ps.executeUpdate();
      }
    }
    prune(c, partition, sequence, now);
    return next;
  }

  private void prune(Connection c, String partition, long newest, Instant now) throws SQLException {
    Retention retention = options.retention();
    String sql =
        "DELETE FROM "
            + HISTORY_TABLE
            + " WHERE job = ? AND partition_id = ? AND (sequence <= ?"
            + (retention.keepFor().isPresent() ? " OR (sequence < ? AND committed_at_ms < ?)" : "")
            + ")";
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, job);
      ps.setString(2, partition);
      ps.setLong(3, newest - retention.keepLast());
      if (retention.keepFor().isPresent()) {
        ps.setLong(4, newest);
        ps.setLong(5, now.minus(retention.keepFor().get()).toEpochMilli());
      }
      ps.executeUpdate();
    }
  }

  // ------------------------------------------------------------- standalone, own transaction

  @Override
  public Optional<Checkpoint> read(String partition) {
    Names.requireValid("partition", partition);
    return inOwnTransaction(c -> read(c, partition, false));
  }

  @Override
  public List<String> partitions() {
    return inOwnTransaction(
        c -> {
          List<String> names = new ArrayList<>();
          try (PreparedStatement ps =
              c.prepareStatement(
                  "SELECT partition_id FROM "
                      + CHECKPOINT_TABLE
                      + " WHERE job = ? UNION SELECT partition_id FROM "
                      + HISTORY_TABLE
                      + " WHERE job = ? ORDER BY 1")) {
            ps.setString(1, job);
            ps.setString(2, job);
            try (ResultSet rs = ps.executeQuery()) {
              while (rs.next()) {
                names.add(rs.getString(1));
              }
            }
          }
          return names;
        });
  }

  @Override
  public Optional<PartitionLayout> layout() {
    return inOwnTransaction(
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "SELECT partitions, hash FROM " + LAYOUT_TABLE + " WHERE job = ?")) {
            ps.setString(1, job);
            try (ResultSet rs = ps.executeQuery()) {
              if (!rs.next()) {
                return Optional.empty();
              }
              int partitions = rs.getInt(1);
              String hash = rs.getString(2);
              try {
                return Optional.of(new PartitionLayout(partitions, hash));
              } catch (IllegalArgumentException e) {
                throw new CheckpointInvalidException(
                    CheckpointInvalidException.Reason.NOT_THE_FORMAT,
                    Path.of(LAYOUT_TABLE, job),
                    "the job's partition layout is damaged",
                    "a partition count of at least 1 and a hash name",
                    partitions + " partitions, hash '" + hash + "' (" + e.getMessage() + ")",
                    "Delete its row in "
                        + LAYOUT_TABLE
                        + " and run the job again with --rescan, which records it anew.",
                    e);
              }
            }
          }
        });
  }

  /** Records the layout in {@code waymark_layout}, fenced by the job's epoch. */
  @Override
  public void recordLayout(PartitionLayout layout) {
    Objects.requireNonNull(layout, "layout");
    inOwnTransaction(
        c -> {
          if (fence == null) { // fenced by partition: the coordinator holds the layout's agreement
            checkEpoch(c, "(layout)");
          }
          try (PreparedStatement ps =
              c.prepareStatement(
                  "INSERT INTO "
                      + LAYOUT_TABLE
                      + " (job, partitions, hash) VALUES (?, ?, ?) ON CONFLICT (job) DO UPDATE"
                      + " SET partitions = excluded.partitions, hash = excluded.hash")) {
            ps.setString(1, job);
            ps.setInt(2, layout.partitions());
            ps.setString(3, layout.hash());
            ps.executeUpdate();
          }
          return null;
        });
  }

  @Override
  public List<Checkpoint> history(String partition) {
    Names.requireValid("partition", partition);
    return inOwnTransaction(
        c -> {
          List<Checkpoint> entries = new ArrayList<>();
          for (Map.Entry<Long, String> row : historyRows(c, partition).entrySet()) {
            entries.add(
                decode(row.getValue(), partition, historyLocation(partition, row.getKey())));
          }
          return entries;
        });
  }

  /** The partition's kept versions: sequence to record, in sequence order. */
  private Map<Long, String> historyRows(Connection c, String partition) throws SQLException {
    Map<Long, String> rows = new LinkedHashMap<>();
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT sequence, record FROM "
                + HISTORY_TABLE
                + " WHERE job = ? AND partition_id = ? ORDER BY sequence")) {
      ps.setString(1, job);
      ps.setString(2, partition);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          rows.put(rs.getLong(1), rs.getString(2));
        }
      }
    }
    return rows;
  }

  @Override
  public Checkpoint commit(String partition, Cursor cursor) {
    Names.requireValid("partition", partition);
    return inOwnTransaction(c -> commit(c, partition, cursor));
  }

  @Override
  public Checkpoint rollback(String partition, long sequence) {
    Names.requireValid("partition", partition);
    return inOwnTransaction(
        c -> {
          long writer = checkEpoch(c, partition);
          Map<Long, String> kept = historyRows(c, partition);
          String target = kept.get(sequence);
          if (target == null) {
            throw new WaymarkException(
                "Cannot roll back "
                    + where(partition)
                    + " to sequence "
                    + sequence
                    + ": no such version is kept in "
                    + HISTORY_TABLE
                    + ". Kept: "
                    + kept.keySet()
                    + ". Choose one of those with --to.");
          }
          Cursor cursor = decode(target, partition, historyLocation(partition, sequence)).cursor();
          JdbcGlobalCheckpointStore.invalidateSuccess(c, job);
          OptionalLong current =
              queryLong(
                  c,
                  "SELECT sequence FROM "
                      + CHECKPOINT_TABLE
                      + " WHERE job = ? AND partition_id = ?"
                      + dialect.forUpdate,
                  job,
                  partition);
          // A damaged current record must not block its own repair: only its sequence is used.
          // A deleted one is written again, numbered after the newest kept version.
          return write(
              c,
              partition,
              cursor,
              current.isPresent() ? Optional.of(current.getAsLong()) : Optional.empty(),
              writer,
              kept.keySet().stream().mapToLong(Long::longValue).max().orElse(0) + 1);
        });
  }

  @Override
  public void reset(String partition) {
    Names.requireValid("partition", partition);
    inOwnTransaction(
        c -> {
          checkEpoch(c, partition);
          JdbcGlobalCheckpointStore.invalidateSuccess(c, job);
          for (String table : List.of(CHECKPOINT_TABLE, HISTORY_TABLE)) {
            try (PreparedStatement ps =
                c.prepareStatement(
                    "DELETE FROM " + table + " WHERE job = ? AND partition_id = ?")) {
              ps.setString(1, job);
              ps.setString(2, partition);
              ps.executeUpdate();
            }
          }
          return null;
        });
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      synchronized (connection) {
        closeQuietly(connection);
      }
    }
  }

  @Override
  public String toString() {
    return "JdbcCheckpointStore[job "
        + job
        + (fence == null ? ", epoch " + epoch : ", fenced by partition")
        + ", "
        + dialect
        + "]";
  }

  // ------------------------------------------------------------- helpers

  @FunctionalInterface
  private interface SqlWork<T> {
    T run(Connection c) throws SQLException;
  }

  private <T> T inOwnTransaction(SqlWork<T> work) {
    if (closed) {
      throw new IllegalStateException("the checkpoint store of job '" + job + "' is closed");
    }
    synchronized (connection) {
      try {
        T result = work.run(connection);
        connection.commit();
        return result;
      } catch (SQLException e) {
        rollbackQuietly(e);
        throw new WaymarkException(
            "Checkpoint operation for job '" + job + "' failed: " + e.getMessage(), e);
      } catch (RuntimeException e) {
        rollbackQuietly(e);
        throw e;
      }
    }
  }

  private void rollbackQuietly(Exception failure) {
    try {
      connection.rollback();
    } catch (SQLException e) {
      failure.addSuppressed(e);
    }
  }

  private static String encode(Checkpoint checkpoint) {
    byte[] line = CheckpointCodec.encode(checkpoint);
    return new String(line, 0, line.length - 1, StandardCharsets.UTF_8);
  }

  private Checkpoint decode(String record, String partition, Path location) {
    return CheckpointCodec.decode(
        (record + "\n").getBytes(StandardCharsets.UTF_8),
        location,
        new CheckpointCodec.Expectation(
            job, partition, "--db JDBC_URL --job " + job + " --partition " + partition));
  }

  private Path historyLocation(String partition, long sequence) {
    return Path.of(
        HISTORY_TABLE + "(job=" + job + ",partition=" + partition + ",sequence=" + sequence + ")");
  }

  private Path location(String partition) {
    return Path.of(CHECKPOINT_TABLE + "(job=" + job + ",partition=" + partition + ")");
  }

  private String where(String partition) {
    return "job '" + job + "' partition '" + partition + "'";
  }

  private static OptionalLong queryLong(Connection c, String sql, String... params)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < params.length; i++) {
        ps.setString(i + 1, params[i]);
      }
      try (ResultSet rs = ps.executeQuery()) {
        if (rs.next()) {
          long v = rs.getLong(1);
          return rs.wasNull() ? OptionalLong.empty() : OptionalLong.of(v);
        }
        return OptionalLong.empty();
      }
    }
  }

  private static void closeQuietly(Connection c) {
    if (c != null) {
      try {
        c.close();
      } catch (SQLException ignored) {
        // Nothing more to release.
      }
    }
  }
}
