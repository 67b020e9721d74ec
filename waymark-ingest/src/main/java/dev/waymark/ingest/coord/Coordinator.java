package dev.waymark.ingest.coord;

import dev.waymark.WaymarkException;
import dev.waymark.checkpoint.FencedException;
import dev.waymark.checkpoint.global.JobOutcome;
import dev.waymark.checkpoint.jdbc.ConnectionSource;
import dev.waymark.checkpoint.jdbc.JdbcCheckpointStore;
import dev.waymark.checkpoint.jdbc.JdbcGlobalCheckpointStore;
import dev.waymark.checkpoint.jdbc.PartitionFence;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * One worker's membership in a job that many worker processes, on any machines, run together: it
 * claims partitions through leases kept in PostgreSQL, renews them by heartbeat, and fences every
 * data commit by the partition's epoch. Thread-safe.
 *
 * <h2>Tables</h2>
 *
 * <pre>
 * waymark_coord_job        job PK, partitions, hash, settings, created_at, created_by, done_at,
 *                          failed_at, failure
 * waymark_coord_partition  (job, partition_id) PK, state free|owned|done, owner, lease_until,
 *                          epoch, updated_at, files, rows_read, new_rows
 * </pre>
 *
 * Each partition's checkpoint is its row in {@code waymark_checkpoint}, written by a {@link
 * JdbcCheckpointStore#openFencedByPartition store fenced by partition} with {@link #fence()}.
 *
 * <h2>Design notes</h2>
 *
 * <ul>
 *   <li><b>The database's clock.</b> Leases are set and compared with the server's {@code
 *       clock_timestamp()}, never a worker's clock: machines disagree, the database is one.
 *   <li><b>Claims.</b> A worker takes a free partition, or an owned one whose lease has expired,
 *       with {@code FOR UPDATE SKIP LOCKED} (two workers never wait on, or take, the same row), and
 *       increments its epoch.
 *   <li><b>Fencing.</b> {@link #fence()} runs in the data's own transaction, before its commit: a
 *       conditional {@code UPDATE} of the partition's row on this worker's epoch, which also renews
 *       the lease. Zero rows means another worker took over: the caller rolls back, so a paused or
 *       cut-off worker never commits data or moves a cursor once its lease was taken. The {@code
 *       UPDATE} locks the row until the data commits, so a takeover waits for a commit in flight
 *       rather than racing it.
 *   <li><b>Heartbeat.</b> Renews this worker's leases every third of the lease on its own
 *       connection. A lease it finds taken is reported, not revoked: the fence decides.
 *   <li><b>Same database.</b> The fence must be in the data's transaction, so the data's database
 *       must be the coordinator's ({@link #requireSameDatabase}).
 *   <li><b>Totals.</b> Each unit adds its files and rows to its partition's row ({@link
 *       #addTotals}) in the data's transaction, after the fence: they commit exactly when the
 *       unit's rows do, so a unit rolled back (a killed worker, a fenced zombie) is never counted,
 *       and the unit redone by the partition's next owner is counted once. {@link #totals} sums
 *       them for the success marker.
 *   <li><b>Failure.</b> A worker whose partition fails on an error that a retry would meet again
 *       records the job failed ({@link #failJob}: {@code failed_at} and the failure marker, in one
 *       transaction). No worker claims a partition of a failed job, and the others stop at their
 *       next unit boundary ({@link #failure}). A worker that joins a failed job starts a new
 *       attempt: it clears the failure, as a new {@code waymark ingest} run clears its job's.
 *   <li><b>Lost connections.</b> Claims, finishes, releases and status run on the coordinator's own
 *       connection, one transaction each ({@code transaction}: rolled back on any failure, so the
 *       connection is never left inside a transaction holding row locks). When the server drops
 *       that connection (a restart, {@code pg_terminate_backend}), the statement is run again on a
 *       new one, with backoff, for up to {@link #RECONNECT_BUDGET}, as the global checkpoint store
 *       does; each piece of work is one transaction, so running it again after a rollback is safe.
 *       A commit whose acknowledgement was lost is the one ambiguous case: a claim that did commit
 *       stays this worker's, unrenewed, until its lease expires and any worker takes it over; a
 *       finish that did commit is recognised by its row (done, at this worker's epoch).
 *   <li><b>Sessions.</b> The coordinator's connections are named {@code waymark coordinator ID} and
 *       {@code waymark heartbeat ID} in {@code pg_stat_activity}, beside the data's {@code waymark
 *       worker ID}, and, like the data's, have the server end a transaction left idle for three
 *       leases (a paused worker's), so that no lock of a coordinator transaction outlives that.
 * </ul>
 */
public final class Coordinator implements AutoCloseable {
  public static final String JOB_TABLE = "waymark_coord_job",
      PARTITION_TABLE = "waymark_coord_partition";

  /** The default lease: how long a silent worker keeps its partitions. */
  public static final Duration DEFAULT_LEASE = Duration.ofSeconds(30);

  /**
   * How long a statement on a lost connection is retried on new ones: the same budget as the global
   * checkpoint store's ({@code JdbcGlobalCheckpointStore}), with the same backoff.
   */
  static final Duration RECONNECT_BUDGET = Duration.ofMinutes(2);

  /** A release while closing tries a new connection once, briefly: the lease expires otherwise. */
  private static final Duration RELEASE_ON_CLOSE_BUDGET = Duration.ofSeconds(1);

  private final ConnectionSource connections;
  private final Object lock = new Object();
  private Connection connection; // claims, finishes, status; guarded by lock; null once lost
  private final JobSpec spec;
  private final String workerId;
  private final Duration lease;
  private final CoordinatorListener listener;
  private final String createdBy;
  private final Timestamp createdAt;
  private final Map<String, Held> held = new ConcurrentHashMap<>();
  private final ScheduledExecutorService heartbeat;
  private Connection heartbeatConnection; // only on the heartbeat thread
  private volatile boolean closed;
  private volatile boolean completedJob;

  /** A lease this worker holds, and whether its loss has been reported. */
  private static final class Held {
    final Lease lease;
    volatile boolean lost;

    Held(Lease lease) {
      this.lease = lease;
    }
  }

  private Coordinator(
      ConnectionSource connections,
      Connection connection,
      JobSpec spec,
      String workerId,
      Duration lease,
      CoordinatorListener listener,
      String createdBy,
      Timestamp createdAt) {
    this.connections = connections;
    this.connection = connection;
    this.spec = spec;
    this.workerId = workerId;
    this.lease = lease;
    this.listener = listener;
    this.createdBy = createdBy;
    this.createdAt = createdAt;
    this.heartbeat =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "waymark-heartbeat");
              t.setDaemon(true);
              return t;
            });
    long period = Math.max(1, lease.toMillis() / 3);
    heartbeat.scheduleWithFixedDelay(this::renew, period, period, TimeUnit.MILLISECONDS);
  }

  /**
   * Joins the job: creates the tables and the job (with every partition free) if this is its first
   * worker, or checks that the recorded job has this worker's spec.
   *
   * @param lease how long a partition stays this worker's without a heartbeat or a commit
   * @throws IllegalArgumentException if the job was created with another spec (a usage error: the
   *     message names each difference)
   * @throws WaymarkException if the coordinator cannot be reached or is not PostgreSQL
   */
  public static Coordinator join(
      ConnectionSource connections,
      JobSpec spec,
      String workerId,
      Duration lease,
      CoordinatorListener listener) {
    Objects.requireNonNull(spec, "spec");
    Objects.requireNonNull(workerId, "workerId");
    Objects.requireNonNull(listener, "listener");
    if (lease.toMillis() < 300) {
      throw new IllegalArgumentException("--lease must be at least 300ms, found " + lease);
    }
    Connection c = null;
    try {
      c = connections.open();
      if (!c.getMetaData().getDatabaseProductName().toLowerCase(Locale.ROOT).contains("postgres")) {
        throw new WaymarkException(
            "The coordinator must be PostgreSQL (a database every worker reaches), not "
                + c.getMetaData().getDatabaseProductName()
                + ". Point --coordinator at jdbc:postgresql://...");
      }
      prepare(c, "coordinator", workerId, lease);
      c.setAutoCommit(false);
      JobRow job = createOrCheck(c, spec, workerId, listener);
      c.setAutoCommit(true); // between transactions; see transaction()
      return new Coordinator(
          connections, c, spec, workerId, lease, listener, job.createdBy, job.createdAt);
    } catch (SQLException e) {
      closeQuietly(c);
      throw new WaymarkException(
          "Cannot join job '"
              + spec.job()
              + "' at the coordinator: "
              + dev.waymark.ingest.sink.JdbcUrls.redact(e.getMessage()),
          e);
    } catch (RuntimeException e) {
      closeQuietly(c);
      throw e;
    }
  }

  /** A worker id unique across machines and restarts: {@code host:pid:random}. */
  public static String newWorkerId() {
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      host = "unknown-host";
    }
    long pid = ManagementFactory.getRuntimeMXBean().getPid();
    return host
        + ":"
        + pid
        + ":"
        + Integer.toHexString(ThreadLocalRandom.current().nextInt(1 << 24));
  }

  /** The job as recorded: its spec, who created it when, and its failure if it failed. */
  private record JobRow(JobSpec spec, String createdBy, Timestamp createdAt, Failure failure) {}

  /**
   * Why a job failed, as its failing worker recorded it.
   *
   * @param at when, by the database's clock
   * @param kind the error's kind, e.g. {@code BAD_INPUT}
   * @param description which worker, which partition, and the error's message
   */
  public record Failure(java.time.Instant at, String kind, String description) {
    /** {@code at T (KIND): DESCRIPTION}, without a final full stop, for a sentence to go on. */
    @Override
    public String toString() {
      return "at " + at + " (" + kind + "): " + description.replaceFirst("\\.+$", "");
    }
  }

  /** Adds {@code column} to {@code table} unless it has it; never locks a table that has it. */
  private static void addColumnIfAbsent(Connection c, String table, String column, String type)
      throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(?) AND attname = ?"
                + " AND NOT attisdropped")) {
      ps.setString(1, table);
      ps.setString(2, column);
      try (ResultSet rs = ps.executeQuery()) {
        if (rs.next()) {
          return;
        }
      }
    }
    try (Statement s = c.createStatement()) {
      s.execute("ALTER TABLE " + table + " ADD COLUMN IF NOT EXISTS " + column + " " + type);
    }
  }

  /**
   * Creates the tables and the job if absent, under a lock (concurrent {@code CREATE TABLE}s can
   * collide), and checks that the recorded job has {@code spec}.
   */
  private static JobRow createOrCheck(
      Connection c, JobSpec spec, String workerId, CoordinatorListener listener)
      throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute("SELECT pg_advisory_xact_lock(hashtext('waymark_coord'))");
      s.execute(
          "CREATE TABLE IF NOT EXISTS "
              + JOB_TABLE
              + " (job VARCHAR(100) PRIMARY KEY, partitions INTEGER NOT NULL,"
              + " hash VARCHAR(64) NOT NULL, settings TEXT NOT NULL,"
              + " created_at TIMESTAMPTZ NOT NULL, created_by VARCHAR(300) NOT NULL,"
              + " done_at TIMESTAMPTZ, failed_at TIMESTAMPTZ, failure TEXT)");
      s.execute(
          "CREATE TABLE IF NOT EXISTS "
              + PARTITION_TABLE
              + " (job VARCHAR(100) NOT NULL REFERENCES "
              + JOB_TABLE
              + " (job) ON DELETE CASCADE,"
              + " partition_id VARCHAR(100) NOT NULL,"
              + " state VARCHAR(5) NOT NULL CHECK (state IN ('free', 'owned', 'done')),"
              + " owner VARCHAR(300), lease_until TIMESTAMPTZ, epoch BIGINT NOT NULL,"
              + " updated_at TIMESTAMPTZ NOT NULL, files BIGINT NOT NULL DEFAULT 0,"
              + " rows_read BIGINT NOT NULL DEFAULT 0, new_rows BIGINT NOT NULL DEFAULT 0,"
              + " PRIMARY KEY (job, partition_id))");
    }
    // Tables created by an earlier version lack the columns of totals and failures.
    addColumnIfAbsent(c, JOB_TABLE, "failed_at", "TIMESTAMPTZ");
    addColumnIfAbsent(c, JOB_TABLE, "failure", "TEXT");
    for (String column : List.of("files", "rows_read", "new_rows")) {
      addColumnIfAbsent(c, PARTITION_TABLE, column, "BIGINT NOT NULL DEFAULT 0");
    }
    JdbcCheckpointStore.createTables(c); // commits; the job's rows follow in a new transaction
    try (Statement s = c.createStatement()) {
      s.execute("SELECT pg_advisory_xact_lock(hashtext('waymark_coord'))");
    }
    Optional<JobRow> recorded = readJob(c, spec.job());
    if (recorded.isEmpty()) {
      // Epochs start above any checkpoint the job already has (from single-process runs), or the
      // first claim would be fenced by the checkpoint rows' own epoch check.
      long base;
      try (PreparedStatement ps =
          c.prepareStatement(
              "SELECT COALESCE(MAX(epoch), 0) FROM "
                  + JdbcCheckpointStore.CHECKPOINT_TABLE
                  + " WHERE job = ?")) {
        ps.setString(1, spec.job());
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          base = rs.getLong(1);
        }
      }
      try (PreparedStatement ps =
          c.prepareStatement(
              "INSERT INTO "
                  + JOB_TABLE
                  + " (job, partitions, hash, settings, created_at, created_by)"
                  + " VALUES (?, ?, ?, ?, clock_timestamp(), ?)")) {
        ps.setString(1, spec.job());
        ps.setInt(2, spec.partitions());
        ps.setString(3, spec.hash());
        ps.setString(4, spec.settingsText());
        ps.setString(5, workerId);
        ps.executeUpdate();
      }
      try (PreparedStatement ps =
          c.prepareStatement(
              "INSERT INTO "
                  + PARTITION_TABLE
                  + " (job, partition_id, state, epoch, updated_at)"
                  + " VALUES (?, ?, 'free', ?, clock_timestamp())")) {
        for (int p = 0; p < spec.partitions(); p++) {
          ps.setString(1, spec.job());
          ps.setString(2, Integer.toString(p));
          ps.setLong(3, base);
          ps.addBatch();
        }
        ps.executeBatch();
      }
      // A new job has no outcome yet: one left by an earlier run of the name must not satisfy
      // `waymark wait`. The last worker writes the success marker (CoordinatedIngest).
      JdbcCheckpointStore.createTables(c);
      try (PreparedStatement ps =
          c.prepareStatement(
              "DELETE FROM " + JdbcGlobalCheckpointStore.OUTCOME_TABLE + " WHERE job = ?")) {
        ps.setString(1, spec.job());
        ps.executeUpdate();
      }
      recorded = readJob(c, spec.job());
      c.commit();
      listener.jobCreated(spec);
    } else if (recorded.get().failure != null
        && spec.differencesFrom(recorded.get().spec).isEmpty()) {
      // A new attempt at a failed job, as a new `waymark ingest` run of a failed one: the failure
      // marker goes, and the partitions resume from their checkpoints.
      try (PreparedStatement ps =
          c.prepareStatement(
              "UPDATE " + JOB_TABLE + " SET failed_at = NULL, failure = NULL WHERE job = ?")) {
        ps.setString(1, spec.job());
        ps.executeUpdate();
      }
      try (PreparedStatement ps =
          c.prepareStatement(
              "DELETE FROM "
                  + JdbcGlobalCheckpointStore.OUTCOME_TABLE
                  + " WHERE job = ? AND outcome = 'failure'")) {
        ps.setString(1, spec.job());
        ps.executeUpdate();
      }
      c.commit();
      listener.jobResumed(spec, recorded.get().failure);
    } else {
      c.commit();
    }
    JobRow row = recorded.orElseThrow();
    List<String> differences = spec.differencesFrom(row.spec);
    if (!differences.isEmpty()) {
      throw new IllegalArgumentException(
          "Job '"
              + spec.job()
              + "' was created in "
              + JOB_TABLE
              + " by worker "
              + row.createdBy
              + " at "
              + row.createdAt.toInstant()
              + " with another layout: "
              + String.join("; ", differences)
              + ". Every worker of a job must split and load the input the same way: start this"
              + " one with the job's flags, or use another --job.");
    }
    return row;
  }

  /** The job's row, if it exists. */
  private static Optional<JobRow> readJob(Connection c, String job) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT partitions, hash, settings, created_by, created_at, failed_at, failure FROM "
                + JOB_TABLE
                + " WHERE job = ?")) {
      ps.setString(1, job);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return Optional.empty();
        }
        JobSpec recorded =
            new JobSpec(job, rs.getInt(1), rs.getString(2), JobSpec.parseSettings(rs.getString(3)));
        return Optional.of(
            new JobRow(recorded, rs.getString(4), rs.getTimestamp(5), failure(rs, 6)));
      }
    }
  }

  /** The failure in columns {@code at} ({@code failed_at}) and {@code at + 1} ({@code failure}). */
  private static Failure failure(ResultSet rs, int at) throws SQLException {
    Timestamp failedAt = rs.getTimestamp(at);
    if (failedAt == null) {
      return null;
    }
    String text = String.valueOf(rs.getString(at + 1));
    int colon = text.indexOf(": ");
    return colon < 0
        ? new Failure(failedAt.toInstant(), "FAILURE", text)
        : new Failure(failedAt.toInstant(), text.substring(0, colon), text.substring(colon + 2));
  }

  public String workerId() {
    return workerId;
  }

  public JobSpec spec() {
    return spec;
  }

  public Duration lease() {
    return lease;
  }

  /**
   * Checks that {@code data} (the connection the rows go through) reaches the coordinator's
   * database: the fence runs in the data's transaction, so it must see the same job row.
   *
   * @throws IllegalArgumentException if it does not
   */
  public void requireSameDatabase(Connection data, String dataDescription) throws SQLException {
    String reason;
    try (PreparedStatement ps =
        data.prepareStatement(
            "SELECT created_by, created_at FROM " + JOB_TABLE + " WHERE job = ?")) {
      ps.setString(1, spec.job());
      try (ResultSet rs = ps.executeQuery()) {
        reason =
            !rs.next()
                ? "it has no job '" + spec.job() + "' in " + JOB_TABLE
                : rs.getString(1).equals(createdBy) && rs.getTimestamp(2).equals(createdAt)
                    ? null
                    : "its job '" + spec.job() + "' is another one";
      }
    } catch (SQLException e) {
      reason = "it has no table " + JOB_TABLE + " (" + e.getMessage() + ")";
    } finally {
      if (!data.getAutoCommit()) {
        data.rollback();
      }
    }
    if (reason != null) {
      throw new IllegalArgumentException(
          "--db "
              + dataDescription
              + " is not the coordinator's database: "
              + reason
              + ". A worker fences each commit in the data's own transaction, so the data must go"
              + " to the coordinator's database (and schema): leave --db out, or point it there.");
    }
  }

  /**
   * Runs {@code setup} while no other worker of any job runs its own, or creates the coordinator's
   * tables: PostgreSQL's {@code CREATE TABLE IF NOT EXISTS} is not safe against itself, and every
   * worker creates the same tables when it starts.
   */
  public void setUpExclusively(Runnable setup) {
    inTransaction(
        c -> {
          try (Statement s = c.createStatement()) {
            s.execute("SELECT pg_advisory_xact_lock(hashtext('waymark_coord'))");
          }
          setup.run(); // the lock is held until the transaction ends, however setup ends
          return null;
        },
        ignored -> {});
  }

  // ---------------------------------------------------------------------------- leases

  /**
   * Claims one partition: a free one, or one whose lease has expired (taking it over). Never one
   * this worker already holds.
   *
   * @return the lease, or empty if no partition is claimable now
   */
  public Optional<Lease> claim() {
    return inTransaction(
        c -> {
          String partition, previousOwner;
          try (PreparedStatement ps =
              c.prepareStatement(
                  "SELECT partition_id, state, owner FROM "
                      + PARTITION_TABLE
                      + " WHERE job = ? AND (state = 'free'"
                      + " OR (state = 'owned' AND lease_until < clock_timestamp()))"
                      + " AND NOT (partition_id = ANY (?))"
                      // A failed job's partitions wait for a new attempt (a worker joining it).
                      + " AND NOT EXISTS (SELECT 1 FROM "
                      + JOB_TABLE
                      + " WHERE job = ? AND failed_at IS NOT NULL)"
                      + " ORDER BY length(partition_id), partition_id LIMIT 1"
                      + " FOR UPDATE SKIP LOCKED")) {
            ps.setString(1, spec.job());
            ps.setArray(2, c.createArrayOf("varchar", held.keySet().toArray()));
            ps.setString(3, spec.job());
            try (ResultSet rs = ps.executeQuery()) {
              if (!rs.next()) {
                return Optional.empty();
              }
              partition = rs.getString(1);
              previousOwner = rs.getString(2).equals("owned") ? rs.getString(3) : null;
            }
          }
          long epoch;
          try (PreparedStatement ps =
              c.prepareStatement(
                  "UPDATE "
                      + PARTITION_TABLE
                      + " SET state = 'owned', owner = ?, epoch = epoch + 1,"
                      + " lease_until = clock_timestamp() + ? * INTERVAL '1 millisecond',"
                      + " updated_at = clock_timestamp()"
                      + " WHERE job = ? AND partition_id = ? RETURNING epoch")) {
            ps.setString(1, workerId);
            ps.setLong(2, lease.toMillis());
            ps.setString(3, spec.job());
            ps.setString(4, partition);
            try (ResultSet rs = ps.executeQuery()) {
              rs.next();
              epoch = rs.getLong(1);
            }
          }
          return Optional.of(new Lease(partition, epoch, Optional.ofNullable(previousOwner)));
        },
        claimed ->
            claimed.ifPresent(
                l -> {
                  held.put(l.partition(), new Held(l)); // only once the claim has committed
                  listener.claimed(l);
                }));
  }

  /**
   * The fence for a {@link JdbcCheckpointStore#openFencedByPartition store fenced by partition}: in
   * the data's transaction, renews this worker's lease of the partition on condition that the
   * recorded epoch is still this worker's, and refuses with {@link FencedException} otherwise.
   */
  public PartitionFence fence() {
    return this::checkOwnership;
  }

  private long checkOwnership(Connection tx, String partition) throws SQLException {
    Held h = held.get(partition);
    if (h == null) {
      throw new FencedException(
          "job '" + spec.job() + "' partition '" + partition + "' (not claimed by this worker)",
          0,
          current(tx, partition).epoch);
    }
    if (renewOne(tx, h.lease)) {
      return h.lease.epoch();
    }
    Recorded now = current(tx, partition);
    reportLost(h, now, "noticed at a commit");
    listener.commitRefused(h.lease, now.epoch, owner(now));
    throw new FencedException(
        "job '" + spec.job() + "' partition '" + partition + "'", h.lease.epoch(), now.epoch);
  }

  /**
   * Records the partition done, if this worker still owns it; when it was the last, records the job
   * done.
   *
   * @return false if another worker has taken the partition over (reported as lost)
   */
  public boolean finish(Lease lease) {
    return inTransaction(
            c -> {
              // Finishes take the job's row first, one at a time: two workers finishing the last
              // two partitions at once would each see the other's still owned (uncommitted), and
              // neither would record the job done. Under READ COMMITTED the second, once the
              // first commits, sees its partition done.
              try (PreparedStatement ps =
                  c.prepareStatement(
                      "SELECT done_at FROM " + JOB_TABLE + " WHERE job = ? FOR UPDATE")) {
                ps.setString(1, spec.job());
                ps.executeQuery().close();
              }
              int updated;
              try (PreparedStatement ps =
                  c.prepareStatement(
                      "UPDATE "
                          + PARTITION_TABLE
                          + " SET state = 'done', lease_until = NULL, updated_at = clock_timestamp()"
                          + " WHERE job = ? AND partition_id = ? AND epoch = ? AND owner = ?"
                          + " AND state = 'owned'")) {
                ps.setString(1, spec.job());
                ps.setString(2, lease.partition());
                ps.setLong(3, lease.epoch());
                ps.setString(4, workerId);
                updated = ps.executeUpdate();
              }
              if (updated == 0) {
                Recorded now = current(c, lease.partition());
                if (!now.state.equals("done")
                    || now.epoch != lease.epoch()
                    || !workerId.equals(now.owner)) {
                  return new Finish(Optional.of(now), false);
                }
                // Done at this worker's epoch: an earlier attempt of this finish committed, and the
                // connection was lost before its acknowledgement.
                return new Finish(Optional.empty(), finishedLast(c, lease.partition()));
              }
              try (PreparedStatement ps =
                  c.prepareStatement(
                      "UPDATE "
                          + JOB_TABLE
                          + " SET done_at = clock_timestamp() WHERE job = ? AND done_at IS NULL"
                          + " AND NOT EXISTS (SELECT 1 FROM "
                          + PARTITION_TABLE
                          + " WHERE job = ? AND state <> 'done')")) {
                ps.setString(1, spec.job());
                ps.setString(2, spec.job());
                return new Finish(Optional.empty(), ps.executeUpdate() == 1);
              }
            },
            f -> {
              Held h = held.remove(lease.partition());
              if (f.lost.isEmpty()) {
                if (f.lastOfJob) {
                  completedJob = true;
                }
                listener.finished(lease);
              } else if (h != null) {
                reportLost(h, f.lost.get(), "noticed at the end of the partition");
              }
            })
        .lost
        .isEmpty();
  }

  /**
   * A finish's outcome: the partition's row if another worker holds it; whether it was the last.
   */
  private record Finish(Optional<Recorded> lost, boolean lastOfJob) {}

  /**
   * Whether this worker's finish of {@code partition}, already committed, set the job's {@code
   * done_at}: the job is done and no partition was finished after this one (finishes of a job are
   * serialised by its row lock, and the last one sets {@code done_at}).
   */
  private boolean finishedLast(Connection c, String partition) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT j.done_at IS NOT NULL AND p.updated_at >= (SELECT MAX(updated_at) FROM "
                + PARTITION_TABLE
                + " WHERE job = j.job) FROM "
                + JOB_TABLE
                + " j JOIN "
                + PARTITION_TABLE
                + " p ON p.job = j.job AND p.partition_id = ? WHERE j.job = ?")) {
      ps.setString(1, partition);
      ps.setString(2, spec.job());
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() && rs.getBoolean(1);
      }
    }
  }

  /**
   * Whether this worker set the job's {@code done_at}: it finished the job's last partition, and
   * writes the job's final global checkpoint and success marker.
   */
  public boolean completedTheJob() {
    return completedJob;
  }

  /**
   * In the unit's transaction {@code tx}, after {@link #fence()} passed in it (so the partition's
   * row is this worker's and locked until {@code tx} ends): adds the unit's files and rows to the
   * partition's totals. They commit, or roll back, with the unit.
   *
   * @throws FencedException if the partition is not this worker's at its epoch
   */
  public void addTotals(Connection tx, String partition, long files, long rowsRead, long newRows)
      throws SQLException {
    Held h = held.get(partition);
    int updated = 0;
    if (h != null) {
      try (PreparedStatement ps =
          tx.prepareStatement(
              "UPDATE "
                  + PARTITION_TABLE
                  + " SET files = files + ?, rows_read = rows_read + ?, new_rows = new_rows + ?"
                  + " WHERE job = ? AND partition_id = ? AND epoch = ? AND owner = ?"
                  + " AND state = 'owned'")) {
        ps.setLong(1, files);
        ps.setLong(2, rowsRead);
        ps.setLong(3, newRows);
        ps.setString(4, spec.job());
        ps.setString(5, partition);
        ps.setLong(6, h.lease.epoch());
        ps.setString(7, workerId);
        updated = ps.executeUpdate();
      }
    }
    if (updated != 1) {
      throw new FencedException(
          "job '" + spec.job() + "' partition '" + partition + "' (totals)",
          h == null ? 0 : h.lease.epoch(),
          current(tx, partition).epoch);
    }
  }

  /**
   * The job's totals: every unit its workers committed, summed over its partitions, each unit once
   * (see {@link #addTotals}). Duplicates are the rows read that were not new.
   */
  public JobOutcome.Totals totals() {
    return inTransaction(
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "SELECT COALESCE(SUM(files), 0), COALESCE(SUM(rows_read), 0),"
                      + " COALESCE(SUM(new_rows), 0) FROM "
                      + PARTITION_TABLE
                      + " WHERE job = ?")) {
            ps.setString(1, spec.job());
            try (ResultSet rs = ps.executeQuery()) {
              rs.next();
              long read = rs.getLong(2), fresh = rs.getLong(3);
              return new JobOutcome.Totals(rs.getLong(1), read, fresh, read - fresh);
            }
          }
        },
        ignored -> {});
  }

  /** The job's failure, if a worker recorded it failed ({@link #failJob}) since this attempt. */
  public Optional<Failure> failure() {
    return inTransaction(
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "SELECT failed_at, failure FROM " + JOB_TABLE + " WHERE job = ?")) {
            ps.setString(1, spec.job());
            try (ResultSet rs = ps.executeQuery()) {
              return rs.next() ? Optional.ofNullable(failure(rs, 1)) : Optional.<Failure>empty();
            }
          }
        },
        ignored -> {});
  }

  /**
   * Records the job failed, with {@code kind} and {@code description}, unless it already failed or
   * is done: {@code failed_at} and the job's failure marker (which {@code waymark wait} reports) in
   * one transaction. From then on no worker claims a partition of the job.
   *
   * @return the failure recorded: this one, or the one another worker recorded first; empty if the
   *     job is done
   */
  public Optional<Failure> failJob(String kind, String description) {
    return this.<Optional<Recording>>inTransaction(
            c -> {
              try (PreparedStatement ps =
                  c.prepareStatement(
                      "UPDATE "
                          + JOB_TABLE
                          + " SET failed_at = clock_timestamp(), failure = ?"
                          + " WHERE job = ? AND failed_at IS NULL AND done_at IS NULL"
                          + " RETURNING failed_at")) {
                ps.setString(1, kind + ": " + description);
                ps.setString(2, spec.job());
                try (ResultSet rs = ps.executeQuery()) {
                  if (rs.next()) {
                    java.time.Instant at = rs.getTimestamp(1).toInstant();
                    JdbcGlobalCheckpointStore.writeOutcome(
                        c, JobOutcome.failed(spec.job(), at, kind, description));
                    return Optional.of(new Recording(new Failure(at, kind, description), true));
                  }
                }
              }
              try (PreparedStatement ps =
                  c.prepareStatement(
                      "SELECT failed_at, failure FROM " + JOB_TABLE + " WHERE job = ?")) {
                ps.setString(1, spec.job());
                try (ResultSet rs = ps.executeQuery()) {
                  return rs.next()
                      ? Optional.ofNullable(failure(rs, 1)).map(f -> new Recording(f, false))
                      : Optional.<Recording>empty();
                }
              }
            },
            recorded ->
                recorded
                    .filter(Recording::mine)
                    .ifPresent(r -> listener.jobFailed(spec, r.failure())))
        .map(Recording::failure);
  }

  private record Recording(Failure failure, boolean mine) {}

  /**
   * In {@code tx}: locks the partition's row and says whether no worker owns it (free or done), so
   * that its checkpoint is stable until {@code tx} ends; a claim in flight (the row locked) counts
   * as owned. A global checkpoint's coordinator marks such a partition itself.
   */
  public boolean lockIfUnowned(Connection tx, String partition) throws SQLException {
    try (PreparedStatement ps =
        tx.prepareStatement(
            "SELECT state FROM "
                + PARTITION_TABLE
                + " WHERE job = ? AND partition_id = ? FOR UPDATE SKIP LOCKED")) {
      ps.setString(1, spec.job());
      ps.setString(2, partition);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() && !rs.getString(1).equals("owned");
      }
    }
  }

  /** Forgets a partition this worker was fenced out of: its new owner finishes it. */
  public void forget(Lease lease) {
    held.remove(lease.partition());
  }

  /**
   * Frees a partition this worker still owns but will not finish (it is stopping), so that another
   * worker can claim it at once instead of waiting for the lease to expire.
   */
  public void release(Lease lease) {
    release(lease, RECONNECT_BUDGET);
  }

  private void release(Lease lease, Duration reconnectBudget) {
    held.remove(lease.partition());
    inTransaction(
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "UPDATE "
                      + PARTITION_TABLE
                      + " SET state = 'free', owner = NULL, lease_until = NULL,"
                      + " updated_at = clock_timestamp()"
                      + " WHERE job = ? AND partition_id = ? AND epoch = ? AND owner = ?"
                      + " AND state = 'owned'")) {
            ps.setString(1, spec.job());
            ps.setString(2, lease.partition());
            ps.setLong(3, lease.epoch());
            ps.setString(4, workerId);
            ps.executeUpdate();
          }
          return null;
        },
        ignored -> {},
        reconnectBudget);
  }

  /** Counts of the job's partitions by state, as the coordinator sees them now. */
  public record Status(int free, int owned, int expired, int done) {
    public boolean jobDone() {
      return free == 0 && owned == 0 && expired == 0;
    }
  }

  public Status status() {
    return inTransaction(
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "SELECT COUNT(*) FILTER (WHERE state = 'free'),"
                      + " COUNT(*) FILTER (WHERE state = 'owned' AND lease_until >= clock_timestamp()),"
                      + " COUNT(*) FILTER (WHERE state = 'owned' AND lease_until < clock_timestamp()),"
                      + " COUNT(*) FILTER (WHERE state = 'done') FROM "
                      + PARTITION_TABLE
                      + " WHERE job = ?")) {
            ps.setString(1, spec.job());
            try (ResultSet rs = ps.executeQuery()) {
              rs.next();
              return new Status(rs.getInt(1), rs.getInt(2), rs.getInt(3), rs.getInt(4));
            }
          }
        },
        ignored -> {});
  }

  // ---------------------------------------------------------------------------- heartbeat

  private void renew() {
    if (closed || held.isEmpty()) {
      return;
    }
    try {
      if (heartbeatConnection == null || heartbeatConnection.isClosed()) {
        heartbeatConnection = connections.open();
        heartbeatConnection.setAutoCommit(true);
        prepare(heartbeatConnection, "heartbeat", workerId, lease);
      }
      for (Held h : held.values()) {
        if (!h.lost && !renewOne(heartbeatConnection, h.lease)) {
          Recorded now = current(heartbeatConnection, h.lease.partition());
          // The same epoch means no one else claimed it: this worker finished or freed it just now.
          if (now.epoch != h.lease.epoch()) {
            reportLost(h, now, "noticed by the heartbeat");
          }
        }
      }
    } catch (SQLException | RuntimeException e) {
      closeQuietly(heartbeatConnection);
      heartbeatConnection = null;
      if (!closed) {
        listener.renewFailed(e);
      }
    }
  }

  /** Extends the lease if the partition is still this worker's at its epoch. */
  private boolean renewOne(Connection c, Lease l) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "UPDATE "
                + PARTITION_TABLE
                + " SET lease_until = clock_timestamp() + ? * INTERVAL '1 millisecond',"
                + " updated_at = clock_timestamp()"
                + " WHERE job = ? AND partition_id = ? AND epoch = ? AND owner = ?"
                + " AND state = 'owned'")) {
      ps.setLong(1, lease.toMillis());
      ps.setString(2, spec.job());
      ps.setString(3, l.partition());
      ps.setLong(4, l.epoch());
      ps.setString(5, workerId);
      return ps.executeUpdate() == 1;
    }
  }

  private record Recorded(long epoch, String owner, String state) {}

  private Recorded current(Connection c, String partition) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT epoch, owner, state FROM "
                + PARTITION_TABLE
                + " WHERE job = ? AND partition_id = ?")) {
      ps.setString(1, spec.job());
      ps.setString(2, partition);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next()
            ? new Recorded(rs.getLong(1), rs.getString(2), rs.getString(3))
            : new Recorded(0, null, "absent");
      }
    }
  }

  private void reportLost(Held h, Recorded now, String how) {
    synchronized (h) {
      if (h.lost) {
        return;
      }
      h.lost = true;
    }
    listener.lost(h.lease, now.epoch, owner(now), how);
  }

  private static String owner(Recorded r) {
    return r.owner == null ? "(no owner, " + r.state + ")" : r.owner;
  }

  // ---------------------------------------------------------------------------- plumbing

  @FunctionalInterface
  private interface SqlWork<T> {
    T run(Connection c) throws SQLException;
  }

  @FunctionalInterface
  private interface AfterCommit<T> {
    void accept(T result);
  }

  /**
   * Runs {@code work} in a transaction of the coordinator's connection, then {@code after} (once it
   * has committed). A lost connection is replaced and the work run again, with backoff, for up to
   * {@link #RECONNECT_BUDGET}.
   */
  private <T> T inTransaction(SqlWork<T> work, AfterCommit<T> after) {
    return inTransaction(work, after, RECONNECT_BUDGET);
  }

  private <T> T inTransaction(SqlWork<T> work, AfterCommit<T> after, Duration reconnectBudget) {
    if (closed) {
      throw new IllegalStateException("the coordinator of job '" + spec.job() + "' is closed");
    }
    T result;
    synchronized (lock) {
      long start = System.nanoTime();
      long deadline = start + reconnectBudget.toNanos();
      long backoffMs = 100;
      for (int attempt = 1; ; attempt++) {
        try {
          if (connection == null) {
            connection = connections.open();
            prepare(connection, "coordinator", workerId, lease);
          }
          result = transaction(connection, work);
          break;
        } catch (SQLException e) {
          if (!lostConnection(e) || System.nanoTime() >= deadline) {
            throw new WaymarkException(
                "The coordinator of job '"
                    + spec.job()
                    + "' failed"
                    + (attempt > 1
                        ? " after "
                            + attempt
                            + " attempts over "
                            + Duration.ofNanos(System.nanoTime() - start).toSeconds()
                            + "s on new connections"
                        : "")
                    + ": "
                    + e.getMessage(),
                e);
          }
          closeQuietly(connection);
          connection = null;
          listener.reconnecting(e, attempt, Duration.ofMillis(backoffMs));
          sleep(backoffMs);
          backoffMs = Math.min(backoffMs * 2, 5_000);
        }
      }
    }
    after.accept(result);
    return result;
  }

  /**
   * Runs {@code work} as one transaction on {@code c}: commits if it returns; rolls back whatever
   * it throws, an unchecked exception or an {@link Error} included, so that the connection is never
   * left inside a failed or open transaction (holding row and advisory locks other workers wait
   * for); and puts auto-commit back as it was.
   */
  private static <T> T transaction(Connection c, SqlWork<T> work) throws SQLException {
    boolean autoCommit = c.getAutoCommit();
    if (autoCommit) {
      c.setAutoCommit(false);
    }
    T result;
    try {
      result = work.run(c);
      c.commit();
    } catch (Throwable t) {
      try {
        c.rollback();
      } catch (SQLException | RuntimeException r) {
        t.addSuppressed(r);
      }
      restoreAutoCommit(c, autoCommit, t);
      throw t;
    }
    restoreAutoCommit(c, autoCommit, null);
    return result;
  }

  private static void restoreAutoCommit(Connection c, boolean autoCommit, Throwable failure) {
    if (!autoCommit) {
      return;
    }
    try {
      c.setAutoCommit(true);
    } catch (SQLException e) {
      // After a commit, the work is done: a connection broken just now fails its next use, which
      // replaces it. After a failure, the failure is what the caller needs to see.
      if (failure != null) {
        failure.addSuppressed(e);
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

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new WaymarkException("interrupted while reconnecting to the coordinator", e);
    }
  }

  /**
   * Names the connection in {@code pg_stat_activity} ({@code waymark ROLE WORKER_ID}), and has the
   * server end its transaction if it stays idle for three leases: a worker paused (SIGSTOP, a
   * frozen VM) inside a coordinator transaction would otherwise hold the job's row, which every
   * finish locks, or the start-up lock, until it resumes. Resumed, it finds the connection gone and
   * reconnects. {@code c} must be in auto-commit mode.
   */
  private static void prepare(Connection c, String role, String workerId, Duration lease)
      throws SQLException {
    c.setClientInfo("ApplicationName", "waymark " + role + " " + workerId);
    try (Statement s = c.createStatement()) {
      s.execute("SET idle_in_transaction_session_timeout = " + lease.multipliedBy(3).toMillis());
    }
  }

  /** Stops the heartbeat and frees the partitions this worker still holds. Idempotent. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    heartbeat.shutdownNow();
    try {
      heartbeat.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (Held h : new ArrayList<>(held.values())) {
      try {
        release(h.lease, RELEASE_ON_CLOSE_BUDGET);
      } catch (RuntimeException e) {
        // The lease will expire instead.
      }
    }
    closed = true;
    closeQuietly(heartbeatConnection);
    synchronized (lock) {
      closeQuietly(connection);
      connection = null;
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
