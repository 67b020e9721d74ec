package dev.waymark.ingest.sink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.waymark.checkpoint.jdbc.TestDatabases;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
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
  void theDedupKeyOfANewTableIsComparedByteByByte() throws SQLException {
    Sink sink = open(new TableSpec("skus", List.of()));
    try (var s = sink.connection().createStatement();
        var rs =
            s.executeQuery(
                "SELECT collation_name FROM information_schema.columns"
                    + " WHERE table_schema = current_schema() AND table_name = 'skus'"
                    + " AND column_name = 'dedup_key'")) {
      assertThat(rs.next()).isTrue();
      assertThat(rs.getString(1)).isEqualTo("C");
    }
  }

  /**
   * Another transaction holds key "x" uncommitted, so a statement inserting "x" waits for it: the
   * statement is started and the call returns while the database still runs it; until it is
   * awaited, the sink refuses every other use of the connection, so pgjdbc never serves two threads
   * at once.
   */
  @Test
  void aStartedStatementRunsWhileTheCallerGoesOnAndTheSinkWaitsForItsAwait() throws Exception {
    TableSpec spec = new TableSpec("skus", List.of());
    Sink sink = open(spec), blocker = open(spec);
    blocker.insert(List.of(SinkContractTest.fileRow("x", "other.json")));
    // Frees "x" after a second whatever happens, so that a start that waited for the statement
    // fails the timing assertion below instead of hanging.
    Future<?> released = rollBackAfter(blocker, 1_000);

    long t0 = System.nanoTime();
    Sink.PendingFiles pending =
        sink.startFiles(
            sink.prepareFiles(
                List.of(
                    List.of(SinkContractTest.fileRow("x", "f1.json")),
                    List.of(SinkContractTest.fileRow("y", "f2.json")))));
    long startedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    assertThat(startedMs).as("ms until startFiles returned").isLessThan(500);
    assertThatThrownBy(sink::commit).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(sink::connection).isInstanceOf(IllegalStateException.class);

    assertThat(pending.await()).containsExactly(1, 1); // "x" waited for the blocker's rollback
    released.get();
    sink.commit();
    assertThat(sink.countRows()).isEqualTo(2);
  }

  @Test
  void aValueTheDatabaseRefusesIsThrownWhenTheStatementIsAwaited() throws SQLException {
    Sink sink = open(new TableSpec("skus", List.of()));
    Sink.PendingFiles pending =
        sink.startFiles(
            sink.prepareFiles(
                List.of(
                    List.of(SinkContractTest.fileRow("a", "f1.json")),
                    List.of(new Row("b", "{not json", "f2.json", List.of())))));

    assertThatThrownBy(pending::await)
        .isInstanceOf(SQLException.class)
        .satisfies(e -> assertThat(((SQLException) e).getSQLState()).startsWith("22"));
    sink.rollback();
    assertThat(sink.countRows()).isZero();
  }

  /**
   * A statement started and never awaited (the run failed elsewhere) is still running when the sink
   * closes: another transaction holds its key "a" for half a second. Closing waits for it instead
   * of closing the connection under the statement thread, and rolls its rows back.
   */
  @Test
  void closingWithAStatementInFlightWaitsForItAndKeepsNothing() throws Exception {
    TableSpec spec = new TableSpec("skus", List.of());
    Sink blocker = open(spec);
    blocker.insert(List.of(SinkContractTest.fileRow("a", "other.json")));
    Sink sink = Sink.open(url(), spec);
    sink.createTables();
    sink.startFiles(
        sink.prepareFiles(
            List.of(
                List.of(SinkContractTest.fileRow("a", "f1.json")),
                List.of(SinkContractTest.fileRow("b", "f2.json")))));
    Future<?> released = rollBackAfter(blocker, 500);

    long t0 = System.nanoTime();
    sink.close(); // never awaited: waits for the statement, then rolls back
    long closeMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    released.get();

    assertThat(closeMs).as("ms close took, waiting for the statement").isGreaterThanOrEqualTo(300);
    assertThat(open(spec).countRows()).isZero();
  }

  /** Rolls {@code blocker}'s transaction back after {@code ms}, on a thread of its own. */
  private static Future<?> rollBackAfter(Sink blocker, long ms) {
    ExecutorService release = Executors.newSingleThreadExecutor();
    try {
      return release.submit(
          () -> {
            Thread.sleep(ms);
            blocker.rollback();
            return null;
          });
    } finally {
      release.shutdown(); // the submitted rollback still runs
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

  /**
   * Two partitions' units insert the same 20,000 keys at once, one in the order of its files, the
   * other in the opposite order. Bound in key order, both statements take the keys in one order, so
   * one waits for the other's commit and then finds every key present. Bound in file order they met
   * in the middle, each waiting for a key the other held: "deadlock detected", and in a partitioned
   * run a unit redone after a second's wait (25 to 36 times a night, BENCHMARKS.md).
   */
  @Test
  void twoWritersInsertingTheSameKeysInOppositeOrdersDoNotDeadlock() throws Exception {
    TableSpec spec = new TableSpec("skus", List.of());
    Sink a = open(spec), b = open(spec);
    List<List<Row>> forward = new ArrayList<>(), backward = new ArrayList<>();
    for (int f = 0; f < 200; f++) {
      List<Row> rows = new ArrayList<>(), reversed = new ArrayList<>();
      for (int r = 0; r < 100; r++) {
        String key = String.format("%08d", f * 100 + r);
        rows.add(new Row(key, "{\"k\":\"" + key + "\"}", "a" + f + ".json", List.of()));
        reversed.add(new Row(key, "{\"k\":\"" + key + "\"}", "b" + f + ".json", List.of()));
      }
      Collections.reverse(reversed);
      forward.add(rows);
      backward.add(0, reversed);
    }
    CyclicBarrier start = new CyclicBarrier(2);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      Future<long[]> byA = pool.submit(() -> write(a, forward, start));
      Future<long[]> byB = pool.submit(() -> write(b, backward, start));
      long inserted =
          LongStream.of(byA.get(2, TimeUnit.MINUTES)).sum()
              + LongStream.of(byB.get(2, TimeUnit.MINUTES)).sum();
      assertThat(inserted).as("new rows counted by the two writers").isEqualTo(20_000);
      assertThat(a.countRows()).isEqualTo(20_000);
    } finally {
      pool.shutdownNow();
    }
  }

  private static long[] write(Sink sink, List<List<Row>> files, CyclicBarrier start)
      throws Exception {
    start.await();
    long[] inserted = sink.insertFiles(files);
    sink.commit();
    return inserted;
  }
}
