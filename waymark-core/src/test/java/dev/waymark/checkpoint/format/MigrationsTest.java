package dev.waymark.checkpoint.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.CheckpointInvalidException;
import dev.waymark.checkpoint.CheckpointInvalidException.Reason;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.Retention;
import dev.waymark.checkpoint.file.FileCheckpointStore;
import dev.waymark.checkpoint.file.FileStoreOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MigrationsTest {
  private static final Path FILE = Path.of("/state/nightly/partitions/0/checkpoint");
  private static final Instant NOW = Instant.parse("2026-11-26T03:42:07.118Z");
  private static final Migration.Context CTX = new Migration.Context("nightly", "0", 5, 2, NOW);
  private static final CheckpointCodec.Expectation EXPECT =
      new CheckpointCodec.Expectation("nightly", "0", "--state /state --job nightly --partition 0");

  /** A synthetic step N -> N+1 that appends N to the record's "trail". */
  record Step(int fromVersion) implements Migration {
    @Override
    public Map<String, Object> apply(Map<String, Object> record, Context context) {
      assertThat(record.get("version"))
          .as("applied to a version-" + fromVersion + " record")
          .isEqualTo((long) fromVersion);
      Map<String, Object> next = new TreeMap<>(record);
      next.put("trail", record.get("trail") + "," + fromVersion);
      next.put("version", (long) fromVersion + 1);
      return next;
    }
  }

  private static Map<String, Object> record(int version) {
    return Map.of("version", (long) version, "trail", "start");
  }

  // ------------------------------------------------------------------------- the registry

  @Test
  void appliesEachStepInOrderUpToTheTargetVersion() {
    // Registered out of order on purpose: the registry orders them.
    Migrations migrations = new Migrations(List.of(new Step(3), new Step(1), new Step(2)), 4);

    Map<String, Object> upgraded =
        migrations.upgradeRecord(new Migrations.Inspection(1, record(1)), FILE, CTX);

    assertThat(upgraded).containsEntry("trail", "start,1,2,3").containsEntry("version", 4L);
  }

  @Test
  void startsFromTheRecordsOwnVersion() {
    Migrations migrations = new Migrations(List.of(new Step(1), new Step(2), new Step(3)), 4);

    assertThat(migrations.upgradeRecord(new Migrations.Inspection(3, record(3)), FILE, CTX))
        .containsEntry("trail", "start,3");
    assertThat(migrations.upgradeRecord(new Migrations.Inspection(4, record(4)), FILE, CTX))
        .as("already current: nothing applied")
        .isEqualTo(record(4));
  }

  @Test
  void refusesAGapInTheStepsNamingTheMissingStep() {
    Migrations migrations = new Migrations(List.of(new Step(1), new Step(3)), 4);

    assertThatThrownBy(
            () -> migrations.upgradeRecord(new Migrations.Inspection(1, record(1)), FILE, CTX))
        .isInstanceOf(CheckpointInvalidException.class)
        .hasMessage(
            "Checkpoint "
                + FILE
                + " is invalid: no migration is known from format version 2 (expected a migration"
                + " 2 -> 3, found none in this build). Migrate it with the Waymark release that"
                + " introduced version 3.")
        .extracting(e -> ((CheckpointInvalidException) e).reason())
        .isEqualTo(Reason.NOT_MIGRATED);
  }

  @Test
  void refusesTwoStepsFromTheSameVersion() {
    assertThatThrownBy(() -> new Migrations(List.of(new Step(1), new Step(1)), 2))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("two migrations from version 1");
  }

  @Test
  void aStepThatRefusesTheRecordNamesTheFileAndTheReason() {
    Migration refusing =
        new Migration() {
          @Override
          public int fromVersion() {
            return 1;
          }

          @Override
          public Map<String, Object> apply(Map<String, Object> record, Context context) {
            throw new IllegalArgumentException("\"offset\" must be an integer");
          }
        };
    Migrations migrations = new Migrations(List.of(refusing), 2);

    assertThatThrownBy(
            () -> migrations.upgradeRecord(new Migrations.Inspection(1, record(1)), FILE, CTX))
        .isInstanceOf(CheckpointInvalidException.class)
        .hasMessageStartingWith("Checkpoint " + FILE + " is invalid: ")
        .hasMessageContaining(
            "the record cannot be migrated from version 1: \"offset\" must be an integer")
        .hasMessageContaining("(expected a valid version-1 record")
        .hasMessageEndingWith("Fix or remove the file; nothing was changed.");
  }

  // ------------------------------------------------------------------------ legacy (v0 -> v1)

  @Test
  void upgradesTheChaptersLegacyRecordToADirectoryCursor() {
    for (String legacy :
        List.of(
            "{\"last_file\": \"skus_08216.json\", \"last_file_idx\": 8216}", // json.dump
            "{\"last_file\":\"skus_08216.json\",\"last_file_idx\":8216}\n",
            "{\n  \"last_file_idx\": 8216,\n  \"last_file\": \"skus_08216.json\"\n}\n")) {
      Migrations.Inspection inspection = Migrations.standard().inspect(bytes(legacy), FILE, EXPECT);
      assertThat(inspection.version()).as(legacy).isZero();
      assertThat(inspection.needsMigration()).isTrue();

      Checkpoint upgraded = Migrations.standard().upgrade(inspection, FILE, CTX);

      assertThat(upgraded)
          .as(legacy)
          .isEqualTo(
              new Checkpoint("nightly", "0", Cursor.ofFile("skus_08216.json", 8217), 5, 2, NOW));
      assertThat(upgraded.cursor().toJson())
          .isEqualTo("{\"file\":\"skus_08216.json\",\"files\":8217}");
    }
  }

  @Test
  void theFirstFileOfTheListingBecomesOneFileDone() {
    Checkpoint upgraded =
        Migrations.standard()
            .upgrade(
                Migrations.standard()
                    .inspect(bytes("{\"last_file\":\"a.json\",\"last_file_idx\":0}"), FILE, EXPECT),
                FILE,
                CTX);
    assertThat(upgraded.cursor()).isEqualTo(Cursor.ofFile("a.json", 1));
  }

  @Test
  void refusesTheLegacyNothingDoneRecordWithAClearMessage() {
    for (String nothing :
        List.of(
            "{\"last_file\": \"\", \"last_file_idx\": -1}",
            "{\"last_file\":\"\",\"last_file_idx\":-1}\n")) {
      Migrations.Inspection inspection =
          Migrations.standard().inspect(bytes(nothing), FILE, EXPECT);

      assertThatThrownBy(() -> Migrations.standard().upgrade(inspection, FILE, CTX))
          .isInstanceOf(CheckpointInvalidException.class)
          .hasMessageStartingWith("Checkpoint " + FILE + " is invalid: ")
          .hasMessageContaining("the record cannot be migrated from version 0")
          .hasMessageContaining(
              "it records no committed file (last_file \"\", last_file_idx -1); there is nothing"
                  + " to import")
          .hasMessageContaining("found {\"last_file\":\"\",\"last_file_idx\":-1})")
          .hasMessageContaining("nothing was changed")
          .extracting(e -> ((CheckpointInvalidException) e).reason())
          .isEqualTo(Reason.NOT_MIGRATED);
    }
  }

  @Test
  void refusesLegacyRecordsWithTheWrongShape() {
    Map<String, String> cases =
        Map.of(
            "{\"last_file\":7,\"last_file_idx\":7}", "\"last_file\" must be a string",
            "{\"last_file\":\"a.json\",\"last_file_idx\":\"7\"}",
                "\"last_file_idx\" must be an integer",
            "{\"last_file\":\"a.json\",\"last_file_idx\":7,\"host\":\"x\"}",
                "a legacy checkpoint has exactly \"last_file\" and \"last_file_idx\", found [host,"
                    + " last_file, last_file_idx]",
            "{\"last_file\":\"\",\"last_file_idx\":3}",
                "\"last_file\" is empty although \"last_file_idx\" is 3; it must name a file",
            "{\"last_file\":\"a.json\",\"last_file_idx\":-2}",
                "\"last_file_idx\" is -2 although \"last_file\" names a file; it counts from 0");
    cases.forEach(
        (legacy, reason) -> {
          Migrations.Inspection inspection =
              Migrations.standard().inspect(bytes(legacy), FILE, EXPECT);
          assertThatThrownBy(() -> Migrations.standard().upgrade(inspection, FILE, CTX))
              .as(legacy)
              .isInstanceOf(CheckpointInvalidException.class)
              .hasMessageContaining(reason);
        });
  }

  @Test
  void inspectRefusesWhatIsNoCheckpointOfAnyVersion() {
    assertThatThrownBy(() -> Migrations.standard().inspect(bytes("{\"a\":1}\n"), FILE, EXPECT))
        .isInstanceOf(CheckpointInvalidException.class)
        .hasMessageContaining(
            "not a Waymark checkpoint (expected \"format\":\"waymark-checkpoint\", found no \"format\" field)");
    assertThatThrownBy(() -> Migrations.standard().inspect(bytes("not json"), FILE, EXPECT))
        .isInstanceOf(CheckpointInvalidException.class)
        .extracting(e -> ((CheckpointInvalidException) e).reason())
        .isEqualTo(Reason.TRUNCATED);
  }

  @Test
  void inspectRefusesANewerVersionAsTheCodecDoes() {
    Map<String, Object> v2 = new TreeMap<>();
    v2.put("format", CheckpointCodec.FORMAT);
    v2.put("version", 2L);
    assertThatThrownBy(
            () -> Migrations.standard().inspect(CheckpointCodec.encodeRecord(v2), FILE, EXPECT))
        .isInstanceOf(CheckpointInvalidException.class)
        .hasMessageContaining("(expected format version 1 or older, found format version 2)");
  }

  // --------------------------------------------------------------------------- in the store

  @Test
  void importingNothingDoneWritesNothing(@TempDir Path state) throws IOException {
    try (FileCheckpointStore store = FileCheckpointStore.open(state, "nightly")) {
      assertThatThrownBy(
              () ->
                  store.importLegacy(
                      "0",
                      bytes("{\"last_file\": \"\", \"last_file_idx\": -1}"),
                      Path.of("skus.ckpt.json")))
          .isInstanceOf(CheckpointInvalidException.class)
          .hasMessageContaining("skus.ckpt.json")
          .hasMessageContaining("there is nothing to import");
      assertThat(store.read("0")).isEmpty();
    }
    try (Stream<Path> files = Files.walk(state.resolve("nightly"))) {
      assertThat(files.filter(Files::isRegularFile).map(p -> p.getFileName().toString()))
          .containsExactlyInAnyOrder("waymark.lock", "epoch");
    }
  }

  @Test
  void importsLegacyEvenWhenRetentionKeepsNoHistory(@TempDir Path state) throws IOException {
    byte[] legacy = bytes("{\"last_file\": \"skus_08216.json\", \"last_file_idx\": 8216}");
    try (FileCheckpointStore store =
        FileCheckpointStore.open(
            state,
            "nightly",
            FileStoreOptions.builder()
                .retention(Retention.builder().keepLast(0).build())
                .build())) {
      Checkpoint imported = store.importLegacy("0", legacy, Path.of("skus.ckpt.json"));

      assertThat(imported.cursor()).isEqualTo(Cursor.ofFile("skus_08216.json", 8217));
      assertThat(store.read("0")).contains(imported);
      assertThat(store.history("0")).isEmpty();
      assertThat(
              state.resolve("nightly/partitions/0/history/00000000000000000001.pre-migration-v0"))
          .as("the original is kept even so")
          .hasBinaryContent(legacy);
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
