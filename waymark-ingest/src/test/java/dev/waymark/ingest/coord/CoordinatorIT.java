package dev.waymark.ingest.coord;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.FencedException;
import dev.waymark.checkpoint.global.JobOutcome;
import dev.waymark.checkpoint.jdbc.ConnectionSource;
import dev.waymark.checkpoint.jdbc.JdbcCheckpointStore;
import dev.waymark.checkpoint.jdbc.JdbcGlobalCheckpointStore;
import dev.waymark.checkpoint.jdbc.JdbcStoreOptions;
import dev.waymark.checkpoint.jdbc.TestDatabases;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Coordinators in this JVM against a real PostgreSQL (a fresh schema each): claims, takeover with
 * the next epoch, the fence in the data's transaction, layouts that disagree. The same through real
 * worker processes, killed and paused, is waymark-cli's {@code WorkerProcessesIT}.
 */
class CoordinatorIT {
  private static final Duration LONG = Duration.ofSeconds(60);

  private TestDatabases.PgSchema schema;
  private final List<AutoCloseable> open = new ArrayList<>();
  private final List<String> events = new CopyOnWriteArrayList<>();

  @BeforeEach
  void freshSchema() {
    schema = TestDatabases.freshPostgresSchema();
  }

  @AfterEach
  void cleanUp() throws Exception {
    Collections.reverse(open);
    for (AutoCloseable c : open) {
      c.close();
    }
    schema.close();
  }

  private static JobSpec spec(int partitions) {
    return new JobSpec("night", partitions, "crc32c-utf8-mod", Map.of("--glob", "skus_*.json"));
  }

  private Coordinator join(String worker, JobSpec spec, Duration lease) {
    return join(worker, spec, lease, ConnectionSource.of(schema.url));
  }

  private Coordinator join(
      String worker, JobSpec spec, Duration lease, ConnectionSource connections) {
    Coordinator c =
        Coordinator.join(
            connections,
            spec,
            worker,
            lease,
            new CoordinatorListener() {
              @Override
              public void reconnecting(Exception error, int attempt, Duration delay) {
                events.add(worker + " reconnecting, attempt " + attempt);
              }

              @Override
              public void claimed(Lease l) {
                events.add(worker + " claimed " + l.partition() + "@" + l.epoch());
              }

              @Override
              public void commitRefused(Lease l, long newerEpoch, String newOwner) {
                events.add(
                    worker
                        + " refused "
                        + l.partition()
                        + "@"
                        + l.epoch()
                        + " by "
                        + newOwner
                        + "@"
                        + newerEpoch);
              }

              @Override
              public void lost(Lease l, long newerEpoch, String newOwner, String how) {
                events.add(
                    worker
                        + " lost "
                        + l.partition()
                        + "@"
                        + l.epoch()
                        + " to "
                        + newOwner
                        + "@"
                        + newerEpoch
                        + " ("
                        + how
                        + ")");
              }

              @Override
              public void jobFailed(JobSpec spec, Coordinator.Failure failure) {
                events.add(worker + " failed the job (" + failure.kind() + ")");
              }

              @Override
              public void jobResumed(JobSpec spec, Coordinator.Failure failure) {
                events.add(worker + " resumed the job after " + failure.description());
              }
            });
    open.add(c);
    return c;
  }

  private JdbcCheckpointStore store(Coordinator c) {
    JdbcCheckpointStore s =
        JdbcCheckpointStore.openFencedByPartition(
            ConnectionSource.of(schema.url), "night", JdbcStoreOptions.ofDefaults(), c.fence());
    open.add(s);
    return s;
  }

  @Test
  void twoWorkersClaimDifferentPartitionsUntilEveryOneIsDoneAndTheJobIsRecordedDone()
      throws Exception {
    Coordinator a = join("a", spec(3), LONG), b = join("b", spec(3), LONG);

    Lease a1 = a.claim().orElseThrow(), b1 = b.claim().orElseThrow();
    Lease a2 = a.claim().orElseThrow();

    assertThat(List.of(a1.partition(), b1.partition(), a2.partition()))
        .containsExactly("0", "1", "2");
    assertThat(List.of(a1.epoch(), b1.epoch(), a2.epoch())).containsOnly(1L);
    assertThat(b.claim()).as("every partition is owned").isEmpty();
    assertThat(a.finish(a1)).isTrue();
    assertThat(b.finish(b1)).isTrue();
    assertThat(a.status()).isEqualTo(new Coordinator.Status(0, 1, 0, 2));
    assertThat(doneAt()).as("job done while a partition is owned").isEmpty();
    assertThat(a.finish(a2)).isTrue();
    assertThat(b.status().jobDone()).isTrue();
    assertThat(doneAt()).as("the job's done record").isPresent();
  }

  @Test
  void anExpiredLeaseIsTakenOverAtTheNextEpochAndTheOldOwnersCommitRollsBackWithItsData()
      throws Exception {
    Coordinator zombie = join("zombie", spec(1), LONG), heir = join("heir", spec(1), LONG);
    JdbcCheckpointStore zombieStore = store(zombie), heirStore = store(heir);
    Lease old = zombie.claim().orElseThrow();
    commitRow(zombieStore, "before-pause", Cursor.ofFile("f1.json", 1));
    assertThat(heir.claim()).as("the lease is live").isEmpty();

    expireLeases(); // as if the zombie had been paused past its lease
    Lease taken = heir.claim().orElseThrow();

    assertThat(taken.epoch()).isEqualTo(old.epoch() + 1);
    assertThat(taken.previousOwner()).contains("zombie");
    assertThatThrownBy(() -> commitRow(zombieStore, "after-takeover", Cursor.ofFile("f2.json", 2)))
        .isInstanceOf(FencedException.class)
        .hasMessageContaining("job 'night' partition '0'")
        .hasMessageContaining("this writer holds epoch 1 but epoch 2 is recorded");
    assertThat(rows()).containsExactly("before-pause");
    assertThat(events)
        .containsSubsequence(
            "zombie lost 0@1 to heir@2 (noticed at a commit)", "zombie refused 0@1 by heir@2");
    assertThat(zombie.finish(old)).as("the zombie cannot finish what it lost").isFalse();

    commitRow(heirStore, "by-heir", Cursor.ofFile("f2.json", 2));
    assertThat(heirStore.read("0").orElseThrow().epoch()).isEqualTo(2);
    assertThat(rows()).containsExactly("before-pause", "by-heir");
  }

  @Test
  void aCommitInFlightHoldsOffATakeoverAndRenewsTheLease() throws Exception {
    Coordinator owner = join("owner", spec(1), LONG), other = join("other", spec(1), LONG);
    owner.claim().orElseThrow();
    expireLeases();
    try (Connection tx = DriverManager.getConnection(schema.url)) {
      tx.setAutoCommit(false);
      assertThat(owner.fence().check(tx, "0")).isEqualTo(1);
      assertThat(other.claim()).as("the row is locked by the commit in flight").isEmpty();
      tx.commit();
    }
    assertThat(other.claim()).as("the fence renewed the lease").isEmpty();
  }

  @Test
  void aWorkerWithAnotherPartitionCountOrGlobIsRefusedNamingEachDifference() {
    join("first", spec(6), LONG);

    assertThatThrownBy(() -> join("second", spec(8), LONG))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("Job 'night' was created in waymark_coord_job by worker first at ")
        .hasMessageContaining(
            "the job has 6 partitions, this worker was started with --partitions 8")
        .hasMessageContaining("start this one with the job's flags, or use another --job");
    JobSpec otherGlob = new JobSpec("night", 6, "crc32c-utf8-mod", Map.of("--glob", "*.csv"));
    assertThatThrownBy(() -> join("third", otherGlob, LONG))
        .hasMessageContaining("the job has --glob 'skus_*.json', this worker '*.csv'");
  }

  @Test
  void dataInAnotherSchemaIsRefusedBecauseTheFenceMustShareItsTransaction() throws Exception {
    Coordinator c = join("a", spec(2), LONG);
    try (TestDatabases.PgSchema elsewhere = TestDatabases.freshPostgresSchema();
        Connection data = DriverManager.getConnection(elsewhere.url);
        Connection same = DriverManager.getConnection(schema.url)) {
      assertThatThrownBy(() -> c.requireSameDatabase(data, "(elsewhere)"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith(
              "--db (elsewhere) is not the coordinator's database: it has no"
                  + " table waymark_coord_job")
          .hasMessageContaining("leave --db out, or point it there");
      c.requireSameDatabase(same, "(same)");
    }
  }

  @Test
  void aWorkerThatStopsFreesItsPartitionsForAnotherAtOnce() {
    Coordinator leaving = join("leaving", spec(1), LONG), staying = join("staying", spec(1), LONG);
    Lease held = leaving.claim().orElseThrow();

    leaving.close();
    Lease next = staying.claim().orElseThrow();

    assertThat(next.partition()).isEqualTo(held.partition());
    assertThat(next.epoch()).isEqualTo(held.epoch() + 1);
    assertThat(next.previousOwner()).as("a free partition, not a takeover").isEmpty();
  }

  @Test
  void twoWorkersFinishingTheLastTwoPartitionsAtOnceRecordTheJobDoneOnce() throws Exception {
    // Regression: each finish checked "no partition left" while the other's was uncommitted, so
    // neither set done_at (seen in WorkerProcessesIT: every worker exited 0, no success marker).
    // Both finishes start together, twenty times: the job row lock must serialise them.
    for (int round = 0; round < 20; round++) {
      JobSpec spec =
          new JobSpec("night-" + round, 2, "crc32c-utf8-mod", Map.of("--glob", "skus_*.json"));
      Coordinator a = join("a", spec, LONG), b = join("b", spec, LONG);
      Lease la = a.claim().orElseThrow(), lb = b.claim().orElseThrow();
      java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(2);
      java.util.concurrent.ExecutorService two =
          java.util.concurrent.Executors.newFixedThreadPool(2);
      try {
        java.util.concurrent.Future<Boolean> fa =
            two.submit(
                () -> {
                  start.await();
                  return a.finish(la);
                });
        java.util.concurrent.Future<Boolean> fb =
            two.submit(
                () -> {
                  start.await();
                  return b.finish(lb);
                });
        assertThat(fa.get()).isTrue();
        assertThat(fb.get()).isTrue();
      } finally {
        two.shutdownNow();
      }
      assertThat(List.of(a.completedTheJob(), b.completedTheJob()))
          .as("round %d: exactly one worker completed the job", round)
          .containsExactlyInAnyOrder(true, false);
      assertThat(
              count(
                  "SELECT COUNT(*) FROM waymark_coord_job WHERE job = '"
                      + spec.job()
                      + "'"
                      + " AND done_at IS NOT NULL"))
          .as("round %d: done_at", round)
          .isEqualTo(1);
    }
  }

  @Test
  void aUnitsTotalsCountOnlyIfItCommitsAndOnceWhenItsPartitionIsTakenOver() throws Exception {
    Coordinator zombie = join("zombie", spec(2), LONG), heir = join("heir", spec(2), LONG);
    zombie.claim().orElseThrow();

    unit(zombie, 1, 40, 30, true);
    unit(zombie, 2, 80, 80, false); // rolled back, as a killed worker's unit is
    assertThat(zombie.totals()).isEqualTo(new JobOutcome.Totals(1, 40, 30, 10));

    expireLeases();
    heir.claim().orElseThrow();
    unit(heir, 2, 80, 80, true); // the partition's next owner redoes the unit
    assertThatThrownBy(() -> unit(zombie, 2, 80, 80, true))
        .as("the zombie's unit is fenced before its totals")
        .isInstanceOf(FencedException.class);

    assertThat(heir.totals())
        .as("each committed unit once, summed over the partitions")
        .isEqualTo(new JobOutcome.Totals(3, 120, 110, 10));
  }

  @Test
  void aFailedJobHasItsFailureMarkerRefusesClaimsAndIsResumedByTheNextWorkerToJoin()
      throws Exception {
    Coordinator a = join("a", spec(2), LONG), b = join("b", spec(2), LONG);
    a.claim().orElseThrow();

    Coordinator.Failure failure =
        a.failJob("BAD_INPUT", "worker a, partition 0: skus_00007.json is malformed").orElseThrow();

    assertThat(failure.kind()).isEqualTo("BAD_INPUT");
    assertThat(b.claim()).as("partition 1 is free, but the job failed").isEmpty();
    assertThat(b.failure()).contains(failure);
    assertThat(b.failJob("FAILURE", "worker b, partition 1: later").orElseThrow())
        .as("the first failure is kept")
        .isEqualTo(failure);
    JobOutcome outcome = outcome().orElseThrow();
    assertThat(outcome.succeeded()).isFalse();
    assertThat(outcome.errorKind()).isEqualTo("BAD_INPUT");
    assertThat(outcome.error()).isEqualTo("worker a, partition 0: skus_00007.json is malformed");
    assertThat(outcome.at()).isEqualTo(failure.at());
    assertThat(events)
        .contains("a failed the job (BAD_INPUT)")
        .doesNotContain("b failed the job (FAILURE)");

    Coordinator c = join("c", spec(2), LONG);

    assertThat(events)
        .contains("c resumed the job after worker a, partition 0: skus_00007.json is malformed");
    assertThat(c.failure()).isEmpty();
    assertThat(outcome()).as("the failure marker is cleared").isEmpty();
    assertThat(c.claim().orElseThrow().partition()).isEqualTo("1");
  }

  /**
   * Regression: the coordinator's transactions rolled back on SQLException only. Whatever else the
   * work threw left its connection inside the transaction, here holding the lock that every
   * worker's start-up waits for.
   */
  @Test
  void aSetUpThatFailsIsRolledBackWhateverItThrowsAndReleasesTheStartUpLock() throws Exception {
    List<Integer> backends = new CopyOnWriteArrayList<>();
    Coordinator c = join("a", spec(1), LONG, recordingBackends(backends));
    int pid = backends.get(0); // the coordinator's own connection, opened first

    assertThatThrownBy(() -> c.setUpExclusively(() -> fail("an Error from the set-up")))
        .isInstanceOf(AssertionError.class)
        .hasMessage("an Error from the set-up");
    assertThat(sessionState(pid)).as("the coordinator's session after an Error").isEqualTo("idle");
    assertThat(advisoryLocksOf(pid)).as("locks the coordinator still holds").isZero();

    assertThatThrownBy(
            () ->
                c.setUpExclusively(
                    () -> {
                      throw new IllegalStateException("an unchecked exception from the set-up");
                    }))
        .isInstanceOf(IllegalStateException.class);
    assertThat(sessionState(pid)).isEqualTo("idle");
    assertThat(advisoryLocksOf(pid)).isZero();

    // Another worker starts and sets up, and the failed one's connection still works.
    join("b", spec(1), LONG).setUpExclusively(() -> {});
    assertThat(c.claim()).isPresent();
  }

  /**
   * Regression: the coordinator's connection was never opened again once the server dropped it (a
   * restart, {@code pg_terminate_backend}), so the worker failed although its data path retried.
   */
  @Test
  void aTerminatedCoordinatorConnectionIsReplacedAndClaimsFinishesAndStatusGoOn() throws Exception {
    List<Integer> backends = new CopyOnWriteArrayList<>();
    Coordinator c = join("a", spec(2), LONG, recordingBackends(backends));
    Lease first = c.claim().orElseThrow();

    terminate(backends.get(0));
    assertThat(c.finish(first)).as("finished on a new connection").isTrue();
    assertThat(events).contains("a reconnecting, attempt 1");

    Lease second = c.claim().orElseThrow();
    assertThat(second.partition()).isEqualTo("1");
    terminate(backends.get(backends.size() - 1));
    assertThat(c.status()).isEqualTo(new Coordinator.Status(0, 1, 0, 1));
    assertThat(c.finish(second)).isTrue();
    assertThat(c.completedTheJob()).as("this worker finished the last partition").isTrue();
    assertThat(doneAt()).isPresent();
  }

  // ---------------------------------------------------------------------------- helpers

  /** A unit of partition 0's holder {@code c}: the fence and its totals in one transaction. */
  private void unit(Coordinator c, long files, long read, long fresh, boolean commit)
      throws SQLException {
    try (Connection tx = DriverManager.getConnection(schema.url)) {
      tx.setAutoCommit(false);
      try {
        c.fence().check(tx, "0");
        c.addTotals(tx, "0", files, read, fresh);
      } finally {
        if (commit) {
          tx.commit();
        } else {
          tx.rollback();
        }
      }
    }
  }

  private Optional<JobOutcome> outcome() {
    try (JdbcGlobalCheckpointStore globals =
        JdbcGlobalCheckpointStore.reader(ConnectionSource.of(schema.url), "night")) {
      return globals.outcome();
    }
  }

  /** Connections to the test's schema that record their server process ids, in order. */
  private ConnectionSource recordingBackends(List<Integer> backends) {
    return () -> {
      Connection c = DriverManager.getConnection(schema.url);
      try (Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT pg_backend_pid()")) {
        rs.next();
        backends.add(rs.getInt(1));
      }
      return c;
    };
  }

  private String sessionState(int pid) throws SQLException {
    try (Connection c = DriverManager.getConnection(schema.url);
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT state FROM pg_stat_activity WHERE pid = " + pid)) {
      return rs.next() ? rs.getString(1) : "(no such session)";
    }
  }

  private long advisoryLocksOf(int pid) throws SQLException {
    try (Connection c = DriverManager.getConnection(schema.url);
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = " + pid)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private void terminate(int pid) throws SQLException {
    try (Connection c = DriverManager.getConnection(schema.url);
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT pg_terminate_backend(" + pid + ")")) {
      rs.next();
      assertThat(rs.getBoolean(1)).as("terminated server process %d", pid).isTrue();
    }
  }

  private void commitRow(JdbcCheckpointStore store, String value, Cursor cursor) throws Exception {
    try (Connection tx = DriverManager.getConnection(schema.url)) {
      try (Statement s = tx.createStatement()) {
        s.execute("CREATE TABLE IF NOT EXISTS rows_t (v text PRIMARY KEY)");
      }
      tx.setAutoCommit(false);
      try (Statement s = tx.createStatement()) {
        s.execute("INSERT INTO rows_t VALUES ('" + value + "')");
        store.commit(tx, "0", cursor);
        tx.commit();
      } catch (RuntimeException | SQLException e) {
        tx.rollback();
        throw e;
      }
    }
  }

  private List<String> rows() throws SQLException {
    List<String> rows = new ArrayList<>();
    try (Connection c = DriverManager.getConnection(schema.url);
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT v FROM rows_t ORDER BY v")) {
      while (rs.next()) {
        rows.add(rs.getString(1));
      }
    }
    return rows;
  }

  private void expireLeases() throws SQLException {
    try (Connection c = DriverManager.getConnection(schema.url);
        Statement s = c.createStatement()) {
      s.execute(
          "UPDATE waymark_coord_partition SET lease_until = clock_timestamp() - INTERVAL '1 s'"
              + " WHERE state = 'owned'");
    }
  }

  private long count(String sql) throws SQLException {
    try (Connection c = DriverManager.getConnection(schema.url);
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private Optional<String> doneAt() throws SQLException {
    try (Connection c = DriverManager.getConnection(schema.url);
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT done_at FROM waymark_coord_job")) {
      rs.next();
      return Optional.ofNullable(rs.getString(1));
    }
  }
}
