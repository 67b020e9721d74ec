package dev.waymark.checkpoint.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.CheckpointInvalidException;
import dev.waymark.checkpoint.CheckpointStore;
import dev.waymark.checkpoint.CheckpointStoreContractTest;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.FencedException;
import dev.waymark.checkpoint.PartitionLayout;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SqliteCheckpointStoreTest extends CheckpointStoreContractTest {
  @TempDir Path dir;

  String url() {
    return "jdbc:sqlite:" + dir.resolve("waymark.db");
  }

  @Override
  protected CheckpointStore open(String job) {
    return JdbcCheckpointStore.open(ConnectionSource.of(url()), job);
  }

  private JdbcCheckpointStore jdbcStore() {
    return (JdbcCheckpointStore) store;
  }

  @Test
  void checkpointMovesOnlyWithTheDataTransaction() throws Exception {
    try (Connection tx = DriverManager.getConnection(url())) {
      tx.setAutoCommit(false);
      try (Statement s = tx.createStatement()) {
        s.execute("CREATE TABLE IF NOT EXISTS rows_t (k TEXT PRIMARY KEY)");
        s.execute("INSERT INTO rows_t VALUES ('a')");
      }
      jdbcStore().commit(tx, "0", Cursor.ofFile("f1.json", 1));
      tx.rollback();
    }
    assertThat(store.read()).isEmpty();

    try (Connection tx = DriverManager.getConnection(url())) {
      tx.setAutoCommit(false);
      try (Statement s = tx.createStatement()) {
        s.execute("CREATE TABLE IF NOT EXISTS rows_t (k TEXT PRIMARY KEY)");
        s.execute("INSERT INTO rows_t VALUES ('a')");
      }
      jdbcStore().commit(tx, "0", Cursor.ofFile("f1.json", 1));
      tx.commit();
    }
    assertThat(store.read().orElseThrow().cursor()).isEqualTo(Cursor.ofFile("f1.json", 1));
  }

  @Test
  void commitRefusesAConnectionInAutoCommitMode() throws Exception {
    store.commit(Cursor.ofOffset(5));
    try (Connection auto = DriverManager.getConnection(url())) {
      assertThatThrownBy(() -> jdbcStore().commit(auto, "0", Cursor.ofOffset(100)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("the connection is in auto-commit mode")
          .hasMessageContaining("Call setAutoCommit(false) on it");
    }
    assertThat(store.read().orElseThrow().cursor()).isEqualTo(Cursor.ofOffset(5));
  }

  @Test
  void aConnectionToOtherTablesIsRefusedNotTakenForANewerWriter() throws Exception {
    String other = "jdbc:sqlite:" + dir.resolve("other.db");
    JdbcCheckpointStore.open(ConnectionSource.of(other), "nightly").close(); // its epoch 1
    store.close();
    try (JdbcCheckpointStore mine =
            JdbcCheckpointStore.open(ConnectionSource.of(url()), "nightly");
        Connection elsewhere = DriverManager.getConnection(other);
        Connection bare = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("bare.db"))) {
      elsewhere.setAutoCommit(false);
      bare.setAutoCommit(false);
      assertThat(mine.epoch()).isGreaterThan(1);
      for (Connection wrong : java.util.List.of(elsewhere, bare)) {
        assertThatThrownBy(() -> mine.commit(wrong, "0", Cursor.ofOffset(1)))
            .isNotInstanceOf(FencedException.class)
            .hasMessageContaining("the connection given to commit reaches other tables")
            .hasMessageContaining(
                "than the store, which was opened on " + dir.resolve("waymark.db"));
      }
      try (Connection right = DriverManager.getConnection(url())) {
        right.setAutoCommit(false);
        assertThat(mine.commit(right, "0", Cursor.ofOffset(7)).sequence()).isEqualTo(1);
        right.commit();
      }
    }
    try (Connection c = DriverManager.getConnection(other);
        Statement s = c.createStatement();
        java.sql.ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM waymark_checkpoint")) {
      rs.next();
      assertThat(rs.getLong(1)).as("nothing landed in the other file").isZero();
    }
  }

  @Test
  void aDamagedLayoutRowIsInvalidForTheReaderTooNotAbsent() throws Exception {
    store.recordLayout(new PartitionLayout(2, "crc32c-utf8-mod"));
    try (Connection c = DriverManager.getConnection(url());
        Statement s = c.createStatement()) {
      s.execute("UPDATE waymark_layout SET partitions = 0");
    }
    try (JdbcCheckpointStore.Reader reader =
        JdbcCheckpointStore.reader(ConnectionSource.of(url()), "nightly")) {
      assertThatThrownBy(reader::layout)
          .isInstanceOf(CheckpointInvalidException.class)
          .hasMessageContaining("the job's partition layout is damaged");
    }
  }

  @Test
  void aStaleWriterIsFencedAndItsTransactionRolledBack() throws Exception {
    store.commit(Cursor.ofOffset(1));
    try (JdbcCheckpointStore newer =
        JdbcCheckpointStore.open(ConnectionSource.of(url()), "nightly")) {
      assertThat(newer.epoch()).isGreaterThan(store.epoch());
      assertThatThrownBy(() -> store.commit(Cursor.ofOffset(2)))
          .isInstanceOf(FencedException.class)
          .hasMessageContaining("epoch " + newer.epoch());
      assertThat(newer.read().orElseThrow().cursor()).isEqualTo(Cursor.ofOffset(1));
      assertThat(newer.commit(Cursor.ofOffset(3)).sequence()).isEqualTo(2);
    }
  }

  @Test
  void aDamagedRowIsRefusedNotTakenForAFreshStart() throws Exception {
    store.commit(Cursor.ofOffset(1));
    try (Connection c = DriverManager.getConnection(url());
        Statement s = c.createStatement()) {
      s.execute(
          "UPDATE waymark_checkpoint SET record = replace(record, '\"offset\":1', '\"offset\":9')");
    }
    assertThatThrownBy(() -> store.read())
        .hasMessageContaining("waymark_checkpoint(job=nightly,partition=0)")
        .hasMessageContaining("checksum mismatch");
    assertThat(store.rollback("0", 1).cursor()).isEqualTo(Cursor.ofOffset(1));
  }

  @Test
  void aDeletedRowWithVersionsStillKeptIsMissingNotNeverCommitted() throws Exception {
    store.commit(Cursor.ofOffset(1));
    store.commit(Cursor.ofOffset(2));
    store.commit(Cursor.ofOffset(3));
    try (Connection c = DriverManager.getConnection(url());
        Statement s = c.createStatement()) {
      s.execute("DELETE FROM waymark_checkpoint");
    }

    assertThatThrownBy(() -> store.read())
        .isInstanceOf(CheckpointInvalidException.class)
        .hasMessageContaining("the partition committed before but its checkpoint row is gone")
        .hasMessageContaining("the newest kept version is 3")
        .hasMessageContaining("waymark checkpoint rollback --db JDBC_URL --job nightly");
    Checkpoint restored = store.rollback("0", 2);
    assertThat(restored.sequence()).isEqualTo(4);
    assertThat(store.read().orElseThrow().cursor()).isEqualTo(Cursor.ofOffset(2));
    assertThat(store.commit(Cursor.ofOffset(5)).sequence()).isEqualTo(5);

    store.reset("0"); // a reset deletes the kept versions too: a fresh start, not a loss
    assertThat(store.read()).isEmpty();
  }
}
