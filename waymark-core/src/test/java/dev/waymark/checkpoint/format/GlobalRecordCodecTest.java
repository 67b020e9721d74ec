package dev.waymark.checkpoint.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.waymark.checkpoint.CheckpointInvalidException;
import dev.waymark.checkpoint.CheckpointInvalidException.Reason;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.global.GlobalCheckpoint;
import dev.waymark.checkpoint.global.JobOutcome;
import dev.waymark.checkpoint.global.PartitionMark;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** Global records are checked as strictly as checkpoints: every damage is detected. */
class GlobalRecordCodecTest {
  private static final Path WHERE = Path.of("/state/nightly/global/00000000000000000007.complete");
  private static final Instant AT = Instant.parse("2026-11-26T03:42:07.118Z");
  private static final GlobalCheckpoint COMPLETE =
      new GlobalCheckpoint(
          "nightly",
          7,
          AT,
          GlobalCheckpoint.cutOf(
              List.of(
                  new PartitionMark("0", Cursor.ofFile("skus_00004.json", 3), 3),
                  new PartitionMark("1", null, 0))));
  private static final JobOutcome SUCCESS =
      JobOutcome.succeeded(COMPLETE, AT, new JobOutcome.Totals(14200, 2840000, 2839990, 10));
  private static final JobOutcome FAILURE =
      JobOutcome.failed("nightly", AT, "BAD_INPUT", "skus_00009.json: line 3: \"expected ','\"");

  /** Each record kind with its decoder. */
  private static final List<Case> CASES =
      List.of(
          new Case(
              GlobalRecordCodec.encode(COMPLETE),
              b -> GlobalRecordCodec.decodeComplete(b, WHERE, "nightly", "FIX")),
          new Case(
              GlobalRecordCodec.encode(SUCCESS),
              b -> GlobalRecordCodec.decodeOutcome(b, WHERE, "nightly", "FIX")),
          new Case(
              GlobalRecordCodec.encode(FAILURE),
              b -> GlobalRecordCodec.decodeOutcome(b, WHERE, "nightly", "FIX")),
          new Case(
              GlobalRecordCodec.encodeMarker("nightly", 7, COMPLETE.cut().get("0"), AT),
              b -> GlobalRecordCodec.decodeMarker(b, WHERE, "nightly", 7, "FIX")),
          new Case(
              GlobalRecordCodec.encodeBarrier("nightly", 7, AT),
              b -> GlobalRecordCodec.decodeBarrier(b, WHERE, "nightly", "FIX")));

  private record Case(byte[] bytes, Function<byte[], Object> decode) {}

  @Test
  void decodesWhatItEncoded() {
    assertThat(CASES.get(0).decode().apply(CASES.get(0).bytes())).isEqualTo(COMPLETE);
    assertThat(CASES.get(1).decode().apply(CASES.get(1).bytes())).isEqualTo(SUCCESS);
    assertThat(CASES.get(2).decode().apply(CASES.get(2).bytes())).isEqualTo(FAILURE);
    assertThat(CASES.get(3).decode().apply(CASES.get(3).bytes()))
        .isEqualTo(COMPLETE.cut().get("0"));
    assertThat(CASES.get(4).decode().apply(CASES.get(4).bytes())).isEqualTo(7L);
  }

  @Test
  void detectsEverySingleBitFlip() {
    for (Case c : CASES) {
      for (int i = 0; i < c.bytes().length; i++) {
        for (int bit = 0; bit < 8; bit++) {
          byte[] damaged = c.bytes().clone();
          damaged[i] ^= (byte) (1 << bit);
          int at = i;
          assertThatThrownBy(() -> c.decode().apply(damaged))
              .as("bit %d of byte %d of %s", bit, at, new String(c.bytes(), StandardCharsets.UTF_8))
              .isInstanceOfSatisfying(
                  CheckpointInvalidException.class,
                  e ->
                      // A flipped version digit reads as a newer format, whose fix is an upgrade.
                      assertThat(e.getMessage())
                          .startsWith("Checkpoint " + WHERE + " is invalid: ")
                          .endsWith(
                              e.reason() == Reason.NEWER_VERSION ? "or a later one." : "FIX"));
        }
      }
    }
  }

  @Test
  void detectsEveryTruncation() {
    for (Case c : CASES) {
      for (int length = 0; length < c.bytes().length; length++) {
        byte[] cut = Arrays.copyOf(c.bytes(), length);
        assertThatThrownBy(() -> c.decode().apply(cut))
            .isInstanceOfSatisfying(
                CheckpointInvalidException.class,
                e -> assertThat(e.reason()).isIn(Reason.EMPTY, Reason.TRUNCATED));
      }
    }
  }

  @Test
  void refusesAnotherJobsRecordAndANewerVersion() {
    assertThatThrownBy(
            () -> GlobalRecordCodec.decodeComplete(CASES.get(0).bytes(), WHERE, "daily", "FIX"))
        .isInstanceOfSatisfying(
            CheckpointInvalidException.class,
            e -> assertThat(e.reason()).isEqualTo(Reason.WRONG_JOB))
        .hasMessageContaining("expected job 'daily', found job 'nightly'");

    byte[] newer =
        CheckpointCodec.encodeRecord(
            new java.util.TreeMap<>(
                java.util.Map.of(
                    "format", "waymark-global", "version", 2L, "job", "nightly", "kind", "x")));
    assertThatThrownBy(() -> GlobalRecordCodec.decodeComplete(newer, WHERE, "nightly", "FIX"))
        .isInstanceOfSatisfying(
            CheckpointInvalidException.class,
            e -> assertThat(e.reason()).isEqualTo(Reason.NEWER_VERSION))
        .hasMessageContaining("expected format version 1 or older, found format version 2");
  }

  @Test
  void refusesARecordOfAnotherKind() {
    assertThatThrownBy(
            () -> GlobalRecordCodec.decodeComplete(CASES.get(1).bytes(), WHERE, "nightly", "FIX"))
        .isInstanceOf(CheckpointInvalidException.class)
        .hasMessageContaining(
            "a record of another kind (expected kind complete, found kind \"success\")");
  }
}
