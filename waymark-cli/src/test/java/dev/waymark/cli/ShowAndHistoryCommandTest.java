package dev.waymark.cli;

import static dev.waymark.cli.CliRun.list;
import static dev.waymark.cli.CliRun.map;
import static dev.waymark.cli.CliRun.waymark;
import static org.assertj.core.api.Assertions.assertThat;

import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.file.FileCheckpointStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ShowAndHistoryCommandTest {
  @TempDir Path dir;
  StateFixture state;

  @BeforeEach
  void setUp() {
    state = new StateFixture(dir);
  }

  @Test
  void showPrintsEveryFieldAndTheStoredRecord() {
    state.commit("nightly", "0", Cursor.ofFile("skus_08216.json", 8217));

    CliRun run = waymark("checkpoint", "show", "--state", state.dir(), "--job", "nightly");

    assertThat(run.exitCode()).as(run.toString()).isZero();
    assertThat(run.out())
        .contains("nightly partition 0:")
        .contains("  path          " + state.checkpoint("nightly", "0"))
        .contains("  sequence      1")
        .contains("  epoch         1")
        .contains("  committed_at  2026-11-26T03:00:00Z (")
        .contains("  cursor        {\"file\":\"skus_08216.json\",\"files\":8217}")
        .contains("    file = \"skus_08216.json\"")
        .contains("    files = 8217")
        .containsPattern(
            "  record        \\{\"committed_at\":.*\"crc32c\":\"[0-9a-f]{8}\".*\"version\":1}");
  }

  @Test
  void showJsonHasTheStatusFieldsPlusTheRecordAsStored() {
    state.commit("nightly", "0", Cursor.ofOffset(5));

    CliRun run =
        waymark("checkpoint", "show", "--state", state.dir(), "--job", "nightly", "--json");

    assertThat(run.exitCode()).isZero();
    Map<String, Object> doc = run.json();
    assertThat(doc).containsEntry("job", "nightly");
    Map<String, Object> p0 = list(doc.get("partitions")).get(0);
    assertThat(p0).containsEntry("sequence", 1L).containsEntry("status", "ok");
    assertThat(map(p0.get("record")))
        .containsEntry("format", "waymark-checkpoint")
        .containsEntry("version", 1L)
        .containsEntry("job", "nightly")
        .containsKey("crc32c");
  }

  @Test
  void showOfATruncatedCheckpointExitsWith4NamingThePath() {
    state.commit("nightly", "0", Cursor.ofOffset(5));
    Path torn = state.truncate("nightly", "0");

    CliRun run = waymark("checkpoint", "show", "--state", state.dir(), "--job", "nightly");

    assertThat(run.exitCode()).isEqualTo(4);
    assertThat(run.out()).contains("status        INVALID (TRUNCATED, see below)");
    assertThat(run.err()).startsWith("waymark: Checkpoint " + torn + " is invalid");
  }

  @Test
  void showOfAnUnknownPartitionNamesThePartitionsThatExist() {
    state.commit("nightly", "0", Cursor.ofOffset(5));

    CliRun run =
        waymark(
            "checkpoint", "show", "--state", state.dir(), "--job", "nightly", "--partition", "7");

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.err())
        .isEqualTo(
            "waymark: Job 'nightly' has no partition '7'; its partitions are [0]. Check --partition.\n");
  }

  @Test
  void showRequiresJob() {
    CliRun run = waymark("checkpoint", "show", "--state", state.dir());

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).startsWith("waymark: Missing required option: '--job=NAME'");
  }

  @Test
  void historyListsKeptVersionsOldestFirst() {
    state.commit("nightly", "0", Cursor.ofOffset(1), Cursor.ofOffset(2), Cursor.ofOffset(3));

    CliRun run = waymark("checkpoint", "history", "--state", state.dir(), "--job", "nightly");

    assertThat(run.exitCode()).as(run.toString()).isZero();
    List<String> lines = run.out().lines().toList();
    assertThat(lines.get(0)).isEqualTo("nightly partition 0: 3 kept, current sequence 3");
    assertThat(lines.get(1)).contains("SEQ", "KIND", "EPOCH", "COMMITTED_AT", "CURSOR");
    assertThat(lines.get(2)).matches("  1 +checkpoint +1 +2026-11-26T03:00:00Z +\\{\"offset\":1}");
    assertThat(lines.get(4)).contains("{\"offset\":3}");
  }

  @Test
  void historyJsonIncludesThePreMigrationRecordBeforeTheCheckpointThatReplacedIt()
      throws Exception {
    Path legacy =
        Files.writeString(
            dir.resolve("skus.ckpt.json"),
            "{\"last_file\": \"skus_00041.json\", \"last_file_idx\": 41}");
    try (FileCheckpointStore store = FileCheckpointStore.open(dir, "nightly")) {
      store.importLegacy("0", Files.readAllBytes(legacy), legacy);
      store.commit("0", Cursor.ofFile("skus_00042.json", 43));
    }

    CliRun run =
        waymark("checkpoint", "history", "--state", state.dir(), "--job", "nightly", "--json");

    assertThat(run.exitCode()).as(run.toString()).isZero();
    Map<String, Object> p0 = list(run.json().get("partitions")).get(0);
    assertThat(p0).containsEntry("partition", "0").containsEntry("current_sequence", 2L);
    List<Map<String, Object>> versions = list(p0.get("versions"));
    assertThat(versions)
        .extracting(v -> v.get("sequence"), v -> v.get("kind"))
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(1L, "pre-migration"),
            org.assertj.core.groups.Tuple.tuple(1L, "checkpoint"),
            org.assertj.core.groups.Tuple.tuple(2L, "checkpoint"));
    assertThat(versions.get(0))
        .containsEntry("format_version", 0L)
        .containsEntry("content", "{\"last_file\": \"skus_00041.json\", \"last_file_idx\": 41}");
    assertThat(map(versions.get(1).get("cursor"))).containsEntry("files", 42L);
  }

  @Test
  void historyStaysReadableWhenTheCurrentCheckpointIsTorn() {
    state.commit("nightly", "0", Cursor.ofOffset(1), Cursor.ofOffset(2));
    state.truncate("nightly", "0");

    CliRun run = waymark("checkpoint", "history", "--state", state.dir(), "--job", "nightly");

    assertThat(run.exitCode()).isZero();
    assertThat(run.out())
        .contains("2 kept, current checkpoint INVALID (TRUNCATED)")
        .contains("{\"offset\":2}");
  }
}
