package dev.waymark.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.waymark.checkpoint.Cursor;
import dev.waymark.cli.IngestTarget.Db;
import dev.waymark.ingest.FeedGenerator;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Issue 3's crash points, for real: {@code waymark ingest} in a child JVM halts at {@code
 * WAYMARK_FAULT=crash-before-commit:N}, {@code crash-after-commit:N} or {@code
 * crash-mid-checkpoint:N}, into SQLite and PostgreSQL, with the file and the db checkpoint store;
 * the same command then runs again without the fault. The table must then equal an uninterrupted
 * run's, row for row (key, payload, source file); the rerun must say where it resumed, which is
 * after unit N-1 except when unit N's rows and checkpoint committed together (db store, after
 * commit); the redone unit's files must show that their rows were (file store, after commit or mid
 * checkpoint) or were not (the rest) already in the table.
 */
class IngestCrashPointsIT {
  private static final int FILES = 24;
  private static final int ROWS = 25;
  private static final long SEED = 33;
  private static final Duration TIMEOUT = Duration.ofMinutes(2);

  @TempDir static Path tmp;
  static Path feed;
  private static final Map<Db, Reference> REFERENCES = new EnumMap<>(Db.class);

  /** An uninterrupted run's table and its per-file lines ("n new, d duplicate" by file name). */
  record Reference(SortedMap<String, String> content, Map<String, String> fileLines) {}

  @BeforeAll
  static void generateFeed() {
    feed = tmp.resolve("feed");
    FeedGenerator.generate(feed, FILES, ROWS, SEED);
  }

  static synchronized Reference reference(Db db) throws Exception {
    Reference ref = REFERENCES.get(db);
    if (ref == null) {
      try (IngestTarget target = IngestTarget.fresh(db, tmp)) {
        CliRun run = IngestTarget.runInProcess(target.ingestArgs(feed, "file", "1"));
        assertThat(run.exitCode()).as(run.toString()).isZero();
        ref = new Reference(target.content(), fileLines(run.lines()));
      }
      assertThat(ref.fileLines()).hasSize(FILES);
      REFERENCES.put(db, ref);
    }
    return ref;
  }

  /** "[i/T] NAME: n new, d duplicate" lines as NAME -> "n new, d duplicate". */
  static Map<String, String> fileLines(List<String> lines) {
    Map<String, String> byName = new LinkedHashMap<>();
    for (String line : lines) {
      if (line.startsWith("[")) {
        String rest = line.substring(line.indexOf("] ") + 2);
        int colon = rest.indexOf(": ");
        byName.put(rest.substring(0, colon), rest.substring(colon + 2));
      }
    }
    return byName;
  }

  /** One cell of the matrix: where to crash, in which unit, with how many files per unit. */
  record Case(Db db, String store, String fault, int unit, int filesPerUnit) {
    /** Whether unit N's rows were committed before the crash. */
    boolean rowsCommitted() {
      return fault.equals("crash-after-commit")
          || (fault.equals("crash-mid-checkpoint") && store.equals("file"));
    }

    /** Whether unit N's checkpoint was committed before the crash. */
    boolean checkpointCommitted() {
      return fault.equals("crash-after-commit") && store.equals("db");
    }

    /** Files committed and checkpointed when the crash struck. */
    int filesDone() {
      return filesPerUnit * (checkpointCommitted() ? unit : unit - 1);
    }

    @Override
    public String toString() {
      return db
          + ", "
          + store
          + " store, "
          + fault
          + ":"
          + unit
          + " ("
          + filesPerUnit
          + " file(s) per unit)";
    }
  }

  static Stream<Case> matrix() {
    List<Case> cases = new ArrayList<>();
    int i = 0;
    for (Db db : Db.values()) {
      for (String store : List.of("file", "db")) {
        for (String fault :
            List.of("crash-after-commit", "crash-before-commit", "crash-mid-checkpoint")) {
          int filesPerUnit = i % 2 == 0 ? 1 : 3;
          cases.add(new Case(db, store, fault, 2 + (i * 5) % 6, filesPerUnit));
          i++;
        }
      }
    }
    return cases.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("matrix")
  void resumesAfterTheCrashPointAndConvergesToTheUninterruptedTable(Case c) throws Exception {
    Reference reference = reference(c.db());
    try (IngestTarget target = IngestTarget.fresh(c.db(), tmp)) {
      List<String> args = target.ingestArgs(feed, c.store(), String.valueOf(c.filesPerUnit()));
      Path logs = tmp.resolve("logs");

      IngestChild crashed =
          IngestChild.run(
              logs,
              Map.of("WAYMARK_FAULT", c.fault() + ":" + c.unit()),
              IngestChild.FAST_START,
              TIMEOUT,
              args);

      assertThat(crashed.exitCode())
          .as("the crashed run\n%s", crashed)
          .isEqualTo(IngestChild.KILLED);
      assertThat(crashed.err())
          .contains("WAYMARK_FAULT: halting at " + c.fault().substring(6) + " of unit " + c.unit());
      int printedBeforeCrash = fileLines(crashed.lines()).size();
      assertThat(printedBeforeCrash)
          .as("files reported committed before the crash\n%s", crashed)
          .isEqualTo(c.filesPerUnit() * (c.unit() - 1));

      IngestChild rerun = IngestChild.run(logs, Map.of(), IngestChild.FAST_START, TIMEOUT, args);

      assertThat(rerun.exitCode()).as("the rerun\n%s", rerun).isZero();
      int done = c.filesDone();
      assertThat(rerun.lines().get(0))
          .isEqualTo(
              "resume from file "
                  + (done + 1)
                  + " ("
                  + FeedGenerator.fileName(done)
                  + "), "
                  + FILES
                  + " files in total");
      Map<String, String> redone = fileLines(rerun.lines());
      assertThat(redone).hasSize(FILES - done);
      for (int f = done; f < FILES; f++) {
        String name = FeedGenerator.fileName(f);
        String expected = reference.fileLines().get(name);
        if (c.rowsCommitted() && f < c.filesPerUnit() * c.unit()) {
          // Every row of the redone unit is already in the table: all count as duplicates.
          String[] parts = expected.split("[ ,]+");
          long all = Long.parseLong(parts[0]) + Long.parseLong(parts[2]);
          expected = "0 new, " + all + " duplicate";
        }
        assertThat(redone.get(name)).as("file %s after the resume", name).isEqualTo(expected);
      }
      assertThat(target.content()).isEqualTo(reference.content());
      assertThat(IngestTarget.position(target.checkpoint(c.store()).orElseThrow().cursor()))
          .isEqualTo(Cursor.ofFile(FeedGenerator.fileName(FILES - 1), FILES));
    }
  }
}
