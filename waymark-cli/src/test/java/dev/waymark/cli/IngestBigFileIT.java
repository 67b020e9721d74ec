package dev.waymark.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.waymark.checkpoint.Cursor;
import dev.waymark.cli.IngestTarget.Db;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 3: memory does not grow with file size. One JSON-array file of 1 GB (system property {@code
 * waymark.bigfile.mb}, default 1024) is written as a stream, then ingested into SQLite by {@code
 * waymark ingest} in a child JVM whose heap ({@code -Xmx256m}) is a quarter of the file. Records
 * are about 2 KB, so the test takes about 2 minutes on 2 busy cores; per byte, parsing and hashing
 * cost the same as with small records, and the row count is what makes it slow.
 */
class IngestBigFileIT {
  private static final long MEGABYTES = Long.getLong("waymark.bigfile.mb", 1024);
  private static final int NOTE = 1_900;

  @TempDir Path tmp;

  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void aFileFourTimesTheHeapIngestsInOneStreamingPass() throws Exception {
    Path feed = tmp.resolve("feed");
    Files.createDirectories(feed);
    Path big = feed.resolve("skus_big.json");
    long t0 = System.nanoTime();
    long records = writeJsonArray(big, MEGABYTES << 20);
    long written = Files.size(big);
    long t1 = System.nanoTime();
    try (IngestTarget target = IngestTarget.fresh(Db.SQLITE, tmp)) {
      IngestChild child = ingestWithHeap(target, feed, "256m", "1");
      long t2 = System.nanoTime();
      Files.delete(big);
      System.out.printf(
          "Big file: %,d bytes, %,d records written in %.1f s, ingested under -Xmx256m in %.1f s%n",
          written, records, (t1 - t0) / 1e9, (t2 - t1) / 1e9);

      assertThat(child.exitCode()).as(child.toString()).isZero();
      assertThat(written).isGreaterThanOrEqualTo(MEGABYTES << 20);
      assertThat(child.lines()).contains("[1/1] skus_big.json: " + records + " new, 0 duplicate");
      assertThat(target.count("SELECT COUNT(*) FROM " + IngestTarget.TABLE)).isEqualTo(records);
      assertThat(IngestTarget.position(target.fileCheckpoint().orElseThrow().cursor()))
          .isEqualTo(Cursor.ofFile("skus_big.json", 1));
    }
  }

  /**
   * Memory does not grow with record width either: 60 small files of 20 records of 200 KB each (240
   * MB) into SQLite under {@code -Xmx128m}. The reader's queue, its chunks and the writer's pending
   * files were bounded in rows only (16,000, 2,000 and 2,000 or 10,000), which such records turn
   * into hundreds of megabytes; they are now bounded in payload characters too.
   */
  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void wideRecordsInSmallFilesIngestWithinASmallHeap() throws Exception {
    Path feed = tmp.resolve("wide");
    Files.createDirectories(feed);
    byte[] note = new byte[200_000];
    Arrays.fill(note, (byte) 'y');
    int files = 60, perFile = 20;
    for (int f = 0; f < files; f++) {
      try (OutputStream out =
          new BufferedOutputStream(
              Files.newOutputStream(feed.resolve(String.format("skus_%05d.json", f))), 1 << 16)) {
        out.write('[');
        for (int r = 0; r < perFile; r++) {
          out.write(
              ((r == 0 ? "" : ",") + "{\"id\":" + (f * perFile + r) + ",\"note\":\"")
                  .getBytes(StandardCharsets.US_ASCII));
          out.write(note);
          out.write("\"}".getBytes(StandardCharsets.US_ASCII));
        }
        out.write(']');
      }
    }
    try (IngestTarget target = IngestTarget.fresh(Db.SQLITE, tmp)) {
      IngestChild child = ingestWithHeap(target, feed, "128m", "1s");

      assertThat(child.exitCode()).as(child.toString()).isZero();
      assertThat(child.lines()).contains("[60/60] skus_00059.json: 20 new, 0 duplicate");
      assertThat(target.count("SELECT COUNT(*) FROM " + IngestTarget.TABLE))
          .isEqualTo((long) files * perFile);
    }
  }

  /** {@code waymark ingest} of {@code feed} in a child JVM with this heap, which exits on OOM. */
  private IngestChild ingestWithHeap(IngestTarget target, Path feed, String heap, String every)
      throws Exception {
    return IngestChild.run(
        tmp.resolve("logs"),
        Map.of(),
        List.of("-Xmx" + heap, "-XX:+ExitOnOutOfMemoryError"),
        Duration.ofMinutes(8),
        target.ingestArgs(feed, "file", every));
  }

  /**
   * Streams {@code [ {...}, ... ]} of distinct ~2 KB records until {@code bytes}; returns count.
   */
  private static long writeJsonArray(Path file, long bytes) throws IOException {
    byte[] note = new byte[NOTE];
    Arrays.fill(note, (byte) 'x');
    long n = 0, size = 0;
    try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16)) {
      out.write('[');
      while (size < bytes) {
        byte[] head =
            ((n == 0 ? "\n" : ",\n")
                    + "{\"id\":"
                    + n
                    + ",\"sku\":\"SKU-"
                    + (n * 7919 % 1_000_000_007L)
                    + "\",\"price\":"
                    + (n % 10_000)
                    + ".25,\"active\":"
                    + (n % 3 == 0)
                    + ",\"note\":\"")
                .getBytes(StandardCharsets.US_ASCII);
        out.write(head);
        out.write(note);
        out.write('"');
        out.write('}');
        size += head.length + NOTE + 2;
        n++;
      }
      out.write("\n]\n".getBytes(StandardCharsets.US_ASCII));
    }
    return n;
  }
}
