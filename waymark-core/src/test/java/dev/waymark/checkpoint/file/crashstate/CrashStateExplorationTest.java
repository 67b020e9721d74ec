package dev.waymark.checkpoint.file.crashstate;

import static dev.waymark.checkpoint.file.crashstate.CrashStateExplorer.P;
import static org.assertj.core.api.Assertions.assertThat;

import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.Retention;
import dev.waymark.checkpoint.file.crashstate.CrashStateExplorer.Report;
import dev.waymark.checkpoint.file.crashstate.CrashStateExplorer.Scenario;
import dev.waymark.checkpoint.file.crashstate.CrashStateExplorer.Violation;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Crash-state exploration of the checkpoint write, in the spirit of ALICE (OSDI'14) and CrashMonkey
 * (OSDI'18): for each store operation, every state a crash could leave under {@link
 * CrashStateModel}'s persistence model is built as real files and checked with the real store by
 * {@link CrashStateExplorer}. Each scenario prints one summary line (operations, crash points,
 * states); RELIABILITY.md holds the table.
 *
 * <p>Deliberately broken writers ({@link BrokenWriters}) show that the checker can fail: an
 * in-place write is caught with an empty or torn checkpoint, a rename without its directory {@code
 * fsync} with a commit lost after it returned, and the history link synced after the rename (the
 * order this checker found in {@code AtomicFileWriter}) with a checkpoint that history lacks.
 */
class CrashStateExplorationTest {
  private static final byte[] LEGACY_IN_PLACE =
      "{\"last_file\":\"skus_00009.json\",\"last_file_idx\":9}\n".getBytes(StandardCharsets.UTF_8);
  private static final byte[] LEGACY_TO_IMPORT =
      "{\"last_file\": \"skus_08216.json\", \"last_file_idx\": 8216}"
          .getBytes(StandardCharsets.UTF_8);

  @TempDir Path work;

  static Stream<Scenario> storeOperations() {
    return Stream.of(
        firstCommit(),
        laterCommit(Retention.ofDefaults()),
        new Scenario(
            "commit with history pruning (keepLast 2)",
            Retention.builder().keepLast(2).build(),
            s -> commits(s, 1, 2, 3),
            s -> s.commit(P, Cursor.ofOffset(4))),
        laterCommit(Retention.builder().keepLast(0).build()),
        new Scenario(
            "rollback to sequence 1",
            Retention.ofDefaults(),
            s -> commits(s, 100, 200, 300),
            s -> s.rollback(P, 1)),
        new Scenario(
            "migrate a legacy (v0) record",
            Retention.ofDefaults(),
            s -> {
              commits(s, 1);
              // Replaced, not rewritten in place: the current file is a hard link to history.
              Files.delete(s.checkpointPath(P));
              Files.write(s.checkpointPath(P), LEGACY_IN_PLACE);
            },
            s -> s.migrate(P).orElseThrow()),
        new Scenario(
            "import-legacy",
            Retention.ofDefaults(),
            s -> {},
            s -> s.importLegacy(P, LEGACY_TO_IMPORT, Path.of("legacy/skus.ckpt.json"))),
        new Scenario("reset", Retention.ofDefaults(), s -> commits(s, 1, 2, 3), s -> s.reset(P)));
  }

  private static Scenario firstCommit() {
    return new Scenario(
        "first commit",
        Retention.ofDefaults(),
        s -> {},
        s -> s.commit(P, Cursor.ofFile("skus_00001.json", 1)));
  }

  private static Scenario laterCommit(Retention retention) {
    return new Scenario(
        "later commit (" + retention + ")",
        retention,
        s -> commits(s, 1, 2),
        s -> s.commit(P, Cursor.ofOffset(3)));
  }

  private static void commits(dev.waymark.checkpoint.file.FileCheckpointStore s, long... offsets) {
    for (long offset : offsets) {
      s.commit(P, Cursor.ofOffset(offset));
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("storeOperations")
  void everyCrashStateReadsAsTheOldOrTheNewCheckpointAndNeedsNoRepair(Scenario scenario)
      throws Exception {
    Report report = CrashStateExplorer.explore(scenario, work);
    System.out.println(report.summary());

    assertThat(report.before())
        .as("the operation changes the partition")
        .isNotEqualTo(report.after());
    assertThat(report.distinctStates())
        .as(report.details())
        .isGreaterThan(report.crashPoints() / 2);
    assertThat(report.violations()).as(report.details()).isEmpty();
  }

  static Stream<Scenario> inPlaceWrites() {
    return Stream.of(firstCommit(), laterCommit(Retention.builder().keepLast(0).build()))
        .map(s -> s.through("written in place", BrokenWriters.InPlace::new));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("inPlaceWrites")
  void anInPlaceWriteIsCaughtLeavingAnEmptyOrTornCheckpoint(Scenario scenario) throws Exception {
    Report report = CrashStateExplorer.explore(scenario, work);
    System.out.println(report.summary());

    assertThat(report.violations())
        .as(report.details())
        .anySatisfy(v -> assertThat(v.problem()).contains("reads as an error").contains("is empty"))
        .anySatisfy(
            v -> assertThat(v.problem()).contains("reads as an error").contains("cut short"));
  }

  @Test
  void aRenameWithoutItsDirectoryFsyncIsCaughtLosingACommitThatHadReturned() throws Exception {
    Report report =
        CrashStateExplorer.explore(
            laterCommit(Retention.ofDefaults())
                .through("without directory fsync", BrokenWriters.NoDirectoryFsync::new),
            work);
    System.out.println(report.summary());

    assertThat(report.violations())
        .as(report.details())
        .filteredOn(Violation::afterReturn)
        .anySatisfy(
            v ->
                assertThat(v.problem())
                    .startsWith(
                        "reads as " + report.before() + ", but the operation had returned"));
  }

  /** Regression: the order of the history link's fsync that this checker found and fixed. */
  @Test
  void aHistoryLinkMadeDurableOnlyAfterTheRenameIsCaughtLeavingHistoryWithoutTheCheckpoint()
      throws Exception {
    Report report =
        CrashStateExplorer.explore(
            laterCommit(Retention.ofDefaults())
                .through(
                    "history link synced after the rename",
                    BrokenWriters.LinkSyncedAfterRename::new),
            work);
    System.out.println(report.summary());

    assertThat(report.violations())
        .as(report.details())
        .isNotEmpty()
        .allSatisfy(
            v ->
                assertThat(v.problem())
                    .contains("the audit asks for a repair")
                    .contains(
                        "the current checkpoint is sequence 3 but the newest kept version is sequence 2"));
  }
}
