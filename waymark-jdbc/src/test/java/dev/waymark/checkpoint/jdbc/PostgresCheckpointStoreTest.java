package dev.waymark.checkpoint.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.waymark.checkpoint.CheckpointStore;
import dev.waymark.checkpoint.CheckpointStoreContractTest;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.FencedException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class PostgresCheckpointStoreTest extends CheckpointStoreContractTest {
  private TestDatabases.PgSchema schema;

  @Override
  protected CheckpointStore open(String job) {
    if (schema == null) {
      schema = TestDatabases.freshPostgresSchema();
    }
    return JdbcCheckpointStore.open(ConnectionSource.of(schema.url), job);
  }

  @AfterEach
  void dropSchema() throws Exception {
    if (store != null) {
      store.close();
    }
    if (schema != null) {
      schema.close();
    }
  }

  @Test
  void checkpointCommitsAndRollsBackWithTheDataTransaction() throws Exception {
    JdbcCheckpointStore jdbc = (JdbcCheckpointStore) store;
    try (Connection tx = DriverManager.getConnection(schema.url)) {
      tx.setAutoCommit(false);
      try (Statement s = tx.createStatement()) {
        s.execute("CREATE TABLE rows_t (k text PRIMARY KEY)");
      }
      tx.commit();
      try (Statement s = tx.createStatement()) {
        s.execute("INSERT INTO rows_t VALUES ('a')");
      }
      jdbc.commit(tx, "0", Cursor.ofFile("f1.json", 1));
      tx.rollback();
      assertThat(store.read()).isEmpty();

      try (Statement s = tx.createStatement()) {
        s.execute("INSERT INTO rows_t VALUES ('a')");
      }
      jdbc.commit(tx, "0", Cursor.ofFile("f1.json", 1));
      tx.commit();
    }
    assertThat(store.read().orElseThrow().cursor()).isEqualTo(Cursor.ofFile("f1.json", 1));
  }

  @Test
  void aTakeoverWaitsForAnInFlightCommitThenFencesTheOldWriter() throws Exception {
    JdbcCheckpointStore old = (JdbcCheckpointStore) store;
    try (Connection tx = DriverManager.getConnection(schema.url)) {
      tx.setAutoCommit(false);
      old.commit(tx, "0", Cursor.ofOffset(1)); // holds FOR SHARE on the job row
      Thread takeover =
          new Thread(
              () -> JdbcCheckpointStore.open(ConnectionSource.of(schema.url), "nightly").close());
      takeover.start();
      takeover.join(300);
      assertThat(takeover.isAlive()).as("takeover blocked by the in-flight commit").isTrue();
      tx.commit();
      takeover.join(5000);
      assertThat(takeover.isAlive()).isFalse();
    }
    assertThat(old.read().orElseThrow().cursor()).isEqualTo(Cursor.ofOffset(1));
    assertThatThrownBy(() -> old.commit(Cursor.ofOffset(2))).isInstanceOf(FencedException.class);
  }
}
