package dev.waymark.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.global.GlobalCheckpoint;
import dev.waymark.checkpoint.global.JobOutcome;
import dev.waymark.checkpoint.global.PartitionMark;
import dev.waymark.checkpoint.jdbc.ConnectionSource;
import dev.waymark.checkpoint.jdbc.JdbcCheckpointStore;
import dev.waymark.checkpoint.jdbc.JdbcGlobalCheckpointStore;
import dev.waymark.cli.IngestTarget.Db;
import dev.waymark.ingest.FeedGenerator;
import dev.waymark.ingest.Partitioning;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Many machines, simulated by worker processes (real child JVMs) coordinated through the local
 * PostgreSQL: three of them share a job; one is killed with SIGKILL and its partitions are taken
 * over after its lease; one is paused with SIGSTOP past its lease and, resumed, finds its commit
 * refused by the epoch. Each run's table is compared with a single {@code waymark ingest} of the
 * same feed.
 */
class WorkerProcessesIT {
  private static final int PARTITIONS = 6;
  private static final Duration WAIT = Duration.ofMinutes(6);
  private static final Pattern FILE_LINE = Pattern.compile("\\[p(\\d+) (\\d+)/\\d+\\] ");
  private static final Pattern JOINED = Pattern.compile("^worker (\\S+) joined job 'it'.*");

  @TempDir Path tmp;
  private Path feed;
  private final List<IngestChild> children = new ArrayList<>();
  private IngestTarget reference, target;

  @BeforeEach
  void feedAndReference() {
    reference = IngestTarget.fresh(Db.POSTGRES, tmp);
    target = IngestTarget.fresh(Db.POSTGRES, tmp);
  }

  @AfterEach
  void cleanUp() throws SQLException {
    for (IngestChild c : children) {
      c.close();
      // The coordination lines of each worker (not its per-file lines), for the log.
      c.lines().stream()
          .filter(l -> !l.startsWith("[p"))
          .forEach(l -> System.out.println("worker pid " + c.pid() + ": " + l));
      c.err().lines().forEach(l -> System.out.println("worker pid " + c.pid() + " stderr: " + l));
    }
    reference.close();
    target.close();
  }

  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void threeWorkersLoadTheSameTableAsOneProcess() throws Exception {
    generate(60, 40);

    // Two threads each: the six partitions are claimed by six threads in three processes.
    List<IngestChild> workers = List.of(worker("30s", 2), worker("30s", 2), worker("30s", 2));
    for (IngestChild w : workers) {
      assertThat(w.exitsWithin(WAIT)).as("worker ended: %s", w).isTrue();
      assertThat(w.exitCode()).as(w.toString()).isZero();
      assertThat(w.lines()).as(w.toString()).anyMatch(l -> l.startsWith("job 'it' done:"));
      assertThat(w.lines())
          .as("no lease lost or taken over among live workers")
          .noneMatch(l -> l.startsWith("lost partition ") || l.contains("taking over from"));
    }

    List<String> finished = new ArrayList<>();
    for (IngestChild w : workers) {
      w.lines().stream().filter(l -> l.startsWith("finished partition ")).forEach(finished::add);
    }
    assertThat(finished).as("each partition finished once, by one worker").hasSize(PARTITIONS);
    assertThatTableMatchesTheSingleProcessRun();
    assertThatEveryCheckpointIsAtItsPartitionsEndAndEpoch(true);
    assertThat(
            target.count("SELECT COUNT(*) FROM waymark_global_checkpoint WHERE state = 'complete'"))
        .as("without --global-checkpoint-every, only the final global checkpoint")
        .isEqualTo(1);
    assertThatTheSuccessMarkerHoldsEveryPartitionsEnd();
  }

  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void globalCheckpointsGoOnWhenTheCoordinatingWorkerIsKilledAndWaitSeesTheSuccessMarker()
      throws Exception {
    // Long enough that the survivors still run for several global-checkpoint intervals after the
    // kill, also on a quiet, fast machine: the victim's partition waits out its 3 s lease and must
    // then still have seconds of work. With 900 files the heir finished it in under a second after
    // the takeover on a machine that ran a night feed in 17 s, and no periodic global checkpoint
    // completed between the kill and the final one (CI, session 6).
    generate(2700, 40);
    List<IngestChild> workers = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      workers.add(worker("3s", 1, "--global-checkpoint-every", "1s"));
    }
    Map<String, IngestChild> byId = new HashMap<>();
    for (IngestChild w : workers) {
      byId.put(workerId(w), w);
    }
    waitFor("a complete global checkpoint", () -> completeGlobals() >= 1, workers.get(0));
    String coordinating = globalCoordinator(byId.keySet()).orElseThrow();
    IngestChild victim = byId.get(coordinating);
    long before = lastGlobal();
    assertThat(victim.kill()).isEqualTo(IngestChild.KILLED);
    System.out.println(
        "killed the coordinating worker " + coordinating + " after global " + before);

    List<IngestChild> survivors = new ArrayList<>(workers);
    survivors.remove(victim);
    waitFor(
        "another worker to coordinate",
        () -> globalCoordinator(byId.keySet()).filter(id -> !id.equals(coordinating)).isPresent(),
        survivors.get(0));
    for (IngestChild w : survivors) {
      assertThat(w.exitsWithin(WAIT)).as("worker ended: %s", w).isTrue();
      assertThat(w.exitCode()).as(w.toString()).isZero();
    }
    assertThatTheSuccessMarkerHoldsEveryPartitionsEnd();
    long last = lastGlobal();
    assertThat(
            target.count(
                "SELECT COUNT(*) FROM waymark_global_checkpoint WHERE state = 'complete' AND n > "
                    + before
                    + " AND n < "
                    + last))
        .as("periodic global checkpoints completed after the coordinating worker was killed")
        .isGreaterThanOrEqualTo(1);
    assertThat(target.count("SELECT COALESCE(MAX(n), 0) FROM waymark_global_checkpoint"))
        .as("no barrier after the final, complete global checkpoint")
        .isEqualTo(last);
    assertThat(target.count("SELECT COUNT(*) FROM waymark_global_marker"))
        .as("markers of partial global checkpoints (the killed coordinator's) are discarded")
        .isZero();
    assertThatEveryCompleteGlobalCheckpointIsAConsistentCut();
    assertThatTableMatchesTheSingleProcessRun();

    CliRun wait =
        IngestTarget.runInProcess(
            List.of("wait", "--db", target.url, "--job", IngestTarget.JOB, "--timeout", "30s"));
    assertThat(wait.exitCode()).as(wait.toString()).isZero();
    assertThat(wait.out()).contains("Job 'it' succeeded");
  }

  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void aKilledWorkersPartitionsAreTakenOverAfterItsLeaseAndTheTableIsComplete() throws Exception {
    // The victim holds its fourth unit uncommitted (pause-before-commit:4) while its heartbeat
    // runs on: it still owns a partition when it is killed, however fast the machine (on a fast
    // one it used to finish every partition before the others had claimed one).
    generate(960, 40);
    IngestChild victim =
        IngestChild.start(
            tmp.resolve("logs"),
            Map.of("WAYMARK_FAULT", "pause-before-commit:4"),
            IngestChild.FAST_START,
            workerArgs("3s", String.valueOf(PARTITIONS), 1));
    children.add(victim);
    victim.awaitPause(WAIT);
    assertThat(fileLines(victim)).as("files the victim committed").isEqualTo(3);
    IngestChild a = worker("3s"), b = worker("3s");
    String victimId = workerId(victim);
    waitFor("the others to claim", () -> claims(a) + claims(b) >= 1, a);

    assertThat(victim.kill()).isEqualTo(IngestChild.KILLED);
    List<String> held = partitionsOwnedBy(victimId);
    assertThat(held).as("partitions the victim owned when killed").isNotEmpty();

    for (IngestChild w : List.of(a, b)) {
      assertThat(w.exitsWithin(WAIT)).as("worker ended: %s", w).isTrue();
      assertThat(w.exitCode()).as(w.toString()).isZero();
    }
    List<String> takeovers = new ArrayList<>();
    for (IngestChild w : List.of(a, b)) {
      w.lines().stream()
          .filter(l -> l.contains(", taking over from " + victimId + " (lease expired)"))
          .forEach(takeovers::add);
    }
    takeovers.forEach(System.out::println);
    for (String p : held) {
      assertThat(takeovers)
          .as("a survivor took over partition %s from the victim", p)
          .anyMatch(l -> l.startsWith("claimed partition " + p + " at epoch "));
    }
    assertThatTableMatchesTheSingleProcessRun();
    assertThatEveryCheckpointIsAtItsPartitionsEndAndEpoch(false);
    // The victim's last unit, rolled back by the kill and redone by its heir, counts once.
    assertThatTheSuccessMarkerHoldsEveryPartitionsEnd();
  }

  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void aPausedWorkerPastItsLeaseIsFencedWhenItResumesAndNothingItDidAfterIsInTheTable()
      throws Exception {
    // Long enough that the zombie still owns partitions when it is paused, on a fast machine too.
    generate(600, 40);
    IngestChild zombie = worker("3s");
    waitFor("the zombie to commit files", () -> fileLines(zombie) >= 3, zombie);
    String zombieId = workerId(zombie);
    IngestChild heir = worker("3s");

    signal(zombie, "STOP");
    // A statement the zombie sent just before the signal (a COMMIT among them) still runs on the
    // server; once its connections are quiet, nothing it has in flight can commit until it resumes.
    waitUntilQuiet(zombieId);
    List<Long> zombieTransactions = openTransactionsOf(zombieId);
    Map<String, Long> before = epochsOwnedBy(zombieId);
    assertThat(before).as("partitions the zombie owns when paused").isNotEmpty();
    // What the zombie committed before its pause, read now: the heir, once in, may commit more
    // than the ten versions the history keeps, and the zombie's would then be gone from it.
    Map<String, Long> committedAtPause = committedFiles(before);
    waitFor(
        "another worker to take over a partition of the paused zombie",
        () -> !changedEpochs(before).isEmpty(),
        heir);
    Map<String, Long> taken = changedEpochs(before);
    int linesBeforeResume = zombie.lines().size();
    signal(zombie, "CONT");

    for (IngestChild w : List.of(zombie, heir)) {
      assertThat(w.exitsWithin(WAIT)).as("worker ended: %s", w).isTrue();
      assertThat(w.exitCode()).as(w.toString()).isZero();
    }
    List<String> afterResume = zombie.lines().subList(linesBeforeResume, zombie.lines().size());
    afterResume.forEach(l -> System.out.println("zombie after SIGCONT: " + l));
    for (Map.Entry<String, Long> t : taken.entrySet()) {
      String p = t.getKey();
      assertThat(t.getValue()).as("epoch of partition %s moved", p).isGreaterThan(before.get(p));
      assertThat(afterResume)
          .as("the zombie learns it lost partition %s", p)
          .anyMatch(
              l ->
                  l.startsWith("lost partition " + p + " at epoch " + before.get(p) + ": ")
                      && l.contains(" holds it at epoch "));
      // A line printed after the resume may report a commit made before the pause; one beyond
      // the partition's checkpoint at the pause would be a commit after the lease was lost.
      assertThat(afterResume)
          .as("files of partition %s the zombie committed after losing it", p)
          .noneMatch(l -> fileNumber(l, p) > committedAtPause.get(p));
    }
    // Two ways the zombie can learn it was fenced, depending on which comes first after SIGCONT:
    // its unit's commit is refused by the epoch, or its heartbeat sees the lease gone and the unit
    // (its transaction already ended by the server's idle timeout) is abandoned. Either way no
    // commit of it lands after the takeover, which the assertions above and below check.
    assertThat(afterResume)
        .as("the zombie's next commit is refused by the epoch, or its heartbeat finds it fenced")
        .anyMatch(
            l ->
                (l.startsWith("commit refused for partition ")
                        && l.endsWith("; the unit's rows and checkpoint were rolled back"))
                    || (l.startsWith("lost partition ") && l.contains(" holds it at epoch ")));
    for (long xid : zombieTransactions) {
      assertThat(target.count("SELECT COUNT(*) FROM skus_staging WHERE xmin::text = '" + xid + "'"))
          .as("rows of the zombie's transaction %d, open when its lease was taken", xid)
          .isZero();
    }
    assertThatTableMatchesTheSingleProcessRun();
    assertThatEveryCheckpointIsAtItsPartitionsEndAndEpoch(false);
    // The zombie's fenced units counted nothing; its heir's count once.
    assertThatTheSuccessMarkerHoldsEveryPartitionsEnd();
  }

  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void aMalformedFileFailsTheJobTheOtherWorkersStopWaitExitsSixAndANewWorkerResumesIt()
      throws Exception {
    generate(360, 40);
    // The last file of the last partition claims reach. The test holds that partition's row
    // locked (claims skip locked rows) until every worker has joined and the file is malformed:
    // malformed earlier, a worker could fail the job before the last one joins, and a worker that
    // joins a failed job starts a new attempt (see the README), which is the end of this test, not
    // its start. Malformed later, its owner could already have read the good file.
    String badPartition = String.valueOf(PARTITIONS - 1);
    List<String> files = partitionFiles().get(badPartition);
    String badName = files.get(files.size() - 1);
    Path bad = feed.resolve(badName);
    String good = Files.readString(bad);
    List<IngestChild> workers = List.of(worker("3s"), worker("3s"), worker("3s"));
    Map<String, IngestChild> byId = new HashMap<>();
    try (Connection hold = DriverManager.getConnection(target.url)) {
      hold.setAutoCommit(false);
      waitFor("the job's partitions", () -> partitionRows() == PARTITIONS, workers.get(0));
      try (PreparedStatement ps =
          hold.prepareStatement(
              "SELECT state FROM waymark_coord_partition WHERE job = ? AND partition_id = ?"
                  + " FOR UPDATE")) {
        ps.setString(1, IngestTarget.JOB);
        ps.setString(2, badPartition);
        try (ResultSet rs = ps.executeQuery()) {
          assertThat(rs.next()).isTrue();
          assertThat(rs.getString(1))
              .as("partition %s unclaimed when the test locked it", badPartition)
              .isEqualTo("free");
        }
      }
      for (IngestChild w : workers) {
        byId.put(workerId(w), w);
      }
      Files.writeString(bad, "[{\"sku\": 1,");
      hold.commit();
    }
    List<String> waitArgs =
        List.of("wait", "--db", target.url, "--job", IngestTarget.JOB, "--timeout", "5m");
    IngestChild waiter =
        IngestChild.start(tmp.resolve("logs"), Map.of(), IngestChild.FAST_START, waitArgs);
    children.add(waiter);

    for (IngestChild w : workers) {
      assertThat(w.exitsWithin(WAIT)).as("worker ended: %s", w).isTrue();
    }
    List<IngestChild> failing = new ArrayList<>();
    for (IngestChild w : workers) {
      if (w.exitCode() == ExitCode.BAD_INPUT.code) {
        failing.add(w);
      }
    }
    assertThat(failing).as("the worker that met the malformed file").hasSize(1);
    String failingId =
        byId.entrySet().stream()
            .filter(e -> e.getValue() == failing.get(0))
            .findFirst()
            .orElseThrow()
            .getKey();
    assertThat(failing.get(0).err()).as(failing.get(0).toString()).contains(badName);
    assertThat(failing.get(0).lines())
        .anyMatch(
            l ->
                l.startsWith("recorded job 'it' failed at ")
                    && l.contains("(BAD_INPUT): no worker claims its partitions now"));
    for (IngestChild w : workers) {
      if (w == failing.get(0)) {
        continue;
      }
      assertThat(w.exitCode()).as("a worker stopped by the failure: %s", w).isEqualTo(6);
      assertThat(w.err())
          .contains("waymark: Job 'it' failed at ")
          .contains("(BAD_INPUT): worker " + failingId + ", partition " + badPartition + ": ")
          .contains(badName)
          .contains("This worker stopped at its next unit boundary");
    }
    assertThat(target.count("SELECT COUNT(*) FROM waymark_coord_partition WHERE state <> 'done'"))
        .as("partitions left unfinished by the stop")
        .isPositive();
    assertThat(target.count("SELECT COUNT(*) FROM waymark_coord_job WHERE done_at IS NULL"))
        .isEqualTo(1);

    assertThat(waiter.exitsWithin(WAIT)).as("wait ended: %s", waiter).isTrue();
    assertThat(waiter.exitCode()).as(waiter.toString()).isEqualTo(ExitCode.JOB_FAILED.code);
    assertThat(waiter.err())
        .contains("waymark: Job 'it' failed at ")
        .contains("(BAD_INPUT): worker " + failingId + ", partition " + badPartition + ": ")
        .contains(badName);
    CliRun waited =
        IngestTarget.runInProcess(
            List.of("wait", "--db", target.url, "--job", IngestTarget.JOB, "--timeout", "1s"));
    assertThat(waited.exitCode()).as(waited.toString()).isEqualTo(ExitCode.JOB_FAILED.code);

    // Fixed, the job resumes from its checkpoints with one worker, and its totals count what
    // the failed attempt committed once, with the rest.
    Files.writeString(bad, good);
    CliRun resumed = IngestTarget.runInProcess(workerArgs("3s", String.valueOf(PARTITIONS), 2));
    assertThat(resumed.exitCode()).as(resumed.toString()).isZero();
    assertThat(resumed.lines())
        .anyMatch(
            l ->
                l.startsWith("job 'it' had failed at ")
                    && l.contains(
                        "(BAD_INPUT): worker " + failingId + ", partition " + badPartition + ": ")
                    && l.endsWith(
                        "; this worker cleared the failure and resumes the job from its"
                            + " partitions' checkpoints"));
    CliRun succeeded =
        IngestTarget.runInProcess(
            List.of("wait", "--db", target.url, "--job", IngestTarget.JOB, "--timeout", "10s"));
    assertThat(succeeded.exitCode()).as(succeeded.toString()).isZero();
    assertThatTableMatchesTheSingleProcessRun();
    assertThatEveryCheckpointIsAtItsPartitionsEndAndEpoch(false);
    assertThatTheSuccessMarkerHoldsEveryPartitionsEnd();
  }

  /**
   * A coordinating worker paused for good (SIGSTOP, standing in for a frozen VM) loses the global
   * checkpoint lock once its session has been silent for three leases (the server ends it), so the
   * other worker, which finishes the job, writes the final global checkpoint and the success marker
   * without it. Before, the finishing worker waited for the lock as long as the pause lasted.
   *
   * <p>The coordinating worker first holds its fourth unit uncommitted ({@code
   * pause-before-commit:4}) while its global-checkpoint thread runs on and takes the lock: however
   * fast the machine, its job cannot end before the test has seen the lock taken and stopped it.
   */
  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void aPausedCoordinatingWorkerLosesTheGlobalLockAndTheOtherFinishesTheJob() throws Exception {
    generate(240, 40);
    List<String> args = new ArrayList<>(workerArgs("1s", String.valueOf(PARTITIONS), 1));
    args.addAll(List.of("--global-checkpoint-every", "100ms"));
    IngestChild coordinating =
        IngestChild.start(
            tmp.resolve("logs"),
            Map.of("WAYMARK_FAULT", "pause-before-commit:4"),
            IngestChild.FAST_START,
            args);
    children.add(coordinating);
    String coordinatingId = workerId(coordinating);
    coordinating.awaitPause(WAIT);
    waitFor(
        "the first worker to take the global checkpoint lock",
        () -> globalCoordinator(java.util.Set.of(coordinatingId)).isPresent(),
        coordinating);
    assertThat(fileLines(coordinating)).as("files the first worker committed").isEqualTo(3);
    signal(coordinating, "STOP");
    coordinating.resume(); // read once the worker runs again: its fourth unit then commits
    long pausedAt = System.nanoTime();
    Path summary = tmp.resolve("other-summary.json");
    IngestChild other =
        worker("1s", 1, "--global-checkpoint-every", "1s", "--summary-json", summary.toString());

    assertThat(other.exitsWithin(WAIT)).as("the other worker ended: %s", other).isTrue();
    assertThat(other.exitCode()).as(other.toString()).isZero();
    Duration paused = Duration.ofNanos(System.nanoTime() - pausedAt);
    assertThat(other.lines())
        .anyMatch(l -> l.startsWith("job 'it' done: every partition is finished"));
    CliRun waited =
        IngestTarget.runInProcess(
            List.of("wait", "--db", target.url, "--job", IngestTarget.JOB, "--timeout", "10s"));
    assertThat(waited.exitCode())
        .as("success marker, the coordinator still paused: %s", waited)
        .isZero();
    assertThat(globalCoordinator(java.util.Set.of(coordinatingId)))
        .as("the paused worker's hold of the global lock")
        .isEmpty();
    System.out.println("the job finished " + paused.toMillis() + " ms into the pause");
    assertThat(Files.readString(summary))
        .as("the worker's --summary-json, its own work")
        .contains("\"files\":")
        .contains("\"new\":");

    signal(coordinating, "CONT");
    assertThat(coordinating.exitsWithin(WAIT))
        .as("resumed worker ended: %s", coordinating)
        .isTrue();
    assertThat(coordinating.exitCode()).as(coordinating.toString()).isZero();
    assertThatTableMatchesTheSingleProcessRun();
    assertThatEveryCheckpointIsAtItsPartitionsEndAndEpoch(false);
    assertThatTheSuccessMarkerHoldsEveryPartitionsEnd();
  }

  /**
   * The other way a worker meets a job failure: in the middle of a partition. The paused worker
   * claims partition 0 (claims go in partition order) and pauses with its second unit written and
   * not committed ({@code WAYMARK_FAULT=pause-before-commit:2}, one file a unit); the failing
   * worker then claims partition 1, whose first file is malformed, and fails the job. Resumed, the
   * paused worker commits the unit it was in and stops at that boundary, before its third file,
   * with exit 6: what it committed stays, and its partition is left unfinished for the next
   * attempt.
   */
  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void aWorkerInTheMiddleOfAPartitionStopsAtItsNextUnitBoundaryWhenAnotherFailsTheJob()
      throws Exception {
    generate(120, 40);
    Map<String, List<String>> files = partitionFiles();
    IngestChild paused =
        IngestChild.start(
            tmp.resolve("logs"),
            Map.of("WAYMARK_FAULT", "pause-before-commit:2"),
            IngestChild.FAST_START,
            workerArgs("30s", String.valueOf(PARTITIONS), 1));
    children.add(paused);
    paused.awaitPause(WAIT);
    assertThat(paused.lines()).contains("claimed partition 0 at epoch 1");

    String badName = files.get("1").get(0);
    Files.writeString(feed.resolve(badName), "[{\"sku\": 1,");
    IngestChild failing = worker("30s");
    assertThat(failing.exitsWithin(WAIT)).as("failing worker ended: %s", failing).isTrue();
    assertThat(failing.exitCode()).as(failing.toString()).isEqualTo(ExitCode.BAD_INPUT.code);
    assertThat(failing.lines()).contains("claimed partition 1 at epoch 1");
    assertThat(failing.err()).contains(badName);

    paused.resume();
    assertThat(paused.exitsWithin(WAIT)).as("paused worker ended: %s", paused).isTrue();
    assertThat(paused.exitCode()).as(paused.toString()).isEqualTo(ExitCode.JOB_FAILED.code);
    assertThat(paused.err())
        .contains("waymark: Job 'it' failed at ")
        .contains("partition 1: ")
        .contains(badName)
        .contains("This worker stopped at its next unit boundary");
    List<Long> committed =
        paused.lines().stream().map(l -> fileNumber(l, "0")).filter(n -> n > 0).toList();
    assertThat(committed)
        .as("files of partition 0 the paused worker reported")
        .containsExactly(1L, 2L);
    try (JdbcCheckpointStore.Reader store =
        JdbcCheckpointStore.reader(ConnectionSource.of(target.url), IngestTarget.JOB)) {
      assertThat(store.read("0").orElseThrow().cursor().number(Cursor.FILES))
          .as("partition 0's checkpoint: its second unit committed, nothing after")
          .hasValue(2L);
    }
    assertThat(
            target.count(
                "SELECT COUNT(*) FROM waymark_coord_partition WHERE partition_id = '0'"
                    + " AND state <> 'done'"))
        .as("partition 0 left unfinished")
        .isEqualTo(1);
    List<String> zero = files.get("0");
    assertThat(rowsFrom(zero.subList(0, 2)))
        .as("rows of partition 0's first two files")
        .isPositive();
    assertThat(rowsFrom(zero.subList(2, zero.size())))
        .as("rows of partition 0's later files, which no worker committed")
        .isZero();
  }

  private long rowsFrom(List<String> sourceFiles) throws SQLException {
    return target.count(
        "SELECT COUNT(*) FROM \""
            + IngestTarget.TABLE
            + "\" WHERE source_file IN ('"
            + String.join("', '", sourceFiles)
            + "')");
  }

  /**
   * Regression: the coordinator's own connection (claims, finishes) was never opened again once the
   * server ended it, so the worker failed mid-job although its data path retries lost connections.
   */
  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void aWorkerWhoseCoordinatorConnectionIsTerminatedReconnectsAndFinishesTheJob() throws Exception {
    generate(120, 40);
    IngestChild w = worker("30s");
    String id = workerId(w);
    // One partition of six finished: the worker claims and finishes five more after the kill.
    waitFor(
        "the worker to finish a partition",
        () -> w.lines().stream().anyMatch(l -> l.startsWith("finished partition ")),
        w);

    assertThat(terminateBackendsNamed("waymark coordinator " + id))
        .as("coordinator connections of worker %s terminated", id)
        .isEqualTo(1);

    assertThat(w.exitsWithin(WAIT)).as("worker ended: %s", w).isTrue();
    assertThat(w.exitCode()).as(w.toString()).isZero();
    assertThat(w.lines())
        .anyMatch(
            l ->
                l.startsWith("the coordinator's connection was lost (")
                    && l.contains("); reconnecting in "));
    assertThat(w.lines()).anyMatch(l -> l.startsWith("job 'it' done:"));
    assertThatTableMatchesTheSingleProcessRun();
    assertThatEveryCheckpointIsAtItsPartitionsEndAndEpoch(true);
    assertThatTheSuccessMarkerHoldsEveryPartitionsEnd();
  }

  @Test
  void aWorkerWithAnotherPartitionCountIsRefused() throws Exception {
    generate(12, 10);
    CliRun first = IngestTarget.runInProcess(workerArgs("30s", String.valueOf(PARTITIONS), 1));
    assertThat(first.exitCode()).as(first.toString()).isZero();

    CliRun refused = IngestTarget.runInProcess(workerArgs("30s", "8", 1));

    assertThat(refused.exitCode()).as(refused.toString()).isEqualTo(2);
    assertThat(refused.err())
        .startsWith("waymark: Job 'it' was created in waymark_coord_job by worker ")
        .contains("the job has 6 partitions, this worker was started with --partitions 8")
        .contains("start this one with the job's flags, or use another --job");
  }

  // ---------------------------------------------------------------------------- helpers

  private void generate(int files, int rows) {
    feed = tmp.resolve("feed");
    FeedGenerator.generate(feed, files, rows, 17);
    CliRun single = IngestTarget.runInProcess(reference.ingestArgs(feed, "db", "1"));
    assertThat(single.exitCode()).as(single.toString()).isZero();
  }

  private List<String> workerArgs(String lease, String partitions, int threads) {
    return List.of(
        "worker",
        "--coordinator",
        target.url,
        "--job",
        IngestTarget.JOB,
        "--input",
        feed.toString(),
        "--table",
        IngestTarget.TABLE,
        "--partitions",
        partitions,
        "--workers",
        String.valueOf(threads),
        "--commit-every",
        "1",
        "--lease",
        lease);
  }

  private IngestChild worker(String lease) throws IOException {
    return worker(lease, 1);
  }

  private IngestChild worker(String lease, int threads, String... more) throws IOException {
    List<String> args = new ArrayList<>(workerArgs(lease, String.valueOf(PARTITIONS), threads));
    args.addAll(List.of(more));
    IngestChild child =
        IngestChild.start(tmp.resolve("logs"), Map.of(), IngestChild.FAST_START, args);
    children.add(child);
    return child;
  }

  /** The file's number in partition {@code p} of a {@code [pP K/N] NAME: ...} line, else 0. */
  private static long fileNumber(String line, String p) {
    Matcher m = FILE_LINE.matcher(line);
    return m.lookingAt() && m.group(1).equals(p) ? Long.parseLong(m.group(2)) : 0;
  }

  /** For each partition in {@code epochs}, the files its checkpoint records at that epoch. */
  private Map<String, Long> committedFiles(Map<String, Long> epochs) {
    Map<String, Long> files = new TreeMap<>();
    try (JdbcCheckpointStore.Reader store =
        JdbcCheckpointStore.reader(ConnectionSource.of(target.url), IngestTarget.JOB)) {
      for (Map.Entry<String, Long> e : epochs.entrySet()) {
        files.put(
            e.getKey(),
            store
                .read(e.getKey())
                .filter(c -> c.epoch() == e.getValue())
                .map(c -> c.cursor().number(Cursor.FILES).orElseThrow())
                .orElse(0L));
      }
    }
    System.out.println("files the zombie committed before its pause, by partition: " + files);
    return files;
  }

  /** The rows of the job's partitions in the coordination table, 0 before a worker creates it. */
  private long partitionRows() {
    try {
      return target.count(
          "SELECT COUNT(*) FROM waymark_coord_partition WHERE job = '" + IngestTarget.JOB + "'");
    } catch (SQLException e) {
      if ("42P01".equals(e.getSQLState())) { // undefined_table: no worker has created the job yet
        return 0;
      }
      throw new AssertionError(e);
    }
  }

  private static long fileLines(IngestChild w) {
    return w.lines().stream().filter(l -> l.startsWith("[p")).count();
  }

  private static long claims(IngestChild w) {
    return w.lines().stream().filter(l -> l.startsWith("claimed partition ")).count();
  }

  private String workerId(IngestChild w) throws InterruptedException {
    waitFor(
        "the worker to join",
        () -> w.lines().stream().anyMatch(l -> JOINED.matcher(l).matches()),
        w);
    for (String l : w.lines()) {
      Matcher m = JOINED.matcher(l);
      if (m.matches()) {
        return m.group(1);
      }
    }
    throw new AssertionError("unreachable");
  }

  private static void waitFor(String what, BooleanSupplier condition, IngestChild watched)
      throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!condition.getAsBoolean()) {
      if (!watched.alive()) {
        throw new AssertionError("the worker ended before " + what + "; " + watched);
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what + "; " + watched);
      }
      Thread.sleep(50);
    }
  }

  private static void signal(IngestChild w, String signal) throws Exception {
    Process kill =
        new ProcessBuilder("kill", "-" + signal, Long.toString(w.pid())).inheritIO().start();
    assertThat(kill.waitFor()).as("kill -%s", signal).isZero();
  }

  private List<String> partitionsOwnedBy(String worker) throws SQLException {
    return new ArrayList<>(epochsOwnedBy(worker).keySet());
  }

  private Map<String, Long> epochsOwnedBy(String worker) throws SQLException {
    Map<String, Long> owned = new TreeMap<>();
    try (Connection c = DriverManager.getConnection(target.url);
        PreparedStatement ps =
            c.prepareStatement(
                "SELECT partition_id, epoch FROM waymark_coord_partition"
                    + " WHERE job = 'it' AND owner = ? AND state = 'owned'")) {
      ps.setString(1, worker);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          owned.put(rs.getString(1), rs.getLong(2));
        }
      }
    }
    return owned;
  }

  /** The partitions of {@code before} whose epoch has moved on, with their epoch now. */
  private Map<String, Long> changedEpochs(Map<String, Long> before) {
    Map<String, Long> changed = new TreeMap<>();
    try {
      for (Map.Entry<String, Long> e : coordinatorEpochs().entrySet()) {
        if (before.containsKey(e.getKey()) && e.getValue() > before.get(e.getKey())) {
          changed.put(e.getKey(), e.getValue());
        }
      }
    } catch (SQLException e) {
      throw new AssertionError(e);
    }
    return changed;
  }

  private Map<String, Long> coordinatorEpochs() throws SQLException {
    Map<String, Long> epochs = new HashMap<>();
    try (Connection c = DriverManager.getConnection(target.url);
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT partition_id, epoch FROM waymark_coord_partition WHERE job = 'it'")) {
      while (rs.next()) {
        epochs.put(rs.getString(1), rs.getLong(2));
      }
    }
    return epochs;
  }

  /**
   * Waits until none of the worker's data connections is running a statement, twice in a row 100 ms
   * apart: what a stopped worker had sent has then finished on the server.
   */
  private void waitUntilQuiet(String worker) throws Exception {
    int quiet = 0;
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (quiet < 2) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("worker " + worker + "'s statements never finished");
      }
      Thread.sleep(100);
      quiet =
          target.count(
                      "SELECT COUNT(*) FROM pg_stat_activity WHERE state <> 'idle'"
                          + " AND state <> 'idle in transaction'"
                          + " AND application_name = 'waymark worker "
                          + worker
                          + "'")
                  == 0
              ? quiet + 1
              : 0;
    }
  }

  /**
   * Transaction ids the worker's data connections hold open (they are named after it in PostgreSQL,
   * which the worker must have at least one of).
   */
  private List<Long> openTransactionsOf(String worker) throws SQLException {
    List<Long> xids = new ArrayList<>();
    int backends = 0;
    try (Connection c = DriverManager.getConnection(target.url);
        PreparedStatement ps =
            c.prepareStatement(
                "SELECT backend_xid::text FROM pg_stat_activity WHERE application_name = ?")) {
      ps.setString(1, "waymark worker " + worker);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          backends++;
          if (rs.getString(1) != null) {
            xids.add(Long.parseLong(rs.getString(1)));
          }
        }
      }
    }
    assertThat(backends).as("connections named after worker %s", worker).isPositive();
    System.out.println("transactions the paused zombie holds open: " + xids);
    return xids;
  }

  /** Ends every server process whose application_name is {@code name}; returns how many. */
  private int terminateBackendsNamed(String name) throws SQLException {
    int terminated = 0;
    try (Connection c = DriverManager.getConnection(target.url);
        PreparedStatement ps =
            c.prepareStatement(
                "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity"
                    + " WHERE application_name = ?")) {
      ps.setString(1, name);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          assertThat(rs.getBoolean(2)).as("terminated server process %d", rs.getInt(1)).isTrue();
          System.out.println("terminated '" + name + "', server process " + rs.getInt(1));
          terminated++;
        }
      }
    }
    return terminated;
  }

  private long completeGlobals() {
    try {
      return target.count(
          "SELECT COUNT(*) FROM waymark_global_checkpoint WHERE state = 'complete'");
    } catch (SQLException e) {
      return 0; // the tables are not there yet
    }
  }

  private long lastGlobal() throws SQLException {
    return target.count(
        "SELECT COALESCE(MAX(n), 0) FROM waymark_global_checkpoint WHERE state = 'complete'");
  }

  /**
   * The worker (among {@code ids}) whose session holds the global checkpoint lock, read from
   * pg_locks: its connections are named {@code waymark worker ID}.
   */
  private Optional<String> globalCoordinator(java.util.Set<String> ids) {
    try (Connection c = DriverManager.getConnection(target.url);
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid ="
                    + " l.pid WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2"
                    // every worker holds the checkpoint store's lock too, shared; not this one
                    + " AND l.classid = hashtext('waymark_global')::oid")) {
      while (rs.next()) {
        String name = rs.getString(1);
        for (String id : ids) {
          if (name.equals("waymark worker " + id)) {
            return Optional.of(id);
          }
        }
      }
      return Optional.empty();
    } catch (SQLException e) {
      throw new AssertionError(e);
    }
  }

  /** Each partition's files in order: a committed cursor is {@code ofFile(files[k-1], k)}. */
  private Map<String, List<String>> partitionFiles() {
    Map<String, List<String>> files = new TreeMap<>();
    try (var listing = java.nio.file.Files.list(feed)) {
      listing
          .map(p -> p.getFileName().toString())
          .sorted()
          .forEach(
              n ->
                  files
                      .computeIfAbsent(
                          Partitioning.id(Partitioning.of(n, PARTITIONS)), k -> new ArrayList<>())
                      .add(n));
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    return files;
  }

  /**
   * Every kept complete global checkpoint holds, for every partition, a position of that partition
   * (its k-th file and count k) at or below its end, and a sequence of its checkpoint history.
   */
  private void assertThatEveryCompleteGlobalCheckpointIsAConsistentCut() {
    Map<String, List<String>> files = partitionFiles();
    try (JdbcGlobalCheckpointStore globals =
        JdbcGlobalCheckpointStore.reader(ConnectionSource.of(target.url), IngestTarget.JOB)) {
      List<Long> complete = globals.completeNumbers();
      System.out.println("complete global checkpoints kept: " + complete);
      assertThat(complete).isNotEmpty();
      for (long n : complete) {
        GlobalCheckpoint g = globals.read(n);
        assertThat(g.cut().keySet()).as("global %d's partitions", n).isEqualTo(files.keySet());
        for (PartitionMark m : g.cut().values()) {
          List<String> in = files.get(m.partition());
          if (m.cursor() == null) {
            continue; // the partition had not committed yet
          }
          long k = m.cursor().number(Cursor.FILES).orElseThrow();
          assertThat(k)
              .as("global %d partition %s", n, m.partition())
              .isBetween(1L, (long) in.size());
          assertThat(IngestTarget.position(m.cursor()))
              .as("global %d partition %s is a committed position", n, m.partition())
              .isEqualTo(Cursor.ofFile(in.get((int) k - 1), (int) k));
        }
      }
    }
  }

  /** The success marker is there and its cut is every partition at its last file. */
  private void assertThatTheSuccessMarkerHoldsEveryPartitionsEnd() {
    Map<String, List<String>> files = partitionFiles();
    try (JdbcGlobalCheckpointStore globals =
        JdbcGlobalCheckpointStore.reader(ConnectionSource.of(target.url), IngestTarget.JOB)) {
      JobOutcome outcome = globals.outcome().orElseThrow(() -> new AssertionError("no outcome"));
      assertThat(outcome.succeeded()).as(outcome.toString()).isTrue();
      assertThat(outcome.checkpoint()).isEqualTo(globals.lastComplete().orElseThrow().number());
      for (Map.Entry<String, List<String>> e : files.entrySet()) {
        List<String> in = e.getValue();
        assertThat(IngestTarget.position(outcome.cut().get(e.getKey()).cursor()))
            .as("partition %s in the success marker", e.getKey())
            .isEqualTo(Cursor.ofFile(in.get(in.size() - 1), in.size()));
      }
      long all = files.values().stream().mapToLong(List::size).sum();
      assertThat(outcome.totals().files()).isEqualTo(all);
      // The totals of one `waymark ingest` of the feed: each committed file and row once, however
      // the partitions were shared, taken over or redone.
      JobOutcome.Totals single;
      try (JdbcGlobalCheckpointStore one =
          JdbcGlobalCheckpointStore.reader(ConnectionSource.of(reference.url), IngestTarget.JOB)) {
        single = one.outcome().orElseThrow(() -> new AssertionError("no outcome")).totals();
      }
      System.out.println("success marker totals: " + outcome.totals() + "; one process: " + single);
      assertThat(single.rowsRead()).isPositive();
      assertThat(outcome.totals()).as("the workers' totals").isEqualTo(single);
    }
  }

  private void assertThatTableMatchesTheSingleProcessRun() throws SQLException {
    assertThat(records(target)).isEqualTo(records(reference));
  }

  /** Dedup key to payload (which file a record repeated across files came from may differ). */
  private static SortedMap<String, String> records(IngestTarget t) throws SQLException {
    SortedMap<String, String> rows = new TreeMap<>();
    try (Connection c = DriverManager.getConnection(t.url);
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT dedup_key, payload::text FROM skus_staging")) {
      while (rs.next()) {
        rows.put(rs.getString(1), rs.getString(2));
      }
    }
    return rows;
  }

  /**
   * Each partition's checkpoint holds its last file and count, at the epoch the coordinator records
   * for it ({@code exact}) or an earlier one (a worker that takes over a partition already at its
   * end commits nothing).
   */
  private void assertThatEveryCheckpointIsAtItsPartitionsEndAndEpoch(boolean exact)
      throws SQLException {
    Map<String, Long> epochs = coordinatorEpochs();
    Map<String, List<String>> files = new TreeMap<>();
    List<String> names = new ArrayList<>();
    try (var listing = java.nio.file.Files.list(feed)) {
      listing.map(p -> p.getFileName().toString()).sorted().forEach(names::add);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    for (String n : names) {
      files
          .computeIfAbsent(Partitioning.id(Partitioning.of(n, PARTITIONS)), k -> new ArrayList<>())
          .add(n);
    }
    try (JdbcCheckpointStore.Reader store =
        JdbcCheckpointStore.reader(ConnectionSource.of(target.url), IngestTarget.JOB)) {
      for (Map.Entry<String, List<String>> e : files.entrySet()) {
        List<String> in = e.getValue();
        Optional<Checkpoint> checkpoint = store.read(e.getKey());
        assertThat(checkpoint).as("checkpoint of partition %s", e.getKey()).isPresent();
        assertThat(IngestTarget.position(checkpoint.get().cursor()))
            .as("partition %s", e.getKey())
            .isEqualTo(Cursor.ofFile(in.get(in.size() - 1), in.size()));
        long epoch = checkpoint.get().epoch(), recorded = epochs.get(e.getKey());
        if (exact) {
          assertThat(epoch)
              .as("epoch of partition %s's checkpoint", e.getKey())
              .isEqualTo(recorded);
        } else {
          assertThat(epoch)
              .as("epoch of partition %s's checkpoint", e.getKey())
              .isBetween(1L, recorded);
        }
      }
    }
    assertThat(target.count("SELECT COUNT(*) FROM waymark_coord_partition WHERE state <> 'done'"))
        .isZero();
    assertThat(target.count("SELECT COUNT(*) FROM waymark_coord_job WHERE done_at IS NOT NULL"))
        .isEqualTo(1);
  }
}
