package dev.waymark.ingest.sink;

import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Optional;

/**
 * The staging table in PostgreSQL. One statement per unit: {@code INSERT ... SELECT FROM
 * unnest(?::text[], ...) ON CONFLICT (dedup_key) DO NOTHING}, with the unit's rows as array
 * parameters; its update count is the number of rows really inserted. Chosen by measurement (see
 * BENCHMARKS.md): per unit it costs one round trip, where batched inserts cost one per batch and
 * COPY needs a temp table and a second statement. The arrays are bound as {@code String[]}, which
 * pgjdbc sends in PostgreSQL's binary array format: no quoting and escaping of every payload's
 * quotes on either side, as {@code createArrayOf} text literals need.
 */
final class PostgresSink extends JdbcSink {
  private final String insertSql;
  private PreparedStatement insert;

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
    int n = rows.size(), extra = spec.columns().size();
    String[] keys = new String[n], payloads = new String[n], files = new String[n];
    String[][] columns = new String[extra][n];
    for (int i = 0; i < n; i++) {
      Row r = rows.get(i);
      keys[i] = r.dedupKey();
      payloads[i] = r.payload();
      files[i] = r.sourceFile();
      for (int c = 0; c < extra; c++) {
        columns[c][i] = r.columns().get(c);
      }
    }
    if (insert == null) {
      insert = connection.prepareStatement(insertSql);
    }
    insert.setObject(1, keys);
    insert.setObject(2, payloads);
    insert.setObject(3, files);
    for (int c = 0; c < extra; c++) {
      insert.setObject(4 + c, columns[c]);
    }
    return insert.executeUpdate();
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
      super.close();
    }
  }
}
