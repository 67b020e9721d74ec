package dev.waymark.checkpoint.jdbc;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;

/** The little SQL that differs between the databases the store supports. */
enum Dialect {
  POSTGRESQL(
      " FOR UPDATE",
      " FOR SHARE",
      "SELECT current_database() || ' ' || COALESCE(to_regclass('"
          + JdbcCheckpointStore.JOB_TABLE
          + "')::oid::text, '-')"),
  // SQLite has no row locks: a write transaction locks the database, which serialises writers.
  SQLITE("", "", "SELECT file FROM pragma_database_list WHERE name = 'main'");

  final String forUpdate;
  final String forShare;

  /** Names the tables a connection reaches: the database and the job table's OID, or the file. */
  final String whichTables;

  Dialect(String forUpdate, String forShare, String whichTables) {
    this.forUpdate = forUpdate;
    this.forShare = forShare;
    this.whichTables = whichTables;
  }

  /** What {@link #whichTables} says for {@code connection}. */
  String whichTables(Connection connection) throws SQLException {
    try (Statement s = connection.createStatement();
        ResultSet rs = s.executeQuery(whichTables)) {
      return rs.next() ? String.valueOf(rs.getString(1)) : "";
    }
  }

  static Dialect of(Connection connection) throws SQLException {
    String product = connection.getMetaData().getDatabaseProductName().toLowerCase(Locale.ROOT);
    if (product.contains("postgres")) {
      return POSTGRESQL;
    }
    if (product.contains("sqlite")) {
      return SQLITE;
    }
    throw new SQLException(
        "The JDBC checkpoint store supports PostgreSQL and SQLite, not '"
            + connection.getMetaData().getDatabaseProductName()
            + "'");
  }
}
