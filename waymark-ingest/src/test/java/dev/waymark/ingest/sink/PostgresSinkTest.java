package dev.waymark.ingest.sink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.waymark.checkpoint.jdbc.TestDatabases;
import java.sql.SQLException;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class PostgresSinkTest extends SinkContractTest {
  private TestDatabases.PgSchema schema;

  @Override
  String url() {
    if (schema == null) {
      schema = TestDatabases.freshPostgresSchema();
    }
    return schema.url;
  }

  @AfterEach
  void dropSchema() throws SQLException {
    closeSinks();
    if (schema != null) {
      schema.close();
    }
  }

  @Test
  void synchronousCommitOffIsReportedAsNotDurable() throws SQLException {
    try (Sink sink =
        Sink.open(
            url() + "&options=-c%20synchronous_commit%3Doff", new TableSpec("skus", List.of()))) {
      assertThat(sink.durabilityProblem())
          .hasValueSatisfying(m -> assertThat(m).contains("synchronous_commit = off"));
    }
  }

  @Test
  void storesThePayloadAsJsonb() throws SQLException {
    Sink sink = open(new TableSpec("skus", List.of()));
    sink.insert(List.of(new Row("k", "{\"b\": 1, \"a\": [true]}", "f.json", List.of())));
    sink.commit();
    try (var s = sink.connection().createStatement();
        var rs = s.executeQuery("SELECT payload->'a'->>0, pg_typeof(payload)::text FROM skus")) {
      rs.next();
      assertThat(rs.getString(1)).isEqualTo("true");
      assertThat(rs.getString(2)).isEqualTo("jsonb");
    }
  }
}
