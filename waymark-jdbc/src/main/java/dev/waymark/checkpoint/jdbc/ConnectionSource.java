package dev.waymark.checkpoint.jdbc;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;

/**
 * Opens JDBC connections for a {@link JdbcCheckpointStore}; a {@code DataSource::getConnection}
 * fits.
 */
@FunctionalInterface
public interface ConnectionSource {

  /** Returns a new connection; the store closes it. */
  Connection open() throws SQLException;

  /** Connections from {@link DriverManager} for {@code url}. */
  static ConnectionSource of(String url) {
    return () -> DriverManager.getConnection(url);
  }
}
