package dev.waymark.cli;

import static dev.waymark.cli.CliRun.list;
import static dev.waymark.cli.CliRun.map;
import static dev.waymark.cli.CliRun.waymark;
import static org.assertj.core.api.Assertions.assertThat;

import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.PartitionLayout;
import dev.waymark.checkpoint.file.FileCheckpointStore;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StatusCommandTest {
  @TempDir Path dir;
  StateFixture state;

  @BeforeEach
  void setUp() {
    state = new StateFixture(dir);
  }

  @Test
  void jsonGivesPathSequenceEpochCursorCommittedAtAndAgeOfEveryPartition() {
    state
        .commit(
            "nightly",
            "0",
            Cursor.ofFile("skus_00001.json", 1),
            Cursor.ofFile("skus_00002.json", 2))
        .commit("nightly", "1", Cursor.ofOffset(4096));

    CliRun run =
        waymark("checkpoint", "status", "--state", state.dir(), "--job", "nightly", "--json");

    assertThat(run.exitCode()).as(run.toString()).isZero();
    assertThat(run.err()).isEmpty();
    Map<String, Object> doc = run.json();
    assertThat(doc.get("state")).isEqualTo(state.dir());
    List<Map<String, Object>> partitions = list(doc.get("partitions"));
    assertThat(partitions).hasSize(2);
    Map<String, Object> p0 = partitions.get(0);
    assertThat(p0)
        .containsEntry("job", "nightly")
        .containsEntry("partition", "0")
        .containsEntry("path", state.checkpoint("nightly", "0").toString())
        .containsEntry("status", "ok")
        .containsEntry("sequence", 2L)
        .containsEntry("epoch", 1L)
        .containsEntry("committed_at", "2026-11-26T03:00:00Z")
        .containsEntry("error", dev.waymark.checkpoint.internal.Json.NULL);
    assertThat(map(p0.get("cursor")))
        .containsEntry("file", "skus_00002.json")
        .containsEntry("files", 2L);
    assertThat((Long) p0.get("age_seconds")).isPositive();
    assertThat(partitions.get(1)).containsEntry("partition", "1").containsEntry("epoch", 2L);
    assertThat(partitions.get(0).keySet()).isEqualTo(partitions.get(1).keySet());
  }

  @Test
  void withoutJobListsEveryJobAsACompactTable() {
    state.commit("nightly", "0", Cursor.ofOffset(7)).commit("weekly", "eu", Cursor.ofKey("k-9"));

    CliRun run = waymark("checkpoint", "status", "--state", state.dir());

    assertThat(run.exitCode()).as(run.toString()).isZero();
    List<String> lines = run.out().lines().toList();
    assertThat(lines.get(0))
        .startsWith("JOB")
        .contains("PARTITION", "SEQ", "EPOCH", "COMMITTED_AT", "AGE", "CURSOR");
    assertThat(lines.get(1))
        .startsWith("nightly")
        .contains("ok", "2026-11-26T03:00:00Z", "{\"offset\":7}");
    assertThat(lines.get(2)).startsWith("weekly").contains("eu", "{\"key\":\"k-9\"}");
    assertThat(lines).hasSize(3);
  }

  @Test
  void anInvalidCheckpointIsListedWithItsErrorAndExitCode4WhileOthersStillShow() {
    state.commit("nightly", "0", Cursor.ofOffset(1)).commit("nightly", "1", Cursor.ofOffset(2));
    Path torn = state.truncate("nightly", "0");

    CliRun run = waymark("checkpoint", "status", "--state", state.dir(), "--job", "nightly");

    assertThat(run.exitCode()).as(run.toString()).isEqualTo(4);
    assertThat(run.out()).contains("INVALID", "TRUNCATED (see below)").contains("{\"offset\":2}");
    assertThat(run.err())
        .startsWith("waymark: Checkpoint " + torn + " is invalid: the record has no final newline")
        .contains("waymark checkpoint rollback");
    assertThat(run.err()).doesNotContain("\tat ");
  }

  @Test
  void anInvalidCheckpointInJsonCarriesReasonAndError() {
    state.commit("nightly", "0", Cursor.ofOffset(1));
    Path torn = state.truncate("nightly", "0");

    CliRun run = waymark("checkpoint", "status", "--state", state.dir(), "--json");

    assertThat(run.exitCode()).isEqualTo(4);
    Map<String, Object> p0 = list(run.json().get("partitions")).get(0);
    assertThat(p0).containsEntry("status", "invalid").containsEntry("reason", "TRUNCATED");
    assertThat((String) p0.get("error")).startsWith("Checkpoint " + torn + " is invalid");
  }

  @Test
  void anUnknownJobFailsNamingTheJobsThatExist() {
    state.commit("nightly", "0", Cursor.ofOffset(1));

    CliRun run = waymark("checkpoint", "status", "--state", state.dir(), "--job", "nighty");

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.err())
        .isEqualTo(
            "waymark: No job 'nighty' in state directory "
                + state.dir()
                + "; the jobs there are [nightly]. Check --job and --state.\n");
  }

  @Test
  void aMissingStateDirectoryFailsWithExitCode1() {
    CliRun run = waymark("checkpoint", "status", "--state", dir.resolve("nope").toString());

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.err()).contains("State directory " + dir.resolve("nope") + " does not exist");
  }

  @Test
  void partitionWithoutJobIsAUsageError() {
    CliRun run = waymark("checkpoint", "status", "--state", state.dir(), "--partition", "0");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).startsWith("waymark: --partition needs --job");
  }

  @Test
  void aPartitionOfTheRecordedLayoutWithoutStateIsListedAsNeverCommitted() {
    state.commit("nightly", "0", Cursor.ofOffset(1)).commit("nightly", "2", Cursor.ofOffset(2));
    recordLayout("nightly", 3); // partition 1 never committed, or its folder was deleted

    CliRun text = waymark("checkpoint", "status", "--state", state.dir());
    CliRun json = waymark("checkpoint", "status", "--state", state.dir(), "--json");
    CliRun one =
        waymark(
            "checkpoint", "status", "--state", state.dir(), "--job", "nightly", "--partition", "1");

    assertThat(text.exitCode()).as(text.toString()).isZero();
    assertThat(text.out())
        .containsPattern("nightly +0 +ok")
        .containsPattern("nightly +1 +never committed")
        .containsPattern("nightly +2 +ok");
    assertThat(list(json.json().get("partitions")))
        .extracting(p -> p.get("partition") + "=" + p.get("status"))
        .containsExactly("0=ok", "1=never_committed", "2=ok");
    assertThat(one.exitCode()).as(one.toString()).isZero();
    assertThat(one.out()).containsPattern("nightly +1 +never committed");
  }

  @Test
  void anEmptyPartitionFolderOutsideTheRecordedLayoutIsLeftOut() {
    // A reset empties every partition's folder; a run in fewer partitions then records its layout.
    state.commit("nightly", "0", Cursor.ofOffset(1)).commit("nightly", "1", Cursor.ofOffset(2));
    CliRun reset =
        waymark("checkpoint", "reset", "--state", state.dir(), "--job", "nightly", "--yes");
    recordLayout("nightly", 1);
    state.commit("nightly", "0", Cursor.ofOffset(3));

    CliRun json = waymark("checkpoint", "status", "--state", state.dir(), "--json");

    assertThat(reset.exitCode()).as(reset.toString()).isZero();
    assertThat(dir.resolve("nightly/partitions/1")).isDirectory();
    assertThat(json.exitCode()).as(json.toString()).isZero();
    assertThat(list(json.json().get("partitions")))
        .extracting(p -> p.get("partition") + "=" + p.get("status"))
        .containsExactly("0=ok");
  }

  private void recordLayout(String job, int partitions) {
    try (FileCheckpointStore store = FileCheckpointStore.open(dir, job)) {
      store.recordLayout(new PartitionLayout(partitions, "crc32c-utf8-mod"));
    }
  }
}
