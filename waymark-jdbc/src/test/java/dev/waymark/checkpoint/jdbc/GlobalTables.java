package dev.waymark.checkpoint.jdbc;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.function.UnaryOperator;

/** Direct access to the global checkpoint tables, to damage a record as a bad hand would. */
final class GlobalTables {
  private GlobalTables() {}

  static void tamper(ConnectionSource db, String job, long n, UnaryOperator<String> change)
      throws Exception {
    try (Connection c = db.open()) {
      String record;
      try (PreparedStatement ps =
          c.prepareStatement(
              "SELECT record FROM "
                  + JdbcGlobalCheckpointStore.GLOBAL_TABLE
                  + " WHERE job = ? AND n = ?")) {
        ps.setString(1, job);
        ps.setLong(2, n);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          record = rs.getString(1);
        }
      }
      try (PreparedStatement ps =
          c.prepareStatement(
              "UPDATE "
                  + JdbcGlobalCheckpointStore.GLOBAL_TABLE
                  + " SET record = ? WHERE job = ? AND n = ?")) {
        ps.setString(1, change.apply(record));
        ps.setString(2, job);
        ps.setLong(3, n);
        ps.executeUpdate();
      }
    }
  }
}
