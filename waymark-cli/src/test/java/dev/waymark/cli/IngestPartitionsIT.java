package dev.waymark.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.CheckpointReader;
import dev.waymark.checkpoint.PartitionLayout;
import dev.waymark.checkpoint.file.FileCheckpointStore;
import dev.waymark.checkpoint.jdbc.ConnectionSource;
import dev.waymark.checkpoint.jdbc.JdbcCheckpointStore;
import dev.waymark.cli.IngestTarget.Db;
import dev.waymark.ingest.DedupKey;
import dev.waymark.ingest.FeedGenerator;
import dev.waymark.ingest.FileListing;
import dev.waymark.ingest.IngestOptions;
import dev.waymark.ingest.Partitioning;
import dev.waymark.ingest.source.Format;
import dev.waymark.ingest.source.RecordSource;
import dev.waymark.ingest.source.SourceRecord;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code waymark ingest --partitions 4 --workers 2} in a real child JVM: SIGKILLed at random
 * instants and started again until it completes (SQLite with the file store, PostgreSQL with the db
 * store), and halted in the middle of a {@code --rescan} into a new layout. Each ends with the
 * table holding exactly the records of an uninterrupted one-partition run and every partition's
 * checkpoint at the end of its sub-listing.
 *
 * <p>System properties: {@code waymark.partitionkill.seed} (printed) and {@code
 * waymark.partitionkill.kills} (default 24).
 */
class IngestPartitionsIT {
  private static final long SEED = Long.getLong("waymark.partitionkill.seed", 20261127L);
  private static final int KILLS = Integer.getInteger("waymark.partitionkill.kills", 24);
  private static final int FILES = 80;
  private static final int ROWS = 30;
  private static final int P = 4;
  private static final Pattern FILE_LINE =
      Pattern.compile("\\[p([0-9]+) ([0-9]+)/([0-9]+)\\] (\\S+): ([0-9]+) new, ([0-9]+) duplicate");
  private static final Pattern RESUME =
      Pattern.compile(
          "resume ([0-9]+) of "
              + P
              + " partitions, ([0-9]+) of "
              + FILES
              + " files committed, "
              + FILES
              + " files in total");

  @TempDir Path tmp;

  @Test
  @Timeout(value = 12, unit = TimeUnit.MINUTES)
  void killedPartitionedRunsConvergeToTheOnePartitionTable() throws Exception {
    System.out.printf(
        "Partition kill test: seed %d (-Dwaymark.partitionkill.seed), %d kills%n", SEED, KILLS);
    Random random = new Random(SEED);
    Path feed = tmp.resolve("feed");
    FeedGenerator.generate(feed, FILES, ROWS, SEED);
    List<String[]> configs =
        List.of(new String[] {"SQLITE", "file"}, new String[] {"POSTGRES", "db"});
    int kills = 0, campaigns = 0;
    int[] runs = {0};
    long started = System.nanoTime();
    int quota = (KILLS + configs.size() - 1) / configs.size();
    for (int c = 0; kills < KILLS; c++) {
      String[] config = configs.get(c % configs.size());
      int killed = campaign(Db.valueOf(config[0]), config[1], feed, random, quota, runs);
      System.out.printf("  %s/%s: %d kills, then completed%n", config[0], config[1], killed);
      kills += killed;
      campaigns++;
    }
    System.out.printf(
        "Partition kill test: %d kills, %d runs, %d campaigns in %.1f s (seed %d)%n",
        kills, runs[0], campaigns, (System.nanoTime() - started) / 1e9, SEED);
    assertThat(kills).isGreaterThanOrEqualTo(KILLS);
  }

  /** Kills one configuration up to {@code quota} times, then lets it complete; returns kills. */
  private int campaign(Db db, String store, Path feed, Random random, int quota, int[] runs)
      throws Exception {
    Map<String, Set<String>> occurrences = occurrences(feed);
    SortedMap<String, String> reference;
    try (IngestTarget t = IngestTarget.fresh(db, tmp)) {
      CliRun run = IngestTarget.runInProcess(t.ingestArgs(feed, store, "1"));
      assertThat(run.exitCode()).as(run.toString()).isZero();
      reference = payloads(t.content());
    }
    try (IngestTarget target = IngestTarget.fresh(db, tmp)) {
      List<String> args =
          target.ingestArgs(feed, store, "1", "--partitions", "" + P, "--workers", "2");
      int killed = 0;
      int reported = 0; // files reported committed by the runs so far
      while (true) {
        runs[0]++;
        boolean kill = killed < quota;
        int exit;
        List<String> lines;
        try (IngestChild child =
            IngestChild.start(tmp.resolve("logs"), Map.of(), IngestChild.FAST_START, args)) {
          boolean exited;
          if (!kill) {
            exited = child.exitsWithin(Duration.ofMinutes(3));
          } else if (random.nextDouble() < 0.2) {
            exited = child.exitsWithin(Duration.ofMillis(random.nextInt(1500)));
          } else {
            exited =
                !awaitLine(child, "[p")
                    || child.exitsWithin(Duration.ofMillis(random.nextInt(400)));
          }
          exit = exited ? child.exitCode() : child.kill();
          lines = child.lines();
          if (exited || exit == 0) {
            assertThat(exit).as("a run that was not killed\n%s", child).isZero();
          } else {
            assertThat(exit).isEqualTo(IngestChild.KILLED);
          }
        }
        String where = db + "/" + store + " run " + runs[0] + " (seed " + SEED + "): " + lines;
        if (!lines.isEmpty()) {
          int committed = committedAtStart(lines.get(0), where);
          // Each of the two workers may have committed one unit (one file) it had not reported.
          assertThat(committed).as(where).isBetween(reported, reported + 2);
          int files = 0;
          for (String line : lines) {
            if (line.startsWith("[p")) {
              Matcher m = FILE_LINE.matcher(line);
              assertThat(m.matches()).as("%s; %s", line, where).isTrue();
              assertThat(Partitioning.of(m.group(4), P))
                  .as(line)
                  .isEqualTo(Integer.parseInt(m.group(1)));
              files++;
            }
          }
          reported = committed + files;
        }
        if (exit == 0) {
          assertThat(reported).as(where).isEqualTo(FILES);
          break;
        }
        killed++;
      }
      assertSameRecords(payloads(target.content()), reference, target.content(), occurrences);
      assertEveryPartitionAtItsEnd(target, store, feed, P);
      return killed;
    }
  }

  @ParameterizedTest(name = "{0} with the {1} store")
  @CsvSource({"SQLITE, file", "POSTGRES, db"})
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  void aRescanIntoANewLayoutHaltedHalfwayStillConverges(Db db, String store) throws Exception {
    Path feed = tmp.resolve("feed");
    FeedGenerator.generate(feed, 30, 20, 5);
    try (IngestTarget reference = IngestTarget.fresh(db, tmp);
        IngestTarget target = IngestTarget.fresh(db, tmp)) {
      assertThat(IngestTarget.runInProcess(reference.ingestArgs(feed, store, "1")).exitCode())
          .isZero();
      CliRun four =
          IngestTarget.runInProcess(target.ingestArgs(feed, store, "1", "--partitions", "4"));
      assertThat(four.exitCode()).as(four.toString()).isZero();

      List<String> two = target.ingestArgs(feed, store, "1", "--partitions", "2", "--rescan");
      try (IngestChild halted =
          IngestChild.run(
              tmp.resolve("logs"),
              Map.of("WAYMARK_FAULT", "crash-mid-relayout:2"),
              IngestChild.FAST_START,
              Duration.ofMinutes(2),
              two)) {
        assertThat(halted.exitCode()).as(halted.toString()).isEqualTo(IngestChild.KILLED);
        assertThat(halted.err()).contains("WAYMARK_FAULT: halting at mid-relayout");
      }
      assertThat(layout(target, store))
          .as("the new layout is recorded only after every old checkpoint is gone")
          .contains(new PartitionLayout(4, Partitioning.HASH));
      assertThat(checkpoints(target, store, 4).stream().filter(Optional::isPresent).count())
          .as("old partitions still holding a checkpoint")
          .isEqualTo(2);

      CliRun refused =
          IngestTarget.runInProcess(target.ingestArgs(feed, store, "1", "--partitions", "2"));
      assertThat(refused.exitCode()).as(refused.toString()).isEqualTo(2);
      assertThat(refused.err())
          .contains("was run with 4 partitions (hash crc32c-utf8-mod), as recorded in ")
          .contains("--partitions 2 --rescan");

      CliRun rescan = IngestTarget.runInProcess(two);
      assertThat(rescan.exitCode()).as(rescan.toString()).isZero();
      assertThat(layout(target, store)).contains(new PartitionLayout(2, Partitioning.HASH));
      assertSameRecords(
          payloads(target.content()),
          payloads(reference.content()),
          target.content(),
          occurrences(feed));
      assertEveryPartitionAtItsEnd(target, store, feed, 2);
      List<Optional<Checkpoint>> all = checkpoints(target, store, 4);
      assertThat(all.get(2)).isEmpty();
      assertThat(all.get(3)).isEmpty();
    }
  }

  private static Optional<PartitionLayout> layout(IngestTarget target, String store) {
    if (store.equals("file")) {
      return FileCheckpointStore.reader(target.state, IngestTarget.JOB).layout();
    }
    try (JdbcCheckpointStore.Reader reader =
        JdbcCheckpointStore.reader(ConnectionSource.of(target.url), IngestTarget.JOB)) {
      return reader.layout();
    }
  }

  /** Partitions 0 to {@code partitions - 1}'s checkpoints, read without fencing the job. */
  private static List<Optional<Checkpoint>> checkpoints(
      IngestTarget target, String store, int partitions) {
    List<Optional<Checkpoint>> found = new ArrayList<>();
    if (store.equals("file")) {
      CheckpointReader reader = FileCheckpointStore.reader(target.state, IngestTarget.JOB);
      for (int p = 0; p < partitions; p++) {
        found.add(reader.read(Partitioning.id(p)));
      }
    } else {
      try (JdbcCheckpointStore.Reader reader =
          JdbcCheckpointStore.reader(ConnectionSource.of(target.url), IngestTarget.JOB)) {
        for (int p = 0; p < partitions; p++) {
          found.add(reader.read(Partitioning.id(p)));
        }
      }
    }
    return found;
  }

  /** The number of files committed before a run, from its first line. */
  private static int committedAtStart(String first, String where) {
    if (first.startsWith("starting at the first of ")) {
      assertThat(first).as(where).isEqualTo("starting at the first of " + FILES + " files");
      return 0;
    }
    if (first.startsWith("nothing to do: ")) {
      assertThat(first).as(where).isEqualTo("nothing to do: all " + FILES + " files are committed");
      return FILES;
    }
    Matcher m = RESUME.matcher(first);
    assertThat(m.matches()).as(where).isTrue();
    return Integer.parseInt(m.group(2));
  }

  private static boolean awaitLine(IngestChild child, String prefix) throws InterruptedException {
    while (child.lines().stream().noneMatch(l -> l.startsWith(prefix))) {
      if (child.exitsWithin(Duration.ofMillis(5))) {
        return false;
      }
      assertThat(child.age())
          .as("child printed no line starting with '%s' for a minute", prefix)
          .isLessThan(Duration.ofMinutes(1));
    }
    return true;
  }

  /** Dedup key to payload, from {@link IngestTarget#content()}'s "payload @ file". */
  private static SortedMap<String, String> payloads(SortedMap<String, String> content) {
    SortedMap<String, String> m = new TreeMap<>();
    content.forEach((k, v) -> m.put(k, v.substring(0, v.lastIndexOf(" @ "))));
    return m;
  }

  /**
   * Same keys and payloads; each row's source file holds its record (a record repeated in several
   * files lands from whichever partition commits it first).
   */
  private static void assertSameRecords(
      SortedMap<String, String> payloads,
      SortedMap<String, String> reference,
      SortedMap<String, String> content,
      Map<String, Set<String>> occurrences) {
    assertThat(payloads).isEqualTo(reference);
    content.forEach(
        (key, v) ->
            assertThat(occurrences.get(key)).contains(v.substring(v.lastIndexOf(" @ ") + 3)));
  }

  private static Map<String, Set<String>> occurrences(Path feed) {
    Map<String, Set<String>> files = new HashMap<>();
    FileListing listing = FileListing.of(feed, IngestOptions.DEFAULT_GLOB);
    for (int i = 0; i < listing.size(); i++) {
      try (RecordSource source = RecordSource.open(listing.path(i), Format.JSON_ARRAY)) {
        for (SourceRecord r; (r = source.next()) != null; ) {
          files
              .computeIfAbsent(DedupKey.wholeRecord().keyOf(r), k -> new TreeSet<>())
              .add(listing.name(i));
        }
      }
    }
    return files;
  }

  private static void assertEveryPartitionAtItsEnd(
      IngestTarget target, String store, Path feed, int partitions) {
    FileListing all = FileListing.of(feed, IngestOptions.DEFAULT_GLOB);
    List<Optional<Checkpoint>> found = checkpoints(target, store, partitions);
    for (int p = 0; p < partitions; p++) {
      FileListing mine = all.partition(p, partitions);
      assertThat(found.get(p).orElseThrow().cursor())
          .as("partition %d", p)
          .isEqualTo(mine.cursorAt(mine.size() - 1));
    }
  }
}
