package dev.waymark.checkpoint.jdbc;

import static org.junit.jupiter.api.Assertions.fail;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.UUID;
import org.junit.jupiter.api.Assumptions;

/**
 * Real databases for tests. PostgreSQL comes from {@code WAYMARK_PG_URL} (default the local
 * server); without one, PostgreSQL tests are skipped with one loud line, or fail when {@code
 * WAYMARK_REQUIRE_PG=1} (as in CI).
 */
public final class TestDatabases {
  public static final String DEFAULT_PG_URL = "jdbc:postgresql://127.0.0.1:5432/test?user=postgres";
  private static volatile boolean warned;

  private TestDatabases() {}

  public static String postgresUrl() {
    String url = System.getenv("WAYMARK_PG_URL");
    return url == null || url.isBlank() ? DEFAULT_PG_URL : url;
  }

  /** A fresh PostgreSQL schema, dropped on close. */
  public static final class PgSchema implements AutoCloseable {
    public final String name;
    public final String url;

    private PgSchema(String name, String url) {
      this.name = name;
      this.url = url;
    }

    @Override
    public void close() throws SQLException {
      try (Connection c = DriverManager.getConnection(postgresUrl());
          Statement s = c.createStatement()) {
        s.execute("DROP SCHEMA IF EXISTS " + name + " CASCADE");
      }
    }
  }

  /** Creates a fresh schema, or skips (or fails, under WAYMARK_REQUIRE_PG=1) without a server. */
  public static PgSchema freshPostgresSchema() {
    String base = postgresUrl();
    String name = "wm_test_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    try (Connection c = DriverManager.getConnection(base);
        Statement s = c.createStatement()) {
      s.execute("CREATE SCHEMA " + name);
    } catch (SQLException e) {
      String message =
          "PostgreSQL is not reachable at "
              + redact(base)
              + " ("
              + e.getMessage()
              + "); set WAYMARK_PG_URL to a server";
      if ("1".equals(System.getenv("WAYMARK_REQUIRE_PG"))) {
        fail(message + " (WAYMARK_REQUIRE_PG=1, so this fails instead of skipping)");
      }
      if (!warned) {
        warned = true;
        System.err.println("WAYMARK: " + message + ". PostgreSQL tests are SKIPPED.");
      }
      Assumptions.abort(message);
    }
    return new PgSchema(name, base + (base.contains("?") ? "&" : "?") + "currentSchema=" + name);
  }

  /** The URL without any password parameter, for messages. */
  static String redact(String url) {
    return url.replaceAll("(?i)(password=)[^&;]*", "$1***");
  }
}
