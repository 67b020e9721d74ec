package dev.waymark.bench.ingest;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Array;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;

/**
 * The PostgreSQL write path, candidate against candidate, interleaved in one run: the same rows
 * (from {@link Feed}) into a fresh staging table laid out as {@code PostgresSink}'s, one statement
 * batch per file, with a commit per file and with the runner's default units (commit once a unit
 * has taken 1 s), and with or without the runner's SAVEPOINT before each file after a unit's first.
 *
 * <pre>
 * java -cp waymark-cli/target/waymark.jar:waymark-bench/target/classes \
 *   dev.waymark.bench.ingest.PgWritePaths FEED_DIR JDBC_URL [ROUNDS] [FILES]
 * </pre>
 *
 * <p>Candidates: {@code unnest} (the sink's current {@code INSERT ... SELECT FROM unnest(?::text[],
 * ...) ON CONFLICT DO NOTHING}), {@code batch} ({@code addBatch}/{@code executeBatch} of a one-row
 * {@code INSERT ... VALUES ... ON CONFLICT DO NOTHING} on a connection with {@code
 * reWriteBatchedInserts=true}), {@code copy} ({@code CopyManager} into a temporary staging table,
 * then one {@code INSERT ... SELECT ... ON CONFLICT DO NOTHING}, then {@code TRUNCATE} of the
 * staging table). Each trial checks the table's row count against the feed's distinct keys.
 */
public final class PgWritePaths {
  private static final String TABLE = "bench_write_path";
  private static final long UNIT_NANOS = 1_000_000_000L;

  private PgWritePaths() {}

  /** A way to insert one file's rows in the current transaction. */
  private interface Writer extends AutoCloseable {
    /** Returns the rows inserted, or -1 when the driver does not say. */
    int insert(List<String[]> rows) throws SQLException;

    @Override
    void close() throws SQLException;
  }

  private enum Candidate {
    UNNEST,
    BATCH,
    COPY;

    String url(String base) {
      return this == BATCH
          ? base + (base.contains("?") ? "&" : "?") + "reWriteBatchedInserts=true"
          : base;
    }

    Writer open(Connection c) throws SQLException {
      return switch (this) {
        case UNNEST -> new Unnest(c);
        case BATCH -> new Batch(c);
        case COPY -> new Copy(c);
      };
    }
  }

  private record Variant(Candidate candidate, boolean perFile, boolean savepoints) {
    String label() {
      return (perFile ? "commit/file  " : "1s units     ")
          + candidate.name().toLowerCase(java.util.Locale.ROOT)
          + (perFile ? "" : savepoints ? " +savepoint" : " no savepoint");
    }
  }

  public static void main(String[] args) throws Exception {
    Path feedDir = Path.of(args[0]);
    String url = args[1];
    int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 5;
    int limit = args.length > 3 ? Integer.parseInt(args[3]) : Integer.MAX_VALUE;
    Feed feed = Feed.load(feedDir, limit);
    System.out.printf(
        "feed: %d files, %d rows, %d distinct; %d rounds%n",
        feed.files.size(), feed.rows, feed.distinct, rounds);
    List<Variant> variants = new ArrayList<>();
    for (Candidate c : Candidate.values()) {
      variants.add(new Variant(c, true, false));
      variants.add(new Variant(c, false, true));
    }
    variants.add(new Variant(Candidate.UNNEST, false, false));
    variants.add(new Variant(Candidate.COPY, false, false));
    variants.add(new Variant(Candidate.BATCH, false, false));
    Medians perFile = new Medians(), units = new Medians();
    Random random = new Random(42);
    run(url, feed, variants.get(0)); // warm-up: JIT, server caches
    for (int round = 1; round <= rounds; round++) {
      List<Variant> order = new ArrayList<>(variants);
      Collections.shuffle(order, random);
      for (Variant v : order) {
        Trial t = run(url, feed, v);
        (v.perFile ? perFile : units).add(v.label(), t.millis);
        System.out.printf(
            "round %d  %-34s %8.0f ms  %6d commits  inserted %s%n",
            round, v.label(), t.millis, t.commits, t.inserted < 0 ? "(not reported)" : t.inserted);
      }
    }
    System.out.println();
    System.out.println("commit per file (ratio to the current unnest):");
    System.out.print(perFile.table("commit/file  unnest", feed.rows));
    System.out.println();
    System.out.println("1 s units (ratio to the current unnest with savepoints):");
    System.out.print(units.table("1s units     unnest +savepoint", feed.rows));
  }

  private record Trial(double millis, long commits, long inserted) {}

  private static Trial run(String url, Feed feed, Variant v) throws SQLException {
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement()) {
      s.execute("DROP TABLE IF EXISTS " + TABLE);
      s.execute(
          "CREATE TABLE "
              + TABLE
              + " (dedup_key text PRIMARY KEY, payload jsonb NOT NULL, source_file text NOT NULL,"
              + " ingested_at timestamptz NOT NULL DEFAULT now())");
      s.execute("CHECKPOINT");
    }
    long commits = 0, inserted = 0;
    boolean counted = true;
    double millis;
    try (Connection c = DriverManager.getConnection(v.candidate.url(url));
        Writer w = v.candidate.open(c)) {
      c.setAutoCommit(false);
      long t0 = System.nanoTime(), unitStart = t0;
      int inUnit = 0;
      for (int i = 0; i < feed.files.size(); i++) {
        if (inUnit == 0) {
          unitStart = System.nanoTime();
        } else if (v.savepoints) {
          c.setSavepoint();
        }
        int n = w.insert(feed.files.get(i));
        if (n < 0) {
          counted = false;
        }
        inserted += n;
        inUnit++;
        if (v.perFile
            || i == feed.files.size() - 1
            || System.nanoTime() - unitStart >= UNIT_NANOS) {
          c.commit();
          commits++;
          inUnit = 0;
        }
      }
      millis = (System.nanoTime() - t0) / 1e6;
    }
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT count(*) FROM " + TABLE)) {
      rs.next();
      long rows = rs.getLong(1);
      if (rows != feed.distinct || (counted && inserted != feed.distinct)) {
        throw new IllegalStateException(
            v.label()
                + ": "
                + rows
                + " rows, "
                + inserted
                + " reported, "
                + feed.distinct
                + " expected");
      }
    }
    return new Trial(millis, commits, counted ? inserted : -1);
  }

  private static final class Unnest implements Writer {
    private final Connection c;

    Unnest(Connection c) {
      this.c = c;
    }

    @Override
    public int insert(List<String[]> rows) throws SQLException {
      int n = rows.size();
      String[] k = new String[n], p = new String[n], f = new String[n];
      for (int i = 0; i < n; i++) {
        String[] r = rows.get(i);
        k[i] = r[0];
        p[i] = r[1];
        f[i] = r[2];
      }
      try (PreparedStatement ps =
          c.prepareStatement(
              "INSERT INTO "
                  + TABLE
                  + " (dedup_key, payload, source_file) SELECT k, p::jsonb, f FROM"
                  + " unnest(?::text[], ?::text[], ?::text[]) AS u(k, p, f)"
                  + " ON CONFLICT (dedup_key) DO NOTHING")) {
        Array ka = c.createArrayOf("text", k), pa = c.createArrayOf("text", p);
        Array fa = c.createArrayOf("text", f);
        ps.setArray(1, ka);
        ps.setArray(2, pa);
        ps.setArray(3, fa);
        return ps.executeUpdate();
      }
    }

    @Override
    public void close() {}
  }

  private static final class Batch implements Writer {
    private final PreparedStatement ps;

    Batch(Connection c) throws SQLException {
      ps =
          c.prepareStatement(
              "INSERT INTO "
                  + TABLE
                  + " (dedup_key, payload, source_file) VALUES (?, ?::jsonb, ?)"
                  + " ON CONFLICT (dedup_key) DO NOTHING");
    }

    @Override
    public int insert(List<String[]> rows) throws SQLException {
      for (String[] r : rows) {
        ps.setString(1, r[0]);
        ps.setString(2, r[1]);
        ps.setString(3, r[2]);
        ps.addBatch();
      }
      int total = 0;
      for (int n : ps.executeBatch()) {
        if (n < 0) {
          return -1; // SUCCESS_NO_INFO: rewritten batches do not report rows inserted
        }
        total += n;
      }
      return total;
    }

    @Override
    public void close() throws SQLException {
      ps.close();
    }
  }

  private static final class Copy implements Writer {
    private final CopyManager copy;
    private final PreparedStatement insert;
    private final Statement truncate;

    Copy(Connection c) throws SQLException {
      try (Statement s = c.createStatement()) {
        s.execute("CREATE TEMP TABLE bench_stage (k text, p text, f text)");
      }
      copy = c.unwrap(PGConnection.class).getCopyAPI();
      insert =
          c.prepareStatement(
              "INSERT INTO "
                  + TABLE
                  + " (dedup_key, payload, source_file) SELECT k, p::jsonb, f FROM bench_stage"
                  + " ON CONFLICT (dedup_key) DO NOTHING");
      truncate = c.createStatement();
    }

    @Override
    public int insert(List<String[]> rows) throws SQLException {
      StringBuilder sb = new StringBuilder(rows.size() * 512);
      for (String[] r : rows) {
        for (int i = 0; i < 3; i++) {
          if (i > 0) {
            sb.append('\t');
          }
          escape(r[i], sb);
        }
        sb.append('\n');
      }
      byte[] bytes = sb.toString().getBytes(StandardCharsets.UTF_8);
      try {
        copy.copyIn("COPY bench_stage FROM STDIN", new java.io.ByteArrayInputStream(bytes));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      int n = insert.executeUpdate();
      truncate.execute("TRUNCATE bench_stage");
      return n;
    }

    @Override
    public void close() throws SQLException {
      insert.close();
      truncate.close();
    }
  }

  /** COPY text format: backslash, tab, newline and carriage return escaped. */
  static void escape(String s, StringBuilder sb) {
    for (int i = 0; i < s.length(); i++) {
      char ch = s.charAt(i);
      switch (ch) {
        case '\\' -> sb.append("\\\\");
        case '\t' -> sb.append("\\t");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        default -> sb.append(ch);
      }
    }
  }
}
