package dev.waymark.bench.ingest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Random;

/**
 * The SQLite write path, candidate against candidate, interleaved in one run: the same rows (from
 * {@link Feed}) into a fresh database file laid out as {@code SqliteSink}'s, in WAL mode with
 * {@code synchronous = FULL} (the durability rule), with a commit per file and with the runner's
 * default units (1 s); no savepoints (the runner sets none for a file that fits in one chunk).
 *
 * <pre>
 * java -cp waymark-cli/target/waymark.jar:waymark-bench/target/classes \
 *   dev.waymark.bench.ingest.SqliteWritePaths FEED_DIR WORK_DIR [ROUNDS] [FILES] [units]
 * </pre>
 *
 * <p>Besides wall time it reports the inserting thread's CPU time: SQLite works in that thread, so
 * CPU time compares the statements themselves on a busy machine, where wall time also holds the
 * fsyncs of the commits and the waits for a core.
 *
 * <p>Candidates: {@code row} (the sink's prepared statement, {@code executeUpdate} per row), {@code
 * batch} ({@code addBatch}/{@code executeBatch}), {@code values} (one multi-row {@code INSERT ...
 * VALUES (...), (...) ... ON CONFLICT DO NOTHING} per file, 100 rows per statement); each with the
 * driver's default (it fetches {@code last_insert_rowid()} after every statement) and with {@code
 * jdbc.get_generated_keys=false} ({@code -no-keys}).
 */
public final class SqliteWritePaths {
  private static final String TABLE = "bench_write_path";
  private static final long UNIT_NANOS = 1_000_000_000L;
  private static final String NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";
  private static final int VALUES_ROWS = 100;

  private SqliteWritePaths() {}

  private enum Candidate {
    ROW,
    BATCH,
    VALUES,
    ROW_NO_KEYS,
    BATCH_NO_KEYS,
    VALUES_NO_KEYS,
    ROW_NO_KEYS_CACHE_64M;

    boolean generatedKeys() {
      return !name().contains("_NO_KEYS");
    }

    int cacheKib() {
      return name().endsWith("_CACHE_64M") ? 65536 : 2000; // 2000 KiB is SQLite's default
    }
  }

  public static void main(String[] args) throws Exception {
    Path feedDir = Path.of(args[0]);
    Path work = Path.of(args[1]);
    int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 5;
    int limit = args.length > 3 ? Integer.parseInt(args[3]) : Integer.MAX_VALUE;
    boolean unitsOnly = args.length > 4 && args[4].equals("units");
    Files.createDirectories(work);
    Feed feed = Feed.load(feedDir, limit);
    System.out.printf(
        "feed: %d files, %d rows, %d distinct; %d rounds%n",
        feed.files.size(), feed.rows, feed.distinct, rounds);
    List<String> variants = new ArrayList<>();
    for (Candidate c : Candidate.values()) {
      if (!unitsOnly
          && (c == Candidate.ROW || c == Candidate.ROW_NO_KEYS || c == Candidate.VALUES_NO_KEYS)) {
        variants.add("commit/file  " + name(c));
      }
      variants.add("1s units     " + name(c));
    }
    Medians perFile = new Medians(), units = new Medians(), cpu = new Medians();
    Random random = new Random(42);
    run(work, feed, Candidate.ROW, false); // warm-up
    for (int round = 1; round <= rounds; round++) {
      List<String> order = new ArrayList<>(variants);
      Collections.shuffle(order, random);
      for (String v : order) {
        boolean perFileCommit = v.startsWith("commit/file");
        Candidate c = Candidate.valueOf(v.substring(13).toUpperCase(Locale.ROOT).replace('-', '_'));
        double[] ms = run(work, feed, c, perFileCommit);
        (perFileCommit ? perFile : units).add(v, ms[0]);
        cpu.add(v, ms[1]);
        System.out.printf("round %d  %-34s %8.0f ms  cpu %8.0f ms%n", round, v, ms[0], ms[1]);
      }
    }
    System.out.println();
    System.out.println("commit per file (ratio to the current per-row statement):");
    System.out.print(perFile.table("commit/file  row", feed.rows));
    System.out.println();
    System.out.println("1 s units (ratio to the current per-row statement):");
    System.out.print(units.table("1s units     row", feed.rows));
    System.out.println();
    System.out.println(
        "CPU time of the inserting thread (ratio to the current per-row statement, 1 s units):");
    System.out.print(cpu.table("1s units     row", feed.rows));
  }

  private static String name(Candidate c) {
    return c.name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /** Opens a SQLite database as the sink does: WAL, synchronous FULL, a busy timeout. */
  static Connection open(Path db, boolean generatedKeys) throws SQLException {
    return open(db, generatedKeys, 2000);
  }

  static Connection open(Path db, boolean generatedKeys, int cacheKib) throws SQLException {
    Properties p = new Properties();
    p.setProperty("jdbc.get_generated_keys", Boolean.toString(generatedKeys));
    Connection c = DriverManager.getConnection("jdbc:sqlite:" + db, p);
    try (Statement s = c.createStatement()) {
      s.execute("PRAGMA busy_timeout = 10000");
      s.execute("PRAGMA journal_mode = WAL");
      s.execute("PRAGMA synchronous = FULL");
      s.execute("PRAGMA cache_size = -" + cacheKib);
      s.execute(
          "CREATE TABLE IF NOT EXISTS "
              + TABLE
              + " (dedup_key TEXT PRIMARY KEY, payload TEXT NOT NULL, source_file TEXT NOT NULL,"
              + " ingested_at TEXT NOT NULL)");
    }
    return c;
  }

  static void delete(Path db) {
    try {
      for (String suffix : new String[] {"", "-wal", "-shm", "-journal"}) {
        Files.deleteIfExists(Path.of(db + suffix));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Returns wall and CPU milliseconds. */
  private static double[] run(Path work, Feed feed, Candidate candidate, boolean perFile)
      throws SQLException {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    Path db = work.resolve("write-path.db");
    delete(db);
    long inserted = 0;
    double millis, cpuMillis;
    try (Connection c = open(db, candidate.generatedKeys(), candidate.cacheKib())) {
      c.setAutoCommit(false);
      Inserter w = new Inserter(c, candidate);
      long cpu0 = threads.getCurrentThreadCpuTime();
      long t0 = System.nanoTime(), unitStart = t0;
      int inUnit = 0;
      for (int i = 0; i < feed.files.size(); i++) {
        if (inUnit == 0) {
          unitStart = System.nanoTime();
        }
        inserted += w.insert(feed.files.get(i));
        inUnit++;
        if (perFile || i == feed.files.size() - 1 || System.nanoTime() - unitStart >= UNIT_NANOS) {
          c.commit();
          inUnit = 0;
        }
      }
      millis = (System.nanoTime() - t0) / 1e6;
      cpuMillis = (threads.getCurrentThreadCpuTime() - cpu0) / 1e6;
      w.close();
      try (Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT count(*) FROM " + TABLE)) {
        rs.next();
        long rows = rs.getLong(1);
        if (rows != feed.distinct || inserted != feed.distinct) {
          throw new IllegalStateException(
              candidate + ": " + rows + " rows, " + inserted + " reported, " + feed.distinct);
        }
      }
      c.commit();
    }
    delete(db);
    return new double[] {millis, cpuMillis};
  }

  /** Inserts one file's rows with one candidate; statements are prepared once and reused. */
  static final class Inserter implements AutoCloseable {
    private final Connection c;
    private final Candidate candidate;
    private final Map<Integer, PreparedStatement> statements = new HashMap<>();

    Inserter(Connection c, Candidate candidate) {
      this.c = c;
      this.candidate = candidate;
    }

    private PreparedStatement statement(int rows) throws SQLException {
      PreparedStatement ps = statements.get(rows);
      if (ps == null) {
        StringBuilder sql =
            new StringBuilder("INSERT INTO ")
                .append(TABLE)
                .append(" (dedup_key, payload, source_file, ingested_at) VALUES ");
        for (int i = 0; i < rows; i++) {
          sql.append(i == 0 ? "" : ", ").append("(?, ?, ?, ").append(NOW).append(')');
        }
        sql.append(" ON CONFLICT (dedup_key) DO NOTHING");
        ps = c.prepareStatement(sql.toString());
        statements.put(rows, ps);
      }
      return ps;
    }

    int insert(List<String[]> rows) throws SQLException {
      int inserted = 0;
      switch (candidate) {
        case ROW, ROW_NO_KEYS, ROW_NO_KEYS_CACHE_64M -> {
          PreparedStatement ps = statement(1);
          for (String[] r : rows) {
            ps.setString(1, r[0]);
            ps.setString(2, r[1]);
            ps.setString(3, r[2]);
            inserted += ps.executeUpdate();
          }
        }
        case BATCH, BATCH_NO_KEYS -> {
          PreparedStatement ps = statement(1);
          for (String[] r : rows) {
            ps.setString(1, r[0]);
            ps.setString(2, r[1]);
            ps.setString(3, r[2]);
            ps.addBatch();
          }
          for (int n : ps.executeBatch()) {
            inserted += n;
          }
        }
        case VALUES, VALUES_NO_KEYS -> {
          for (int from = 0; from < rows.size(); from += VALUES_ROWS) {
            int to = Math.min(rows.size(), from + VALUES_ROWS);
            PreparedStatement ps = statement(to - from);
            int p = 1;
            for (String[] r : rows.subList(from, to)) {
              ps.setString(p++, r[0]);
              ps.setString(p++, r[1]);
              ps.setString(p++, r[2]);
            }
            inserted += ps.executeUpdate();
          }
        }
      }
      return inserted;
    }

    @Override
    public void close() throws SQLException {
      for (PreparedStatement ps : statements.values()) {
        ps.close();
      }
    }
  }
}
