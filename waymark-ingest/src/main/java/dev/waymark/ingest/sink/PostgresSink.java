package dev.waymark.ingest.sink;

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

/**
 * The staging table in PostgreSQL. One statement per group of files: {@code INSERT ... SELECT FROM
 * unnest(?::text[], ...) ON CONFLICT (dedup_key) DO NOTHING}, with the rows as array parameters;
 * its update count (one file), or its {@code RETURNING source_file} rows counted per file
 * (several), is the number of rows really inserted. Chosen by measurement (see BENCHMARKS.md): per
 * unit it costs one round trip, where batched inserts cost one per batch and COPY needs a temp
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

  PostgresSink(String url, TableSpec spec) throws SQLException {
    super(DriverManager.getConnection(url), spec);
    StringBuilder arrays = new StringBuilder("?::text[], ?::text[], ?::text[]");
    StringBuilder aliases = new StringBuilder("k, p, f");
    StringBuilder select = new StringBuilder("k, p::jsonb, f");
    for (int i = 0; i < spec.columns().size(); i++) {
      arrays.append(", ?::text[]");
      aliases.append(", c").append(i);
      select.append(", c").append(i);
    }
    this.insertSql =
        "INSERT INTO "
            + table
            + " (dedup_key, payload, source_file"
            + extraColumnsList()
            + ") SELECT "
            + select
            + " FROM unnest("
            + arrays
            + ") AS u("
            + aliases
            + ") ON CONFLICT (dedup_key) DO NOTHING";
    this.insertFilesSql =
        "WITH ins AS ("
            + insertSql
            + " RETURNING source_file) SELECT source_file, count(*) FROM ins GROUP BY source_file";
  }

  @Override
  String createTableSql() {
    return "CREATE TABLE IF NOT EXISTS "
        + table
        + " (dedup_key text PRIMARY KEY, payload jsonb NOT NULL, source_file text NOT NULL,"
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
    if (rows.isEmpty()) {
      return 0;
    }
    if (insert == null) {
      insert = connection.prepareStatement(insertSql);
    }
    bind(insert, List.of(rows), rows.size());
    return insert.executeUpdate();
  }

  /**
   * All the files in one statement, whose {@code RETURNING source_file} rows, grouped, are each
   * file's count of new rows: one round trip, one plan and one executor start for the lot instead
   * of one per file (measured in BENCHMARKS.md, "Session 3"). The rows go in in the arrays' order
   * (a function scan returns an array's elements in order, and the insert takes its rows as they
   * come), which is key order, ties in file order ({@link #bind}), so a key repeated in a later
   * file conflicts with the earlier file's row, as with one statement per file.
   */
  @Override
  public long[] insertFiles(List<List<Row>> files) throws SQLException {
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
    long[] inserted = new long[files.size()];
    if (byName.size() <= 1 || !distinctNames) {
      for (int i = 0; i < inserted.length; i++) {
        inserted[i] = insert(files.get(i));
      }
      return inserted;
    }
    if (insertFiles == null) {
      insertFiles = connection.prepareStatement(insertFilesSql);
    }
    bind(insertFiles, files, n);
    try (ResultSet rs = insertFiles.executeQuery()) {
      while (rs.next()) {
        Integer i = byName.get(rs.getString(1));
        if (i == null) {
          throw new IllegalStateException("inserted a row of '" + rs.getString(1) + "', not sent");
        }
        inserted[i] = rs.getLong(2);
      }
    }
    return inserted;
  }

  /**
   * Binds the rows of {@code files}, {@code n} in all, as one array per column, in the order of
   * their dedup keys: every statement then takes its keys' locks in one global order, so that two
   * writers' statements cannot deadlock on each other's uncommitted keys (see IngestJob's
   * CONCURRENT_BATCH_ROWS). The sort is stable: of two rows with one key, the one of the earlier
   * file, or earlier in its file, still goes in first and is kept.
   */
  private void bind(PreparedStatement ps, List<List<Row>> files, int n) throws SQLException {
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
    ps.setObject(1, keys);
    ps.setObject(2, payloads);
    ps.setObject(3, names);
    for (int c = 0; c < extra; c++) {
      ps.setObject(4 + c, columns[c]);
    }
  }

  @Override
  public Optional<String> durabilityProblem() throws SQLException {
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
