package dev.waymark.cli;

import static dev.waymark.cli.CliRun.list;
import static dev.waymark.cli.CliRun.waymark;
import static org.assertj.core.api.Assertions.assertThat;

import dev.waymark.checkpoint.Cursor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuditCommandTest {
  @TempDir Path dir;
  StateFixture state;

  @BeforeEach
  void setUp() {
    state = new StateFixture(dir);
    state
        .commit(
            "nightly",
            "0",
            Cursor.ofFile("skus_00001.json", 1),
            Cursor.ofFile("skus_00002.json", 2))
        .commit("nightly", "1", Cursor.ofOffset(4096))
        .commit("weekly", "0", Cursor.ofKey("k-17"));
  }

  private CliRun audit(String... more) {
    String[] args = new String[4 + more.length];
    args[0] = "checkpoint";
    args[1] = "audit";
    args[2] = "--state";
    args[3] = state.dir();
    System.arraycopy(more, 0, args, 4, more.length);
    return waymark(args);
  }

  @Test
  void aHealthyStateDirectoryIsCleanAndAnswersEveryQuestion() {
    CliRun run = audit();

    assertThat(run.exitCode()).as(run.toString()).isZero();
    List<String> lines = run.out().lines().toList();
    assertThat(lines.get(0)).isEqualTo("Audit of " + dir + ": 2 jobs, 3 partitions");
    assertThat(lines.subList(1, 7))
        .allSatisfy(l -> assertThat(l).endsWith(" ok"))
        .satisfiesExactly(
            l -> assertThat(l).startsWith("1. Atomic writes"),
            l -> assertThat(l).startsWith("2. Keyed to source position"),
            l -> assertThat(l).startsWith("3. Per-partition layout"),
            l -> assertThat(l).startsWith("4. Current format version everywhere"),
            l -> assertThat(l).startsWith("5. Permissions"),
            l -> assertThat(l).startsWith("6. History"));
    assertThat(lines.get(7)).isEqualTo("Clean.");
  }

  @Test
  void aHealthyStateDirectoryIsCleanInJson() {
    CliRun run = audit("--json");

    assertThat(run.exitCode()).isZero();
    Map<String, Object> doc = run.json();
    assertThat(doc)
        .containsEntry("clean", true)
        .containsEntry("partition_count", 3L)
        .containsEntry("jobs", List.of("nightly", "weekly"));
    assertThat(list(doc.get("findings"))).isEmpty();
  }

  @Test
  void findsALeftoverTempFile() throws Exception {
    Path temp =
        Files.writeString(dir.resolve("nightly/partitions/1/.checkpoint.5eed5eed.tmp"), "{\"ha");

    CliRun run = audit();

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.out())
        .contains("1. Atomic writes")
        .containsPattern("1\\. Atomic writes.* FAIL")
        .contains("     ERROR " + temp + ": a temp file left by an interrupted write.")
        .endsWith("Found 0 invalid, 1 error, 0 warnings.\n");
  }

  @Test
  void findsATornCheckpointAndExitsWith4() {
    Path torn = state.truncate("nightly", "0");

    CliRun run = audit("--json");

    assertThat(run.exitCode()).isEqualTo(4);
    assertThat(list(run.json().get("findings")))
        .singleElement()
        .satisfies(
            f ->
                assertThat(f)
                    .containsEntry("severity", "invalid")
                    .containsEntry("check", "atomic")
                    .containsEntry("path", torn.toString())
                    .hasEntrySatisfying(
                        "message", m -> assertThat((String) m).contains("no final newline")));
  }

  @Test
  void findsAGroupWritableFile() throws Exception {
    Path epoch = dir.resolve("weekly/epoch");
    Files.setPosixFilePermissions(epoch, PosixFilePermissions.fromString("rw-rw-r--"));

    CliRun run = audit();

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.out())
        .containsPattern("5\\. Permissions.* FAIL")
        .contains(
            "ERROR "
                + epoch
                + ": is writable by group (rw-rw-r--), so another user could replace a checkpoint."
                + " Fix: chmod go-w "
                + epoch);
  }

  @Test
  void findsAWallClockCursorField() {
    state.commit("events", "0", Cursor.of(Map.of("updated_at", "2026-11-26T03:00:00Z")));

    CliRun run = audit("--job", "events");

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.out())
        .startsWith("Audit of " + dir + ": 1 job, 1 partition")
        .containsPattern("2\\. Keyed to source position.* FAIL")
        .contains(
            "ERROR "
                + state.checkpoint("events", "0")
                + ": cursor field 'updated_at' = \"2026-11-26T03:00:00Z\" looks like a wall-clock"
                + " time: its name says it is a time.");
  }

  @Test
  void flagsAStrayFileAndALegacyCheckpointLeftInTheStateDirectory() throws Exception {
    Path legacy =
        Files.writeString(
            dir.resolve("skus.ckpt.json"), "{\"last_file\":\"a.json\",\"last_file_idx\":0}");
    Path backup = Files.writeString(dir.resolve("nightly/partitions/0/checkpoint.old"), "junk");

    CliRun run = audit("--json");

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(list(run.json().get("findings")))
        .extracting(f -> f.get("check"), f -> f.get("path"))
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("layout", legacy.toString()),
            org.assertj.core.groups.Tuple.tuple("layout", backup.toString()));
    assertThat(run.out()).contains("import-legacy " + legacy);
  }

  @Test
  void anUnknownJobFails() {
    CliRun run = audit("--job", "nope");

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.err()).startsWith("waymark: No job 'nope' in state directory " + dir);
  }

  @Test
  void aPartitionFolderRemovedAfterAGlobalCheckpointRecordedItIsAnErrorAnEmptyOneIsNot()
      throws Exception {
    Path feed = Files.createDirectories(dir.resolve("feed"));
    for (int i = 0; i < 3; i++) {
      Files.writeString(feed.resolve("skus_0000" + i + ".json"), "[{\"sku_id\": " + i + "}]");
    }
    Path runs = dir.resolve("runs");
    CliRun ingest =
        waymark(
            "ingest",
            "--input",
            feed.toString(),
            "--db",
            "jdbc:sqlite:" + dir.resolve("t.db"),
            "--state",
            runs.toString(),
            "--job",
            "feed",
            "--partitions",
            "8"); // more partitions than files: some never commit, as the global cut records
    CliRun before = waymark("checkpoint", "audit", "--state", runs.toString());
    Path committed;
    try (java.util.stream.Stream<Path> partitions = Files.list(runs.resolve("feed/partitions"))) {
      committed = partitions.sorted().findFirst().orElseThrow();
    }
    try (java.util.stream.Stream<Path> walk = Files.walk(committed)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
    CliRun after = waymark("checkpoint", "audit", "--state", runs.toString());

    assertThat(ingest.exitCode()).as(ingest.toString()).isZero();
    assertThat(before.exitCode()).as(before.toString()).isZero();
    assertThat(before.out()).endsWith("Clean.\n");
    assertThat(after.exitCode()).as(after.toString()).isOne();
    assertThat(after.out())
        .contains(
            "     ERROR "
                + committed
                + ": partition "
                + committed.getFileName()
                + " of the recorded layout (8 partitions (hash crc32c-utf8-mod)) has no folder,"
                + " but global checkpoint 1 recorded it at sequence 1, {\"file\":")
        .contains(": its state was removed. The next run starts it from its first file")
        .endsWith("Found 0 invalid, 1 error, 0 warnings.\n");
  }
}
