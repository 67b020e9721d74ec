package dev.waymark.checkpoint.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.global.GlobalCheckpoint;
import dev.waymark.checkpoint.global.PartitionMark;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The global checkpoint store as workers of many processes share it ({@link
 * JdbcGlobalCheckpointStore#shared}): markers read from the committed checkpoint rows, refused for
 * a stale barrier, a second time or by the guard; partial checkpoints kept until the coordinator
 * discards them. On PostgreSQL, where workers run.
 */
class SharedGlobalCheckpointStoreTest {
  private static final String JOB = "night";
  private TestDatabases.PgSchema schema;
  private ConnectionSource db;

  @BeforeEach
  void freshSchema() {
    schema = TestDatabases.freshPostgresSchema();
    db = ConnectionSource.of(schema.url);
  }

  @AfterEach
  void dropSchema() throws Exception {
    schema.close();
  }

  @Test
  void aMarkerIsThePartitionsCommittedCheckpointRow() {
    try (JdbcCheckpointStore checkpoints = JdbcCheckpointStore.open(db, JOB);
        JdbcGlobalCheckpointStore globals = JdbcGlobalCheckpointStore.shared(db, JOB, 10)) {
      checkpoints.commit("0", Cursor.ofFile("a.json", 1));
      checkpoints.commit("0", Cursor.ofFile("c.json", 2));
      long n = globals.issueBarrier();

      assertThat(globals.markCommitted(n, "0", tx -> true)).isTrue();
      assertThat(globals.markCommitted(n, "1", tx -> true)).isTrue();
      checkpoints.commit("0", Cursor.ofFile("e.json", 3)); // after the marker: not in the cut
      GlobalCheckpoint g = globals.complete(n, List.of("0", "1"));

      assertThat(g.cut().get("0")).isEqualTo(new PartitionMark("0", Cursor.ofFile("c.json", 2), 2));
      assertThat(g.cut().get("1")).isEqualTo(new PartitionMark("1", null, 0));
    }
  }

  @Test
  void aStaleBarrierASecondMarkerAndARefusingGuardWriteNothing() {
    try (JdbcCheckpointStore checkpoints = JdbcCheckpointStore.open(db, JOB);
        JdbcGlobalCheckpointStore globals = JdbcGlobalCheckpointStore.shared(db, JOB, 10)) {
      checkpoints.commit("0", Cursor.ofFile("a.json", 1));
      long n = globals.issueBarrier();

      assertThat(globals.markCommitted(n, "0", tx -> false)).as("guard refuses").isFalse();
      assertThat(globals.marked(n)).isEmpty();
      assertThat(globals.markCommitted(n, "0", tx -> true)).isTrue();
      assertThat(globals.markCommitted(n, "0", tx -> true)).as("marked already").isFalse();
      long next = globals.issueBarrier();
      assertThat(globals.markCommitted(n, "1", tx -> true)).as("barrier no longer last").isFalse();

      assertThat(globals.marked(n)).containsExactly("0");
      assertThat(globals.marked(next)).isEmpty();
      assertThat(globals.lastBarrier()).isEqualTo(next);
    }
  }

  @Test
  void sharingDeletesNothingUntilTheCoordinatorDiscardsPartialCheckpoints() {
    long n;
    try (JdbcGlobalCheckpointStore first = JdbcGlobalCheckpointStore.shared(db, JOB, 10)) {
      n = first.issueBarrier();
      assertThat(first.markCommitted(n, "0", tx -> true)).isTrue();
    }
    try (JdbcGlobalCheckpointStore second = JdbcGlobalCheckpointStore.shared(db, JOB, 10)) {
      assertThat(second.marked(n)).as("another process's marker survives").containsExactly("0");

      second.discardPartial();

      assertThat(second.marked(n)).isEmpty();
      assertThat(second.lastComplete()).isEmpty();
      assertThat(second.issueBarrier()).as("numbers keep growing").isEqualTo(n + 1);
    }
  }
}
