package dev.waymark.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.waymark.checkpoint.Cursor;
import dev.waymark.cli.IngestTarget.Db;
import dev.waymark.ingest.FeedGenerator;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code waymark ingest} in a real child JVM, SIGKILLed at random instants and started again until
 * it completes, in four campaigns: SQLite and PostgreSQL, each with the file and the db checkpoint
 * store. Every restart must resume right after the last file the killed run reported, or one unit
 * later (committed and checkpointed but not yet reported); the first file it redoes must be all new
 * or, with the file store only, all duplicate (its rows committed, its checkpoint not), and so may
 * the second if the first was (the file store's checkpoint is written beside the next unit, so it
 * trails the data by up to one unit): a unit is never half there. Each campaign ends with the table
 * equal to an uninterrupted run's, row for row.
 *
 * <p>System properties: {@code waymark.ingestkill.seed} (printed by each run) and {@code
 * waymark.ingestkill.kills} (default 32). Replay: {@code mvn -B verify -pl waymark-cli -am
 * -Dit.test=IngestKillIT -Dsurefire.failIfNoSpecifiedTests=false -Dwaymark.ingestkill.seed=SEED}.
 */
class IngestKillIT {
  private static final long SEED = Long.getLong("waymark.ingestkill.seed", 20261126L);
  private static final int KILLS = Integer.getInteger("waymark.ingestkill.kills", 32);
  private static final int FILES = 100;
  private static final int ROWS = 30;
  // When a kill strikes: from launch (JVM start, opening), after the run's first line (opening the
  // database, the first unit), or after its first committed file (mid-run, any step of a unit).
  private static final double EARLY_SHARE = 0.15;
  private static final double AFTER_START_SHARE = 0.25;
  private static final Duration MAX_EARLY = Duration.ofMillis(1500);
  private static final Duration MAX_AFTER_START = Duration.ofMillis(300);
  private static final Duration MAX_MID_RUN = Duration.ofMillis(200);

  @TempDir Path tmp;

  /** One configuration killed until it completes. */
  record Config(Db db, String store) {
    @Override
    public String toString() {
      return db + "/" + store;
    }
  }

  /** One kill: where the killed run was, and what the next run found. */
  record Kill(Config config, boolean early, int linesBefore, int filesBefore, String found) {
    String where() {
      return linesBefore == 0
          ? "before its first line (JVM start, opening)"
          : filesBefore == 0 ? "after its first line, before a file" : "after >= 1 file committed";
    }
  }

  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void everyKilledIngestResumesWhereItStoppedAndConvergesToTheUninterruptedTable()
      throws Exception {
    System.out.printf(
        "Ingest kill test: seed %d (-Dwaymark.ingestkill.seed), %d kills"
            + " (-Dwaymark.ingestkill.kills)%n",
        SEED, KILLS);
    Random random = new Random(SEED);
    Path feed = tmp.resolve("feed");
    FeedGenerator.generate(feed, FILES, ROWS, SEED);
    Map<Db, Map<String, String>> referenceLines = new EnumMap<>(Db.class);
    Map<Db, SortedMap<String, String>> referenceContent = new EnumMap<>(Db.class);
    for (Db db : Db.values()) {
      try (IngestTarget t = IngestTarget.fresh(db, tmp)) {
        CliRun run = IngestTarget.runInProcess(t.ingestArgs(feed, "file", "1"));
        assertThat(run.exitCode()).as(run.toString()).isZero();
        referenceLines.put(db, IngestCrashPointsIT.fileLines(run.lines()));
        referenceContent.put(db, t.content());
      }
    }
    List<Config> configs =
        List.of(
            new Config(Db.SQLITE, "file"),
            new Config(Db.POSTGRES, "db"),
            new Config(Db.SQLITE, "db"),
            new Config(Db.POSTGRES, "file"));
    int quota = (KILLS + configs.size() - 1) / configs.size();
    long started = System.nanoTime();
    List<Kill> kills = new ArrayList<>();
    int campaigns = 0, runs = 0;
    for (int c = 0; kills.size() < KILLS; c++) {
      Config config = configs.get(c % configs.size());
      int before = kills.size();
      runs += campaign(config, feed, random, quota, referenceLines, referenceContent, kills);
      campaigns++;
      System.out.printf(
          "  campaign %d (%s): %d kills, then completed%n",
          campaigns, config, kills.size() - before);
    }
    Duration took = Duration.ofNanos(System.nanoTime() - started);

    System.out.println(report(kills, campaigns, runs, took));
    assertThat(kills).hasSizeGreaterThanOrEqualTo(KILLS);
    assertThat(kills)
        .as("kills after the child had committed files (seed %d)", SEED)
        .filteredOn(k -> k.filesBefore() > 0)
        .hasSizeGreaterThanOrEqualTo(KILLS / 3);
  }

  /** Kills one configuration until {@code quota} kills, then lets it complete; returns runs. */
  private int campaign(
      Config config,
      Path feed,
      Random random,
      int quota,
      Map<Db, Map<String, String>> referenceLines,
      Map<Db, SortedMap<String, String>> referenceContent,
      List<Kill> kills)
      throws Exception {
    int runs = 0, killed = 0;
    try (IngestTarget target = IngestTarget.fresh(config.db(), tmp)) {
      List<String> args = target.ingestArgs(feed, config.store(), "1");
      Map<String, String> reference = referenceLines.get(config.db());
      int reported = 0; // files reported committed by all runs so far
      Kill pending = null; // the last kill, until the next run says what it left
      while (true) {
        runs++;
        boolean kill = killed < quota;
        double instant = random.nextDouble();
        boolean early = kill && instant < EARLY_SHARE;
        int exit;
        List<String> lines;
        try (IngestChild child =
            IngestChild.start(tmp.resolve("logs"), Map.of(), IngestChild.FAST_START, args)) {
          boolean exited;
          if (!kill) {
            exited = child.exitsWithin(Duration.ofMinutes(2));
          } else if (early) {
            exited = child.exitsWithin(randomUpTo(random, MAX_EARLY));
          } else if (instant < EARLY_SHARE + AFTER_START_SHARE) {
            exited =
                !awaitLine(child, "") || child.exitsWithin(randomUpTo(random, MAX_AFTER_START));
          } else {
            exited = !awaitLine(child, "[") || child.exitsWithin(randomUpTo(random, MAX_MID_RUN));
          }
          exit = exited ? child.exitCode() : child.kill();
          if (!exited && exit == 0) {
            exited = true; // it finished between the last look and the signal: a completed run
          }
          lines = child.lines();
          if (exited) {
            assertThat(exit).as("a run that was not killed\n%s", child).isZero();
          } else {
            assertThat(exit).isEqualTo(IngestChild.KILLED);
          }
        }
        String where = config + " run " + runs + " (seed " + SEED + "): " + lines;
        if (lines.isEmpty()) {
          assertThat(exit).as(where).isEqualTo(IngestChild.KILLED);
          // What an earlier kill left is still there for the next run to find.
          kills.add(new Kill(config, early, 0, 0, "nothing (killed before it said anything)"));
          killed++;
          continue;
        }
        // What this run found where the last one was killed, from its first line and first file.
        {
          int next = resumedAt(lines.get(0), where);
          assertThat(next - 1)
              .as("resumed after the last reported file or one unit later; %s", where)
              .isBetween(reported, reported + 1);
          String found = next - 1 > reported ? "one committed file not yet reported" : "";
          List<String> files = lines.stream().filter(l -> l.startsWith("[")).toList();
          boolean redoneBefore = false; // the files before this one were all duplicates
          for (int i = 0; i < files.size(); i++) {
            String expectedPrefix = "[" + (next + i) + "/" + FILES + "] ";
            assertThat(files.get(i)).as(where).startsWith(expectedPrefix);
            String name = FeedGenerator.fileName(next - 1 + i);
            String got = files.get(i).substring(expectedPrefix.length() + name.length() + 2);
            String expected = reference.get(name);
            String[] p = expected.split("[ ,]+");
            String allDuplicate =
                "0 new, " + (Long.parseLong(p[0]) + Long.parseLong(p[2])) + " duplicate";
            if ((i == 0 || i == 1 && redoneBefore)
                && got.equals(allDuplicate)
                && config.store().equals("file")) {
              // Its rows committed before the kill, its checkpoint did not: all duplicates now.
              if (!got.equals(expected)) {
                found =
                    i == 0
                        ? "rows of the next unit committed, its checkpoint not"
                        : "rows of the next two units committed, their checkpoints not";
              }
              expected = allDuplicate;
              redoneBefore = true;
            } else {
              redoneBefore = false;
            }
            assertThat(got).as("file %s; %s", name, where).isEqualTo(expected);
          }
          reported = next - 1 + files.size();
          if (pending != null) {
            kills.add(
                new Kill(
                    pending.config(),
                    pending.early(),
                    pending.linesBefore(),
                    pending.filesBefore(),
                    found.isEmpty() ? "resumed right after the last reported file" : found));
            pending = null;
          }
        }
        if (exit == 0) {
          assertThat(reported).as(where).isEqualTo(FILES);
          break;
        }
        killed++;
        int files = (int) lines.stream().filter(l -> l.startsWith("[")).count();
        pending = new Kill(config, early, lines.size(), files, "");
      }
      assertThat(target.content())
          .as("%s: the table after %d kills (seed %d)", config, killed, SEED)
          .isEqualTo(referenceContent.get(config.db()));
      assertThat(IngestTarget.position(target.checkpoint(config.store()).orElseThrow().cursor()))
          .isEqualTo(Cursor.ofFile(FeedGenerator.fileName(FILES - 1), FILES));
    }
    return runs;
  }

  /** The next file's number (1-based) from a run's first line. */
  private static int resumedAt(String first, String where) {
    if (first.startsWith("starting at the first of ")) {
      return 1;
    }
    if (first.startsWith("nothing to do: ")) {
      // The killed run had committed every file and was on its way out.
      assertThat(first).as(where).isEqualTo("nothing to do: all " + FILES + " files are committed");
      return FILES + 1;
    }
    assertThat(first).as(where).startsWith("resume from file ");
    int number = Integer.parseInt(first.substring(17, first.indexOf(' ', 17)));
    assertThat(first)
        .as(where)
        .isEqualTo(
            "resume from file "
                + number
                + " ("
                + FeedGenerator.fileName(number - 1)
                + "), "
                + FILES
                + " files in total");
    return number;
  }

  /**
   * Waits until the child printed a line starting with {@code prefix}; false if it exited first.
   */
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

  private static Duration randomUpTo(Random random, Duration max) {
    return Duration.ofMillis(random.nextInt((int) max.toMillis() + 1));
  }

  static String report(List<Kill> kills, int campaigns, int runs, Duration took) {
    StringBuilder out = new StringBuilder();
    out.append(
        String.format(
            "Ingest kill test: %d kills, %d runs, %d campaigns in %.1f s (seed %d)%n",
            kills.size(), runs, campaigns, took.toMillis() / 1000.0, SEED));
    out.append("  by configuration: ")
        .append(countBy(kills, k -> k.config().toString()))
        .append('\n');
    out.append("  where the killed run was: ").append(countBy(kills, Kill::where)).append('\n');
    out.append("  what the next run found: ").append(countBy(kills, Kill::found)).append('\n');
    out.append(
        String.format(
            "  early kills (from launch): %d; files committed by a killed run: max %d%n",
            kills.stream().filter(Kill::early).count(),
            kills.stream().mapToInt(Kill::filesBefore).max().orElse(0)));
    return out.toString();
  }

  private static Map<String, Long> countBy(List<Kill> kills, Function<Kill, String> key) {
    return kills.stream().collect(Collectors.groupingBy(key, TreeMap::new, Collectors.counting()));
  }
}
