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

class WriteCommandsTest {
  @TempDir Path dir;
  StateFixture state;

  @BeforeEach
  void setUp() {
    state = new StateFixture(dir);
  }

  /** The job's epoch: every store opened for writing or repair takes the next one. */
  private long epoch() {
    try (FileCheckpointStore store = FileCheckpointStore.open(dir, "nightly")) {
      return store.epoch() - 1; // this store's own
    }
  }

  private Cursor current(String partition) {
    return FileCheckpointStore.reader(dir, "nightly").read(partition).orElseThrow().cursor();
  }

  @Test
  void rollbackMakesAKeptVersionCurrentAsANewCommit() {
    state.commit("nightly", "0", Cursor.ofOffset(1), Cursor.ofOffset(2), Cursor.ofOffset(3));

    CliRun run =
        waymark("checkpoint", "rollback", "--state", state.dir(), "--job", "nightly", "--to", "2");

    assertThat(run.exitCode()).as(run.toString()).isZero();
    assertThat(run.out())
        .isEqualTo(
            "Rolled back job 'nightly' partition '0' to the cursor of sequence 2: committed as"
                + " sequence 4 (epoch 2), cursor {\"offset\":2}.\n");
    assertThat(current("0")).isEqualTo(Cursor.ofOffset(2));
  }

  @Test
  void rollbackWhileAnotherStoreHoldsTheLockExitsWith3NamingTheHolder() {
    state.commit("nightly", "0", Cursor.ofOffset(1), Cursor.ofOffset(2));

    try (FileCheckpointStore writer = FileCheckpointStore.open(dir, "nightly")) {
      assertThat(writer.epoch()).isEqualTo(2);
      CliRun run =
          waymark(
              "checkpoint", "rollback", "--state", state.dir(), "--job", "nightly", "--to", "1");

      assertThat(run.exitCode()).isEqualTo(3);
      assertThat(run.err())
          .startsWith(
              "waymark: Job 'nightly' is locked by pid "
                  + ProcessHandle.current().pid()
                  + " on host ")
          .contains("(lock file " + dir.resolve("nightly/waymark.lock") + ")")
          .doesNotContain("\tat ");
    }
    assertThat(current("0")).isEqualTo(Cursor.ofOffset(2));
  }

  @Test
  void rollbackToAVersionThatIsNotKeptListsTheKeptOnes() {
    state.commit("nightly", "0", Cursor.ofOffset(1), Cursor.ofOffset(2));

    CliRun run =
        waymark("checkpoint", "rollback", "--state", state.dir(), "--job", "nightly", "--to", "9");

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.err())
        .contains("to sequence 9: no such version is kept")
        .contains("Kept: [1, 2]");
    assertThat(epoch()).as("the job's epoch, which a store opened for repair takes").isEqualTo(1);
  }

  @Test
  void rollbackNeedsPartitionWhenTheJobHasSeveral() {
    state.commit("nightly", "0", Cursor.ofOffset(1)).commit("nightly", "1", Cursor.ofOffset(1));

    CliRun run =
        waymark("checkpoint", "rollback", "--state", state.dir(), "--job", "nightly", "--to", "1");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err())
        .startsWith("waymark: job 'nightly' has partitions [0, 1]; choose one with --partition P.");
  }

  @Test
  void rollbackOfAPartitionTheJobDoesNotHaveNamesThePartitionsItHas() {
    state.commit("nightly", "0", Cursor.ofOffset(1), Cursor.ofOffset(2));

    CliRun run =
        waymark(
            "checkpoint",
            "rollback",
            "--state",
            state.dir(),
            "--job",
            "nightly",
            "--partition",
            "5",
            "--to",
            "1");

    assertThat(run.exitCode()).as(run.toString()).isEqualTo(1);
    assertThat(run.err())
        .startsWith(
            "waymark: Job 'nightly' has no partition '5'; its partitions are [0]. Choose one of"
                + " those with --partition. Nothing was changed.");
    assertThat(epoch()).as("the job's epoch, which a store opened for repair takes").isEqualTo(1);
  }

  /**
   * On SQLite no lock keeps a repair away from a running ingest, and a store opened for repair
   * takes the job's next epoch, which fences that ingest: a rollback that cannot happen must not
   * open one.
   */
  @Test
  void aRollbackToAVersionTheDbStoreDoesNotKeepLeavesTheJobsEpochAlone() throws Exception {
    String db = ingestThreeFilesIntoTheDbStore();
    long epoch = dbEpoch(db);

    CliRun typo = waymark("checkpoint", "rollback", "--db", db, "--job", "ingest", "--to", "99");
    CliRun real = waymark("checkpoint", "rollback", "--db", db, "--job", "ingest", "--to", "1");

    assertThat(typo.exitCode()).as(typo.toString()).isEqualTo(1);
    assertThat(typo.err())
        .startsWith(
            "waymark: Cannot roll back job 'ingest' partition '0' to sequence 99: no such version"
                + " is kept. Kept: [1, 2, 3].");
    assertThat(real.exitCode()).as(real.toString()).isZero();
    assertThat(dbEpoch(db))
        .as("only the rollback that happened took an epoch")
        .isEqualTo(epoch + 1);
  }

  /** What a damaged db-store checkpoint tells the user to run works with --db, as it says. */
  @Test
  void theDbStoresRepairAdviceNamesVerbsThatTakeItsDatabase() throws Exception {
    String db = ingestThreeFilesIntoTheDbStore();
    try (var c = java.sql.DriverManager.getConnection(db);
        var s = c.createStatement()) {
      s.executeUpdate("UPDATE waymark_checkpoint SET record = substr(record, 1, 100)");
    }

    CliRun status = waymark("checkpoint", "status", "--db", db, "--job", "ingest");
    CliRun history = waymark("checkpoint", "history", "--db", db, "--job", "ingest");
    CliRun reset =
        waymark("checkpoint", "reset", "--db", db, "--job", "ingest", "--partition", "0", "--yes");
    CliRun after = waymark("checkpoint", "status", "--db", db, "--job", "ingest");

    assertThat(status.exitCode()).as(status.toString()).isEqualTo(4);
    assertThat(status.out() + status.err())
        .contains("waymark checkpoint history --db JDBC_URL --job ingest --partition 0")
        .contains("waymark checkpoint reset --db JDBC_URL --job ingest --partition 0 --yes");
    assertThat(history.exitCode()).as(history.toString()).isEqualTo(4);
    assertThat(history.out()).contains("ingest partition 0: 3 kept, current checkpoint INVALID");
    assertThat(reset.exitCode()).as(reset.toString()).isZero();
    assertThat(reset.out())
        .isEqualTo(
            "Reset job 'ingest' partition '0' (was an invalid checkpoint); its next run starts"
                + " from the beginning.\n");
    assertThat(after.exitCode()).as(after.toString()).isZero();
  }

  @Test
  void aJobTheDbStoreDoesNotKnowIsNamedWithTheJobsItDoes() {
    String db = ingestThreeFilesIntoTheDbStore();

    CliRun status = waymark("checkpoint", "status", "--db", db, "--job", "nosuch");
    CliRun history = waymark("checkpoint", "history", "--db", db, "--job", "nosuch");

    for (CliRun run : List.of(status, history)) {
      assertThat(run.exitCode()).as(run.toString()).isEqualTo(1);
      assertThat(run.err())
          .isEqualTo(
              "waymark: No job 'nosuch' in the db store at "
                  + db
                  + "; the jobs there are [ingest]. Check --job and --db.\n");
    }
  }

  @Test
  void aJobsFolderGivenAsTheStateDirectoryIsRefusedNamingTheRightFlags() {
    state.commit("nightly", "0", Cursor.ofOffset(1));
    Path jobDir = dir.resolve("nightly");

    CliRun status = waymark("checkpoint", "status", "--state", jobDir.toString());
    CliRun reset =
        waymark(
            "checkpoint",
            "reset",
            "--state",
            jobDir.resolve("partitions").toString(),
            "--job",
            "0",
            "--yes");

    assertThat(status.exitCode()).as(status.toString()).isEqualTo(1);
    assertThat(status.err())
        .isEqualTo(
            "waymark: "
                + jobDir
                + " is the folder of job 'nightly', not a state directory. Pass --state "
                + dir
                + " --job nightly.\n");
    assertThat(reset.exitCode()).as(reset.toString()).isEqualTo(1);
    assertThat(reset.err()).contains("is inside the folder of job 'nightly'");
    assertThat(jobDir.resolve("partitions/0/epoch")).doesNotExist();
    assertThat(current("0")).isEqualTo(Cursor.ofOffset(1));
  }

  @Test
  void stateBesideDbIsAUsageErrorNotIgnored() {
    String db = ingestThreeFilesIntoTheDbStore();

    for (String verb : List.of("status", "history", "rollback", "reset")) {
      CliRun run =
          waymark("checkpoint", verb, "--db", db, "--state", state.dir(), "--job", "ingest");
      assertThat(run.exitCode()).as(run.toString()).isEqualTo(2);
      assertThat(run.err())
          .as(verb)
          .startsWith(
              "waymark: --state and --db each say where the checkpoints are: --state the file"
                  + " store's directory, --db the db store's database. Give one of them.");
    }
    CliRun wait = waymark("wait", "--db", db, "--state", state.dir(), "--job", "ingest");
    assertThat(wait.exitCode()).as(wait.toString()).isEqualTo(2);
  }

  private String ingestThreeFilesIntoTheDbStore() {
    Path feed = dir.resolve("feed");
    dev.waymark.ingest.FeedGenerator.generate(feed, 3, 5, 1);
    String db = "jdbc:sqlite:" + dir.resolve("db.sqlite");
    CliRun ingest =
        IngestTarget.runInProcess(
            List.of(
                "ingest",
                "--input",
                feed.toString(),
                "--db",
                db,
                "--checkpoint-store",
                "db",
                "--commit-every",
                "1",
                "--state",
                dir.resolve("unused").toString()));
    assertThat(ingest.exitCode()).as(ingest.toString()).isZero();
    return db;
  }

  private static long dbEpoch(String db) throws Exception {
    try (var c = java.sql.DriverManager.getConnection(db);
        var s = c.createStatement();
        var rs = s.executeQuery("SELECT epoch FROM waymark_job WHERE job = 'ingest'")) {
      assertThat(rs.next()).isTrue();
      return rs.getLong(1);
    }
  }

  @Test
  void rollbackRepairsATruncatedCheckpoint() {
    state.commit("nightly", "0", Cursor.ofOffset(1), Cursor.ofOffset(2));
    state.truncate("nightly", "0");

    CliRun run =
        waymark(
            "checkpoint",
            "rollback",
            "--state",
            state.dir(),
            "--job",
            "nightly",
            "--to",
            "2",
            "--json");

    assertThat(run.exitCode()).as(run.toString()).isZero();
    assertThat(run.json()).containsEntry("rolled_back_to", 2L).containsEntry("sequence", 3L);
    assertThat(current("0")).isEqualTo(Cursor.ofOffset(2));
  }

  @Test
  void resetWithoutYesExitsWith2AndSaysToAddYes() {
    state.commit("nightly", "0", Cursor.ofOffset(1));

    CliRun run = waymark("checkpoint", "reset", "--state", state.dir(), "--job", "nightly");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err())
        .startsWith(
            "waymark: reset deletes the checkpoint and history of job 'nightly' (every"
                + " partition), so the next run starts from the beginning of its source. Add --yes"
                + " to confirm.");
    assertThat(current("0")).isEqualTo(Cursor.ofOffset(1));
  }

  @Test
  void resetWithoutPartitionForgetsEveryPartitionOfTheJob() {
    state.commit("nightly", "0", Cursor.ofOffset(1)).commit("nightly", "1", Cursor.ofOffset(5));

    CliRun run =
        waymark("checkpoint", "reset", "--state", state.dir(), "--job", "nightly", "--yes");

    assertThat(run.exitCode()).as(run.toString()).isZero();
    assertThat(run.out())
        .contains("Reset job 'nightly' partition '0' (was sequence 1 at {\"offset\":1})")
        .contains("Reset job 'nightly' partition '1' (was sequence 1 at {\"offset\":5})");
    var reader = FileCheckpointStore.reader(dir, "nightly");
    assertThat(reader.read("0")).isEmpty();
    assertThat(reader.read("1")).isEmpty();
  }

  @Test
  void resetOfOnePartitionLeavesTheOthers() {
    state.commit("nightly", "0", Cursor.ofOffset(1)).commit("nightly", "1", Cursor.ofOffset(5));

    CliRun run =
        waymark(
            "checkpoint",
            "reset",
            "--state",
            state.dir(),
            "--job",
            "nightly",
            "--partition",
            "1",
            "--yes",
            "--json");

    assertThat(run.exitCode()).isZero();
    assertThat(list(run.json().get("reset")))
        .singleElement()
        .satisfies(
            e ->
                assertThat(e)
                    .containsEntry("partition", "1")
                    .containsEntry("previous_sequence", 1L));
    assertThat(current("0")).isEqualTo(Cursor.ofOffset(1));
    assertThat(FileCheckpointStore.reader(dir, "nightly").read("1")).isEmpty();
  }

  @Test
  void aResetPartitionShowsAsNeverCommitted() {
    state.commit("nightly", "0", Cursor.ofOffset(1));
    waymark("checkpoint", "reset", "--state", state.dir(), "--job", "nightly", "--yes");

    CliRun text = waymark("checkpoint", "status", "--state", state.dir());
    CliRun json = waymark("checkpoint", "status", "--state", state.dir(), "--json");

    assertThat(text.exitCode()).isZero();
    assertThat(text.out()).containsPattern("nightly +0 +never committed");
    assertThat(list(json.json().get("partitions")).get(0))
        .containsEntry("status", "never_committed")
        .containsEntry("sequence", dev.waymark.checkpoint.internal.Json.NULL);
  }

  @Test
  void writeVerbsRefuseAPartitionThatDoesNotExist() {
    state.commit("nightly", "0", Cursor.ofOffset(1));

    CliRun reset =
        waymark(
            "checkpoint",
            "reset",
            "--state",
            state.dir(),
            "--job",
            "nightly",
            "--partition",
            "9",
            "--yes");
    CliRun migrate =
        waymark(
            "checkpoint",
            "migrate",
            "--state",
            state.dir(),
            "--job",
            "nightly",
            "--partition",
            "9");

    assertThat(reset.exitCode()).isEqualTo(1);
    assertThat(reset.err())
        .isEqualTo(
            "waymark: Job 'nightly' has no partition '9'; its partitions are [0]. Nothing was reset.\n");
    assertThat(migrate.exitCode()).isEqualTo(1);
    assertThat(migrate.err()).contains("has no partition '9'").contains("Nothing was migrated.");
  }

  @Test
  void writeVerbsRefuseAJobThatDoesNotExistInsteadOfCreatingIt() {
    state.commit("nightly", "0", Cursor.ofOffset(1));

    CliRun run = waymark("checkpoint", "reset", "--state", state.dir(), "--job", "nighty", "--yes");

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.err()).contains("No job 'nighty'").contains("[nightly]");
    assertThat(dir.resolve("nighty")).doesNotExist();
  }

  @Test
  void migrateRewritesALegacyFileFoundInPlaceAndReportsIt() throws Exception {
    state.commit("nightly", "0", Cursor.ofOffset(1)).commit("nightly", "1", Cursor.ofOffset(1));
    Path file = state.checkpoint("nightly", "0");
    Files.writeString(file, "{\"last_file\":\"skus_00009.json\",\"last_file_idx\":9}\n");
    assertThat(waymark("checkpoint", "status", "--state", state.dir()).exitCode()).isEqualTo(4);

    CliRun run = waymark("checkpoint", "migrate", "--state", state.dir(), "--job", "nightly");

    assertThat(run.exitCode()).as(run.toString()).isZero();
    assertThat(run.out())
        .contains(
            "partition '0': migrated from format v0 to v1 as sequence 2; the original is kept at "
                + dir.resolve("nightly/partitions/0/history/00000000000000000002.pre-migration-v0"))
        .contains("partition '1': already format v1; nothing to do")
        .contains("Migrated 1 of 2 partitions of job 'nightly'.");
    assertThat(current("0")).isEqualTo(Cursor.ofFile("skus_00009.json", 10));
    assertThat(waymark("checkpoint", "status", "--state", state.dir()).exitCode()).isZero();
  }

  @Test
  void migrateJsonReportsEachPartition() throws Exception {
    state.commit("nightly", "0", Cursor.ofOffset(1));
    Files.writeString(
        state.checkpoint("nightly", "0"), "{\"last_file\":\"a.json\",\"last_file_idx\":0}\n");

    CliRun run =
        waymark("checkpoint", "migrate", "--state", state.dir(), "--job", "nightly", "--json");

    assertThat(run.exitCode()).isZero();
    Map<String, Object> p0 = list(run.json().get("partitions")).get(0);
    assertThat(p0)
        .containsEntry("action", "migrated")
        .containsEntry("from_version", 0L)
        .containsEntry("to_version", 1L)
        .containsEntry("sequence", 2L);
    assertThat(map(p0.get("cursor"))).containsEntry("file", "a.json").containsEntry("files", 1L);
  }

  @Test
  void migrateOfATornCheckpointExitsWith4AndStillMigratesTheOthers() throws Exception {
    state.commit("nightly", "0", Cursor.ofOffset(1)).commit("nightly", "1", Cursor.ofOffset(1));
    Path torn = state.truncate("nightly", "0");
    Files.writeString(
        state.checkpoint("nightly", "1"), "{\"last_file\":\"a.json\",\"last_file_idx\":0}\n");

    CliRun run = waymark("checkpoint", "migrate", "--state", state.dir(), "--job", "nightly");

    assertThat(run.exitCode()).isEqualTo(4);
    assertThat(run.out())
        .contains("partition '0': FAILED (see below)")
        .contains("partition '1': migrated");
    assertThat(run.err()).startsWith("waymark: Checkpoint " + torn + " is invalid");
  }

  @Test
  void importLegacyImportsTheChaptersCheckpointFile() throws Exception {
    // Exactly what the chapter's write_checkpoint produces: json.dump(sort_keys, compact), no
    // newline.
    Path legacy =
        Files.writeString(
            dir.resolve("skus.ckpt.json"),
            "{\"last_file\":\"skus_08216.json\",\"last_file_idx\":8216}");
    Path stateDir = dir.resolve("state");

    CliRun run =
        waymark(
            "checkpoint",
            "import-legacy",
            legacy.toString(),
            "--state",
            stateDir.toString(),
            "--job",
            "skus");

    assertThat(run.exitCode()).as(run.toString()).isZero();
    assertThat(run.out())
        .startsWith(
            "Imported "
                + legacy
                + " into job 'skus' partition '0' as sequence 1: cursor"
                + " {\"file\":\"skus_08216.json\",\"files\":8217}")
        .contains(
            "The original is kept at "
                + stateDir.resolve(
                    "skus/partitions/0/history/00000000000000000001.pre-migration-v0"));
    assertThat(
            IngestTarget.position(
                FileCheckpointStore.reader(stateDir, "skus").read().orElseThrow().cursor()))
        .isEqualTo(Cursor.ofFile("skus_08216.json", 8217));
    assertThat(Files.readString(legacy))
        .isEqualTo("{\"last_file\":\"skus_08216.json\",\"last_file_idx\":8216}");
  }

  @Test
  void importLegacyRefusesAPartitionOutsideTheJobsRecordedLayout() throws Exception {
    Path stateDir = dir.resolve("state");
    try (FileCheckpointStore store = FileCheckpointStore.open(stateDir, "skus")) {
      store.recordLayout(new dev.waymark.checkpoint.PartitionLayout(3, "crc32c-utf8-mod"));
    }
    Path legacy =
        Files.writeString(
            dir.resolve("skus.ckpt.json"), "{\"last_file\":\"a.json\",\"last_file_idx\":0}");

    CliRun outside =
        waymark(
            "checkpoint",
            "import-legacy",
            legacy.toString(),
            "--state",
            stateDir.toString(),
            "--job",
            "skus",
            "--partition",
            "7");
    CliRun inside =
        waymark(
            "checkpoint",
            "import-legacy",
            legacy.toString(),
            "--state",
            stateDir.toString(),
            "--job",
            "skus",
            "--partition",
            "2");

    assertThat(outside.exitCode()).as(outside.toString()).isEqualTo(1);
    assertThat(outside.err())
        .isEqualTo(
            "waymark: Job 'skus' was run with 3 partitions (hash crc32c-utf8-mod), named 0 to 2;"
                + " partition '7' is not one of them, and no run would read a checkpoint there."
                + " Choose one with --partition. Nothing was imported.\n");
    assertThat(stateDir.resolve("skus/partitions/7")).doesNotExist();
    assertThat(inside.exitCode()).as(inside.toString()).isZero();
  }

  @Test
  void importLegacyOfADirectorySaysSo() {
    CliRun run =
        waymark(
            "checkpoint", "import-legacy", dir.toString(), "--state", state.dir(), "--job", "x");

    assertThat(run.exitCode()).as(run.toString()).isEqualTo(5);
    assertThat(run.err())
        .isEqualTo(
            "waymark: Cannot import "
                + dir
                + ": it is a directory; FILE is the legacy checkpoint file itself. Check the FILE"
                + " argument.\n");
  }

  @Test
  void importLegacyRefusesToMoveAnExistingCheckpoint() throws Exception {
    state.commit("nightly", "0", Cursor.ofOffset(1));
    Path legacy =
        Files.writeString(
            dir.resolve("legacy.json"), "{\"last_file\":\"a.json\",\"last_file_idx\":0}");

    CliRun run =
        waymark(
            "checkpoint",
            "import-legacy",
            legacy.toString(),
            "--state",
            state.dir(),
            "--job",
            "nightly");

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.err())
        .contains("already has checkpoint sequence 1")
        .contains("waymark checkpoint reset");
  }

  @Test
  void importLegacyOfAFileThatIsNotLegacyExitsWith5() throws Exception {
    Path bad = Files.writeString(dir.resolve("bad.json"), "{\"position\": 3}");

    CliRun run =
        waymark(
            "checkpoint",
            "import-legacy",
            bad.toString(),
            "--state",
            state.dir(),
            "--job",
            "nightly");

    assertThat(run.exitCode()).isEqualTo(5);
    assertThat(run.err())
        .isEqualTo(
            "waymark: Cannot import "
                + bad
                + ": it is not the chapter's legacy checkpoint (expected {\"last_file\": NAME,"
                + " \"last_file_idx\": N}, found '{\"position\": 3}'). Check the FILE argument.\n");
  }

  @Test
  void importLegacyOfAMissingFileExitsWith5() {
    CliRun run =
        waymark(
            "checkpoint",
            "import-legacy",
            dir.resolve("nope.json").toString(),
            "--state",
            state.dir(),
            "--job",
            "nightly");

    assertThat(run.exitCode()).isEqualTo(5);
    assertThat(run.err()).contains("Cannot import " + dir.resolve("nope.json") + ": no such file");
  }
}
