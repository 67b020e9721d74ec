package dev.waymark.checkpoint.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A global store whose first transaction fails (here: a read-only database, where the tables cannot
 * be created) closes the connection it opened before the failure reaches the caller.
 */
class GlobalStoreOpenFailureTest {
  @TempDir Path dir;

  @Test
  void openClosesItsConnectionWhenTheFirstTransactionFails() throws Exception {
    assertClosedAfterFailure(c -> JdbcGlobalCheckpointStore.open(c, "nightly", 10));
  }

  @Test
  void readerClosesItsConnectionWhenTheFirstTransactionFails() throws Exception {
    assertClosedAfterFailure(c -> JdbcGlobalCheckpointStore.reader(c, "nightly"));
  }

  private void assertClosedAfterFailure(Function<ConnectionSource, ?> open) throws SQLException {
    String url = "jdbc:sqlite:" + dir.resolve("ro.db");
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement()) {
      s.execute("CREATE TABLE unrelated (a INTEGER)"); // the file exists, without the tables
    }
    List<Connection> opened = new ArrayList<>();
    ConnectionSource readOnly =
        () -> {
          Properties p = new Properties();
          p.setProperty("open_mode", "1"); // SQLITE_OPEN_READONLY
          Connection c = DriverManager.getConnection(url, p);
          opened.add(c);
          return c;
        };
    assertThatThrownBy(() -> open.apply(readOnly)).hasMessageContaining("readonly");
    assertThat(opened).hasSize(1);
    assertThat(opened.get(0).isClosed()).as("the connection is closed").isTrue();
  }
}
