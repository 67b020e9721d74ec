package dev.waymark.checkpoint.file.crashstate;

import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.CheckpointInvalidException;
import dev.waymark.checkpoint.CheckpointReader;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.Retention;
import dev.waymark.checkpoint.file.AtomicFileWriter;
import dev.waymark.checkpoint.file.CheckpointFileSystem;
import dev.waymark.checkpoint.file.FaultInjectingFileSystem;
import dev.waymark.checkpoint.file.FileCheckpointStore;
import dev.waymark.checkpoint.file.FileStoreAudit;
import dev.waymark.checkpoint.file.FileStoreOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * Explores every state a crash during one store operation could leave, and checks each with the
 * real store.
 *
 * <ol>
 *   <li><b>Record.</b> A real {@link FileCheckpointStore} on a real directory runs the scenario's
 *       setup, then its operation, through a {@link RecordingFileSystem}; the directory as it stood
 *       before the operation is snapshotted into a {@link CrashStateModel}.
 *   <li><b>Enumerate.</b> The recorded calls are replayed into the model; before the first call and
 *       after each call that can change the disk (a <i>crash point</i>), every state a crash could
 *       leave is enumerated. Identical states are explored once; a state a crash after the
 *       operation returned could leave is held to the stricter invariant.
 *   <li><b>Check.</b> Each distinct state is written as real files into a fresh directory, then:
 *       <ul>
 *         <li>a lock-free reader sees the old checkpoint or the new one, or, once the operation has
 *             returned, the new one only; never an error;
 *         <li>{@link FileCheckpointStore#open} succeeds and leaves no temp file;
 *         <li>every history entry it lists is a version the partition really committed;
 *         <li>an un-migrated record (the old state of a migration) migrates;
 *         <li>{@link FileStoreAudit} finds nothing worse than a warning: nothing a person must
 *             repair;
 *         <li>the next commit succeeds with the next sequence number and reads back.
 *       </ul>
 * </ol>
 *
 * <p>Real: the store's code, the recorded calls (performed on a real disk), the files each state is
 * made of, the reader, store and audit run on them. Simulated: the crash itself, and which of the
 * un-synced data and directory entries it loses ({@link CrashStateModel}). The checks run without
 * {@code fsync} (the follow-up commit's durability is not under test), to keep the run short.
 */
final class CrashStateExplorer {
  private static final String JOB = "nightly";
  static final String P = "0";
  private static final Clock CLOCK =
      Clock.fixed(Instant.parse("2026-11-26T03:42:07.118Z"), ZoneOffset.UTC);
  private static final Cursor NEXT = Cursor.ofOffset(424_242);
  private static final String UNMIGRATED = "an un-migrated record: ";

  /** A step run against the store under test. */
  interface StoreStep {
    void run(FileCheckpointStore store) throws Exception;
  }

  /**
   * An operation to explore, the state it starts from, and the file system its writes go through
   * (the real one, recorded; or a deliberately broken writer over the recorder).
   */
  record Scenario(
      String name,
      Retention retention,
      StoreStep setup,
      StoreStep operation,
      Function<RecordingFileSystem, CheckpointFileSystem> writer) {

    Scenario(String name, Retention retention, StoreStep setup, StoreStep operation) {
      this(name, retention, setup, operation, recorder -> recorder);
    }

    /** The same scenario written through {@code broken} instead. */
    Scenario through(String variant, Function<RecordingFileSystem, CheckpointFileSystem> broken) {
      return new Scenario(name + ", " + variant, retention, setup, operation, broken);
    }

    @Override
    public String toString() {
      return name;
    }
  }

  /** A state that broke an invariant. */
  record Violation(String crashPoint, boolean afterReturn, String state, String problem) {
    @Override
    public String toString() {
      return "crash "
          + crashPoint
          + (afterReturn ? " (operation returned)" : "")
          + ": "
          + problem
          + "\n    state: "
          + state;
    }
  }

  /** What one exploration did and found. */
  record Report(
      String scenario,
      List<FsOp> operations,
      int crashPoints,
      int statesEnumerated,
      int distinctStates,
      int boundedDirectories,
      String before,
      String after,
      List<Violation> violations) {

    long mutatingOperations() {
      return operations.stream().filter(op -> op.kind().mutates()).count();
    }

    /** One line for the test output and RELIABILITY.md. */
    String summary() {
      return String.format(
          "crash states | %s | %d operations (%d changing the disk) | %d crash points"
              + " | %d states enumerated | %d distinct states checked | %d violations%s",
          scenario,
          operations.size(),
          mutatingOperations(),
          crashPoints,
          statesEnumerated,
          distinctStates,
          violations.size(),
          boundedDirectories == 0
              ? ""
              : " | " + boundedDirectories + " directories bounded to prefixes");
    }

    /** The summary, the operation log and the violations, for a failure message. */
    String details() {
      StringBuilder s = new StringBuilder(summary()).append("\nold: ").append(before);
      s.append("\nnew: ").append(after).append("\noperations:");
      for (int i = 0; i < operations.size(); i++) {
        s.append("\n  #").append(i + 1).append(' ').append(operations.get(i));
      }
      violations.stream().limit(10).forEach(v -> s.append("\n").append(v));
      if (violations.size() > 10) {
        s.append("\n... and ").append(violations.size() - 10).append(" more");
      }
      return s.toString();
    }
  }

  /** A distinct state, the first crash point that produced it, and whether the op had returned. */
  private static final class Explored {
    final CrashState state;
    final String crashPoint;
    boolean afterReturn;

    Explored(CrashState state, String crashPoint) {
      this.state = state;
      this.crashPoint = crashPoint;
    }
  }

  private final Scenario scenario;
  private final Path work;
  private final Map<Long, Checkpoint> committed = new HashMap<>();
  private String before;
  private String after;

  private CrashStateExplorer(Scenario scenario, Path work) {
    this.scenario = scenario;
    this.work = work;
  }

  /** Records, enumerates and checks {@code scenario}, using {@code work} as scratch space. */
  static Report explore(Scenario scenario, Path work) throws Exception {
    return new CrashStateExplorer(scenario, work).explore();
  }

  private Report explore() throws Exception {
    Path live = work.resolve("live");
    RecordingFileSystem recorder = new RecordingFileSystem();
    CrashStateModel model;
    List<FsOp> ops;
    try (FileCheckpointStore store =
        FileCheckpointStore.open(live, JOB, options(scenario.writer().apply(recorder)))) {
      scenario.setup().run(store);
      remember(live);
      before = observe(live);
      model = CrashStateModel.snapshot(live);
      int start = recorder.size();
      scenario.operation().run(store);
      ops = recorder.operationsFrom(start);
      remember(live);
      after = observe(live);
    }

    Map<String, Explored> distinct = new LinkedHashMap<>();
    List<Explored> last = enumerate(model, "before the first operation", distinct);
    int enumerated = last.size();
    int crashPoints = 1;
    for (int i = 0; i < ops.size(); i++) {
      FsOp op = ops.get(i);
      model.apply(op);
      if (op.kind().mutates()) {
        last = enumerate(model, "after #" + (i + 1) + " " + op, distinct);
        enumerated += last.size();
        crashPoints++;
      }
    }
    // The states a crash at the end leaves are those a crash after the operation returned leaves.
    last.forEach(e -> e.afterReturn = true);

    List<Violation> violations = new ArrayList<>();
    int n = 0;
    for (Explored e : distinct.values()) {
      Path dir = work.resolve("states").resolve(String.valueOf(++n));
      check(e, dir)
          .ifPresent(
              problem ->
                  violations.add(
                      new Violation(e.crashPoint, e.afterReturn, e.state.describe(), problem)));
      deleteTree(dir);
    }
    return new Report(
        scenario.name(),
        ops,
        crashPoints,
        enumerated,
        distinct.size(),
        model.boundedDirectories(),
        before,
        after,
        violations);
  }

  /** Enumerates the states at this crash point; returns them, adding new ones to distinct. */
  private static List<Explored> enumerate(
      CrashStateModel model, String crashPoint, Map<String, Explored> distinct) {
    List<Explored> here = new ArrayList<>();
    for (CrashState state : model.crashStates()) {
      here.add(distinct.computeIfAbsent(state.key(), k -> new Explored(state, crashPoint)));
    }
    return here;
  }

  private FileStoreOptions options(CheckpointFileSystem fs) {
    return FileStoreOptions.builder()
        .fileSystem(fs)
        .clock(CLOCK)
        .retention(scenario.retention())
        .build();
  }

  /** Adds the live partition's current checkpoint and history to what it is known to have had. */
  private void remember(Path state) {
    CheckpointReader reader = FileCheckpointStore.reader(state, JOB);
    try {
      reader.read(P).ifPresent(c -> committed.put(c.sequence(), c));
    } catch (CheckpointInvalidException e) {
      // An un-migrated record: it has no sequence of its own.
    }
    reader.history(P).forEach(c -> committed.put(c.sequence(), c));
  }

  /** What a lock-free reader makes of the partition, as a label; throws what the reader throws. */
  private static String observe(Path state) throws IOException {
    try {
      return FileCheckpointStore.reader(state, JOB)
          .read(P)
          .map(CrashStateExplorer::label)
          .orElse("no checkpoint");
    } catch (CheckpointInvalidException e) {
      if (e.reason() != CheckpointInvalidException.Reason.NOT_MIGRATED) {
        throw e;
      }
      return UNMIGRATED + new String(Files.readAllBytes(e.path()), StandardCharsets.UTF_8).strip();
    }
  }

  private static String label(Checkpoint c) {
    return "sequence "
        + c.sequence()
        + " at "
        + c.cursor()
        + " (epoch "
        + c.epoch()
        + ", committed "
        + c.committedAt()
        + ")";
  }

  /** The first invariant {@code e}'s state breaks, if any. */
  private Optional<String> check(Explored e, Path dir) throws IOException {
    e.state.materialize(dir);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    String seen;
    try {
      seen = observe(dir);
    } catch (RuntimeException ex) {
      return Optional.of("the checkpoint reads as an error: " + ex.getMessage());
    }
    if (e.afterReturn && !seen.equals(after)) {
      return Optional.of(
          "reads as " + seen + ", but the operation had returned: expected " + after);
    }
    if (!seen.equals(before) && !seen.equals(after)) {
      return Optional.of("reads as " + seen + "; expected " + before + " or " + after);
    }
    FileStoreOptions real =
        FileStoreOptions.builder()
            .fileSystem(FaultInjectingFileSystem.overSystem().skippingSyncs())
            .clock(CLOCK)
            .retention(scenario.retention())
            .build();
    try (FileCheckpointStore store = FileCheckpointStore.open(dir, JOB, real)) {
      List<String> temps = tempFiles(dir);
      if (!temps.isEmpty()) {
        return Optional.of("open left temp files: " + temps);
      }
      for (Checkpoint kept : store.history(P)) {
        if (!kept.equals(committed.get(kept.sequence()))) {
          return Optional.of(
              "history lists "
                  + label(kept)
                  + ", which the partition never committed as sequence "
                  + kept.sequence());
        }
      }
      if (seen.startsWith(UNMIGRATED)) {
        store.migrate(P); // what the user would run next; it must succeed on every such state
      }
      List<String> findings =
          FileStoreAudit.run(dir, JOB).findings().stream()
              .filter(f -> f.severity() != FileStoreAudit.Severity.WARNING)
              .map(f -> f.severity() + " " + f.path().getFileName() + ": " + f.message())
              .toList();
      if (!findings.isEmpty()) {
        return Optional.of("the audit asks for a repair: " + findings);
      }
      long expected = store.read(P).map(c -> c.sequence() + 1).orElse(1L);
      Checkpoint next = store.commit(P, NEXT);
      if (next.sequence() != expected || !store.read(P).equals(Optional.of(next))) {
        return Optional.of(
            "the next commit got sequence " + next.sequence() + ", expected " + expected);
      }
    } catch (RuntimeException ex) {
      return Optional.of("needs a person: " + ex);
    }
    return Optional.empty();
  }

  private static List<String> tempFiles(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      return files
          .filter(p -> AtomicFileWriter.isTempFile(p.getFileName().toString()))
          .map(p -> dir.relativize(p).toString())
          .toList();
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      files
          .sorted(Comparator.reverseOrder())
          .forEach(
              p -> {
                try {
                  Files.delete(p);
                } catch (IOException ex) {
                  throw new UncheckedIOException(ex);
                }
              });
    }
  }
}
