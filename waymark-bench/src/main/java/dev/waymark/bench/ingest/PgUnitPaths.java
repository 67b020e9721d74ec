package dev.waymark.bench.ingest;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;

/**
 * The PostgreSQL write path inside a unit of several files, candidate against candidate,
 * interleaved: the same precomputed rows (from {@link Feed}) into a fresh table laid out as {@code
 * PostgresSink}'s, a commit every {@code FILES_PER_UNIT} files, each candidate reporting every
 * file's count of new rows (checked against the feed: the first file holding a key gets it).
 * Records, per trial, the wall time, the CPU time of the PostgreSQL backend serving the connection
 * ({@code /proc/PID/schedstat}, so the server must be local and readable) and of the writing
 * thread.
 *
 * <pre>
 * java -cp waymark-cli/target/waymark.jar:waymark-bench/target/classes \
 *   dev.waymark.bench.ingest.PgUnitPaths FEED_DIR JDBC_URL [ROUNDS] [FILES_PER_UNIT] [VARIANTS]
 * </pre>
 *
 * <p>Candidates: {@code file} (the sink's statement per file: {@code INSERT ... SELECT FROM
 * unnest(?::text[] x3) ON CONFLICT DO NOTHING}, update count = new rows); {@code group-N} (one such
 * statement per group of files holding at least N rows, or what is left of the unit, {@code
 * group-unit} one per unit, as {@code WITH ins AS (INSERT ... RETURNING source_file) SELECT
 * source_file, count(*) FROM ins GROUP BY 1}; {@code groupord-N} the same with {@code WITH
 * ORDINALITY ... ORDER BY} the ordinal); {@code pipe-N} (per-file statements sent as one JDBC batch
 * per group, one round trip, update count per file); {@code copy-text} and {@code copy-bin} (the
 * unit's rows by {@code CopyManager} into a temporary table {@code ON COMMIT DELETE ROWS}, then one
 * grouped {@code INSERT ... SELECT ... ORDER BY ord}).
 */
public final class PgUnitPaths {
  private static final String TABLE = "bench_unit_path";

  private PgUnitPaths() {}

  /** Inserts a group of whole files in the current transaction; returns new rows per file. */
  private interface Writer extends AutoCloseable {
    long[] insert(List<List<String[]>> files) throws SQLException;

    @Override
    default void close() throws SQLException {}
  }

  public static void main(String[] args) throws Exception {
    Path feedDir = Path.of(args[0]);
    String url = args[1];
    int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 3;
    int perUnit = args.length > 3 ? Integer.parseInt(args[3]) : 300;
    List<String> variants =
        args.length > 4
            ? Arrays.asList(args[4].split(","))
            : List.of("file", "group-2000", "group-unit", "pipe-2000", "copy-text", "copy-bin");
    Feed feed = Feed.load(feedDir, Integer.MAX_VALUE);
    long[] expected = expectedCounts(feed);
    System.out.printf(
        Locale.ROOT,
        "feed: %d files, %d rows, %d distinct; %d files per unit; %d rounds; load %s%n",
        feed.files.size(),
        feed.rows,
        feed.distinct,
        perUnit,
        rounds,
        loadAverage());
    Map<String, List<double[]>> results = new LinkedHashMap<>();
    Random random = new Random(42);
    String reference = null;
    run(url, feed, variants.get(0), perUnit, expected); // warm-up: JIT, server caches
    for (int round = 1; round <= rounds; round++) {
      List<String> order = new ArrayList<>(variants);
      Collections.shuffle(order, random);
      for (String v : order) {
        Trial t = run(url, feed, v, perUnit, expected);
        if (reference == null) {
          reference = t.digest;
        } else if (!reference.equals(t.digest)) {
          throw new IllegalStateException(v + ": table contents differ: " + t.digest);
        }
        results.computeIfAbsent(v, k -> new ArrayList<>()).add(t.figures());
        System.out.printf(
            Locale.ROOT,
            "round %d  %-12s wall %7.0f ms  backend cpu %7.0f ms  writer cpu %6.0f ms  load %s%n",
            round,
            v,
            t.wallMs,
            t.backendMs,
            t.writerMs,
            loadAverage());
      }
    }
    System.out.printf(
        Locale.ROOT,
        "%n%-12s %3s %22s %22s %22s %8s%n",
        "variant",
        "n",
        "wall ms med [min-max]",
        "backend cpu ms",
        "writer cpu ms",
        "be ratio");
    double base = median(results.get(variants.get(0)), 1);
    for (var e : results.entrySet()) {
      List<double[]> r = e.getValue();
      System.out.printf(
          Locale.ROOT,
          "%-12s %3d %22s %22s %22s %8.2f%n",
          e.getKey(),
          r.size(),
          fmt(r, 0),
          fmt(r, 1),
          fmt(r, 2),
          median(r, 1) / base);
    }
  }

  private static String fmt(List<double[]> r, int i) {
    double min = Double.MAX_VALUE, max = 0;
    for (double[] d : r) {
      min = Math.min(min, d[i]);
      max = Math.max(max, d[i]);
    }
    return String.format(Locale.ROOT, "%.0f [%.0f-%.0f]", median(r, i), min, max);
  }

  private static double median(List<double[]> r, int i) {
    double[] v = r.stream().mapToDouble(d -> d[i]).sorted().toArray();
    int n = v.length;
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  }

  static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
      return f[0] + " " + f[1];
    } catch (IOException e) {
      return "?";
    }
  }

  /** New rows per file when files are loaded in order: a key counts for the first file with it. */
  private static long[] expectedCounts(Feed feed) {
    Set<String> seen = new HashSet<>();
    long[] counts = new long[feed.files.size()];
    for (int i = 0; i < counts.length; i++) {
      for (String[] r : feed.files.get(i)) {
        if (seen.add(r[0])) {
          counts[i]++;
        }
      }
    }
    return counts;
  }

  private record Trial(double wallMs, double backendMs, double writerMs, String digest) {
    double[] figures() {
      return new double[] {wallMs, backendMs, writerMs};
    }
  }

  private static Trial run(String url, Feed feed, String variant, int perUnit, long[] expected)
      throws SQLException, IOException {
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
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    double wall, backend, writer;
    try (Connection c = DriverManager.getConnection(url)) {
      c.setAutoCommit(false);
      int pid;
      try (Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT pg_backend_pid()")) {
        rs.next();
        pid = rs.getInt(1);
      }
      c.commit();
      try (Writer w = open(variant, c)) {
        long b0 = schedNanos(pid), w0 = threads.getCurrentThreadCpuTime(), t0 = System.nanoTime();
        int files = feed.files.size();
        for (int u = 0; u < files; u += perUnit) {
          int end = Math.min(files, u + perUnit);
          int limit = groupRows(variant);
          int g = u;
          while (g < end) {
            int h = g;
            long rows = 0;
            while (h < end && rows < limit) {
              rows += feed.files.get(h++).size();
            }
            long[] counts = w.insert(feed.files.subList(g, h));
            for (int i = g; i < h; i++) {
              if (counts[i - g] != expected[i]) {
                throw new IllegalStateException(
                    variant + ": file " + i + " got " + counts[i - g] + ", not " + expected[i]);
              }
            }
            g = h;
          }
          c.commit();
        }
        wall = (System.nanoTime() - t0) / 1e6;
        writer = (threads.getCurrentThreadCpuTime() - w0) / 1e6;
        backend = (schedNanos(pid) - b0) / 1e6;
      }
    }
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT count(*), md5(string_agg(dedup_key || source_file || payload::text, ','"
                    + " ORDER BY dedup_key)) FROM "
                    + TABLE)) {
      rs.next();
      if (rs.getLong(1) != feed.distinct) {
        throw new IllegalStateException(variant + ": " + rs.getLong(1) + " rows");
      }
      return new Trial(wall, backend, writer, rs.getString(2));
    }
  }

  /** CPU time of a process, all threads: the first field of {@code /proc/PID/schedstat}. */
  static long schedNanos(int pid) throws IOException {
    return Long.parseLong(
        Files.readString(Path.of("/proc/" + pid + "/schedstat")).trim().split(" ")[0]);
  }

  private static int groupRows(String variant) {
    if (variant.startsWith("group") || variant.startsWith("pipe-")) {
      String n = variant.substring(variant.indexOf('-') + 1);
      return n.equals("unit") ? Integer.MAX_VALUE : Integer.parseInt(n);
    }
    return variant.equals("file") ? 1 : Integer.MAX_VALUE;
  }

  private static Writer open(String variant, Connection c) throws SQLException {
    if (variant.equals("file")) {
      return new PerFile(c);
    }
    if (variant.startsWith("group-")) {
      return new Grouped(c, false);
    }
    if (variant.startsWith("groupord-")) {
      return new Grouped(c, true);
    }
    if (variant.startsWith("pipe-")) {
      return new Pipelined(c);
    }
    if (variant.equals("copy-text")) {
      return new Copy(c, false);
    }
    if (variant.equals("copy-bin")) {
      return new Copy(c, true);
    }
    throw new IllegalArgumentException("unknown variant " + variant);
  }

  private static final String UNNEST_INSERT =
      "INSERT INTO "
          + TABLE
          + " (dedup_key, payload, source_file) SELECT k, p::jsonb, f FROM"
          + " unnest(?::text[], ?::text[], ?::text[]) AS u(k, p, f)"
          + " ON CONFLICT (dedup_key) DO NOTHING";

  private static void bind(PreparedStatement ps, List<List<String[]>> files) throws SQLException {
    int n = 0;
    for (List<String[]> f : files) {
      n += f.size();
    }
    String[] k = new String[n], p = new String[n], f = new String[n];
    int i = 0;
    for (List<String[]> file : files) {
      for (String[] r : file) {
        k[i] = r[0];
        p[i] = r[1];
        f[i++] = r[2];
      }
    }
    ps.setObject(1, k);
    ps.setObject(2, p);
    ps.setObject(3, f);
  }

  /** Maps grouped (source_file, count) rows back to the files' positions. */
  private static long[] counts(ResultSet rs, List<List<String[]>> files) throws SQLException {
    Map<String, Long> byName = new HashMap<>();
    while (rs.next()) {
      byName.put(rs.getString(1), rs.getLong(2));
    }
    long[] counts = new long[files.size()];
    for (int i = 0; i < counts.length; i++) {
      List<String[]> f = files.get(i);
      counts[i] = f.isEmpty() ? 0 : byName.getOrDefault(f.get(0)[2], 0L);
    }
    return counts;
  }

  private static final class PerFile implements Writer {
    private final PreparedStatement ps;

    PerFile(Connection c) throws SQLException {
      ps = c.prepareStatement(UNNEST_INSERT);
    }

    @Override
    public long[] insert(List<List<String[]>> files) throws SQLException {
      long[] counts = new long[files.size()];
      for (int i = 0; i < counts.length; i++) {
        bind(ps, files.subList(i, i + 1));
        counts[i] = ps.executeUpdate();
      }
      return counts;
    }

    @Override
    public void close() throws SQLException {
      ps.close();
    }
  }

  private static final class Pipelined implements Writer {
    private final PreparedStatement ps;

    Pipelined(Connection c) throws SQLException {
      ps = c.prepareStatement(UNNEST_INSERT);
    }

    @Override
    public long[] insert(List<List<String[]>> files) throws SQLException {
      for (int i = 0; i < files.size(); i++) {
        bind(ps, files.subList(i, i + 1));
        ps.addBatch();
      }
      int[] n = ps.executeBatch();
      long[] counts = new long[n.length];
      for (int i = 0; i < n.length; i++) {
        counts[i] = n[i];
      }
      return counts;
    }

    @Override
    public void close() throws SQLException {
      ps.close();
    }
  }

  private static final class Grouped implements Writer {
    private final PreparedStatement ps;

    Grouped(Connection c, boolean ordered) throws SQLException {
      String insert =
          ordered
              ? UNNEST_INSERT.replace(
                  "AS u(k, p, f)", "WITH ORDINALITY AS u(k, p, f, o) ORDER BY o")
              : UNNEST_INSERT;
      ps =
          c.prepareStatement(
              "WITH ins AS ("
                  + insert
                  + " RETURNING source_file) SELECT source_file, count(*) FROM ins GROUP BY 1");
    }

    @Override
    public long[] insert(List<List<String[]>> files) throws SQLException {
      bind(ps, files);
      try (ResultSet rs = ps.executeQuery()) {
        return counts(rs, files);
      }
    }

    @Override
    public void close() throws SQLException {
      ps.close();
    }
  }

  private static final class Copy implements Writer {
    private final boolean binary;
    private final CopyManager copy;
    private final PreparedStatement insert;

    Copy(Connection c, boolean binary) throws SQLException {
      this.binary = binary;
      try (Statement s = c.createStatement()) {
        s.execute(
            "CREATE TEMP TABLE bench_stage (ord int, k text, p text, f text) ON COMMIT DELETE ROWS");
      }
      c.commit();
      copy = c.unwrap(PGConnection.class).getCopyAPI();
      insert =
          c.prepareStatement(
              "WITH ins AS (INSERT INTO "
                  + TABLE
                  + " (dedup_key, payload, source_file) SELECT k, p::jsonb, f FROM bench_stage"
                  + " ORDER BY ord ON CONFLICT (dedup_key) DO NOTHING RETURNING source_file)"
                  + " SELECT source_file, count(*) FROM ins GROUP BY 1");
    }

    @Override
    public long[] insert(List<List<String[]>> files) throws SQLException {
      byte[] bytes;
      try {
        bytes = binary ? binary(files) : text(files);
        copy.copyIn(
            "COPY bench_stage FROM STDIN" + (binary ? " (FORMAT binary)" : ""),
            new ByteArrayInputStream(bytes));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      try (ResultSet rs = insert.executeQuery()) {
        return counts(rs, files);
      }
    }

    private static byte[] text(List<List<String[]>> files) {
      StringBuilder sb = new StringBuilder(1 << 16);
      int ord = 0;
      for (List<String[]> file : files) {
        for (String[] r : file) {
          sb.append(ord++);
          for (int i = 0; i < 3; i++) {
            sb.append('\t');
            PgWritePaths.escape(r[i], sb);
          }
          sb.append('\n');
        }
      }
      return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] binary(List<List<String[]>> files) throws IOException {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream(1 << 16);
      DataOutputStream out = new DataOutputStream(bytes);
      out.write("PGCOPY\n\377\r\n\0".getBytes(StandardCharsets.ISO_8859_1));
      out.writeInt(0);
      out.writeInt(0);
      int ord = 0;
      for (List<String[]> file : files) {
        for (String[] r : file) {
          out.writeShort(4);
          out.writeInt(4);
          out.writeInt(ord++);
          for (int i = 0; i < 3; i++) {
            byte[] b = r[i].getBytes(StandardCharsets.UTF_8);
            out.writeInt(b.length);
            out.write(b);
          }
        }
      }
      out.writeShort(-1);
      out.flush();
      return bytes.toByteArray();
    }

    @Override
    public void close() throws SQLException {
      insert.close();
    }
  }
}
