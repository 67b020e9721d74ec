package dev.waymark.checkpoint.global;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.waymark.WaymarkException;
import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.CheckpointInvalidException;
import dev.waymark.checkpoint.CheckpointStore;
import dev.waymark.checkpoint.Cursor;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The behaviour every {@link GlobalCheckpointStore} must have; the file store's and the database
 * stores' tests extend it. Each test uses job {@value #JOB} in a fresh location.
 */
public abstract class GlobalCheckpointStoreContractTest {
  protected static final String JOB = "nightly";
  private static final List<String> FOUR = List.of("0", "1", "2", "3");

  private CheckpointStore checkpoints;
  private GlobalCheckpointStore global;

  /** The job's checkpoint store, opened for writing (it holds the job). */
  protected abstract CheckpointStore openCheckpoints();

  /** The job's global checkpoints, opened for writing, keeping {@code keep}. */
  protected abstract GlobalCheckpointStore openGlobal(int keep);

  /** A read-only view, as status and wait use. */
  protected abstract GlobalCheckpointStore reader();

  /** Replaces the stored line of complete global checkpoint {@code n} with {@code change(line)}. */
  protected abstract void tamperComplete(long n, UnaryOperator<String> change) throws Exception;

  /** Closes what the test opened; idempotent, so a subclass may call it before its own cleanup. */
  @AfterEach
  protected void closeStores() {
    if (global != null) {
      global.close();
      global = null;
    }
    if (checkpoints != null) {
      checkpoints.close();
      checkpoints = null;
    }
  }

  private GlobalCheckpointStore global(int keep) {
    if (global != null) {
      global.close();
    }
    global = openGlobal(keep);
    return global;
  }

  private CheckpointStore checkpoints() {
    if (checkpoints == null) {
      checkpoints = openCheckpoints();
    }
    return checkpoints;
  }

  /** Issues a barrier, marks the partitions at their committed positions, completes it. */
  private GlobalCheckpoint checkpointAll(GlobalCheckpointStore g, List<String> partitions) {
    long n = g.issueBarrier();
    for (String p : partitions) {
      g.mark(n, PartitionMark.of(p, checkpoints().read(p)));
    }
    return g.complete(n, partitions);
  }

  @Test
  void aCompleteCheckpointHoldsEveryPartitionsMarkAndIsTheLast() {
    GlobalCheckpointStore g = global(10);
    Checkpoint c0 = checkpoints().commit("0", Cursor.ofFile("a.json", 1));
    Checkpoint c2 = checkpoints().commit("2", Cursor.ofFile("c.json", 4));

    GlobalCheckpoint complete = checkpointAll(g, List.of("0", "1", "2"));

    assertThat(complete.number()).isEqualTo(1);
    assertThat(complete.cut().keySet()).containsExactly("0", "1", "2");
    assertThat(complete.cut().get("0").cursor()).isEqualTo(c0.cursor());
    assertThat(complete.cut().get("0").sequence()).isEqualTo(c0.sequence());
    assertThat(complete.cut().get("1").position()).isEmpty();
    assertThat(complete.cut().get("2").cursor()).isEqualTo(c2.cursor());
    try (GlobalCheckpointStore r = reader()) {
      assertThat(r.lastComplete()).contains(complete);
      assertThat(r.completeNumbers()).containsExactly(1L);
    }
  }

  @Test
  void refusesToCompleteBeforeEveryPartitionIsMarked() {
    GlobalCheckpointStore g = global(10);
    checkpointAll(g, FOUR);
    long n = g.issueBarrier();
    g.mark(n, PartitionMark.of("0", Optional.empty()));

    assertThatThrownBy(() -> g.complete(n, FOUR))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("global checkpoint 2 cannot complete: partition '1' has no marker");
    assertThat(g.lastComplete().orElseThrow().number()).isEqualTo(1);
  }

  @Test
  void aPartialCheckpointIsNeverUsedIsDroppedOnReopenAndItsNumberIsNotReused() {
    GlobalCheckpointStore g = global(10);
    checkpointAll(g, FOUR);
    long partial = g.issueBarrier();
    for (String p : List.of("0", "1", "2")) { // a crash before partition 3's marker
      g.mark(partial, PartitionMark.of(p, Optional.empty()));
    }

    try (GlobalCheckpointStore r = reader()) {
      assertThat(r.lastComplete().orElseThrow().number()).isEqualTo(1);
    }
    GlobalCheckpointStore reopened = global(10);
    assertThat(reopened.completeNumbers()).containsExactly(1L);
    assertThatThrownBy(() -> reopened.read(partial))
        .hasMessageContaining("Global checkpoint 2 of job 'nightly' cannot be used")
        .hasMessageContaining("available: [1]");
    assertThat(checkpointAll(reopened, FOUR).number()).isEqualTo(3);
  }

  @Test
  void retentionKeepsTheLastKComplete() {
    GlobalCheckpointStore g = global(3);
    for (int i = 0; i < 6; i++) {
      checkpoints().commit("0", Cursor.ofFile("f" + i + ".json", i + 1));
      checkpointAll(g, List.of("0"));
    }

    assertThat(g.completeNumbers()).containsExactly(4L, 5L, 6L);
    assertThatThrownBy(() -> g.read(2))
        .isInstanceOfSatisfying(
            GlobalCheckpointNotAvailableException.class,
            e -> assertThat(e.available()).containsExactly(4L, 5L, 6L))
        .hasMessageContaining("pruned (the last 3 complete ones are kept)")
        .hasMessageContaining("Complete global checkpoints available: [4, 5, 6]");
    assertThatThrownBy(() -> g.read(9)).hasMessageContaining("no barrier with that number");
    assertThat(g.read(5).cut().get("0").cursor()).isEqualTo(Cursor.ofFile("f4.json", 5));
  }

  @Test
  void recordsReplacesAndClearsTheOutcome() {
    GlobalCheckpointStore g = global(10);
    GlobalCheckpoint last = checkpointAll(g, List.of("0"));
    JobOutcome success =
        JobOutcome.succeeded(
            last, Instant.parse("2026-11-26T04:00:00Z"), new JobOutcome.Totals(3, 30, 28, 2));
    g.recordOutcome(success);
    try (GlobalCheckpointStore r = reader()) {
      assertThat(r.outcome()).contains(success);
    }

    JobOutcome failure =
        JobOutcome.failed(JOB, Instant.parse("2026-11-26T05:00:00Z"), "BAD_INPUT", "bad file");
    g.recordOutcome(failure);
    assertThat(g.outcome()).contains(failure);

    g.clearOutcome();
    assertThat(g.outcome()).isEmpty();
  }

  @Test
  void aRollbackOrAResetInvalidatesTheSuccessMarker() {
    GlobalCheckpointStore g = global(10);
    checkpoints().commit("0", Cursor.ofFile("a.json", 1));
    checkpoints().commit("0", Cursor.ofFile("b.json", 2));
    JobOutcome success =
        JobOutcome.succeeded(
            checkpointAll(g, List.of("0")), Instant.now(), new JobOutcome.Totals(2, 2, 2, 0));
    g.recordOutcome(success);

    checkpoints().rollback("0", 1);
    assertThat(g.outcome()).isEmpty();

    g.recordOutcome(success);
    checkpoints().reset("0");
    assertThat(g.outcome()).isEmpty();
  }

  @Test
  void globalRollbackRestoresEveryPartitionsCursorExactly() {
    GlobalCheckpointStore g = global(10);
    for (String p : List.of("0", "1", "2")) {
      checkpoints().commit(p, Cursor.ofFile("p" + p + "_a.json", 1));
    }
    checkpoints().commit("1", Cursor.ofFile("p1_b.json", 2));
    GlobalCheckpoint target = checkpointAll(g, FOUR); // partition 3 had not committed yet
    for (String p : FOUR) {
      checkpoints().commit(p, Cursor.ofFile("p" + p + "_z.json", 9));
    }
    checkpointAll(g, FOUR);
    g.recordOutcome(JobOutcome.succeeded(g.lastComplete().orElseThrow(), Instant.now(), totals()));

    GlobalRollback.Result result = GlobalRollback.run(checkpoints(), g, target.number());

    for (String p : List.of("0", "1", "2")) {
      assertThat(checkpoints().read(p).orElseThrow().cursor())
          .as("partition " + p)
          .isEqualTo(target.cut().get(p).cursor());
    }
    assertThat(checkpoints().read("3")).isEmpty();
    assertThat(result.recorded().number()).isEqualTo(3);
    for (String p : FOUR) {
      assertThat(result.recorded().cut().get(p).position())
          .isEqualTo(target.cut().get(p).position());
    }
    assertThat(g.lastComplete()).contains(result.recorded());
    assertThat(g.outcome()).isEmpty();
  }

  /**
   * A job reset and run again in fewer partitions keeps the old partitions' folders, empty; they
   * hold nothing to roll back, and the rollback into the new layout's cut must not ask to reset
   * them again (which leaves them as they are).
   */
  @Test
  void globalRollbackPassesOverAResetPartitionOutsideTheCutButNotOneThatHoldsACheckpoint() {
    GlobalCheckpointStore g = global(10);
    for (String p : List.of("0", "1", "2")) {
      checkpoints().commit(p, Cursor.ofFile("old" + p + ".json", 1));
    }
    for (String p : List.of("0", "1", "2")) {
      checkpoints().reset(p);
    }
    checkpoints().commit("0", Cursor.ofFile("a.json", 1));
    checkpoints().commit("1", Cursor.ofFile("b.json", 1));
    GlobalCheckpoint target = checkpointAll(g, List.of("0", "1"));
    checkpoints().commit("0", Cursor.ofFile("c.json", 2));

    GlobalRollback.run(checkpoints(), g, target.number());
    assertThat(checkpoints().read("0").orElseThrow().cursor())
        .isEqualTo(Cursor.ofFile("a.json", 1));

    checkpoints().commit("2", Cursor.ofFile("late.json", 1));
    assertThatThrownBy(() -> GlobalRollback.run(checkpoints(), g, target.number()))
        .isInstanceOf(WaymarkException.class)
        .hasMessageContaining("partitions [2] are not in its cut [0, 1]");
  }

  @Test
  void globalRollbackRefusesAnIncompleteNumberListingTheAvailableOnes() {
    GlobalCheckpointStore g = global(10);
    checkpoints().commit("0", Cursor.ofFile("a.json", 1));
    checkpointAll(g, List.of("0"));
    long partial = g.issueBarrier();
    g.mark(partial, PartitionMark.of("0", checkpoints().read("0")));
    checkpoints().commit("0", Cursor.ofFile("b.json", 2));

    assertThatThrownBy(() -> GlobalRollback.run(checkpoints(), g, partial))
        .isInstanceOf(WaymarkException.class)
        .hasMessageContaining(
            "Global checkpoint 2 of job 'nightly' cannot be used: it never completed")
        .hasMessageContaining("available: [1]");
    assertThat(checkpoints().read("0").orElseThrow().cursor())
        .isEqualTo(Cursor.ofFile("b.json", 2));
  }

  @Test
  void aDamagedCompleteRecordIsDetectedNotSkipped() throws Exception {
    GlobalCheckpointStore g = global(10);
    checkpoints().commit("0", Cursor.ofFile("a.json", 1));
    checkpointAll(g, List.of("0"));
    checkpointAll(g, List.of("0"));
    tamperComplete(2, line -> line.replace("a.json", "b.json"));

    try (GlobalCheckpointStore r = reader()) {
      assertThatThrownBy(r::lastComplete)
          .isInstanceOfSatisfying(
              CheckpointInvalidException.class,
              e ->
                  assertThat(e.reason())
                      .isEqualTo(CheckpointInvalidException.Reason.CHECKSUM_MISMATCH))
          .hasMessageContaining("checksum mismatch")
          .hasMessageContaining("fall back to the previous complete global checkpoint");
      assertThat(r.read(1).cut().get("0").cursor()).isEqualTo(Cursor.ofFile("a.json", 1));
    }
  }

  private static JobOutcome.Totals totals() {
    return new JobOutcome.Totals(1, 1, 1, 0);
  }
}
