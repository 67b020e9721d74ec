package dev.waymark.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.file.AtomicFileWriter;
import dev.waymark.checkpoint.file.FileCheckpointStore;
import dev.waymark.cli.IngestTarget.Db;
import dev.waymark.ingest.FeedGenerator;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The machine misbehaving under {@code waymark ingest}, with real parts: a state directory or
 * database on a tmpfs that fills up mid-run, a read-only mount, permissions that deny (a child
 * without root's override), another process holding SQLite's lock, and an input file truncated or
 * deleted while it is read. Each fault strikes at an exact instant: the child stops at {@code
 * WAYMARK_FAULT=pause-before-commit:N} (unit N written, not committed; the reader thread blocked
 * ahead in the next files), the test does its damage, then resumes it.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class IngestFaultsIT {
  private static final Duration TIMEOUT = Duration.ofMinutes(2);

  @TempDir Path tmp;
  private Path feed;
  private SortedMap<String, String> reference;

  @BeforeEach
  void uninterruptedReference() throws Exception {
    feed = tmp.resolve("feed");
    FeedGenerator.generate(feed, 20, 20, 11);
    try (IngestTarget target = IngestTarget.fresh(Db.SQLITE, tmp)) {
      CliRun run = IngestTarget.runInProcess(target.ingestArgs(feed, "file", "1"));
      assertThat(run.exitCode()).as(run.toString()).isZero();
      reference = target.content();
    }
  }

  @Test
  void aFullStateDirectoryFailsTheCheckpointCleanlyAndTheRerunConverges() throws Exception {
    try (Mounts.Mount small = Mounts.tmpfs(tmp.resolve("small"), 128);
        IngestTarget target = IngestTarget.fresh(Db.SQLITE, tmp)) {
      Path state = small.dir.resolve("state");
      List<String> args = withState(target.ingestArgs(feed, "file", "1"), state);

      IngestChild child = pausedAt(5, List.of(), args);
      Path filler = Mounts.fill(small.dir, "filler");
      System.out.printf(
          "filled the %d KiB tmpfs at %s (filler %d bytes) with unit 5 written, not committed%n",
          128, small.dir, Files.size(filler));
      child.resume();
      int code = child.exitCode();

      assertThat(code).as(child.toString()).isEqualTo(1);
      assertThat(afterPause(child))
          .startsWith(
              "waymark: Commit of job 'it' partition '0' sequence 5 failed while writing "
                  + state.resolve("it/partitions/0/checkpoint"))
          .contains("No space left on device")
          .contains("The previous checkpoint is still in place")
          .doesNotContain("\tat ");
      System.out.print("the job said: " + afterPause(child));
      assertThat(child.out()).doesNotContain("retrying");
      assertThat(IngestTarget.position(checkpoint(state).cursor()))
          .isEqualTo(Cursor.ofFile(FeedGenerator.fileName(3), 4));
      assertThat(tempFiles(state)).as("temp files left in the state directory").isEmpty();

      CliRun stillFull = IngestTarget.runInProcess(args);
      assertThat(stillFull.exitCode()).as(stillFull.toString()).isEqualTo(1);
      assertThat(stillFull.err())
          .startsWith("waymark: Cannot write " + state.resolve("it/epoch"))
          .contains("No space left on device")
          .contains("Check that the state directory is writable and not full.");
      assertThat(stillFull.out()).as("a run refused at open reads no file").isEmpty();
      System.out.print("while still full: " + stillFull.err());
      assertThat(IngestTarget.position(checkpoint(state).cursor()))
          .isEqualTo(Cursor.ofFile(FeedGenerator.fileName(3), 4));

      Files.delete(filler);
      CliRun rerun = IngestTarget.runInProcess(args);

      assertThat(rerun.exitCode()).as(rerun.toString()).isZero();
      assertThat(rerun.lines().get(0))
          .isEqualTo("resume from file 5 (skus_00004.json), 20 files in total");
      assertThat(rerun.lines().get(1)).startsWith("[5/20] skus_00004.json: 0 new, ");
      assertThat(target.content()).isEqualTo(reference);
      assertThat(IngestTarget.position(checkpoint(state).cursor()))
          .isEqualTo(Cursor.ofFile(FeedGenerator.fileName(19), 20));
    }
  }

  @Test
  void aFullDatabaseDiskExitsWithTheFixAndTheCheckpointStaysBehind() throws Exception {
    try (Mounts.Mount small = Mounts.tmpfs(tmp.resolve("dbdisk"), 1024)) {
      IngestTarget target =
          IngestTarget.at(Db.SQLITE, "jdbc:sqlite:" + small.dir.resolve("w.db"), tmp);
      List<String> args = target.ingestArgs(feed, "file", "1");

      IngestChild child = pausedAt(5, List.of(), args);
      Path filler = Mounts.fill(small.dir, "filler");
      child.resume();
      int code = child.exitCode();

      assertThat(code).as(child.toString()).isEqualTo(1);
      assertThat(afterPause(child))
          .startsWith("waymark: Database error on " + target.url + ": [SQLITE_FULL]")
          .contains(
              "To fix: free space on the file system holding the database and its -wal file."
                  + " The checkpoint was not moved past the last unit whose checkpoint was written")
          .doesNotContain("\tat ");
      System.out.print("the job said: " + afterPause(child));
      assertThat(IngestTarget.position(target.fileCheckpoint().orElseThrow().cursor()))
          .isEqualTo(Cursor.ofFile(FeedGenerator.fileName(3), 4));

      Files.delete(filler);
      CliRun rerun = IngestTarget.runInProcess(args);

      assertThat(rerun.exitCode()).as(rerun.toString()).isZero();
      assertThat(rerun.lines().get(0))
          .isEqualTo("resume from file 5 (skus_00004.json), 20 files in total");
      assertThat(target.content()).isEqualTo(reference);
    }
  }

  @Test
  void aReadOnlyStateDirectoryIsRefusedNamingThePath() throws Exception {
    try (IngestTarget target = IngestTarget.fresh(Db.SQLITE, tmp)) {
      Path half = tmp.resolve("half");
      copyFiles(feed, half, 0, 10);
      CliRun first = IngestTarget.runInProcess(target.ingestArgs(half, "file", "1"));
      assertThat(first.exitCode()).as(first.toString()).isZero();
      Checkpoint before = target.fileCheckpoint().orElseThrow();
      long rows = target.count("SELECT COUNT(*) FROM " + IngestTarget.TABLE);
      copyFiles(feed, half, 10, 20);

      CliRun refused;
      Path readOnly = tmp.resolve("ro-state");
      try (Mounts.Mount ro = Mounts.readOnlyBind(target.state, readOnly)) {
        refused =
            IngestTarget.runInProcess(withState(target.ingestArgs(half, "file", "1"), ro.dir));
      }

      assertThat(refused.exitCode()).as(refused.toString()).isEqualTo(1);
      assertThat(refused.err())
          .startsWith("waymark: Cannot open or lock " + readOnly.resolve("it/waymark.lock"))
          .contains("Read-only file system")
          .contains("writable");
      System.out.print("the job said: " + refused.err());
      assertThat(target.fileCheckpoint().orElseThrow()).isEqualTo(before);
      assertThat(target.count("SELECT COUNT(*) FROM " + IngestTarget.TABLE)).isEqualTo(rows);

      CliRun rerun = IngestTarget.runInProcess(target.ingestArgs(half, "file", "1"));
      assertThat(rerun.exitCode()).as(rerun.toString()).isZero();
      assertThat(target.content()).isEqualTo(reference);
    }
  }

  @Test
  void anUnreadableInputFileStopsTheRunNamingItWithoutRetrying() throws Exception {
    List<String> noOverride = Mounts.withoutPermissionOverride();
    try (IngestTarget target = IngestTarget.fresh(Db.SQLITE, tmp)) {
      Path locked = feed.resolve(FeedGenerator.fileName(6));
      Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("---------"));
      List<String> args = target.ingestArgs(feed, "file", "1");

      IngestChild child = runWithout(noOverride, args);

      assertThat(child.exitCode()).as(child.toString()).isEqualTo(1);
      assertThat(child.err())
          .startsWith("waymark: cannot open input file " + locked + ": Permission denied.")
          .contains("To fix: give the user running waymark access to it.")
          .contains(
              "The checkpoint was not moved past the last unit whose checkpoint was written;"
                  + " rows of the failed unit (with the file store, also of the unit before it)"
                  + " may already be in the table and are skipped as"
                  + " duplicates on the rerun. Run the same command again afterwards.");
      System.out.print("the job said: " + child.err());
      assertThat(child.out()).doesNotContain("retrying");
      assertThat(IngestTarget.position(target.fileCheckpoint().orElseThrow().cursor()))
          .isEqualTo(Cursor.ofFile(FeedGenerator.fileName(5), 6));
      assertThat(
              target.count(
                  "SELECT COUNT(*) FROM "
                      + IngestTarget.TABLE
                      + " WHERE source_file > 'skus_00005.json'"))
          .isZero();

      Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("rw-r--r--"));
      CliRun rerun = IngestTarget.runInProcess(args);
      assertThat(rerun.exitCode()).as(rerun.toString()).isZero();
      assertThat(target.content()).isEqualTo(reference);
    }
  }

  @Test
  void aStateDirectoryWithoutWritePermissionIsRefusedNamingThePath() throws Exception {
    List<String> noOverride = Mounts.withoutPermissionOverride();
    try (IngestTarget target = IngestTarget.fresh(Db.SQLITE, tmp)) {
      Files.createDirectories(target.state);
      Files.setPosixFilePermissions(target.state, PosixFilePermissions.fromString("r-xr-xr-x"));
      List<String> args = target.ingestArgs(feed, "file", "1");

      IngestChild child = runWithout(noOverride, args);

      assertThat(child.exitCode()).as(child.toString()).isEqualTo(1);
      assertThat(child.err())
          .startsWith("waymark: Cannot create directory " + target.state.resolve("it"))
          .contains("AccessDeniedException")
          .contains("writable by this user");
      System.out.print("the job said: " + child.err());
      assertThat(target.tableExists()).as("table created by a refused run").isFalse();

      Files.setPosixFilePermissions(target.state, PosixFilePermissions.fromString("rwxr-xr-x"));
      CliRun rerun = IngestTarget.runInProcess(args);
      assertThat(rerun.exitCode()).as(rerun.toString()).isZero();
      assertThat(target.content()).isEqualTo(reference);
    }
  }

  @Test
  void aDatabaseLockedByAnotherProcessIsWaitedForAndRetried() throws Exception {
    try (IngestTarget target = IngestTarget.fresh(Db.SQLITE, tmp)) {
      Path half = tmp.resolve("half");
      copyFiles(feed, half, 0, 10);
      CliRun first = IngestTarget.runInProcess(target.ingestArgs(half, "file", "1"));
      assertThat(first.exitCode()).as(first.toString()).isZero();
      copyFiles(feed, half, 10, 20);

      IngestChild child;
      // This JVM is the other process: it holds the write lock across the child's first attempt
      // (busy_timeout is 10 s), then lets go.
      try (Connection holder = DriverManager.getConnection(target.url);
          Statement s = holder.createStatement()) {
        s.execute("BEGIN EXCLUSIVE");
        child =
            IngestChild.start(
                tmp.resolve("logs"),
                Map.of(),
                IngestChild.FAST_START,
                target.ingestArgs(half, "file", "1"));
        while (!child.out().contains("retrying") && !child.exitsWithin(Duration.ofMillis(200))) {
          // hold the lock until the child has given up waiting once
        }
        s.execute("COMMIT");
      }
      int code = child.exitCode();

      assertThat(code).as(child.toString()).isZero();
      assertThat(child.out())
          .containsPattern("waymark: attempt 1 of 8 failed \\(\\[SQLITE_BUSY\\].*\\); retrying");
      child.lines().stream().filter(l -> l.contains("retrying")).forEach(System.out::println);
      assertThat(target.content()).isEqualTo(reference);
    }
  }

  @Test
  void aFileTruncatedWhileReadIsRefusedAndNothingFromItIsCommitted() throws Exception {
    Path big = withBigFile();
    try (IngestTarget target = IngestTarget.fresh(Db.SQLITE, tmp)) {
      SortedMap<String, String> full = referenceWithBigFile();
      Path saved = tmp.resolve("saved.json");
      Files.copy(big, saved);
      List<String> args = target.ingestArgs(feed, "file", "1");

      IngestChild child = pausedAt(1, IngestChild.FAST_START, args);
      awaitReading(child, big);
      long size = Files.size(big);
      try (RandomAccessFile f = new RandomAccessFile(big.toFile(), "rw")) {
        f.setLength(size * 3 / 4); // far past what the blocked reader has read
      }
      child.resume();
      int code = child.exitCode();

      assertThat(code).as(child.toString()).isEqualTo(5);
      assertThat(afterPause(child))
          .startsWith("waymark: Bad input in " + big + " at byte " + size * 3 / 4)
          .contains(
              "the file ends at byte "
                  + size * 3 / 4
                  + " but was "
                  + size
                  + " bytes long when it was opened: it was truncated while being read");
      System.out.print("the job said: " + afterPause(child));
      assertThat(IngestTarget.position(target.fileCheckpoint().orElseThrow().cursor()))
          .isEqualTo(Cursor.ofFile(FeedGenerator.fileName(0), 1));
      assertThat(
              target.count(
                  "SELECT COUNT(*) FROM "
                      + IngestTarget.TABLE
                      + " WHERE source_file <> 'skus_00000.json'"))
          .as("rows committed from the truncated file or later ones")
          .isZero();

      Files.copy(saved, big, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      CliRun rerun = IngestTarget.runInProcess(args);
      assertThat(rerun.exitCode()).as(rerun.toString()).isZero();
      assertThat(target.content()).isEqualTo(full);
    }
  }

  @Test
  void aFileDeletedWhileReadIsLoadedWholeAndTheNextRunNoticesTheGap() throws Exception {
    Path big = withBigFile();
    try (IngestTarget target = IngestTarget.fresh(Db.SQLITE, tmp)) {
      SortedMap<String, String> full = referenceWithBigFile();
      List<String> args = target.ingestArgs(feed, "file", "1");

      IngestChild child = pausedAt(1, IngestChild.FAST_START, args);
      awaitReading(child, big);
      Files.delete(big);
      child.resume();
      int code = child.exitCode();

      // The open descriptor still reads the whole, unchanged file: a consistent snapshot.
      assertThat(code).as(child.toString()).isZero();
      assertThat(target.content()).isEqualTo(full);

      CliRun next = IngestTarget.runInProcess(args);
      assertThat(next.exitCode()).as(next.toString()).isEqualTo(1);
      assertThat(next.err())
          .contains("1 file(s) sorting at or before skus_00019.json were deleted")
          .contains("--rescan");
    }
  }

  // ------------------------------------------------------------------------------- helpers

  /** Starts the ingest in a child that pauses before committing unit {@code unit}. */
  private IngestChild pausedAt(int unit, List<String> jvm, List<String> args) throws Exception {
    IngestChild child =
        IngestChild.start(
            tmp.resolve("logs"), Map.of("WAYMARK_FAULT", "pause-before-commit:" + unit), jvm, args);
    child.awaitPause(TIMEOUT);
    return child;
  }

  /**
   * Replaces the feed's second file by a 60,000-record one, larger than the reader's read-ahead (8
   * chunks of 2,000 records and 64 KiB of buffer), so that a reader paused in it has read less than
   * half of it.
   */
  private Path withBigFile() throws IOException {
    Path bigFeed = tmp.resolve("big");
    FeedGenerator.generate(bigFeed, 1, 40_000, 99);
    Path big = feed.resolve(FeedGenerator.fileName(1));
    Files.move(
        bigFeed.resolve(FeedGenerator.fileName(0)),
        big,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    return big;
  }

  private SortedMap<String, String> referenceWithBigFile() throws Exception {
    try (IngestTarget ref = IngestTarget.fresh(Db.SQLITE, tmp)) {
      CliRun run = IngestTarget.runInProcess(ref.ingestArgs(feed, "file", "1"));
      assertThat(run.exitCode()).as(run.toString()).isZero();
      return ref.content();
    }
  }

  /**
   * Waits until the child's reader thread has opened {@code file} and read from it (its
   * descriptor's position, in {@code /proc/PID/fdinfo}, is past 0): the length it checks against
   * was taken at open, before the first read.
   */
  private static void awaitReading(IngestChild child, Path file) throws Exception {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    Path fds = Path.of("/proc", String.valueOf(child.pid()), "fd");
    while (true) {
      try (Stream<Path> open = Files.list(fds)) {
        for (Path fd : open.toList()) {
          try {
            if (Files.readSymbolicLink(fd).equals(file)) {
              Path info = fds.resolveSibling("fdinfo").resolve(fd.getFileName());
              String pos = Files.readAllLines(info).get(0).replaceAll("\\D", "");
              if (Long.parseLong(pos) > 0) {
                return;
              }
            }
          } catch (IOException closedMeanwhile) {
            // the descriptor went away while listed
          }
        }
      }
      assertThat(System.nanoTime()).as("the reader never read %s", file).isLessThan(deadline);
      Thread.sleep(20);
    }
  }

  /** What the child printed on stderr after its pause line. */
  private static String afterPause(IngestChild child) {
    return child.err().replaceFirst("\\AWAYMARK_FAULT: paused [^\n]*\n", "");
  }

  /** Runs the ingest to its end in a child under {@code wrapper}. */
  private IngestChild runWithout(List<String> wrapper, List<String> args) throws Exception {
    IngestChild child =
        IngestChild.start(tmp.resolve("logs"), Map.of(), wrapper, IngestChild.FAST_START, args);
    child.exitCode();
    return child;
  }

  private static List<String> withState(List<String> args, Path state) {
    List<String> out = new ArrayList<>(args);
    out.set(out.indexOf("--state") + 1, state.toString());
    return out;
  }

  private static Checkpoint checkpoint(Path state) {
    return FileCheckpointStore.reader(state, IngestTarget.JOB).read().orElseThrow();
  }

  private static List<Path> tempFiles(Path dir) throws IOException {
    try (Stream<Path> all = Files.walk(dir)) {
      return all.filter(p -> AtomicFileWriter.isTempFile(p.getFileName().toString())).toList();
    }
  }

  private static void copyFiles(Path from, Path to, int start, int end) throws IOException {
    Files.createDirectories(to);
    for (int i = start; i < end; i++) {
      Files.copy(from.resolve(FeedGenerator.fileName(i)), to.resolve(FeedGenerator.fileName(i)));
    }
  }
}
