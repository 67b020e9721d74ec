package dev.waymark.checkpoint.file;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.CheckpointInvalidException;
import dev.waymark.checkpoint.CheckpointStore;
import dev.waymark.checkpoint.CheckpointStoreContractTest;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.FencedException;
import dev.waymark.checkpoint.LockHeldException;
import dev.waymark.checkpoint.Retention;
import dev.waymark.checkpoint.format.CheckpointCodec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileCheckpointStoreTest extends CheckpointStoreContractTest {

  @TempDir Path state;

  @Override
  protected CheckpointStore open(String job) {
    return FileCheckpointStore.open(state, job, FileStoreOptions.ofDefaults());
  }

  private FileCheckpointStore fileStore() {
    return (FileCheckpointStore) store;
  }

  @Test
  void writesTheDocumentedLayout() {
    store.commit(Cursor.ofFile("skus_00001.json", 2));
    Path job = state.resolve("nightly");
    assertThat(job.resolve("waymark.lock")).isRegularFile();
    assertThat(job.resolve("epoch")).isRegularFile();
    assertThat(job.resolve("partitions/0/checkpoint")).isRegularFile();
    assertThat(job.resolve("partitions/0/committed")).isRegularFile();
    assertThat(job.resolve("partitions/0/history/00000000000000000001.ckpt")).isRegularFile();
  }

  @Test
  void writesOneCanonicalLineWithFormatVersionAndChecksum() throws IOException {
    store.commit(Cursor.ofFile("skus_08216.json", 8217));
    String line = Files.readString(fileStore().checkpointPath("0"));
    assertThat(line)
        .endsWith("\n")
        .doesNotContain(" ")
        .containsOnlyOnce("\n")
        .startsWith("{\"committed_at\":\"")
        .contains("\"cursor\":{\"file\":\"skus_08216.json\",\"files\":8217}")
        .contains("\"format\":\"waymark-checkpoint\"")
        .contains("\"version\":1}")
        .containsPattern("\"crc32c\":\"[0-9a-f]{8}\"");
  }

  @Test
  void aSecondWriterFailsAtOnceNamingTheHolder() {
    assertThatThrownBy(() -> FileCheckpointStore.open(state, "nightly"))
        .isInstanceOf(LockHeldException.class)
        .hasMessageContaining("Job 'nightly' is locked by pid " + ProcessHandle.current().pid());
  }

  @Test
  void anotherJobInTheSameStateDirectoryIsNotBlocked() {
    try (FileCheckpointStore other = FileCheckpointStore.open(state, "weekly")) {
      assertThat(other.commit(Cursor.ofOffset(1)).sequence()).isEqualTo(1);
    }
  }

  @Test
  void aWriterWithAnOlderEpochIsFenced() throws IOException {
    store.commit(Cursor.ofOffset(1));
    // Simulate a newer writer that took over after this one lost its lock (as on NFS).
    Files.write(state.resolve("nightly/epoch"), EpochFile.encode("nightly", store.epoch() + 1));

    assertThatThrownBy(() -> store.commit(Cursor.ofOffset(2)))
        .isInstanceOf(FencedException.class)
        .hasMessageContaining("epoch " + (store.epoch() + 1));
    assertThat(store.read().orElseThrow().cursor()).isEqualTo(Cursor.ofOffset(1));
  }

  @Test
  void aLostCheckpointIsAnErrorNotAFreshStart() throws IOException {
    store.commit(Cursor.ofOffset(1));
    Files.delete(fileStore().checkpointPath("0"));

    assertThatThrownBy(() -> store.read())
        .isInstanceOf(CheckpointInvalidException.class)
        .hasMessageContaining("committed before but its checkpoint file is gone")
        .hasMessageContaining("waymark checkpoint rollback");
    assertThat(store.rollback("0", 1).sequence()).isEqualTo(2);
  }

  @Test
  void deletesTempFilesLeftByACrashWhenOpened() throws IOException {
    store.commit(Cursor.ofOffset(1));
    Path dir = state.resolve("nightly/partitions/0");
    Files.writeString(dir.resolve(".checkpoint.deadbeef.tmp"), "half a rec");
    Files.writeString(state.resolve("nightly/.epoch.cafe.tmp"), "x");

    reopen();

    try (Stream<Path> files = Files.walk(state)) {
      assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".tmp"));
    }
  }

  @Test
  void aRollbackAfterACommitCrashedBetweenLinkAndRenameTakesTheNextSequence() throws IOException {
    for (int i = 1; i <= 5; i++) {
      store.commit(Cursor.ofOffset(i));
    }
    // A commit of sequence 6 was killed after linking its history entry, before its rename: 6 was
    // never committed, and its entry is an orphan.
    Files.write(
        state.resolve("nightly/partitions/0/history/00000000000000000006.ckpt"),
        CheckpointCodec.encode(
            new Checkpoint("nightly", "0", Cursor.ofOffset(6), 6, store.epoch(), Instant.now())));
    reopen();

    Checkpoint rolledBack = store.rollback("0", 3);

    assertThat(rolledBack.sequence()).as("the sequence grows by exactly one").isEqualTo(6);
    assertThat(store.history("0"))
        .extracting(Checkpoint::cursor)
        .as("the orphan never became a committed version")
        .doesNotContain(Cursor.ofOffset(6))
        .endsWith(Cursor.ofOffset(3));
  }

  @Test
  void keepsTheLastTenVersionsByDefault() {
    for (int i = 1; i <= 25; i++) {
      store.commit(Cursor.ofOffset(i));
    }
    assertThat(store.history("0"))
        .extracting(c -> c.sequence())
        .containsExactly(16L, 17L, 18L, 19L, 20L, 21L, 22L, 23L, 24L, 25L);
  }

  @Test
  void keepLastZeroKeepsNoHistory() {
    store.close();
    store =
        FileCheckpointStore.open(
            state,
            "nightly",
            FileStoreOptions.builder().retention(Retention.builder().keepLast(0).build()).build());
    store.commit(Cursor.ofOffset(1));
    store.commit(Cursor.ofOffset(2));
    assertThat(store.history("0")).isEmpty();
    assertThat(store.read().orElseThrow().sequence()).isEqualTo(2);
  }

  @Test
  void keepForDropsOldVersionsButNeverTheNewest() {
    MutableClock clock = new MutableClock(Instant.parse("2026-11-01T00:00:00Z"));
    store.close();
    store =
        FileCheckpointStore.open(
            state,
            "nightly",
            FileStoreOptions.builder()
                .clock(clock)
                .retention(Retention.builder().keepLast(10).keepFor(Duration.ofDays(1)).build())
                .build());
    store.commit(Cursor.ofOffset(1));
    clock.now = clock.now.plus(Duration.ofHours(12));
    store.commit(Cursor.ofOffset(2));
    clock.now = clock.now.plus(Duration.ofDays(5));
    store.commit(Cursor.ofOffset(3));
    assertThat(store.history("0")).extracting(c -> c.sequence()).containsExactly(3L);

    clock.now = clock.now.plus(Duration.ofDays(30));
    store.commit(Cursor.ofOffset(4)); // the newest is kept however old the clock says it is
    assertThat(store.history("0")).extracting(c -> c.sequence()).containsExactly(4L);
  }

  @Test
  void createsFilesWithoutGroupOrWorldWritePermission() throws IOException {
    store.commit(Cursor.ofOffset(1));
    try (Stream<Path> files = Files.walk(state)) {
      for (Path p : files.filter(Files::isRegularFile).toList()) {
        assertThat(Files.getPosixFilePermissions(p))
            .as(p.toString())
            .doesNotContain(PosixFilePermission.GROUP_WRITE, PosixFilePermission.OTHERS_WRITE);
      }
    }
  }

  @Test
  void neverWritesThroughASymlinkPlantedAsTheTempFile() throws IOException {
    Path victim = Files.writeString(state.resolve("victim.txt"), "precious");
    store.commit(Cursor.ofOffset(1));
    // Whatever name an attacker guesses, the writer uses O_EXCL and fails rather than follow it.
    Path dir = state.resolve("nightly/partitions/0");
    Files.createSymbolicLink(dir.resolve(".checkpoint.0000000000000000.tmp"), victim);
    store.commit(Cursor.ofOffset(2));
    assertThat(Files.readString(victim)).isEqualTo("precious");
  }

  @Test
  void readerSeesCommitsWithoutTakingTheLock() {
    store.commit(Cursor.ofOffset(7));
    assertThat(FileCheckpointStore.reader(state, "nightly").read().orElseThrow().cursor())
        .isEqualTo(Cursor.ofOffset(7));
  }

  @Test
  void listsJobsInTheStateDirectory() {
    store.commit(Cursor.ofOffset(1));
    assertThat(FileCheckpointStore.jobs(state)).containsExactly("nightly");
  }

  @Test
  void importsTheChaptersLegacyCheckpoint() throws IOException {
    byte[] legacy = "{\"last_file\": \"skus_08216.json\", \"last_file_idx\": 8216}".getBytes();
    var imported = fileStore().importLegacy("0", legacy, Path.of("state/skus.ckpt.json"));

    assertThat(imported.cursor()).isEqualTo(Cursor.ofFile("skus_08216.json", 8217));
    assertThat(imported.sequence()).isEqualTo(1);
    assertThat(store.read().orElseThrow()).isEqualTo(imported);
    assertThat(
            Files.readAllBytes(
                state.resolve(
                    "nightly/partitions/0/history/00000000000000000001.pre-migration-v0")))
        .isEqualTo(legacy);
  }

  @Test
  void migratesALegacyCheckpointFoundInPlaceAndKeepsTheOriginal() throws IOException {
    store.commit(Cursor.ofOffset(1));
    Path file = fileStore().checkpointPath("0");
    Files.writeString(file, "{\"last_file\":\"skus_00009.json\",\"last_file_idx\":9}\n");
    assertThatThrownBy(() -> store.read())
        .isInstanceOf(CheckpointInvalidException.class)
        .hasMessageContaining("Convert it in place: waymark checkpoint migrate");

    var migrated = fileStore().migrate("0").orElseThrow();

    assertThat(migrated.cursor()).isEqualTo(Cursor.ofFile("skus_00009.json", 10));
    assertThat(migrated.sequence()).isEqualTo(2);
    assertThat(store.read().orElseThrow()).isEqualTo(migrated);
    assertThat(fileStore().migrate("0")).isEmpty();
  }

  static final class MutableClock extends Clock {
    Instant now;

    MutableClock(Instant now) {
      this.now = now;
    }

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }
}
