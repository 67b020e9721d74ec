package dev.waymark.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;

import dev.waymark.checkpoint.CheckpointReader;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.file.FileCheckpointStore;
import dev.waymark.cli.IngestTarget.Db;
import dev.waymark.ingest.DedupKey;
import dev.waymark.ingest.FeedGenerator;
import dev.waymark.ingest.FileListing;
import dev.waymark.ingest.IngestOptions;
import dev.waymark.ingest.Partitioning;
import dev.waymark.ingest.source.Format;
import dev.waymark.ingest.source.RecordSource;
import dev.waymark.ingest.source.SourceRecord;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chapter's fourth mistake, one job-wide checkpoint written by parallel workers, is caught by
 * the kill-and-compare check, and the real partitioned ingest passes the same check.
 *
 * <p>Both tests SIGKILL a real child JVM at seeded random instants, run it again to completion and
 * compare the SQLite table with the feed's distinct records ({@link #compare}): every record once,
 * none missing. The feed mixes large and small files (every fourth file has {@value #BIG} records,
 * the others {@value #SMALL}) so that one worker is often still on a large file when the other
 * finishes the small files after it. The broken loader is killed {@value #ATTEMPTS} times (each on
 * a fresh table), and up to {@value #MAX_ATTEMPTS} times until one kill loses a file. System
 * property {@code waymark.mistake.seed} (printed).
 */
class SharedCheckpointMistakeIT {
  private static final long SEED = Long.getLong("waymark.mistake.seed", 20261128L);
  private static final int FILES = 32;
  private static final int BIG = 4000;
  private static final int SMALL = 10;
  private static final int ATTEMPTS = 5;
  private static final int MAX_ATTEMPTS = 15;
  private static final int KILLS = 6;
  private static final int P = 4;

  @TempDir Path tmp;

  @Test
  @Timeout(value = 6, unit = TimeUnit.MINUTES)
  void oneJobWideCheckpointWrittenByTwoWorkersLosesAFileTheCheckFindsIt() throws Exception {
    Path feed = writeFeed(tmp.resolve("feed"));
    Random random = new Random(SEED);
    List<String> divergences = new ArrayList<>();
    int attempt = 1;
    for (; attempt <= ATTEMPTS || (divergences.isEmpty() && attempt <= MAX_ATTEMPTS); attempt++) {
      try (IngestTarget target = IngestTarget.fresh(Db.SQLITE, tmp)) {
        List<String> args =
            List.of(feed.toString(), target.url, target.state.toString(), IngestTarget.JOB);
        int afterFiles = 1 + random.nextInt(FILES / 2);
        int delayMillis = random.nextInt(30);
        try (IngestChild child = startBroken(args)) {
          killAfter(child, "done ", afterFiles, delayMillis);
        }
        try (IngestChild rerun = startBroken(args)) {
          assertThat(rerun.exitsWithin(Duration.ofMinutes(2))).as(rerun.toString()).isTrue();
          assertThat(rerun.exitCode()).as(rerun.toString()).isZero();
          assertThat(rerun.lines()).last().isEqualTo("completed");
        }
        Divergence d = compare(feed, target);
        String line =
            String.format(
                "attempt %d (seed %d, killed %d ms after checkpoint write %d): %s",
                attempt, SEED, delayMillis, afterFiles, d);
        System.out.println("Shared-checkpoint mistake: " + line);
        if (!d.lostFiles.isEmpty()) {
          divergences.add(line);
        }
      }
    }
    System.out.printf(
        "Shared-checkpoint mistake: %d of %d killed runs lost a file (seed %d)%n",
        divergences.size(), attempt - 1, SEED);
    assertThat(divergences)
        .as(
            "the check must find the file a global cursor skipped in at least one of %d kills",
            ATTEMPTS)
        .isNotEmpty();
    assertThat(divergences.get(0)).containsPattern("lost skus_[0-9]{5}\\.json");
  }

  /**
   * The same loss without timing luck: the worker on the first file stalls until the other worker's
   * checkpoints say three files are done, then dies before inserting it (in this JVM: its thread
   * throws). The other worker carries the cursor to the end; the rerun has nothing to do.
   */
  @Test
  @Timeout(value = 2, unit = TimeUnit.MINUTES)
  void aWorkerDyingOnAFileTheCursorHasPassedLosesThatFileForCertain() throws Exception {
    Path feed = writeFeed(tmp.resolve("feed"));
    try (IngestTarget target = IngestTarget.fresh(Db.SQLITE, tmp)) {
      CheckpointReader reader = FileCheckpointStore.reader(target.state, IngestTarget.JOB);
      IntConsumer dieOnTheFirstFile =
          index -> {
            if (index == 0) {
              long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
              while (filesDone(reader) < 3 && System.nanoTime() < deadline) {
                LockSupport.parkNanos(Duration.ofMillis(1).toNanos());
              }
              throw new IllegalStateException(
                  filesDone(reader) >= 3
                      ? "simulated crash on file 0 after the cursor passed it"
                      : "the other worker did not pass file 0 within a minute");
            }
          };
      assertThatThrownBy(
              () ->
                  SharedCheckpointParallelLoader.load(
                      feed, target.url, target.state, IngestTarget.JOB, dieOnTheFirstFile))
          .hasRootCauseMessage("simulated crash on file 0 after the cursor passed it");
      SharedCheckpointParallelLoader.load(
          feed, target.url, target.state, IngestTarget.JOB, index -> {});

      Divergence d = compare(feed, target);
      System.out.println("Shared-checkpoint mistake, forced interleaving: " + d);
      assertThat(d.lostFiles).containsExactly(entry(FeedGenerator.fileName(0), BIG));
      assertThat(d.missingRecords).isEqualTo(BIG);
      assertThat(filesDone(reader)).isEqualTo(FILES);
    }
  }

  private static long filesDone(CheckpointReader reader) {
    return reader.read("0").map(c -> c.cursor().number(Cursor.FILES).orElseThrow()).orElse(0L);
  }

  @Test
  @Timeout(value = 6, unit = TimeUnit.MINUTES)
  void partitionedIngestWithTwoWorkersLosesNothingUnderTheSameCheck() throws Exception {
    Path feed = writeFeed(tmp.resolve("feed"));
    Random random = new Random(SEED);
    try (IngestTarget target = IngestTarget.fresh(Db.SQLITE, tmp)) {
      List<String> args =
          target.ingestArgs(feed, "file", "1", "--partitions", "" + P, "--workers", "2");
      int kills = 0;
      for (int k = 1; k <= KILLS; k++) {
        try (IngestChild child =
            IngestChild.start(tmp.resolve("logs"), Map.of(), IngestChild.FAST_START, args)) {
          if (!killAfter(child, "[p", 1 + random.nextInt(FILES / KILLS), random.nextInt(30))) {
            break; // it completed before the kill
          }
          kills++;
        }
      }
      try (IngestChild rerun =
          IngestChild.run(
              tmp.resolve("logs"), Map.of(), IngestChild.FAST_START, Duration.ofMinutes(2), args)) {
        assertThat(rerun.exitCode()).as(rerun.toString()).isZero();
      }
      Divergence d = compare(feed, target);
      System.out.printf(
          "Partitioned ingest, %d partitions, 2 workers: %d kills (seed %d): %s%n",
          P, kills, SEED, d);
      assertThat(kills).isPositive();
      assertThat(d.lostFiles).isEmpty();
      assertThat(d.missingRecords).isZero();
      assertEveryPartitionAtItsEnd(target, feed);
    }
  }

  private IngestChild startBroken(List<String> args) throws IOException {
    return IngestChild.start(
        tmp.resolve("logs"),
        Map.of(),
        List.of(),
        IngestChild.FAST_START,
        SharedCheckpointParallelLoader.class,
        args);
  }

  /**
   * Waits until {@code child} printed {@code lines} lines starting with {@code prefix}, then {@code
   * delayMillis} more, and kills it with SIGKILL; returns false if it exited (with 0) first.
   */
  private static boolean killAfter(IngestChild child, String prefix, int lines, int delayMillis)
      throws InterruptedException {
    while (child.lines().stream().filter(l -> l.startsWith(prefix)).count() < lines) {
      if (child.exitsWithin(Duration.ofMillis(2))) {
        assertThat(child.exitCode()).as(child.toString()).isZero();
        return false;
      }
      assertThat(child.age())
          .as("the child printed fewer than %d '%s' lines in two minutes: %s", lines, prefix, child)
          .isLessThan(Duration.ofMinutes(2));
    }
    LockSupport.parkNanos(Duration.ofMillis(delayMillis).toNanos());
    int exit = child.kill();
    assertThat(exit).as(child.toString()).isIn(0, IngestChild.KILLED);
    return exit == IngestChild.KILLED;
  }

  /**
   * {@code FILES} files named as {@link FeedGenerator} names them; every fourth holds {@value #BIG}
   * records, the others {@value #SMALL}; every record is distinct.
   */
  private static Path writeFeed(Path dir) throws IOException {
    Files.createDirectories(dir);
    for (int f = 0; f < FILES; f++) {
      StringBuilder json = new StringBuilder("[\n");
      int n = f % 4 == 0 ? BIG : SMALL;
      for (int r = 0; r < n; r++) {
        json.append(
            String.format(
                "{\"sku\":\"F%03d-%05d\",\"file\":%d,\"row\":%d,\"title\":\"item %d of file %d\","
                    + "\"price\":%d.%02d}%s%n",
                f, r, f, r, r, f, r % 1000, r % 100, r == n - 1 ? "" : ","));
      }
      Files.writeString(dir.resolve(FeedGenerator.fileName(f)), json.append("]\n"));
    }
    return dir;
  }

  /**
   * What the table lacks compared with the feed's distinct records. {@link IngestTarget#content()}
   * already fails if a record is in the table twice; every row must be a record of its source file.
   *
   * @param lostFiles files none of whose records reached the table, with their record counts
   */
  record Divergence(
      int expected, int rows, int missingRecords, SortedMap<String, Integer> lostFiles) {
    @Override
    public String toString() {
      StringBuilder s =
          new StringBuilder(
              String.format(
                  "%d distinct records, %d rows, %d missing, none twice",
                  expected, rows, missingRecords));
      lostFiles.forEach((f, n) -> s.append(String.format("; lost %s (%d records)", f, n)));
      return s.toString();
    }
  }

  static Divergence compare(Path feed, IngestTarget target) throws SQLException {
    Map<String, Set<String>> occurrences = new HashMap<>(); // dedup key -> files holding it
    Map<String, Integer> perFile = new TreeMap<>();
    FileListing listing = FileListing.of(feed, IngestOptions.DEFAULT_GLOB);
    for (int i = 0; i < listing.size(); i++) {
      try (RecordSource source = RecordSource.open(listing.path(i), Format.JSON_ARRAY)) {
        for (SourceRecord r; (r = source.next()) != null; ) {
          occurrences
              .computeIfAbsent(DedupKey.wholeRecord().keyOf(r), k -> new TreeSet<>())
              .add(listing.name(i));
          perFile.merge(listing.name(i), 1, Integer::sum);
        }
      }
    }
    SortedMap<String, String> content = target.content();
    content.forEach(
        (key, v) ->
            assertThat(occurrences.get(key))
                .as("row %s: a record of its source file", v)
                .contains(v.substring(v.lastIndexOf(" @ ") + 3)));
    Map<String, Integer> missingPerFile = new HashMap<>();
    int missing = 0;
    for (Map.Entry<String, Set<String>> e : occurrences.entrySet()) {
      if (!content.containsKey(e.getKey())) {
        missing++;
        e.getValue().forEach(f -> missingPerFile.merge(f, 1, Integer::sum));
      }
    }
    SortedMap<String, Integer> lost = new TreeMap<>();
    missingPerFile.forEach(
        (f, n) -> {
          if (n.equals(perFile.get(f))) {
            lost.put(f, n);
          }
        });
    return new Divergence(occurrences.size(), content.size(), missing, lost);
  }

  private static void assertEveryPartitionAtItsEnd(IngestTarget target, Path feed) {
    FileListing all = FileListing.of(feed, IngestOptions.DEFAULT_GLOB);
    CheckpointReader reader = FileCheckpointStore.reader(target.state, IngestTarget.JOB);
    for (int p = 0; p < P; p++) {
      FileListing mine = all.partition(p, P);
      assertThat(reader.read(Partitioning.id(p)).orElseThrow().cursor())
          .as("partition %d", p)
          .isEqualTo(mine.cursorAt(mine.size() - 1));
    }
  }
}
