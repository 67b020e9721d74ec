package dev.waymark.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import dev.waymark.checkpoint.Cursor;
import dev.waymark.cli.IngestTarget.Db;
import dev.waymark.ingest.FeedGenerator;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A PostgreSQL server restarted, and stopped for a while, under a running {@code waymark ingest}.
 * The shared server on 5432 is never touched: the class creates its own cluster on a free port
 * ({@code pg_createcluster}), restarts and stops it with {@code pg_ctlcluster}, and drops it at the
 * end. Each fault strikes while the child is paused before committing unit 5 ({@code
 * WAYMARK_FAULT=pause-before-commit:5}), with its rows written and not committed. Without the
 * cluster tools (or root) the class is skipped with one loud line, and fails under {@code
 * WAYMARK_REQUIRE_PG=1}.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class PostgresRestartIT {
  private static final Duration TIMEOUT = Duration.ofMinutes(2);
  private static String version;
  private static String cluster;
  private static String baseUrl;

  @TempDir Path tmp;

  @BeforeAll
  static void createCluster() throws Exception {
    version = installedVersion();
    cluster = "waymark_faults_" + UUID.randomUUID().toString().substring(0, 8);
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Mounts.Result created =
        Mounts.run(
            List.of(
                "pg_createcluster",
                version,
                cluster,
                "--port",
                String.valueOf(port),
                "--",
                "--auth=trust"));
    if (created.code() != 0) {
      unavailable("pg_createcluster failed: " + created.output());
    }
    ctl("start");
    baseUrl = "jdbc:postgresql://127.0.0.1:" + port + "/%s?user=postgres&connectTimeout=5";
    System.out.printf("created PostgreSQL %s cluster %s on port %d%n", version, cluster, port);
  }

  @AfterAll
  static void dropCluster() throws Exception {
    if (cluster != null) {
      Mounts.Result dropped = Mounts.run(List.of("pg_dropcluster", "--stop", version, cluster));
      assertThat(dropped.code()).as("pg_dropcluster: %s", dropped.output()).isZero();
    }
  }

  @Test
  void aRestartMidUnitIsRetriedAndTheRunConverges() throws Exception {
    Path feed = feed(40);
    IngestTarget target = freshDatabase();
    SortedMap<String, String> reference = reference(feed);
    List<String> args = target.ingestArgs(feed, "file", "1");

    IngestChild child = pausedAtUnit5(args);
    ctl("restart");
    child.resume();

    assertThat(child.exitCode()).as(child.toString()).isZero();
    assertThat(child.out())
        .containsPattern(
            "waymark: attempt 1 of 8 failed \\(.+\\); retrying the unit from its start");
    child.lines().stream().filter(l -> l.contains("retrying")).forEach(System.out::println);
    assertEachFileOnce(child, 40);
    assertThat(target.content()).isEqualTo(reference);
    assertThat(IngestTarget.position(target.fileCheckpoint().orElseThrow().cursor()))
        .isEqualTo(Cursor.ofFile(FeedGenerator.fileName(39), 40));
  }

  @Test
  void aServerStoppedForSecondsIsWaitedForWithTheDbStore() throws Exception {
    Path feed = feed(40);
    IngestTarget target = freshDatabase();
    SortedMap<String, String> reference = reference(feed);
    // More attempts than the default, so that a slow start on a loaded machine stays within them.
    List<String> args = target.ingestArgs(feed, "db", "1", "--retries", "20");

    IngestChild child = pausedAtUnit5(args);
    ctl("stop");
    child.resume();
    while (!child.out().contains("attempt 2 of 20 failed")) {
      assertThat(child.exitsWithin(Duration.ofMillis(100))).as(child.toString()).isFalse();
    }
    Thread.sleep(2_000);
    ctl("start");

    assertThat(child.exitCode()).as(child.toString()).isZero();
    assertThat(child.out()).contains("waymark: attempt 2 of 20 failed (");
    child.lines().stream().filter(l -> l.contains("retrying")).forEach(System.out::println);
    assertEachFileOnce(child, 40);
    assertThat(target.content()).isEqualTo(reference);
    assertThat(IngestTarget.position(target.dbCheckpoint().orElseThrow().cursor()))
        .isEqualTo(Cursor.ofFile(FeedGenerator.fileName(39), 40));
  }

  @Test
  void aServerDownLongerThanTheRetriesExitsWith75AndTheRerunConverges() throws Exception {
    Path feed = feed(20);
    IngestTarget target = freshDatabase();
    SortedMap<String, String> reference = reference(feed);
    List<String> args = new ArrayList<>(target.ingestArgs(feed, "file", "1", "--retries", "3"));

    IngestChild child = pausedAtUnit5(args);
    try {
      ctl("stop");
      child.resume();

      assertThat(child.exitCode()).as(child.toString()).isEqualTo(75);
      String err = child.err().replaceFirst("\\AWAYMARK_FAULT: paused [^\n]*\n", "");
      assertThat(err)
          .startsWith("waymark: Gave up after 3 attempts")
          .contains("the unit starting at file 5 (skus_00004.json) did not commit")
          .contains("The checkpoint is intact");
      System.out.print("the job said: " + err);
      assertThat(IngestTarget.position(target.fileCheckpoint().orElseThrow().cursor()))
          .isEqualTo(Cursor.ofFile(FeedGenerator.fileName(3), 4));
    } finally {
      ctl("start");
    }

    CliRun rerun = IngestTarget.runInProcess(target.ingestArgs(feed, "file", "1"));
    assertThat(rerun.exitCode()).as(rerun.toString()).isZero();
    assertThat(rerun.lines().get(0))
        .isEqualTo("resume from file 5 (skus_00004.json), 20 files in total");
    assertThat(target.content()).isEqualTo(reference);
  }

  // ------------------------------------------------------------------------------- helpers

  private Path feed(int files) {
    Path feed = tmp.resolve("feed");
    FeedGenerator.generate(feed, files, 25, 17);
    return feed;
  }

  /** The table an uninterrupted run makes, in a fresh database of the same cluster. */
  private SortedMap<String, String> reference(Path feed) throws Exception {
    IngestTarget reference = freshDatabase();
    CliRun run = IngestTarget.runInProcess(reference.ingestArgs(feed, "file", "1"));
    assertThat(run.exitCode()).as(run.toString()).isZero();
    return reference.content();
  }

  private IngestTarget freshDatabase() throws Exception {
    String name = "w_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
    try (Connection c = DriverManager.getConnection(String.format(baseUrl, "postgres"));
        Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + name);
    }
    return IngestTarget.at(Db.POSTGRES, String.format(baseUrl, name), tmp);
  }

  private IngestChild pausedAtUnit5(List<String> args) throws Exception {
    IngestChild child =
        IngestChild.start(
            tmp.resolve("logs"),
            Map.of("WAYMARK_FAULT", "pause-before-commit:5"),
            IngestChild.FAST_START,
            args);
    child.awaitPause(TIMEOUT);
    return child;
  }

  private static void assertEachFileOnce(IngestChild child, int total) {
    List<String> files = child.lines().stream().filter(l -> l.startsWith("[")).toList();
    assertThat(files).as("each file reported once, in order").hasSize(total);
    for (int i = 0; i < total; i++) {
      assertThat(files.get(i)).startsWith("[" + (i + 1) + "/" + total + "] ");
    }
  }

  private static void ctl(String action) throws IOException, InterruptedException {
    long t0 = System.nanoTime();
    Mounts.Result r =
        Mounts.run(List.of("pg_ctlcluster", "--skip-systemctl-redirect", version, cluster, action));
    assertThat(r.code()).as("pg_ctlcluster %s: %s", action, r.output()).isZero();
    System.out.printf(
        "pg_ctlcluster %s %s %s: %d ms%n",
        version, cluster, action, (System.nanoTime() - t0) / 1_000_000);
  }

  /** The newest PostgreSQL with server binaries here, e.g. {@code 15}. */
  private static String installedVersion() throws IOException {
    Path lib = Path.of("/usr/lib/postgresql");
    for (String tool : List.of("pg_createcluster", "pg_ctlcluster", "pg_dropcluster")) {
      if (Stream.of(System.getenv("PATH").split(":"))
          .noneMatch(d -> Files.isExecutable(Path.of(d, tool)))) {
        unavailable(tool + " is not installed (Debian's postgresql-common)");
      }
    }
    if (!Files.isDirectory(lib)) {
      unavailable(lib + " does not exist");
    }
    try (Stream<Path> versions = Files.list(lib)) {
      return versions
          .filter(p -> Files.isExecutable(p.resolve("bin/postgres")))
          .map(p -> p.getFileName().toString())
          .max(Comparator.comparingInt(v -> v.matches("\\d+") ? Integer.parseInt(v) : 0))
          .orElseThrow(() -> new AssertionError("no PostgreSQL server under " + lib));
    }
  }

  private static void unavailable(String why) {
    String message = "cannot run a private PostgreSQL cluster: " + why;
    if ("1".equals(System.getenv("WAYMARK_REQUIRE_PG"))) {
      fail(message + " (WAYMARK_REQUIRE_PG=1, so this fails instead of skipping)");
    }
    System.err.println("WAYMARK: " + message + ". PostgreSQL restart tests are SKIPPED.");
    org.junit.jupiter.api.Assumptions.abort(message);
  }
}
