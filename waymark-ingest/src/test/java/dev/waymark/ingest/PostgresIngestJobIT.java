package dev.waymark.ingest;

import dev.waymark.checkpoint.jdbc.TestDatabases;
import java.sql.SQLException;
import org.junit.jupiter.api.AfterEach;

/**
 * The runner in-process on PostgreSQL, each test in a fresh schema (skipped without a server, or
 * failing under {@code WAYMARK_REQUIRE_PG=1}; see {@link TestDatabases}).
 */
class PostgresIngestJobIT extends IngestJobContractTest {
  private TestDatabases.PgSchema schema;

  @Override
  String newDatabase() {
    schema = TestDatabases.freshPostgresSchema();
    return schema.url;
  }

  @AfterEach
  void dropSchema() throws SQLException {
    if (schema != null) {
      schema.close();
    }
  }
}
