package dev.waymark.ingest.sink;

import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/** What the PostgreSQL and SQLite sinks share: transactions, quarantine, the column check. */
abstract class JdbcSink implements Sink {
  static final String QUARANTINE_TABLE = "waymark_quarantine";

  final Connection connection;
  final TableSpec spec;
  final String table;

  JdbcSink(Connection connection, TableSpec spec) throws SQLException {
    this.connection = connection;
    this.spec = spec;
    this.table = Identifiers.quote(spec.table());
    connection.setAutoCommit(false);
  }

  @Override
  public Connection connection() {
    requireIdle();
    return connection;
  }

  /**
   * Throws if a statement of {@link #startFiles} is still running, which must be awaited before the
   * connection is used again; nothing to check where statements run at once.
   */
  void requireIdle() {}

  /** The DDL of the staging table. */
  abstract String createTableSql();

  /** The DDL of the quarantine table. */
  abstract String createQuarantineSql();

  @Override
  public void createTables() throws SQLException {
    requireIdle();
    try (Statement s = connection.createStatement()) {
      s.execute(createTableSql());
      s.execute(createQuarantineSql());
    }
    connection.commit();
    Set<String> present = existingColumns();
    for (String needed : requiredColumns()) {
      if (!present.contains(needed)) {
        throw new SQLException(
            "Table "
                + spec.table()
                + " exists without column "
                + needed
                + " (it has "
                + present
                + "). Add it with ALTER TABLE, or pass another --table. Rows already in the"
                + " table keep it NULL: their dedup keys make every run skip them, --rescan"
                + " too, so fill it with an UPDATE from payload if they need it.");
      }
    }
  }

  private Set<String> requiredColumns() {
    Set<String> all = new HashSet<>(TableSpec.FIXED);
    all.addAll(spec.columns());
    return all;
  }

  private Set<String> existingColumns() throws SQLException {
    Set<String> names = new HashSet<>();
    DatabaseMetaData meta = connection.getMetaData();
    // In the schema the table was created in: a same-named table elsewhere must not answer.
    try (ResultSet rs = meta.getColumns(null, connection.getSchema(), spec.table(), null)) {
      while (rs.next()) {
        names.add(rs.getString("COLUMN_NAME").toLowerCase(Locale.ROOT));
      }
    }
    return names;
  }

  @Override
  public void quarantine(String job, String file, String position, String error)
      throws SQLException {
    unquarantine(job, file);
    try (PreparedStatement ps =
        connection.prepareStatement(
            "INSERT INTO "
                + QUARANTINE_TABLE
                + " (job, source_file, position, error) VALUES (?, ?, ?, ?)")) {
      ps.setString(1, job);
      ps.setString(2, file);
      ps.setString(3, position);
      ps.setString(4, error);
      ps.executeUpdate();
    }
  }

  @Override
  public void unquarantine(String job, String file) throws SQLException {
    requireIdle();
    try (PreparedStatement ps =
        connection.prepareStatement(
            "DELETE FROM " + QUARANTINE_TABLE + " WHERE job = ? AND source_file = ?")) {
      ps.setString(1, job);
      ps.setString(2, file);
      ps.executeUpdate();
    }
  }

  @Override
  public Set<String> quarantined(String job) throws SQLException {
    requireIdle();
    Set<String> files = new HashSet<>();
    try (PreparedStatement ps =
        connection.prepareStatement(
            "SELECT source_file FROM " + QUARANTINE_TABLE + " WHERE job = ?")) {
      ps.setString(1, job);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          files.add(rs.getString(1));
        }
      }
    }
    connection.commit();
    return files;
  }

  @Override
  public void commit() throws SQLException {
    requireIdle();
    connection.commit();
  }

  @Override
  public void rollback() throws SQLException {
    requireIdle();
    connection.rollback();
  }

  @Override
  public Optional<Row> anyRow() throws SQLException {
    requireIdle();
    try (Statement s = connection.createStatement();
        ResultSet rs =
            s.executeQuery("SELECT dedup_key, payload, source_file FROM " + table + " LIMIT 1")) {
      Optional<Row> row =
          rs.next()
              ? Optional.of(new Row(rs.getString(1), rs.getString(2), rs.getString(3), List.of()))
              : Optional.empty();
      connection.commit();
      return row;
    }
  }

  @Override
  public long countRows() throws SQLException {
    requireIdle();
    try (Statement s = connection.createStatement();
        ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM " + table)) {
      rs.next();
      long n = rs.getLong(1);
      connection.commit();
      return n;
    }
  }

  @Override
  public void close() throws SQLException {
    try {
      if (!connection.isClosed() && !connection.getAutoCommit()) {
        connection.rollback();
      }
    } finally {
      connection.close();
    }
  }

  String extraColumnsDdl(String type) {
    StringBuilder sb = new StringBuilder();
    for (String c : spec.columns()) {
      sb.append(", ").append(Identifiers.quote(c)).append(' ').append(type);
    }
    return sb.toString();
  }

  String extraColumnsList() {
    StringBuilder sb = new StringBuilder();
    for (String c : spec.columns()) {
      sb.append(", ").append(Identifiers.quote(c));
    }
    return sb.toString();
  }
}
