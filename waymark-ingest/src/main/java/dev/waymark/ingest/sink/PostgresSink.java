package dev.waymark.ingest.sink;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.postgresql.util.PGBinaryObject;
import org.postgresql.util.PGobject;

/**
 * The staging table in PostgreSQL. One statement per group of files: {@code INSERT ... SELECT FROM
 * (SELECT unnest(?::text[]), ...) ON CONFLICT (dedup_key) DO NOTHING}, with the rows as array
 * parameters; its update count (one file), or its {@code RETURNING source_file} rows counted per
 * file (several), is the number of rows really inserted. Chosen by measurement (see BENCHMARKS.md):
 * per unit it costs one round trip, where batched inserts cost one per batch and COPY needs a temp
 * table and a second statement. The arrays are bound as {@code String[]}, which pgjdbc sends in
 * PostgreSQL's binary array format: no quoting and escaping of every payload's quotes on either
 * side, as {@code createArrayOf} text literals need.
 */
final class PostgresSink extends JdbcSink {
  private static final Comparator<Row> BY_KEY = Comparator.comparing(Row::dedupKey);

  private final String insertSql;
  private final String insertFilesSql;
  private PreparedStatement insert;
  private PreparedStatement insertFiles;
  private ExecutorService statements; // runs startFiles' statements; made on first use
  private Future<long[]> inFlight; // the statement startFiles started, until awaited

  PostgresSink(String url, TableSpec spec) throws SQLException {
    super(DriverManager.getConnection(url), spec);
    // unnest() in the select list (a ProjectSet) rather than FROM unnest(a, b, c): the latter
    // materializes all the rows in a tuplestore first, which a statement of 10,000 rows spills to
    // a temporary file (work_mem); measured in BENCHMARKS.md, "Session 6". The arrays always have
    // one length, so they are read in step, in order.
    StringBuilder projected =
        new StringBuilder("unnest(?::text[]) AS k, unnest(?::text[]) AS p, unnest(?::text[]) AS f");
    StringBuilder select = new StringBuilder("k, p::jsonb, f");
    for (int i = 0; i < spec.columns().size(); i++) {
      projected.append(", unnest(?::text[]) AS c").append(i);
      select.append(", c").append(i);
    }
    this.insertSql =
        "INSERT INTO "
            + table
            + " (dedup_key, payload, source_file"
            + extraColumnsList()
            + ") SELECT "
            + select
            + " FROM (SELECT "
            + projected
            + ") AS u"
            + " ON CONFLICT (dedup_key) DO NOTHING";
    this.insertFilesSql = insertSql + " RETURNING source_file";
  }

  /**
   * The dedup key is compared in the "C" collation, byte by byte: it is lowercase hex, whose byte
   * order is every collation's order, and comparing it through the database's collation goes
   * through {@code strcoll} for a libc collation such as {@code C.UTF-8} or {@code en_US.UTF-8}.
   * Measured, the server spent about 4 % less CPU on a night feed's inserts, inside the noise of
   * single runs (BENCHMARKS.md, "Session 5"). A table created by an earlier version keeps its
   * collation and works as before.
   */
  @Override
  String createTableSql() {
    return "CREATE TABLE IF NOT EXISTS "
        + table
        + " (dedup_key text COLLATE \"C\" PRIMARY KEY, payload jsonb NOT NULL,"
        + " source_file text NOT NULL,"
        + " ingested_at timestamptz NOT NULL DEFAULT now()"
        + extraColumnsDdl("text")
        + ")";
  }

  @Override
  String createQuarantineSql() {
    return "CREATE TABLE IF NOT EXISTS "
        + QUARANTINE_TABLE
        + " (job text NOT NULL, source_file text NOT NULL, position text NOT NULL,"
        + " error text NOT NULL, quarantined_at timestamptz NOT NULL DEFAULT now())";
  }

  @Override
  public int insert(List<Row> rows) throws SQLException {
    requireIdle();
    return insertNow(rows);
  }

  private int insertNow(List<Row> rows) throws SQLException {
    if (rows.isEmpty()) {
      return 0;
    }
    if (insert == null) {
      insert = connection.prepareStatement(insertSql);
    }
    bind(insert, parameters(List.of(rows), rows.size()));
    return insert.executeUpdate();
  }

  @Override
  public long[] insertFiles(List<List<Row>> files) throws SQLException {
    requireIdle();
    return prepareFiles(files).run();
  }

  /**
   * All the files in one statement, whose {@code RETURNING source_file} rows, counted here by name,
   * are each file's count of new rows: one round trip, one plan and one executor start for the lot
   * instead of one per file (measured in BENCHMARKS.md, "Session 3"). The rows are counted here
   * rather than by the server ({@code WITH ins AS (INSERT ... RETURNING source_file) SELECT
   * source_file, count(*) ... GROUP BY}): the server then neither stores every inserted row's name
   * in the CTE's tuplestore nor aggregates them: 300,000 rows took 1.82-1.90 s instead of 1.96-1.98
   * (1.76-1.82 with no {@code RETURNING}), and a traced night run's statements 0.96x the time,
   * while the whole run did not measurably change (BENCHMARKS.md, "Session 7"). The rows go in in
   * the arrays' order (a function scan returns an array's elements in order, and the insert takes
   * its rows as they come), which is key order, ties in file order ({@link #parameters}), so a key
   * repeated in a later file conflicts with the earlier file's row, as with one statement per file.
   * The arrays are sorted and encoded here, on the caller's thread, so that this work overlaps the
   * statement in flight ({@link #startFiles}).
   */
  @Override
  public FilesStatement prepareFiles(List<List<Row>> files) {
    Map<String, Integer> byName = new HashMap<>();
    int n = 0;
    boolean distinctNames = true;
    for (int i = 0; i < files.size(); i++) {
      List<Row> rows = files.get(i);
      if (!rows.isEmpty()) {
        n += rows.size();
        // names must tell the files apart in the result
        distinctNames &= byName.put(rows.get(0).sourceFile(), i) == null;
      }
    }
    int count = files.size();
    if (byName.size() <= 1 || !distinctNames) {
      List<List<Row>> copy = List.copyOf(files);
      return () -> {
        long[] inserted = new long[count];
        for (int i = 0; i < count; i++) {
          inserted[i] = insertNow(copy.get(i));
        }
        return inserted;
      };
    }
    Parameters parameters = parameters(files, n);
    return () -> {
      if (insertFiles == null) {
        insertFiles = connection.prepareStatement(insertFilesSql);
      }
      bind(insertFiles, parameters);
      long[] inserted = new long[count];
      try (ResultSet rs = insertFiles.executeQuery()) {
        while (rs.next()) {
          Integer i = byName.get(rs.getString(1));
          if (i == null) {
            throw new IllegalStateException(
                "inserted a row of '" + rs.getString(1) + "', not sent");
          }
          inserted[i]++;
        }
      }
      return inserted;
    };
  }

  /**
   * Runs the statement on a thread of this sink's own and returns at once: the caller reads and
   * prepares the next files while the server inserts these. One statement at a time, and nothing
   * else on the connection meanwhile ({@link #requireIdle}), so pgjdbc is never used from two
   * threads at once. Measured on a night run: the server waited for the writer's next message in
   * 18.6 % of the samples before, 9.2 % after (BENCHMARKS.md, "Session 5").
   */
  @Override
  public PendingFiles startFiles(FilesStatement statement) {
    requireIdle();
    if (statements == null) {
      statements =
          Executors.newSingleThreadExecutor(
              r -> {
                Thread t = new Thread(r, "waymark statement");
                t.setDaemon(true);
                return t;
              });
    }
    Future<long[]> running = statements.submit(statement::run);
    inFlight = running;
    return () -> {
      try {
        return Futures.get(running);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new SQLException("interrupted while the database ran a statement", e);
      } finally {
        if (running.isDone() && inFlight == running) {
          inFlight = null;
        }
      }
    };
  }

  @Override
  void requireIdle() {
    if (inFlight != null) {
      throw new IllegalStateException(
          "a statement is still in flight: await it before using the sink again");
    }
  }

  /** The parameters of one statement: the rows in key order, one array per column. */
  private record Parameters(
      TextArray keys, TextArray payloads, TextArray names, String[][] columns) {}

  /**
   * The rows of {@code files}, {@code n} in all, as one array per column, in the order of their
   * dedup keys: every statement then takes its keys' locks in one global order, so that two
   * writers' statements cannot deadlock on each other's uncommitted keys (see IngestJob's
   * CONCURRENT_BATCH_ROWS). The sort is stable: of two rows with one key, the one of the earlier
   * file, or earlier in its file, still goes in first and is kept. In key order the server also
   * inserted a night feed's rows with a little less CPU than in file order (BENCHMARKS.md, "Session
   * 5").
   */
  private Parameters parameters(List<List<Row>> files, int n) {
    int extra = spec.columns().size();
    Row[] sorted = new Row[n];
    int at = 0;
    for (List<Row> rows : files) {
      for (Row r : rows) {
        sorted[at++] = r;
      }
    }
    Arrays.sort(sorted, BY_KEY); // a merge sort for objects: stable
    String[] keys = new String[n], payloads = new String[n], names = new String[n];
    String[][] columns = new String[extra][n];
    for (int i = 0; i < n; i++) {
      Row r = sorted[i];
      keys[i] = r.dedupKey();
      payloads[i] = r.payload();
      names[i] = r.sourceFile();
      for (int c = 0; c < extra; c++) {
        columns[c][i] = r.columns().get(c);
      }
    }
    return new Parameters(
        new TextArray(keys), new TextArray(payloads), new TextArray(names), columns);
  }

  private static void bind(PreparedStatement ps, Parameters p) throws SQLException {
    ps.setObject(1, p.keys());
    ps.setObject(2, p.payloads());
    ps.setObject(3, p.names());
    for (int c = 0; c < p.columns().length; c++) {
      ps.setObject(4 + c, p.columns()[c]); // may hold nulls: pgjdbc's own encoder
    }
  }

  /**
   * A {@code text[]} parameter without nulls, in PostgreSQL's binary array format, encoded into one
   * buffer of the exact size. pgjdbc's own encoder of a {@code String[]} writes the same bytes
   * through a stream that grows as it goes: 44 of the writing thread's 259 samples in a profile of
   * a night run (BENCHMARKS.md, "Session 5").
   */
  static final class TextArray extends PGobject implements PGBinaryObject {
    private static final long serialVersionUID = 1L;
    private static final int TEXT_OID = 25;

    private final byte[] bytes;

    TextArray(String[] values) {
      setType("_text");
      byte[][] encoded = new byte[values.length][];
      int length =
          20; // dimensions, has-nulls flag, element type, and one dimension's size and base
      for (int i = 0; i < values.length; i++) {
        encoded[i] = values[i].getBytes(StandardCharsets.UTF_8);
        length += 4 + encoded[i].length;
      }
      ByteBuffer out = ByteBuffer.allocate(length); // big-endian, as the format wants
      out.putInt(1).putInt(0).putInt(TEXT_OID).putInt(values.length).putInt(1);
      for (byte[] e : encoded) {
        out.putInt(e.length).put(e);
      }
      this.bytes = out.array();
    }

    @Override
    public int lengthInBytes() {
      return bytes.length;
    }

    @Override
    public void toBytes(byte[] target, int offset) {
      System.arraycopy(bytes, 0, target, offset, bytes.length);
    }

    @Override
    public void setByteValue(byte[] value, int offset) {
      throw new UnsupportedOperationException("a parameter only, never read back");
    }
  }

  @Override
  public Optional<String> durabilityProblem() throws SQLException {
    requireIdle();
    try (Statement s = connection.createStatement();
        ResultSet rs = s.executeQuery("SHOW synchronous_commit")) {
      rs.next();
      String setting = rs.getString(1);
      connection.commit();
      if ("off".equalsIgnoreCase(setting)) {
        return Optional.of(
            "PostgreSQL has synchronous_commit = off, so a commit it acknowledged can still be lost"
                + " in a power cut or crash of the server, while the checkpoint file that followed"
                + " it survives: the lost rows would never be loaded again. Set synchronous_commit"
                + " to on (ALTER DATABASE ... SET synchronous_commit = on, or in postgresql.conf),"
                + " or use --checkpoint-store db, which commits the checkpoint in the same"
                + " transaction as the rows.");
      }
      return Optional.empty();
    }
  }

  @Override
  public void close() throws SQLException {
    if (inFlight != null) {
      try {
        inFlight.get(); // its outcome was not asked for: the transaction is rolled back below
      } catch (ExecutionException | RuntimeException e) {
        // as above
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      inFlight = null;
    }
    if (statements != null) {
      statements.shutdown();
    }
    try {
      if (insert != null) {
        insert.close();
      }
    } finally {
      try {
        if (insertFiles != null) {
          insertFiles.close();
        }
      } finally {
        super.close();
      }
    }
  }
}
