package dev.waymark.checkpoint.file;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.CheckpointInvalidException;
import dev.waymark.checkpoint.CheckpointInvalidException.Reason;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.internal.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The corruption corpus: every way a checkpoint file can be wrong, each refused with the right
 * {@link Reason} and a message that names the path, what was expected, what was found and the
 * command that fixes it. None is ever read as "no checkpoint", and no commit overwrites it.
 */
class CorruptCheckpointTest {
  private static final String JOB = "nightly";
  private static final String P = "0";
  private static final Clock CLOCK =
      Clock.fixed(Instant.parse("2026-11-26T03:42:07.118Z"), ZoneOffset.UTC);

  @TempDir Path state;

  private Path file;
  private byte[] valid;
  private String args;

  @BeforeEach
  void commitTwoVersions() throws IOException {
    try (FileCheckpointStore store = open()) {
      store.commit(P, Cursor.ofFile("skus_08215.json", 8216));
      store.commit(P, Cursor.ofFile("skus_08216.json", 8217));
      file = store.checkpointPath(P);
    }
    valid = Files.readAllBytes(file);
    args = "--state " + state.toAbsolutePath().normalize() + " --job nightly --partition 0";
  }

  // ------------------------------------------------------------------------------------ corpus

  @Test
  void refusesAnEmptyFile() throws IOException {
    plant(new byte[0]);
    assertRefused(Reason.EMPTY)
        .contains("the file is empty (expected one line of JSON, found 0 bytes)")
        .contains(restoreFix());
  }

  @Test
  void refusesTheValidFileTruncatedAtEveryByteOffset() throws IOException {
    for (int n = 0; n < valid.length; n++) {
      plant(Arrays.copyOf(valid, n));
      CheckpointInvalidException e = readFails();
      if (n == 0) {
        assertThat(e.reason()).isEqualTo(Reason.EMPTY);
      } else {
        assertThat(e.reason()).as("cut at byte " + n).isEqualTo(Reason.TRUNCATED);
        assertThat(e.getMessage())
            .as("cut at byte " + n)
            .startsWith("Checkpoint " + file + " is invalid: ")
            .contains("the record has no final newline, so the file was cut short")
            .contains("(expected a line ending in a newline, found " + n + " bytes without one)")
            .contains(restoreFix());
      }
    }
  }

  @Test
  void refusesEveryPrefixOfTheRecordEvenWhenItEndsInANewline() throws IOException {
    // A torn write followed by a newline from somewhere else: still not the record.
    for (int n = 0; n < valid.length - 1; n++) {
      byte[] torn = Arrays.copyOf(valid, n + 1);
      torn[n] = '\n';
      plant(torn);
      CheckpointInvalidException e = readFails();
      assertThat(e.reason()).as("cut at byte " + n).isEqualTo(Reason.NOT_THE_FORMAT);
      assertThat(e.getMessage()).contains("not valid JSON (expected a JSON object, found ");
    }
  }

  @Test
  void refusesAChecksumMismatch() throws IOException {
    String text = new String(valid, StandardCharsets.UTF_8);
    String recorded = text.replaceAll(".*\"crc32c\":\"([0-9a-f]{8})\".*\n", "$1");
    plant(text.replace("8217", "8218").getBytes(StandardCharsets.UTF_8));

    assertRefused(Reason.CHECKSUM_MISMATCH)
        .contains("checksum mismatch: the file changed after it was written")
        .contains("(expected crc32c " + recorded + " as recorded, found content that hashes to ")
        .contains(restoreFix());
  }

  @Test
  void refusesAnotherJobsCheckpointPlantedHere() throws IOException {
    Path other = state.resolve("other");
    try (FileCheckpointStore weekly = FileCheckpointStore.open(other, JOB + "-weekly")) {
      weekly.commit(P, Cursor.ofOffset(5));
      plant(Files.readAllBytes(weekly.checkpointPath(P)));
    }
    assertRefused(Reason.WRONG_JOB)
        .contains("this is another job's checkpoint; it was copied or moved here")
        .contains("(expected job 'nightly', found job 'nightly-weekly' partition '0')")
        .contains("Put the file back under its own job's folder")
        .contains("`waymark checkpoint rollback " + args + " --to SEQUENCE`");
  }

  @Test
  void refusesAnotherPartitionsCheckpointPlantedHere() throws IOException {
    try (FileCheckpointStore store = open()) {
      store.commit("7", Cursor.ofOffset(5));
      plant(Files.readAllBytes(store.checkpointPath("7")));
    }
    assertRefused(Reason.WRONG_PARTITION)
        .contains("this is another partition's checkpoint; it was copied or moved here")
        .contains("(expected partition '0', found partition '7')")
        .contains("Put the file back in its own partition's folder")
        .contains("`waymark checkpoint history " + args + "`");
  }

  @Test
  void refusesAnUnknownNewerVersionWithAValidChecksum() throws IOException {
    Map<String, Object> record = recordOf(valid);
    record.put("version", 2L);
    record.put("next_gen_field", "whatever version 2 adds");
    plant(withCrc(record));

    assertRefused(Reason.NEWER_VERSION)
        .contains("written by a newer Waymark")
        .contains("(expected format version 1 or older, found format version 2)")
        .contains("Run this job with the Waymark release that wrote it, or a later one")
        .contains("this build reads versions up to 1");
  }

  @Test
  void refusesTheChaptersLegacyFormatUntilItIsConvertedByMigrate() throws IOException {
    // As the chapter's Python writer leaves it: spaces, and no final newline.
    plant(bytes("{\"last_file\": \"skus_08216.json\", \"last_file_idx\": 8216}"));
    assertRefused(Reason.NOT_MIGRATED)
        .contains(
            "Convert it in place: waymark checkpoint migrate "
                + args
                + " (the legacy record is kept in history).");

    plant(bytes("{\"last_file\":\"skus_08216.json\",\"last_file_idx\":8216}\n"));
    assertRefused(Reason.NOT_MIGRATED)
        .contains("this is the chapter's legacy checkpoint, which must be converted first")
        .contains(
            "(expected format version 1, found a legacy {\"last_file\",\"last_file_idx\"} record"
                + " (version 0))")
        .contains(
            "Convert it in place: waymark checkpoint migrate "
                + args
                + " (the legacy record is kept in history).");
  }

  @Test
  void refusesADirectoryWhereTheFileShouldBe() throws IOException {
    Files.delete(file);
    Files.createDirectory(file);
    assertRefused(Reason.NOT_A_FILE)
        .contains("something other than a regular file stands where the checkpoint belongs")
        .contains("(expected a regular file, found a directory)")
        .contains("Move it out of the way")
        .contains("`waymark checkpoint rollback " + args + " --to SEQUENCE`");
  }

  @Test
  void refusesASymbolicLinkEvenToAValidCheckpoint() throws IOException {
    Path elsewhere = Files.write(state.resolve("copy"), valid);
    Files.delete(file);
    Files.createSymbolicLink(file, elsewhere);
    assertRefused(Reason.NOT_A_FILE)
        .contains("(expected a regular file, found a link or special file)");
  }

  @Test
  void refusesDataAfterTheRecordsLine() throws IOException {
    plant(concat(valid, bytes("{\"sequence\":99}\n")));
    assertRefused(Reason.NOT_THE_FORMAT)
        .contains("there is data after the record's line")
        .contains(
            "(expected exactly one line, found 16 more bytes after byte "
                + (valid.length - 1)
                + ")")
        .contains(restoreFix());

    plant(concat(valid, bytes("\n")));
    assertRefused(Reason.NOT_THE_FORMAT).contains("found 1 more bytes after byte");
  }

  @Test
  void refusesACarriageReturnBeforeTheNewline() throws IOException {
    byte[] crlf = Arrays.copyOf(valid, valid.length + 1);
    crlf[valid.length - 1] = '\r';
    crlf[valid.length] = '\n';
    plant(crlf);
    assertRefused(Reason.NOT_THE_FORMAT)
        .contains(
            "not valid JSON (expected a JSON object, found unexpected data after the JSON"
                + " value at byte "
                + (valid.length - 1)
                + ")");
  }

  @Test
  void refusesWhitespaceEvenThoughTheContentAndChecksumAreUnchanged() throws IOException {
    plant(bytes(new String(valid, StandardCharsets.UTF_8).replace("\":", "\": ")));
    assertRefused(Reason.NOT_THE_FORMAT)
        .contains(
            "not valid JSON (expected a JSON object, found unexpected character ' ' at byte 16)");
  }

  @Test
  void refusesNonCanonicalJsonWithAValidChecksum() throws IOException {
    String text = new String(valid, StandardCharsets.UTF_8);
    // Same content, same recorded checksum: "version" moved to the front, keys no longer sorted.
    String reordered = "{\"version\":1," + text.substring(1).replace(",\"version\":1}", "}");
    assertThat(recordOf(bytes(reordered))).isEqualTo(recordOf(valid));
    plant(bytes(reordered));
    assertRefused(Reason.NOT_THE_FORMAT)
        .contains("the record is not in canonical form")
        .contains(
            "(expected sorted keys without whitespace, found other bytes with the same content)")
        .contains(restoreFix());

    // An escape where the canonical form has the character itself.
    plant(bytes(text.replace("skus_08216", "\\u0073kus_08216")));
    assertRefused(Reason.NOT_THE_FORMAT).contains("the record is not in canonical form");
  }

  @Test
  void refusesAnUnknownExtraFieldWithAValidChecksum() throws IOException {
    Map<String, Object> record = recordOf(valid);
    record.put("host", "batch-07");
    plant(withCrc(record));
    assertRefused(Reason.NOT_THE_FORMAT)
        .contains("unknown field \"host\"")
        .contains("(expected only the fields of format version 1, found \"host\")")
        .contains(restoreFix());
  }

  @Test
  void refusesAMissingCheckpointWhenThePartitionCommittedBefore() throws IOException {
    Files.delete(file);
    Path marker = file.resolveSibling("committed");
    assertThat(marker).isRegularFile();
    assertRefused(Reason.MISSING)
        .contains("the partition committed before but its checkpoint file is gone")
        .contains("(expected a checkpoint file, because " + marker + " exists, found no file)")
        .contains("Restore it from history: `waymark checkpoint history " + args + "`")
        .contains("`waymark checkpoint rollback " + args + " --to SEQUENCE`")
        .contains("`waymark checkpoint reset " + args + " --yes`");
  }

  @Test
  void refusesAMissingCheckpointWhenHistoryShowsLaterCommitsEvenWithoutTheMarker()
      throws IOException {
    Files.delete(file);
    Files.delete(file.resolveSibling("committed"));
    assertRefused(Reason.MISSING)
        .contains("the partition committed before but its checkpoint file is gone")
        // Regression: the message claimed the (deleted) marker still existed.
        .contains(
            "(expected a checkpoint file, because "
                + file.resolveSibling("history")
                + " holds versions after the first, found no file)");
  }

  @Test
  void refusesADamagedEpochFileWhenOpeningAndTheFixWorks() throws IOException {
    Path epoch = state.resolve(JOB).resolve("epoch");
    for (byte[] damage :
        new byte[][] {
          new byte[0],
          Arrays.copyOf(Files.readAllBytes(epoch), 20),
          bytes("garbage\n"),
          EpochFile.encode("another-job", 3), // copied from another job
          bytes(new String(EpochFile.encode(JOB, 3), StandardCharsets.UTF_8).replace("3", "9")),
        }) {
      Files.write(epoch, damage);
      Throwable t = catchThrowable(this::open);
      assertThat(t).isInstanceOf(CheckpointInvalidException.class);
      CheckpointInvalidException e = (CheckpointInvalidException) t;
      assertThat(e.reason()).isEqualTo(Reason.NOT_THE_FORMAT);
      assertThat(e.path()).isEqualTo(epoch);
      assertThat(e.getMessage())
          .startsWith("Checkpoint " + epoch + " is invalid: the job's epoch file is damaged")
          .contains(
              "(expected {\"epoch\":N,\"format\":\"waymark-epoch\",...} with a valid checksum, found ")
          .contains("Delete " + epoch + "; the next writer recomputes the epoch");
    }
    long committedEpoch = FileCheckpointStore.reader(state, JOB).read(P).orElseThrow().epoch();

    Files.delete(epoch); // as the message says

    try (FileCheckpointStore store = open()) {
      assertThat(store.epoch()).isGreaterThan(committedEpoch);
      assertThat(store.commit(P, Cursor.ofOffset(1)).sequence()).isEqualTo(3);
    }
  }

  @Test
  void refusesACommitWhenTheEpochFileIsDamagedWhileOpen() throws IOException {
    try (FileCheckpointStore store = open()) {
      Files.write(state.resolve(JOB).resolve("epoch"), bytes("{}\n"));
      Throwable t = catchThrowable(() -> store.commit(P, Cursor.ofOffset(1)));
      assertThat(t)
          .isInstanceOf(CheckpointInvalidException.class)
          .hasMessageContaining("the job's epoch file is damaged");
    }
    assertThat(Files.readAllBytes(file)).isEqualTo(valid);
  }

  @Test
  void theSuggestedRollbackRepairsADamagedCheckpoint() throws IOException {
    plant(Arrays.copyOf(valid, 40));
    try (FileCheckpointStore store = open()) {
      Checkpoint repaired = store.rollback(P, 1);
      assertThat(repaired.sequence()).isEqualTo(3);
      assertThat(repaired.cursor()).isEqualTo(Cursor.ofFile("skus_08215.json", 8216));
      assertThat(store.read(P)).contains(repaired);
    }
  }

  // ------------------------------------------------------------------------------- machinery

  /** Syncs are skipped: these tests are about content, not durability. */
  private FileCheckpointStore open() {
    return FileCheckpointStore.open(
        state,
        JOB,
        FileStoreOptions.builder()
            .clock(CLOCK)
            .fileSystem(FaultInjectingFileSystem.overSystem().skippingSyncs())
            .build());
  }

  /** Replaces the checkpoint (not in place: the current file is a hard link to a history entry). */
  private void plant(byte[] bytes) throws IOException {
    Files.deleteIfExists(file);
    Files.write(file, bytes);
  }

  private CheckpointInvalidException readFails() {
    Throwable t = catchThrowable(() -> FileCheckpointStore.reader(state, JOB).read(P));
    assertThat(t).isInstanceOf(CheckpointInvalidException.class);
    return (CheckpointInvalidException) t;
  }

  /**
   * Asserts that the lock-free reader and a writer both refuse the checkpoint for {@code reason},
   * that a commit refuses to overwrite it, and that the message has the common shape; returns the
   * message for the case's own assertions.
   */
  private org.assertj.core.api.AbstractStringAssert<?> assertRefused(Reason reason)
      throws IOException {
    CheckpointInvalidException e = readFails();
    assertThat(e.reason()).isEqualTo(reason);
    assertThat(e.path()).isEqualTo(file);
    assertThat(e.kind()).isEqualTo(dev.waymark.WaymarkException.Kind.CHECKPOINT_INVALID);
    assertThat(e.getMessage())
        .startsWith("Checkpoint " + file + " is invalid: ")
        .contains(" (expected ")
        .contains(", found ");

    byte[] before = Files.isRegularFile(file) ? Files.readAllBytes(file) : null;
    try (FileCheckpointStore store = open()) {
      Throwable read = catchThrowable(() -> store.read(P));
      assertThat(read).isInstanceOf(CheckpointInvalidException.class).hasMessage(e.getMessage());
      Throwable commit = catchThrowable(() -> store.commit(P, Cursor.ofOffset(1)));
      assertThat(commit).isInstanceOf(CheckpointInvalidException.class).hasMessage(e.getMessage());
    }
    if (before != null) {
      assertThat(Files.readAllBytes(file)).as("left as it was").isEqualTo(before);
    }
    return assertThat(e.getMessage());
  }

  private String restoreFix() {
    return "Restore a good version: list the kept versions with `waymark checkpoint history "
        + args
        + "`, then `waymark checkpoint rollback "
        + args
        + " --to SEQUENCE`; or start over with `waymark checkpoint reset "
        + args
        + " --yes`.";
  }

  private static Map<String, Object> recordOf(byte[] line) {
    try {
      @SuppressWarnings("unchecked")
      Map<String, Object> parsed =
          (Map<String, Object>) Json.parse(Arrays.copyOf(line, line.length - 1));
      Map<String, Object> record = new TreeMap<>(parsed);
      record.remove("crc32c");
      return record;
    } catch (Json.ParseException e) {
      throw new AssertionError(e);
    }
  }

  /** The canonical line for {@code record} with a correct checksum, as the codec would write it. */
  static byte[] withCrc(Map<String, Object> record) {
    CRC32C crc = new CRC32C();
    crc.update(Json.encode(record));
    Map<String, Object> withCrc = new TreeMap<>(record);
    withCrc.put("crc32c", String.format("%08x", crc.getValue()));
    return concat(Json.encode(withCrc), bytes("\n"));
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
