package dev.waymark.checkpoint.file;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.waymark.WaymarkException;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.file.FileStoreAudit.Check;
import dev.waymark.checkpoint.file.FileStoreAudit.Finding;
import dev.waymark.checkpoint.file.FileStoreAudit.Severity;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileStoreAuditTest {
  @TempDir Path state;

  private void commit(String job, String partition, Cursor... cursors) {
    try (FileCheckpointStore store = FileCheckpointStore.open(state, job)) {
      for (Cursor c : cursors) {
        store.commit(partition, c);
      }
    }
  }

  @Test
  void aHealthyStateDirectoryIsClean() {
    commit("nightly", "0", Cursor.ofFile("a.json", 1), Cursor.ofFile("b.json", 2));
    commit("nightly", "1", Cursor.ofOffset(10));
    commit("weekly", "0", Cursor.ofKey("k-17"));

    FileStoreAudit.Report report = FileStoreAudit.run(state);

    assertThat(report.findings()).isEmpty();
    assertThat(report.isClean()).isTrue();
    assertThat(report.jobs()).containsExactly("nightly", "weekly");
    assertThat(report.partitions()).isEqualTo(3);
  }

  @Test
  void flagsATornCheckpointAsInvalid() throws IOException {
    commit("nightly", "0", Cursor.ofOffset(1));
    Path file = state.resolve("nightly/partitions/0/checkpoint");
    byte[] bytes = Files.readAllBytes(file);
    // A non-atomic writer: a new file (the history entry keeps the old inode) cut short by a crash.
    Files.delete(file);
    Files.write(file, Arrays.copyOf(bytes, bytes.length / 2));

    Finding f = only(FileStoreAudit.run(state));

    assertThat(f.severity()).isEqualTo(Severity.INVALID);
    assertThat(f.check()).isEqualTo(Check.ATOMIC);
    assertThat(f.path()).isEqualTo(file);
    assertThat(f.message()).contains("no final newline");
  }

  @Test
  void flagsALeftoverTempFile() throws IOException {
    commit("nightly", "0", Cursor.ofOffset(1));
    Path temp = state.resolve("nightly/partitions/0/.checkpoint.0123abcd.tmp");
    Files.writeString(temp, "{\"half");

    Finding f = only(FileStoreAudit.run(state, "nightly"));

    assertThat(f).isEqualTo(new Finding(Severity.ERROR, Check.ATOMIC, temp, f.message()));
    assertThat(f.message()).startsWith("a temp file left by an interrupted write");
  }

  @Test
  void flagsWallClockCursorFieldsByNameAndByValue() {
    commit("nightly", "0", Cursor.of(Map.of("updated_at", "x", "last", "2026-11-26T03:00:00Z")));

    assertThat(FileStoreAudit.run(state).findings())
        .extracting(Finding::severity, Finding::check)
        .containsOnly(org.assertj.core.groups.Tuple.tuple(Severity.ERROR, Check.SOURCE_POSITION))
        .hasSize(2);
  }

  @Test
  void warnsOnAnIntegerInTheEpochRangeUnlessItsNameSaysPosition() {
    commit("nightly", "0", Cursor.of(Map.of("mark", 1_764_126_000L, "offset", 1_764_126_000L)));

    Finding f = only(FileStoreAudit.run(state));

    assertThat(f.severity()).isEqualTo(Severity.WARNING);
    assertThat(f.message()).contains("'mark'").contains("epoch seconds (2025-11-26T03:00:00Z)");
  }

  @Test
  void flagsGroupWritableFilesAndStrayFiles() throws IOException {
    commit("nightly", "0", Cursor.ofOffset(1));
    Path file = state.resolve("nightly/partitions/0/committed");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-rw-r--"));
    Path stray = Files.writeString(state.resolve("nightly/partitions/0/checkpoint.bak"), "x");

    assertThat(FileStoreAudit.run(state).findings())
        .extracting(Finding::check, Finding::path)
        .containsExactlyInAnyOrder(
            org.assertj.core.groups.Tuple.tuple(Check.PERMISSIONS, file),
            org.assertj.core.groups.Tuple.tuple(Check.LAYOUT, stray));
  }

  @Test
  void flagsACurrentCheckpointThatIsNotTheNewestKeptVersion() throws IOException {
    commit("nightly", "0", Cursor.ofOffset(1), Cursor.ofOffset(2));
    Files.delete(state.resolve("nightly/partitions/0/history/00000000000000000002.ckpt"));

    Finding f = only(FileStoreAudit.run(state));

    assertThat(f.check()).isEqualTo(Check.HISTORY);
    assertThat(f.message())
        .contains("current checkpoint is sequence 2 but the newest kept version is sequence 1");
  }

  @Test
  void flagsAnUnmigratedCheckpointUnderFormatVersion() throws IOException {
    commit("nightly", "0", Cursor.ofOffset(1));
    Path file = state.resolve("nightly/partitions/0/checkpoint");
    Files.writeString(file, "{\"last_file\":\"skus_00009.json\",\"last_file_idx\":9}\n");

    assertThat(FileStoreAudit.run(state).findings())
        .filteredOn(f -> f.path().equals(file))
        .extracting(Finding::severity, Finding::check)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(Severity.INVALID, Check.FORMAT_VERSION));
  }

  @Test
  void auditsAStateDirectoryReachedThroughASymbolicLink() throws IOException {
    commit("nightly", "0", Cursor.ofOffset(1));
    Path link =
        Files.createSymbolicLink(state.resolveSibling(state.getFileName() + "-link"), state);
    try {
      FileStoreAudit.Report report = FileStoreAudit.run(link);

      assertThat(report.findings()).isEmpty();
      assertThat(report.jobs()).containsExactly("nightly");
    } finally {
      Files.delete(link);
    }
  }

  @Test
  void refusesAMissingStateDirectoryOrJob() {
    assertThatThrownBy(() -> FileStoreAudit.run(state.resolve("nope")))
        .isInstanceOf(WaymarkException.class)
        .hasMessageContaining("does not exist");
    commit("nightly", "0", Cursor.ofOffset(1));
    assertThatThrownBy(() -> FileStoreAudit.run(state, "nighty"))
        .hasMessageContaining("No job 'nighty'")
        .hasMessageContaining("[nightly]");
  }

  @Test
  void inspectorListsPreMigrationRecordsBeforeTheCheckpointThatReplacedThem() {
    try (FileCheckpointStore store = FileCheckpointStore.open(state, "nightly")) {
      store.importLegacy(
          "0", "{\"last_file\":\"a.json\",\"last_file_idx\":0}".getBytes(), Path.of("legacy.json"));
      store.commit("0", Cursor.ofFile("b.json", 2));
    }
    FileStoreInspector inspector = FileStoreInspector.of(state, "nightly");

    assertThat(inspector.historyFiles("0"))
        .extracting(
            FileStoreInspector.KeptFile::sequence, FileStoreInspector.KeptFile::preMigrationVersion)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(1L, 0),
            org.assertj.core.groups.Tuple.tuple(1L, -1),
            org.assertj.core.groups.Tuple.tuple(2L, -1));
    assertThat(FileStoreAudit.run(state).findings()).isEmpty();
  }

  private static Finding only(FileStoreAudit.Report report) {
    assertThat(report.findings()).hasSize(1);
    return report.findings().get(0);
  }
}
