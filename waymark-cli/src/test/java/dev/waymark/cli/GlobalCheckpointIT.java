package dev.waymark.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.waymark.checkpoint.CheckpointReader;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.file.FileCheckpointStore;
import dev.waymark.checkpoint.internal.Json;
import dev.waymark.checkpoint.jdbc.ConnectionSource;
import dev.waymark.checkpoint.jdbc.JdbcCheckpointStore;
import dev.waymark.cli.IngestTarget.Db;
import dev.waymark.ingest.FeedGenerator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Two-phase global checkpoints and {@code waymark wait}, for real: {@code waymark ingest
 * --partitions 4 --workers 2} in child JVMs, halted by {@code
 * WAYMARK_FAULT=crash-before-global-complete:N} after every partition's marker for N and before its
 * complete record; {@code wait} in a child JVM started before the job.
 */
class GlobalCheckpointIT {
  private static final int FILES = 24;

  /**
   * Files of the feed the crash test runs on: it needs three global checkpoints before the run
   * ends. With the SQLite db store a round of markers takes a few hundred milliseconds (the workers
   * and the coordinator take turns at SQLite's one write lock): 24 files once ended after two (CI,
   * session 4), 120 files made three, 360 files four in each of three runs.
   */
  private static final int LONG_FILES = 360;

  private static final Duration TIMEOUT = Duration.ofMinutes(3);
  private static final List<String> PARTITIONS = List.of("0", "1", "2", "3");

  @TempDir static Path tmp;
  static Path feed;
  static Path longFeed;
  private static final Map<String, SortedMap<String, String>> REFERENCES = new HashMap<>();

  @BeforeAll
  static void generateFeed() {
    feed = tmp.resolve("feed");
    FeedGenerator.generate(feed, FILES, 25, 47);
    longFeed = tmp.resolve("long-feed");
    FeedGenerator.generate(longFeed, LONG_FILES, 25, 48);
  }

  /** An uninterrupted one-partition run's records, per database (jsonb prints differently). */
  static SortedMap<String, String> reference(Db db) throws Exception {
    return reference(db, feed);
  }

  static synchronized SortedMap<String, String> reference(Db db, Path of) throws Exception {
    String key = db + " " + of;
    SortedMap<String, String> reference = REFERENCES.get(key);
    if (reference == null) {
      try (IngestTarget target = IngestTarget.fresh(db, tmp)) {
        CliRun run = IngestTarget.runInProcess(target.ingestArgs(of, "file", "1"));
        assertThat(run.exitCode()).as(run.toString()).isZero();
        reference = payloads(target.content());
      }
      REFERENCES.put(key, reference);
    }
    return reference;
  }

  /**
   * Dedup key to payload: which file a duplicate record is stored from depends on the order the
   * workers reach it, the records themselves do not.
   */
  private static SortedMap<String, String> payloads(SortedMap<String, String> content) {
    SortedMap<String, String> payloads = new TreeMap<>();
    content.forEach((key, row) -> payloads.put(key, row.substring(0, row.lastIndexOf(" @ "))));
    return payloads;
  }

  private static List<String> partitioned(IngestTarget target, String store, String... more) {
    return partitioned(feed, target, store, more);
  }

  private static List<String> partitioned(
      Path of, IngestTarget target, String store, String... more) {
    List<String> args =
        new ArrayList<>(
            target.ingestArgs(
                of,
                store,
                "1",
                "--partitions",
                "4",
                "--workers",
                "2",
                "--global-checkpoint-every",
                "1ms"));
    args.addAll(List.of(more));
    return args;
  }

  /** {@code --state DIR} or {@code --db URL}, whichever store the job uses. */
  private static List<String> where(IngestTarget target, String store) {
    return store.equals("db")
        ? List.of("--db", target.url, "--job", IngestTarget.JOB)
        : List.of("--state", target.state.toString(), "--job", IngestTarget.JOB);
  }

  private static CliRun waymark(List<String> verb, List<String> where, String... more) {
    List<String> args = new ArrayList<>(verb);
    args.addAll(where);
    args.addAll(List.of(more));
    return IngestTarget.runInProcess(args);
  }

  private static Map<String, Cursor> cursors(IngestTarget target, String store) {
    Map<String, Cursor> cursors = new TreeMap<>();
    if (store.equals("db")) {
      try (JdbcCheckpointStore.Reader r =
          JdbcCheckpointStore.reader(ConnectionSource.of(target.url), IngestTarget.JOB)) {
        read(r, cursors);
      }
    } else {
      read(FileCheckpointStore.reader(target.state, IngestTarget.JOB), cursors);
    }
    return cursors;
  }

  private static void read(CheckpointReader reader, Map<String, Cursor> into) {
    for (String p : reader.partitions()) {
      reader.read(p).ifPresent(c -> into.put(p, c.cursor()));
    }
  }

  /** The job's entry of {@code status --json}'s "global" list. */
  private static Map<String, Object> global(CliRun status) {
    assertThat(status.exitCode()).as(status.toString()).isZero();
    return dev.waymark.cli.CliRun.list(json(status).get("global")).get(0);
  }

  private static Map<String, Object> json(CliRun run) {
    return new dev.waymark.cli.CliRun(run.exitCode(), run.out(), run.err()).json();
  }

  /** The cut's cursors as {@code waymark checkpoint status --json} prints them. */
  private static Map<String, Object> cutOf(Map<String, Object> globalCheckpoint) {
    return dev.waymark.cli.CliRun.map(globalCheckpoint.get("cut"));
  }

  private record Crashed(IngestTarget target, IngestChild child) {}

  /**
   * A partitioned run into a fresh target, halted by {@code crash-before-global-complete:3}. The
   * halt needs the run to reach its third global checkpoint before it ends, and how many it reaches
   * depends on timing (with the SQLite db store the coordinator waits its turn at SQLite's one
   * write lock: one run of 24 files ended after two in CI): a run that ended before is set aside
   * and the attempt made again, up to three times; the caller asserts the last one's halt.
   */
  private static Crashed crashBeforeGlobal3(Db db, String store) throws Exception {
    for (int attempt = 1; ; attempt++) {
      IngestTarget target = IngestTarget.fresh(db, tmp);
      IngestChild child =
          IngestChild.run(
              tmp.resolve("logs"),
              Map.of("WAYMARK_FAULT", "crash-before-global-complete:3"),
              IngestChild.FAST_START,
              TIMEOUT,
              partitioned(longFeed, target, store));
      if (child.exitCode() == IngestChild.KILLED || attempt == 3) {
        return new Crashed(target, child);
      }
      System.out.printf(
          "%s/%s attempt %d ended (exit %d) before global checkpoint 3; again%n",
          db, store, attempt, child.exitCode());
      target.close();
    }
  }

  @ParameterizedTest(name = "{0}, {1} store")
  @CsvSource({"SQLITE, file", "SQLITE, db", "POSTGRES, db"})
  void aCrashBetweenTheMarkersAndTheCompleteRecordFallsBackToThePreviousGlobalCheckpoint(
      Db db, String store) throws Exception {
    Crashed run = crashBeforeGlobal3(db, store);
    try (IngestTarget target = run.target()) {
      IngestChild crashed = run.child();
      assertThat(crashed.exitCode()).as(crashed.toString()).isEqualTo(IngestChild.KILLED);
      assertThat(crashed.err())
          .contains("halting at before-global-complete of global checkpoint 3");
      assertThat(markersOf3(target, store)).as("every partition's marker for 3").isEqualTo(4);

      // status: the last complete global checkpoint is 2; the partial 3 is not used.
      CliRun status = waymark(List.of("checkpoint", "status", "--json"), where(target, store));
      assertThat(status.exitCode()).as(status.toString()).isZero();
      Map<String, Object> g = global(status);
      Map<String, Object> last = dev.waymark.cli.CliRun.map(g.get("last_complete"));
      assertThat(last.get("n")).isEqualTo(2L);
      assertThat(g.get("kept")).isEqualTo(List.of(1L, 2L));
      assertThat(g.get("outcome")).as("a halted run leaves no outcome").isEqualTo(Json.NULL);
      CliRun text = waymark(List.of("checkpoint", "status"), where(target, store));
      assertThat(text.out()).contains("Global checkpoint of job 'it': 2, completed ");

      // wait: neither success nor failure, so it times out.
      CliRun waited = waymark(List.of("wait"), where(target, store), "--timeout", "300ms");
      assertThat(waited.exitCode()).as(waited.toString()).isEqualTo(ExitCode.WAIT_TIMEOUT.code);

      // rollback --global 3 is refused: 3 never completed.
      CliRun refused =
          waymark(List.of("checkpoint", "rollback", "--global", "3"), where(target, store));
      assertThat(refused.exitCode()).isEqualTo(ExitCode.FAILURE.code);
      assertThat(refused.err())
          .contains("Global checkpoint 3 of job 'it' cannot be used: it never completed")
          .contains("Complete global checkpoints available: [1, 2]");

      // rollback --global: every partition back to 2's cut, exactly.
      CliRun rolled =
          waymark(List.of("checkpoint", "rollback", "--global", "--json"), where(target, store));
      assertThat(rolled.exitCode()).as(rolled.toString()).isZero();
      Map<String, Object> doc = json(rolled);
      assertThat(dev.waymark.cli.CliRun.map(doc.get("rolled_back_to")).get("n")).isEqualTo(2L);
      assertThat(dev.waymark.cli.CliRun.map(doc.get("recorded_as")).get("n"))
          .as("numbers never go back: 3 was issued")
          .isEqualTo(4L);
      Map<String, Object> cut = cutOf(last);
      Map<String, Cursor> now = cursors(target, store);
      for (String p : PARTITIONS) {
        Object mark = dev.waymark.cli.CliRun.map(cut.get(p)).get("cursor");
        if (mark == Json.NULL) {
          assertThat(now).as("partition " + p).doesNotContainKey(p);
        } else {
          assertThat(now.get(p).fields()).as("partition " + p).isEqualTo(mark);
        }
      }

      // The next run completes: the table equals an uninterrupted run's, and the job succeeded.
      IngestChild rerun =
          IngestChild.run(
              tmp.resolve("logs"),
              Map.of(),
              IngestChild.FAST_START,
              TIMEOUT,
              partitioned(longFeed, target, store, "--global-keep", "3"));
      assertThat(rerun.exitCode()).as(rerun.toString()).isZero();
      assertThat(payloads(target.content())).isEqualTo(reference(db, longFeed));
      Map<String, Object> after =
          global(waymark(List.of("checkpoint", "status", "--json"), where(target, store)));
      Map<String, Object> outcome = dev.waymark.cli.CliRun.map(after.get("outcome"));
      assertThat(outcome.get("outcome")).isEqualTo("success");
      assertThat((Long) outcome.get("checkpoint")).isGreaterThan(4L);
      List<?> kept = (List<?>) after.get("kept");
      assertThat(kept).as("--global-keep 3 keeps the last three").hasSize(3);
      assertThat(kept.get(2)).isEqualTo(outcome.get("checkpoint"));
      assertThat(markersOf3(target, store)).as("partial markers are cleaned up").isZero();
    }
  }

  @ParameterizedTest(name = "{0} store")
  @ValueSource(strings = {"file", "db"})
  void sigkillAtRandomInstantsNeverLeavesAPartialOrDamagedGlobalCheckpointInUse(String store)
      throws Exception {
    java.util.Random random = new java.util.Random(20261126L + store.hashCode());
    try (IngestTarget target = IngestTarget.fresh(Db.SQLITE, tmp)) {
      long lastN = 0;
      int kills = 0;
      boolean finished = false;
      for (int kill = 0; kill < 6 && !finished; kill++) {
        try (IngestChild child =
            IngestChild.start(
                tmp.resolve("logs"),
                Map.of(),
                IngestChild.FAST_START,
                partitioned(target, store))) {
          finished = child.exitsWithin(Duration.ofMillis(500 + random.nextInt(2000)));
          if (!finished) {
            assertThat(child.kill()).isEqualTo(IngestChild.KILLED);
            kills++;
          } else {
            assertThat(child.exitCode()).as(child.toString()).isZero();
          }
        }
        CliRun status = waymark(List.of("checkpoint", "status", "--json"), where(target, store));
        if (status.err().contains("holds no waymark_checkpoint table")) {
          continue; // killed before the db store had its tables: nothing committed yet
        }
        Map<String, Object> g = global(status);
        if (!finished && g.get("outcome") != Json.NULL) {
          // The kill struck after the job had written its success marker, as the JVM was ending:
          // the job is done, which only success may say.
          assertThat(dev.waymark.cli.CliRun.map(g.get("outcome")).get("outcome"))
              .as("the outcome of a run killed after its last step")
              .isEqualTo("success");
          finished = true;
        }
        assertThat(g.get("outcome") == Json.NULL)
            .as("outcome only after a finished run")
            .isEqualTo(!finished);
        if (g.get("last_complete") == Json.NULL) {
          continue;
        }
        Map<String, Object> last = dev.waymark.cli.CliRun.map(g.get("last_complete"));
        long n = (Long) last.get("n");
        assertThat(n)
            .as("the last complete global checkpoint never goes back")
            .isGreaterThanOrEqualTo(lastN);
        lastN = n;
        Map<String, Cursor> now = cursors(target, store);
        Map<String, Object> cut = cutOf(last);
        for (String p : cut.keySet()) {
          Object mark = dev.waymark.cli.CliRun.map(cut.get(p)).get("cursor");
          if (mark != Json.NULL) {
            long cutFiles = (Long) dev.waymark.cli.CliRun.map(mark).get(Cursor.FILES);
            assertThat(now.get(p).number(Cursor.FILES).getAsLong())
                .as("partition %s is at or past its cut in global checkpoint %d", p, n)
                .isGreaterThanOrEqualTo(cutFiles);
          }
        }
      }
      IngestChild last =
          IngestChild.run(
              tmp.resolve("logs"),
              Map.of(),
              IngestChild.FAST_START,
              TIMEOUT,
              partitioned(target, store));
      assertThat(last.exitCode()).as(last.toString()).isZero();
      assertThat(payloads(target.content())).isEqualTo(reference(Db.SQLITE));
      CliRun waited = waymark(List.of("wait"), where(target, store), "--timeout", "10s");
      assertThat(waited.exitCode()).as(waited.toString()).isZero();
    }
  }

  private static long markersOf3(IngestTarget target, String store) throws Exception {
    if (store.equals("db")) {
      return target.count("SELECT COUNT(*) FROM waymark_global_marker WHERE n = 3");
    }
    try (Stream<Path> files =
        Files.list(target.state.resolve(IngestTarget.JOB).resolve("global"))) {
      return files.filter(f -> f.getFileName().toString().matches("0{19}3\\..+\\.marker")).count();
    }
  }

  @ParameterizedTest(name = "{0} store")
  @ValueSource(strings = {"file", "db"})
  void waitStartedBeforeTheJobReturnsZeroWhenTheSuccessMarkerAppears(String store)
      throws Exception {
    try (IngestTarget target = IngestTarget.fresh(Db.SQLITE, tmp)) {
      List<String> args = new ArrayList<>(List.of("wait"));
      args.addAll(where(target, store));
      args.addAll(List.of("--timeout", "3m"));
      try (IngestChild waiter =
          IngestChild.start(tmp.resolve("logs"), Map.of(), IngestChild.FAST_START, args)) {
        assertThat(waiter.exitsWithin(Duration.ofSeconds(2)))
            .as("wait returned before the job ran: " + waiter)
            .isFalse();

        IngestChild job =
            IngestChild.run(
                tmp.resolve("logs"),
                Map.of(),
                IngestChild.FAST_START,
                TIMEOUT,
                partitioned(target, store));
        assertThat(job.exitCode()).as(job.toString()).isZero();

        assertThat(waiter.exitCode()).as(waiter.toString()).isZero();
        assertThat(waiter.out())
            .contains("Job 'it' succeeded at ")
            .contains(FILES + " files, " + (FILES * 25) + " rows read")
            .contains("PARTITION  SEQ  CURSOR");
        for (String p : PARTITIONS) {
          assertThat(waiter.out()).containsPattern("(?m)^  " + p + " +\\d+ +\\{\"file\":");
        }
      }
    }
  }

  @Test
  void waitReturnsTheFailureCodeWhenTheJobFails() throws Exception {
    Path bad = tmp.resolve("bad-feed");
    FeedGenerator.generate(bad, 6, 5, 3);
    Files.writeString(bad.resolve("skus_00003.json"), "[{\"sku\": 1,");
    try (IngestTarget target = IngestTarget.fresh(Db.SQLITE, tmp)) {
      List<String> args = new ArrayList<>(List.of("wait"));
      args.addAll(where(target, "file"));
      try (IngestChild waiter =
          IngestChild.start(tmp.resolve("logs"), Map.of(), IngestChild.FAST_START, args)) {
        assertThat(waiter.exitsWithin(Duration.ofSeconds(2))).as(waiter.toString()).isFalse();
        CliRun job = IngestTarget.runInProcess(target.ingestArgs(bad, "file", "1"));
        assertThat(job.exitCode()).as(job.toString()).isEqualTo(ExitCode.BAD_INPUT.code);

        assertThat(waiter.exitCode()).as(waiter.toString()).isEqualTo(ExitCode.JOB_FAILED.code);
        assertThat(waiter.err())
            .contains("waymark: Job 'it' failed at ")
            .contains("(BAD_INPUT)")
            .contains("skus_00003.json");
      }
      // A new run clears the failure marker as it starts.
      Files.writeString(bad.resolve("skus_00003.json"), "[{\"sku\": 1, \"name\": \"fixed\"}]");
      CliRun again = IngestTarget.runInProcess(target.ingestArgs(bad, "file", "1"));
      assertThat(again.exitCode()).as(again.toString()).isZero();
      CliRun waited = waymark(List.of("wait"), where(target, "file"), "--timeout", "10s");
      assertThat(waited.exitCode()).as(waited.toString()).isZero();
      assertThat(Files.exists(target.state.resolve("it/_FAILURE"))).isFalse();
    }
  }

  @Test
  void waitReturnsTheTimeoutCodeWhenNothingHappens() {
    CliRun waited =
        waymark(
            List.of("wait"),
            List.of("--state", tmp.resolve("nothing").toString(), "--job", "never"),
            "--timeout",
            "500ms");
    assertThat(waited.exitCode()).isEqualTo(ExitCode.WAIT_TIMEOUT.code).isEqualTo(124);
    assertThat(waited.err())
        .contains("waymark: timed out after 500ms waiting for job 'never' in ")
        .contains("it has neither succeeded nor failed");
  }

  @ParameterizedTest(name = "{0} store")
  @ValueSource(strings = {"file", "db"})
  void aGlobalRollbackPrunesNoGlobalCheckpoint(String store) throws Exception {
    try (IngestTarget target = IngestTarget.fresh(Db.SQLITE, tmp)) {
      CliRun run = IngestTarget.runInProcess(partitioned(target, store, "--global-keep", "50"));
      assertThat(run.exitCode()).as(run.toString()).isZero();
      List<?> before =
          (List<?>)
              global(waymark(List.of("checkpoint", "status", "--json"), where(target, store)))
                  .get("kept");
      // Each rollback records the restored cut as a new global checkpoint: twelve of them take
      // the job past the default of 10 kept, which a rollback must not prune to.
      for (int i = 0; i < 12; i++) {
        CliRun rollback =
            waymark(List.of("checkpoint", "rollback", "--global"), where(target, store));
        assertThat(rollback.exitCode()).as(rollback.toString()).isZero();
      }
      List<?> after =
          (List<?>)
              global(waymark(List.of("checkpoint", "status", "--json"), where(target, store)))
                  .get("kept");
      assertThat(after).as("every rollback's record kept").hasSize(before.size() + 12);
    }
  }
}
