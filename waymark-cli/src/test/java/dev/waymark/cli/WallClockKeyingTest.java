package dev.waymark.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.waymark.ingest.FeedGenerator;
import dev.waymark.ingest.FileListing;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chapter's "wall-clock keying" mistake: resuming with "the files modified since the last run"
 * instead of a source position. A vendor file that arrives late with an older timestamp (copied
 * with {@code cp -p} or {@code rsync -t}), its name sorting before the cursor, is skipped for ever
 * by the broken variant; Waymark stops, names it, and loads it with {@code --rescan}.
 */
class WallClockKeyingTest {
  private static final String LATE = "skus_00002_late.json";
  private static final String TABLE = "skus_staging";

  @TempDir Path tmp;

  @Test
  void aLateFileWithAnOlderTimestampIsSkippedByWallClockKeyingButNotByWaymark() throws Exception {
    Path feed = tmp.resolve("feed");
    FeedGenerator.generate(feed, 6, 20, 7);
    String broken = "jdbc:sqlite:" + tmp.resolve("broken.db");
    String real = "jdbc:sqlite:" + tmp.resolve("real.db");
    String[] ingest = {
      "ingest", "--input", feed.toString(), "--db", real, "--state", tmp.resolve("state").toString()
    };

    // Night 1: both load the whole feed.
    Instant lastRun = ModifiedSinceLastRun.run(feed, broken, Instant.EPOCH);
    assertThat(CliRun.waymark(ingest).exitCode()).isZero();

    // A late file arrives, its name before the cursor, its timestamp before the last run.
    Path late = feed.resolve(LATE);
    Files.writeString(
        late,
        "[{\"sku_id\":\"LATE-1\",\"price\":1},{\"sku_id\":\"LATE-2\",\"price\":2},"
            + "{\"sku_id\":\"LATE-3\",\"price\":3}]",
        StandardCharsets.UTF_8);
    Files.setLastModifiedTime(late, FileTime.from(lastRun.minus(Duration.ofHours(1))));

    // Night 2, the broken variant: nothing modified since the last run, the late file is skipped.
    ModifiedSinceLastRun.run(feed, broken, lastRun);
    assertThat(lateRows(broken)).as("rows of %s loaded by the wall-clock variant", LATE).isZero();

    // Night 2, Waymark: it refuses to resume past the late file, names it and offers --rescan ...
    CliRun refused = CliRun.waymark(ingest);
    assertThat(refused.exitCode()).isEqualTo(ExitCode.FAILURE.code);
    assertThat(refused.err())
        .contains("1 file(s) sorting at or before skus_00005.json arrived after it was committed")
        .contains("Run again with --rescan");
    assertThat(lateRows(real)).isZero();
    // ... which loads it: the same check passes.
    CliRun rescan = CliRun.waymark(append(ingest, "--rescan"));
    assertThat(rescan.exitCode()).as(rescan.toString()).isZero();
    assertThat(lateRows(real)).as("rows of %s loaded by Waymark", LATE).isEqualTo(3);
  }

  private static long lateRows(String db) throws Exception {
    return TortureIT.count(
        db, "SELECT COUNT(*) FROM " + TABLE + " WHERE source_file = '" + LATE + "'");
  }

  private static String[] append(String[] args, String more) {
    String[] all = java.util.Arrays.copyOf(args, args.length + 1);
    all[args.length] = more;
    return all;
  }

  /**
   * Test code only, never reachable from the CLI: the broken resume, "every file modified after the
   * last run started", in name order.
   */
  static final class ModifiedSinceLastRun {
    private ModifiedSinceLastRun() {}

    /** Loads the files modified after {@code lastRun}; returns this run's start, the next one's. */
    static Instant run(Path feed, String db, Instant lastRun) throws Exception {
      Instant started = Instant.now();
      FileListing listing = FileListing.of(feed, "skus_*.json");
      try (NaiveLoader loader = new NaiveLoader(db, TABLE)) {
        for (int i = 0; i < listing.size(); i++) {
          if (modified(listing.path(i)).isAfter(lastRun)) {
            loader.load(listing.path(i));
          }
        }
      }
      return started;
    }

    private static Instant modified(Path p) throws IOException {
      return Files.getLastModifiedTime(p).toInstant();
    }
  }
}
