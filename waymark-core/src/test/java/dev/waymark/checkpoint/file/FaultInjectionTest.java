package dev.waymark.checkpoint.file;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.waymark.WaymarkException;
import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.CheckpointInvalidException;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.Retention;
import dev.waymark.checkpoint.file.FaultInjectingFileSystem.CrashedException;
import dev.waymark.checkpoint.file.FaultInjectingFileSystem.Fault;
import dev.waymark.checkpoint.file.FaultInjectingFileSystem.Op;
import dev.waymark.checkpoint.file.FaultInjectingFileSystem.OpKind;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fails, or crashes, each file-system call that a store operation makes, through the {@link
 * CheckpointFileSystem} seam, and checks what is left.
 *
 * <p>For every scenario (first commit, later commit, commit that prunes history, rollback, migrate,
 * import-legacy) a clean run is recorded first; then the scenario is replayed from scratch once per
 * recorded call, with the fault armed at that call. The named steps of the atomic write (after
 * create, write, force, link, move, directory fsync) are tested by name as well, so that a change
 * in the write's order shows up as a named failure.
 *
 * <ul>
 *   <li>An I/O error: the operation throws a {@link WaymarkException} naming the file; the previous
 *       checkpoint is still read, or the new one if the fault came after the rename; no temp file
 *       remains, without reopening; the same store then commits the right sequence.
 *   <li>A crash: a fresh store opened on the same directory removes the temps and reads the old or
 *       the new checkpoint, never an error; its next commit gets the right sequence.
 * </ul>
 */
class FaultInjectionTest {
  private static final String JOB = "nightly";
  private static final String P = "0";
  private static final Clock CLOCK =
      Clock.fixed(Instant.parse("2026-11-26T03:42:07.118Z"), ZoneOffset.UTC);
  private static final byte[] LEGACY_IN_PLACE =
      "{\"last_file\":\"skus_00009.json\",\"last_file_idx\":9}\n".getBytes(StandardCharsets.UTF_8);
  private static final byte[] LEGACY_TO_IMPORT =
      "{\"last_file\": \"skus_08216.json\", \"last_file_idx\": 8216}"
          .getBytes(StandardCharsets.UTF_8);

  /**
   * Injected pruning failures are logged as warnings by design; a few hundred stack traces help no
   * one.
   */
  private static final java.util.logging.Logger STORE_LOG =
      java.util.logging.Logger.getLogger(FileCheckpointStore.class.getName());

  @TempDir Path root;

  @BeforeAll
  static void quietenTheExpectedWarnings() {
    STORE_LOG.setLevel(java.util.logging.Level.SEVERE);
  }

  @AfterAll
  static void restoreWarnings() {
    STORE_LOG.setLevel(null);
  }

  private final AtomicInteger dirs = new AtomicInteger();
  private final Map<String, Path> templates = new HashMap<>();

  /** A store operation to break, the state it starts from and the checkpoint it should make. */
  record Scenario(
      String name,
      Retention retention,
      Consumer<FileCheckpointStore> setup,
      Function<FileCheckpointStore, Checkpoint> action,
      long newSequence,
      Cursor newCursor,
      boolean oldIsLegacy) {

    FileStoreOptions options(CheckpointFileSystem fs) {
      return FileStoreOptions.builder().fileSystem(fs).clock(CLOCK).retention(retention).build();
    }

    @Override
    public String toString() {
      return name;
    }
  }

  static List<Scenario> scenarios() {
    Retention defaults = Retention.ofDefaults();
    return List.of(
        new Scenario(
            "first commit",
            defaults,
            s -> {},
            s -> s.commit(P, Cursor.ofFile("skus_00001.json", 1)),
            1,
            Cursor.ofFile("skus_00001.json", 1),
            false),
        new Scenario(
            "later commit",
            defaults,
            s -> {
              s.commit(P, Cursor.ofOffset(1));
              s.commit(P, Cursor.ofOffset(2));
            },
            s -> s.commit(P, Cursor.ofOffset(3)),
            3,
            Cursor.ofOffset(3),
            false),
        new Scenario(
            "commit with history pruning",
            Retention.builder().keepLast(2).build(),
            s -> {
              s.commit(P, Cursor.ofOffset(1));
              s.commit(P, Cursor.ofOffset(2));
            },
            s -> s.commit(P, Cursor.ofOffset(3)),
            3,
            Cursor.ofOffset(3),
            false),
        new Scenario(
            "rollback",
            defaults,
            s -> {
              s.commit(P, Cursor.ofOffset(100));
              s.commit(P, Cursor.ofOffset(200));
              s.commit(P, Cursor.ofOffset(300));
            },
            s -> s.rollback(P, 1),
            4,
            Cursor.ofOffset(100),
            false),
        new Scenario(
            "migrate",
            defaults,
            s -> {
              s.commit(P, Cursor.ofOffset(1));
              try {
                // Replaced, not overwritten in place: the current file is a hard link to history.
                Files.delete(s.checkpointPath(P));
                Files.write(s.checkpointPath(P), LEGACY_IN_PLACE);
              } catch (IOException e) {
                throw new UncheckedIOException(e);
              }
            },
            s -> s.migrate(P).orElseThrow(),
            2,
            Cursor.ofFile("skus_00009.json", 10),
            true),
        new Scenario(
            "import-legacy",
            defaults,
            s -> {},
            s -> s.importLegacy(P, LEGACY_TO_IMPORT, Path.of("legacy/skus.ckpt.json")),
            1,
            Cursor.ofFile("skus_08216.json", 8217),
            false));
  }

  /** The faults replayed at each call. */
  enum Injected {
    /** The call fails with an IOException and does nothing. */
    IO_ERROR("I/O error"),
    /** The call does its work, then reports an IOException (a network file system's lost reply). */
    IO_ERROR_AFTER_PERFORMING("I/O error after performing"),
    /** The process dies before the call. */
    CRASH("crash");

    final String label;

    Injected(String label) {
      this.label = label;
    }

    Fault fault() {
      return switch (this) {
        case IO_ERROR -> Fault.ioError();
        case IO_ERROR_AFTER_PERFORMING -> Fault.ioErrorAfterPerforming();
        case CRASH -> Fault.crash();
      };
    }

    /** Whether this fault at a call that only looks (kind, read, list) needs testing. */
    boolean mattersForReadOnlyCalls() {
      return this == IO_ERROR; // a crash or a late error there is the same as at the next change
    }
  }

  /** The steps of the atomic write, each named for what has just happened when the fault fires. */
  enum WriteStep {
    AFTER_CREATE(OpKind.WRITE),
    AFTER_WRITE(OpKind.FORCE),
    AFTER_FORCE(OpKind.CLOSE),
    AFTER_CLOSE(OpKind.LINK),
    AFTER_LINK(OpKind.ATOMIC_MOVE),
    AFTER_MOVE(OpKind.FSYNC_DIRECTORY),
    AFTER_DIRECTORY_FSYNC(null);

    final OpKind firesOn;

    WriteStep(OpKind firesOn) {
      this.firesOn = firesOn;
    }

    /** The 0-based index in {@code trace} of the call this step's fault fires on. */
    int indexIn(List<Op> trace, Path checkpoint) {
      int move = moveIndex(trace, checkpoint);
      if (this == AFTER_DIRECTORY_FSYNC) {
        // The call after the syncs that follow the rename: the target's folder, then history's.
        int next = move + 1;
        while (trace.get(next).kind() == OpKind.FSYNC_DIRECTORY) {
          next++;
        }
        return next;
      }
      int create = move;
      while (trace.get(create).kind() != OpKind.CREATE_EXCLUSIVE) {
        create--;
      }
      for (int i = create; i <= move + 1; i++) {
        if (trace.get(i).kind() == firesOn) {
          return i;
        }
      }
      throw new AssertionError(this + " not found in " + trace);
    }
  }

  // ------------------------------------------------------------------------------------ tests

  @TestFactory
  Stream<DynamicNode> eachNamedStepOfTheWriteLeavesTheOldOrTheNewCheckpoint() {
    List<DynamicNode> nodes = new ArrayList<>();
    for (Scenario sc : scenarios()) {
      Trace trace = record(sc);
      List<DynamicNode> tests = new ArrayList<>();
      for (WriteStep step : WriteStep.values()) {
        int index = step.indexIn(trace.ops, trace.checkpoint);
        for (Injected injected : Injected.values()) {
          String name =
              injected.label
                  + " "
                  + step.name().toLowerCase().replace('_', ' ')
                  + " ("
                  + trace.ops.get(index)
                  + ")";
          tests.add(DynamicTest.dynamicTest(name, () -> replay(sc, trace, index, injected)));
        }
      }
      nodes.add(DynamicContainer.dynamicContainer(sc.name(), tests));
    }
    return nodes.stream();
  }

  /**
   * Every other call of each operation: reads, deletes, directories, marker, pruning. I/O errors at
   * every call; crashes and late errors at every call that changes the disk (at a read they leave
   * what they would leave at the next change).
   */
  @TestFactory
  Stream<DynamicNode> everyOtherCallOfEveryOperationCanFailOrCrash() {
    List<DynamicNode> nodes = new ArrayList<>();
    for (Scenario sc : scenarios()) {
      Trace trace = record(sc);
      Set<Integer> named = new HashSet<>();
      for (WriteStep step : WriteStep.values()) {
        named.add(step.indexIn(trace.ops, trace.checkpoint));
      }
      List<DynamicNode> tests = new ArrayList<>();
      for (int i = 0; i < trace.ops.size(); i++) {
        if (named.contains(i)) {
          continue; // tested by name above
        }
        int index = i;
        for (Injected injected : Injected.values()) {
          if (!trace.ops.get(i).kind().mutates() && !injected.mattersForReadOnlyCalls()) {
            continue;
          }
          String name = injected.label + " at " + trace.ops.get(i);
          tests.add(DynamicTest.dynamicTest(name, () -> replay(sc, trace, index, injected)));
        }
      }
      nodes.add(DynamicContainer.dynamicContainer(sc.name(), tests));
    }
    return nodes.stream();
  }

  @Test
  void theRecordedWriteHasEveryStepOfTheContractInOrder() {
    for (Scenario sc : scenarios()) {
      Trace trace = record(sc);
      int move = moveIndex(trace.ops, trace.checkpoint);
      List<OpKind> write = trace.ops.subList(move - 6, move + 2).stream().map(Op::kind).toList();
      assertThat(write)
          .as(sc.name() + ": " + trace.ops)
          .containsExactly(
              OpKind.CREATE_EXCLUSIVE,
              OpKind.WRITE,
              OpKind.FORCE,
              OpKind.CLOSE,
              OpKind.LINK,
              OpKind.FSYNC_DIRECTORY,
              OpKind.ATOMIC_MOVE,
              OpKind.FSYNC_DIRECTORY);
      Path history = trace.checkpoint.resolveSibling("history");
      assertThat(trace.ops.get(move - 6).path().getParent())
          .isEqualTo(trace.checkpoint.getParent());
      assertThat(trace.ops.get(move - 2).path())
          .isEqualTo(history.resolve(String.format("%020d.ckpt", sc.newSequence())));
      // The link is durable before the rename can be (CrashStateExplorationTest found why).
      assertThat(trace.ops.get(move - 1).path()).isEqualTo(history);
      assertThat(trace.ops.get(move + 1).path()).isEqualTo(trace.checkpoint.getParent());
    }
  }

  /**
   * A reset that crashes part-way must leave the old checkpoint or none: never "the partition
   * committed before but its checkpoint is gone", which would stop the job.
   */
  @TestFactory
  Stream<DynamicTest> aResetThatCrashesAtAnyCallLeavesTheOldCheckpointOrNone() {
    Scenario later = scenarios().get(1);
    Path recorded = newStateDir();
    setUp(later, recorded);
    FaultInjectingFileSystem recorder = fast();
    List<Op> trace;
    try (FileCheckpointStore store =
        FileCheckpointStore.open(recorded, JOB, later.options(recorder))) {
      int base = recorder.steps();
      store.reset(P);
      trace = recorder.operationsAfter(base);
    }
    List<DynamicTest> tests = new ArrayList<>();
    for (int i = 0; i < trace.size(); i++) {
      if (!trace.get(i).kind().mutates()) {
        continue;
      }
      int index = i;
      tests.add(
          DynamicTest.dynamicTest(
              "crash at " + trace.get(i),
              () -> {
                Path state = newStateDir();
                setUp(later, state);
                Optional<Checkpoint> old = FileCheckpointStore.reader(state, JOB).read(P);
                FaultInjectingFileSystem fs = fast();
                FileCheckpointStore store = FileCheckpointStore.open(state, JOB, later.options(fs));
                fs.failAt(fs.steps() + index + 1, Fault.crash());
                assertThatThrownBy(() -> store.reset(P)).isInstanceOf(CrashedException.class);
                store.close();

                try (FileCheckpointStore reopened =
                    FileCheckpointStore.open(state, JOB, later.options(fast()))) {
                  Optional<Checkpoint> now = reopened.read(P);
                  if (now.isPresent()) {
                    assertThat(now).isEqualTo(old);
                    assertThat(reopened.commit(P, Cursor.ofOffset(9)).sequence())
                        .isEqualTo(old.orElseThrow().sequence() + 1);
                  } else {
                    assertThat(reopened.commit(P, Cursor.ofOffset(9)).sequence()).isEqualTo(1);
                  }
                }
              }));
    }
    return tests.stream();
  }

  @Test
  void refusesAFileSystemThatCannotRenameAtomicallyAndLeavesTheTargetUntouched()
      throws IOException {
    Path state = newStateDir();
    FaultInjectingFileSystem fs = FaultInjectingFileSystem.overSystem();
    try (FileCheckpointStore store =
        FileCheckpointStore.open(state, JOB, FileStoreOptions.builder().fileSystem(fs).build())) {
      store.commit(P, Cursor.ofOffset(1));
      Path file = store.checkpointPath(P);
      byte[] before = Files.readAllBytes(file);
      fs.failWhen(
          op -> op.kind() == OpKind.ATOMIC_MOVE,
          Fault.throwing(
              op -> new AtomicMoveNotSupportedException(op.path().toString(), "x", "not here")));

      assertThatThrownBy(() -> store.commit(P, Cursor.ofOffset(2)))
          .isExactlyInstanceOf(WaymarkException.class)
          .hasMessageContaining("The file system holding " + file.getParent())
          .hasMessageContaining("cannot rename a file atomically")
          .hasMessageContaining("refuses to fall back to a non-atomic write")
          .hasMessageContaining("local file system such as ext4")
          .hasCauseInstanceOf(AtomicMoveNotSupportedException.class);

      assertThat(Files.readAllBytes(file)).isEqualTo(before);
      assertThat(store.read(P).orElseThrow().sequence()).isEqualTo(1);
      assertThat(store.history(P)).extracting(Checkpoint::sequence).containsExactly(1L);
      assertNoTempFiles(state);
      assertThat(state.resolve(JOB + "/partitions/0/history/00000000000000000002.ckpt"))
          .doesNotExist();
    }
  }

  @Test
  void aRenameThatHappenedButReportedAnErrorKeepsTheNewCheckpointInHistory() throws IOException {
    Path state = newStateDir();
    FaultInjectingFileSystem fs = fast();
    try (FileCheckpointStore store =
        FileCheckpointStore.open(state, JOB, FileStoreOptions.builder().fileSystem(fs).build())) {
      store.commit(P, Cursor.ofOffset(1));
      fs.failWhen(op -> op.kind() == OpKind.ATOMIC_MOVE, Fault.ioErrorAfterPerforming());

      assertThatThrownBy(() -> store.commit(P, Cursor.ofOffset(2)))
          .isInstanceOf(WaymarkException.class)
          .hasMessageContaining("injected I/O error after performing")
          .hasMessageContaining("The new checkpoint is in place");

      Checkpoint current = store.read(P).orElseThrow();
      assertThat(current.sequence()).isEqualTo(2);
      assertNoTempFiles(state);
      // Regression: the writer deleted the history link of a rename it thought had failed.
      assertThat(store.history(P)).extracting(Checkpoint::sequence).containsExactly(1L, 2L);
      assertThat(store.history(P).get(1)).isEqualTo(current);
      assertThat(store.commit(P, Cursor.ofOffset(3)).sequence()).isEqualTo(3);
    }
  }

  @Test
  void aTransientReadErrorOnTheEpochFileIsNotCalledDamage() throws IOException {
    Path state = newStateDir();
    FaultInjectingFileSystem fs = FaultInjectingFileSystem.overSystem();
    try (FileCheckpointStore store =
        FileCheckpointStore.open(state, JOB, FileStoreOptions.builder().fileSystem(fs).build())) {
      Path epoch = state.resolve(JOB).resolve("epoch");
      fs.failWhen(op -> op.kind() == OpKind.READ && op.path().equals(epoch), Fault.ioError());

      assertThatThrownBy(() -> store.commit(P, Cursor.ofOffset(1)))
          .isInstanceOf(CheckpointInvalidException.class)
          .hasMessageContaining(epoch.toString())
          .hasMessageContaining("cannot be read")
          .hasMessageContaining("injected I/O error")
          .hasMessageNotContaining("damaged")
          .hasMessageNotContaining("Delete");
      // The file is fine: the next attempt, with the error gone, commits.
      assertThat(store.commit(P, Cursor.ofOffset(1)).sequence()).isEqualTo(1);
    }
  }

  @Test
  void theFaultInjectingFileSystemRecordsFailsOnceAndCrashesForGood() throws IOException {
    Path dir = newStateDir();
    FaultInjectingFileSystem fs = FaultInjectingFileSystem.overSystem();
    fs.createDirectory(dir.resolve("a"));
    assertThat(fs.steps()).isEqualTo(1);
    fs.failAt(2, Fault.ioError());
    assertThatThrownBy(() -> fs.list(dir))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("#2 LIST");
    assertThat(fs.list(dir)).hasSize(1); // once only
    fs.failWhen(op -> op.kind() == OpKind.DELETE, Fault.crash());
    assertThatThrownBy(() -> fs.delete(dir.resolve("a"))).isInstanceOf(CrashedException.class);
    assertThat(dir.resolve("a")).isDirectory(); // not performed
    assertThatThrownBy(() -> fs.kind(dir)).isInstanceOf(CrashedException.class);
    assertThat(fs.crashedAt().kind()).isEqualTo(OpKind.DELETE);
    assertThat(fs.operations())
        .extracting(Op::kind)
        .containsExactly(OpKind.CREATE_DIRECTORY, OpKind.LIST, OpKind.LIST, OpKind.DELETE);
  }

  // ------------------------------------------------------------------------------- machinery

  /** A clean run of a scenario: the calls its action makes. */
  record Trace(List<Op> ops, Path state, Path checkpoint) {}

  private Trace record(Scenario sc) {
    Path state = newStateDir();
    setUp(sc, state);
    FaultInjectingFileSystem fs = fast();
    try (FileCheckpointStore store = FileCheckpointStore.open(state, JOB, sc.options(fs))) {
      int base = fs.steps();
      Checkpoint made = sc.action().apply(store);
      assertThat(made.sequence()).as(sc.name()).isEqualTo(sc.newSequence());
      assertThat(made.cursor()).as(sc.name()).isEqualTo(sc.newCursor());
      return new Trace(fs.operationsAfter(base), state, store.checkpointPath(P));
    }
  }

  /**
   * Puts the scenario's starting state in {@code state}: built once per scenario, then copied with
   * its hard links (the current checkpoint is a link to its history entry), which is much faster
   * than opening a store and committing for each of the hundreds of replays.
   */
  private void setUp(Scenario sc, Path state) {
    Path template =
        templates.computeIfAbsent(
            sc.name(),
            name -> {
              Path dir = newStateDir();
              try (FileCheckpointStore store =
                  FileCheckpointStore.open(dir, JOB, sc.options(fast()))) {
                sc.setup().accept(store);
              }
              return dir;
            });
    try {
      copyWithHardLinks(template, state);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void copyWithHardLinks(Path from, Path to) throws IOException {
    Map<Object, Path> copied = new HashMap<>();
    try (Stream<Path> files = Files.walk(from)) {
      for (Path source : files.toList()) {
        Path target = to.resolve(from.relativize(source).toString());
        BasicFileAttributes attrs =
            Files.readAttributes(source, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (attrs.isDirectory()) {
          Files.createDirectories(target);
        } else if (copied.containsKey(attrs.fileKey())) {
          Files.createLink(target, copied.get(attrs.fileKey()));
        } else {
          Files.copy(source, target, StandardCopyOption.COPY_ATTRIBUTES);
          copied.put(attrs.fileKey(), target);
        }
      }
    }
  }

  /** Replays {@code sc} in a fresh directory with a fault at the {@code index}-th call. */
  private void replay(Scenario sc, Trace trace, int index, Injected injected) throws IOException {
    boolean crash = injected == Injected.CRASH;
    Path state = newStateDir();
    setUp(sc, state);
    Path checkpoint = state.resolve(trace.state().relativize(trace.checkpoint()));
    byte[] oldBytes = bytesOrNull(checkpoint);
    Optional<Checkpoint> oldRead =
        sc.oldIsLegacy() ? null : FileCheckpointStore.reader(state, JOB).read(P);
    int move = moveIndex(trace.ops(), trace.checkpoint());
    boolean afterRename =
        injected == Injected.IO_ERROR_AFTER_PERFORMING ? index >= move : index > move;

    FaultInjectingFileSystem fs = fast();
    FileCheckpointStore store = FileCheckpointStore.open(state, JOB, sc.options(fs));
    try {
      int base = fs.steps();
      fs.failAt(base + index + 1, injected.fault());
      Throwable thrown = catchThrowable(() -> sc.action().apply(store));

      assertThat(fs.armed()).as("the fault fired").isFalse();
      Op fired = fs.operations().get(base + index);
      Op expected = trace.ops().get(index);
      assertThat(describe(fired, state))
          .as("the replay makes the same calls as the recorded run")
          .isEqualTo(describe(expected, trace.state()));

      if (crash) {
        assertThat(thrown).isInstanceOf(CrashedException.class);
        store.close(); // the kernel releases a dead process's lock
        try (FileCheckpointStore reopened =
            FileCheckpointStore.open(state, JOB, sc.options(fast()))) {
          assertNoTempFiles(state);
          boolean isNew = assertOldOrNew(sc, reopened, checkpoint, oldBytes, oldRead);
          assertThat(isNew).as("new checkpoint in place after the rename").isEqualTo(afterRename);
          assertNextCommitIsInSequence(sc, reopened, isNew);
        }
      } else {
        boolean expectNew = afterRename;
        if (thrown == null) {
          // Only pruning may fail quietly (the commit is durable; the entry goes next time), and a
          // rollback reads past a current checkpoint it cannot read: that is what rollback is for.
          boolean pruning =
              afterRename && fired.path().startsWith(checkpoint.resolveSibling("history"));
          boolean rollbackPastUnreadable =
              sc.name().equals("rollback")
                  && fired.kind() == OpKind.READ
                  && fired.path().equals(checkpoint);
          assertThat(pruning || rollbackPastUnreadable)
              .as("completed although " + fired + " failed")
              .isTrue();
          expectNew = true;
        } else {
          assertThat(thrown).isInstanceOf(WaymarkException.class);
          assertThat(thrown.getMessage())
              .as("names the file")
              .containsAnyOf(checkpoint.toString(), fired.subject().toString());
          if (afterRename) {
            assertThat(thrown.getMessage())
                .as("says what is in place")
                .contains("The new checkpoint is in place")
                .doesNotContain("previous checkpoint is still in place");
          }
        }
        assertNoTempFiles(state);
        boolean isNew = assertOldOrNew(sc, store, checkpoint, oldBytes, oldRead);
        assertThat(isNew).as("new checkpoint in place after the rename").isEqualTo(expectNew);
        assertNextCommitIsInSequence(sc, store, isNew);
      }
    } finally {
      store.close();
    }
  }

  /** Asserts that the partition holds exactly the old or the new checkpoint; returns which. */
  private static boolean assertOldOrNew(
      Scenario sc,
      FileCheckpointStore store,
      Path checkpoint,
      byte[] oldBytes,
      Optional<Checkpoint> oldRead) {
    if (Arrays.equals(bytesOrNull(checkpoint), oldBytes)) {
      if (sc.oldIsLegacy()) {
        assertThatThrownBy(() -> store.read(P))
            .isInstanceOf(CheckpointInvalidException.class)
            .hasMessageContaining("Convert it in place: waymark checkpoint migrate");
      } else {
        assertThat(store.read(P)).isEqualTo(oldRead);
        assertThat(FileCheckpointStore.reader(store.jobDirectory().getParent(), JOB).read(P))
            .isEqualTo(oldRead);
      }
      return false;
    }
    Checkpoint now = store.read(P).orElseThrow();
    assertThat(now.sequence()).isEqualTo(sc.newSequence());
    assertThat(now.cursor()).isEqualTo(sc.newCursor());
    return true;
  }

  /**
   * Runs the next operation: the scenario's action again if it did not happen, else a plain commit;
   * checks its sequence and that history holds only committed versions.
   */
  private static void assertNextCommitIsInSequence(
      Scenario sc, FileCheckpointStore store, boolean isNew) {
    Checkpoint next;
    if (isNew) {
      next = store.commit(P, Cursor.ofOffset(999));
      assertThat(next.sequence()).as("sequence of the next commit").isEqualTo(sc.newSequence() + 1);
    } else {
      next = sc.action().apply(store);
      assertThat(next.sequence())
          .as("sequence of the retried operation")
          .isEqualTo(sc.newSequence());
      assertThat(next.cursor()).isEqualTo(sc.newCursor());
    }
    assertThat(store.read(P)).contains(next);
    List<Checkpoint> history = store.history(P);
    assertThat(history).isNotEmpty().last().isEqualTo(next);
    assertThat(history.size()).isLessThanOrEqualTo(sc.retention().keepLast());
    for (int i = 1; i < history.size(); i++) {
      assertThat(history.get(i).sequence())
          .as("history is gap-free: " + history)
          .isEqualTo(history.get(i - 1).sequence() + 1);
    }
    FileCheckpointReader reader =
        new FileCheckpointReader(
            new FileLayout(store.jobDirectory().getParent(), JOB), CheckpointFileSystem.system());
    for (long seq : reader.historySequences(P)) {
      assertThat(seq)
          .as("no history entry above the current sequence")
          .isLessThanOrEqualTo(next.sequence());
    }
  }

  static int moveIndex(List<Op> trace, Path checkpoint) {
    for (int i = 0; i < trace.size(); i++) {
      Op op = trace.get(i);
      if (op.kind() == OpKind.ATOMIC_MOVE && op.other().equals(checkpoint)) {
        return i;
      }
    }
    throw new AssertionError("no rename onto " + checkpoint + " in " + trace);
  }

  private static String describe(Op op, Path state) {
    return op.kind() + " " + state.relativize(op.subject());
  }

  static void assertNoTempFiles(Path state) throws IOException {
    try (Stream<Path> files = Files.walk(state)) {
      assertThat(files.map(p -> p.getFileName().toString()))
          .noneMatch(AtomicFileWriter::isTempFile);
    }
  }

  private static byte[] bytesOrNull(Path file) {
    try {
      return Files.isRegularFile(file) ? Files.readAllBytes(file) : null;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * These tests simulate no power loss, so the syncs are recorded but not made: seconds, not a
   * minute.
   */
  private static FaultInjectingFileSystem fast() {
    return FaultInjectingFileSystem.overSystem().skippingSyncs();
  }

  private Path newStateDir() {
    try {
      return Files.createDirectory(root.resolve("s" + dirs.incrementAndGet()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
