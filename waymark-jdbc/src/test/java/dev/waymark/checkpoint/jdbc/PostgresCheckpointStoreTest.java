package dev.waymark.checkpoint.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.waymark.checkpoint.CheckpointStore;
import dev.waymark.checkpoint.CheckpointStoreContractTest;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.FencedException;
import dev.waymark.checkpoint.LockHeldException;
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

  /**
   * A connection to another schema of the same database, whose tables hold the job at the same
   * epoch, used to take the checkpoint where the store never reads it.
   */
  @Test
  void aConnectionToAnotherSchemaIsRefusedEvenAtTheSameEpoch() throws Exception {
    try (TestDatabases.PgSchema other = TestDatabases.freshPostgresSchema()) {
      try (JdbcCheckpointStore there =
          JdbcCheckpointStore.open(ConnectionSource.of(other.url), "nightly")) {
        assertThat(there.epoch()).isEqualTo(store.epoch());
      }
      try (Connection elsewhere = DriverManager.getConnection(other.url)) {
        elsewhere.setAutoCommit(false);
        assertThatThrownBy(
                () -> ((JdbcCheckpointStore) store).commit(elsewhere, "0", Cursor.ofOffset(1)))
            .hasMessageContaining("the connection given to commit reaches other tables");
        elsewhere.rollback();
      }
    }
    assertThat(store.read()).isEmpty();
  }

  /**
   * A reader beside a writer's first commits of new partitions never sees a checkpoint being born
   * as one deleted: reading the row and the kept versions in two statements, READ COMMITTED let the
   * commit land between them (a worker failed with MISSING in CI).
   */
  @Test
  void aReaderNeverTakesAFirstCommitLandingBesideItForADeletedRow() throws Exception {
    int partitions = 300;
    java.util.concurrent.atomic.AtomicInteger committed =
        new java.util.concurrent.atomic.AtomicInteger(-1);
    Thread writer =
        new Thread(
            () -> {
              for (int i = 0; i < partitions; i++) {
                store.commit("p" + i, Cursor.ofOffset(i));
                committed.set(i);
              }
            });
    writer.start();
    try (JdbcCheckpointStore.Reader reader =
        JdbcCheckpointStore.reader(ConnectionSource.of(schema.url), "nightly")) {
      for (int i = 0; i < partitions; i++) {
        while (reader.read("p" + i).isEmpty()) { // throws MISSING if it sees the race
          Thread.onSpinWait();
        }
      }
    } finally {
      writer.join();
    }
    assertThat(committed.get()).isEqualTo(partitions - 1);
  }

  /**
   * A writer stopped inside its commit (SIGSTOP, a frozen VM) holds the job's row; a new writer
   * used to wait for it without a word for as long as that lasted.
   */
  @Test
  void aWriterStuckInItsCommitHoldsANewWriterOffOnlyForTheWaitThenIsNamed() throws Exception {
    JdbcCheckpointStore jdbc = (JdbcCheckpointStore) store;
    store.commit(Cursor.ofOffset(1));
    try (Connection stuck = DriverManager.getConnection(schema.url)) {
      stuck.setAutoCommit(false);
      jdbc.commit(stuck, "0", Cursor.ofOffset(2)); // not committed: the row stays held

      long t0 = System.nanoTime();
      assertThatThrownBy(
              () ->
                  JdbcCheckpointStore.open(
                      ConnectionSource.of(schema.url),
                      "nightly",
                      JdbcStoreOptions.builder()
                          .epochWait(java.time.Duration.ofMillis(300))
                          .build()))
          .isInstanceOf(dev.waymark.checkpoint.LockHeldException.class)
          .hasMessageContaining(
              "Job 'nightly' is being written: a writer has held the job's row in waymark_job"
                  + " inside an open transaction for more than 300 ms (PostgreSQL server process ");
      assertThat(java.time.Duration.ofNanos(System.nanoTime() - t0))
          .isLessThan(java.time.Duration.ofSeconds(5));
      stuck.rollback();
    }
    try (JdbcCheckpointStore newer =
        JdbcCheckpointStore.open(ConnectionSource.of(schema.url), "nightly")) {
      assertThat(newer.epoch()).isGreaterThan(jdbc.epoch());
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

  /**
   * Regression: {@code checkpoint rollback --db} opened the store as a writer, taking the next
   * epoch and so fencing an ingest that was running; it must refuse instead, as the file store's
   * lock does.
   */
  @Test
  void aRepairIsRefusedWhileAWriterIsOpenAndAWriterWhileARepairIs() throws Exception {
    ConnectionSource db = ConnectionSource.of(schema.url);
    long writersEpoch = store.epoch();

    assertThatThrownBy(() -> JdbcCheckpointStore.openForRepair(db, "nightly"))
        .isInstanceOf(LockHeldException.class)
        .hasMessageStartingWith(
            "Job 'nightly' is being written: a writer holds its checkpoint lock in the database"
                + " (PostgreSQL server process ")
        .hasMessageContaining("(a writer), application '")
        .hasMessageContaining("then run this command again");
    try (JdbcCheckpointStore other = JdbcCheckpointStore.openForRepair(db, "other")) {
      assertThat(other.epoch()).as("another job's repair is not refused").isPositive();
    }
    store.commit(Cursor.ofOffset(1));
    assertThat(store.read().orElseThrow().epoch())
        .as("the refused repair fenced nothing")
        .isEqualTo(writersEpoch);

    store.close();
    // Advisory locks are per database, the tables per schema: a writer of a job of the same name in
    // another schema is another job's.
    try (TestDatabases.PgSchema elsewhere = TestDatabases.freshPostgresSchema();
        JdbcCheckpointStore writerElsewhere =
            JdbcCheckpointStore.open(ConnectionSource.of(elsewhere.url), "nightly");
        JdbcCheckpointStore repair = JdbcCheckpointStore.openForRepair(db, "nightly")) {
      assertThat(repair.epoch()).isGreaterThan(writersEpoch);
      assertThat(writerElsewhere.epoch()).as("the other schema's writer is open").isPositive();
      assertThatThrownBy(() -> JdbcCheckpointStore.open(db, "nightly"))
          .isInstanceOf(LockHeldException.class)
          .hasMessageStartingWith(
              "Job 'nightly' is being repaired: `waymark checkpoint rollback` or `reset` holds")
          .hasMessageContaining("(a repair)")
          .hasMessageContaining("Run this again once the repair has finished.");
    }
    store = JdbcCheckpointStore.open(db, "nightly");
    assertThat(store.read().orElseThrow().cursor()).isEqualTo(Cursor.ofOffset(1));
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

  @Test
  void storesFencedByPartitionDoNotFenceEachOtherAndRecordThePartitionsEpoch() {
    open("nightly").close(); // the fresh schema
    try (JdbcCheckpointStore a =
            JdbcCheckpointStore.openFencedByPartition(
                ConnectionSource.of(schema.url),
                "many",
                JdbcStoreOptions.ofDefaults(),
                (tx, partition) -> 3);
        JdbcCheckpointStore b =
            JdbcCheckpointStore.openFencedByPartition(
                ConnectionSource.of(schema.url),
                "many",
                JdbcStoreOptions.ofDefaults(),
                (tx, partition) -> partition.equals("1") ? 4 : 2)) {
      a.commit("0", Cursor.ofFile("a.json", 1));
      b.commit("1", Cursor.ofFile("b.json", 1));
      a.commit("0", Cursor.ofFile("c.json", 2)); // b's opening fenced nothing

      assertThat(a.read("0").orElseThrow().epoch()).isEqualTo(3);
      assertThat(b.read("1").orElseThrow().epoch()).isEqualTo(4);
      assertThat(a.epoch()).isZero();
      assertThatThrownBy(() -> b.commit("0", Cursor.ofFile("z.json", 9)))
          .isInstanceOf(FencedException.class)
          .hasMessageContaining("partition '0'")
          .hasMessageContaining("holds epoch 2 but epoch 3 is recorded");
      assertThat(a.read("0").orElseThrow().cursor()).isEqualTo(Cursor.ofFile("c.json", 2));
    }
  }

  @Test
  void aFenceThatRefusesRollsTheCommitBack() {
    open("nightly").close();
    try (JdbcCheckpointStore lost =
        JdbcCheckpointStore.openFencedByPartition(
            ConnectionSource.of(schema.url),
            "many",
            JdbcStoreOptions.ofDefaults(),
            (tx, partition) -> {
              throw new FencedException("job 'many' partition '" + partition + "'", 1, 2);
            })) {
      assertThatThrownBy(() -> lost.commit("0", Cursor.ofFile("a.json", 1)))
          .isInstanceOf(FencedException.class);
      assertThat(lost.read("0")).isEmpty();
    }
  }
}
