package dev.waymark.checkpoint.jdbc;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Locale;

/** The little SQL that differs between the databases the store supports. */
enum Dialect {
  POSTGRESQL(" FOR UPDATE", " FOR SHARE"),
  // SQLite has no row locks: a write transaction locks the database, which serialises writers.
  SQLITE("", "");

  final String forUpdate;
  final String forShare;

  Dialect(String forUpdate, String forShare) {
    this.forUpdate = forUpdate;
    this.forShare = forShare;
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
