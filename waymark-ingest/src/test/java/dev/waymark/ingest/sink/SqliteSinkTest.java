package dev.waymark.ingest.sink;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.SQLException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SqliteSinkTest extends SinkContractTest {
  @TempDir Path dir;

  @Override
  String url() {
    return "jdbc:sqlite:" + dir.resolve("waymark.db");
  }

  @Test
  void walWithSynchronousNormalIsReportedAsNotDurable() throws SQLException {
    try (Sink sink = Sink.open(url() + "?synchronous=NORMAL", new TableSpec("skus", List.of()))) {
      assertThat(sink.durabilityProblem())
          .hasValueSatisfying(
              m ->
                  assertThat(m)
                      .contains("journal_mode = wal and synchronous = 1")
                      .contains("--checkpoint-store db"));
    }
  }

  @Test
  void usesWalWithFullSynchronousByDefault() throws SQLException {
    Sink sink = open(new TableSpec("skus", List.of()));
    try (var s = sink.connection().createStatement()) {
      var rs = s.executeQuery("PRAGMA journal_mode");
      rs.next();
      assertThat(rs.getString(1)).isEqualToIgnoringCase("wal");
      rs = s.executeQuery("PRAGMA synchronous");
      rs.next();
      assertThat(rs.getInt(1)).isEqualTo(2);
    }
  }
}
