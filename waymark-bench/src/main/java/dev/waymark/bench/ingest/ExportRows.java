package dev.waymark.bench.ingest;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes every row of a feed, duplicates included, as Waymark computes it ({@code dedup_key},
 * canonical {@code payload}, {@code source_file}) in PostgreSQL's COPY text format: the keys are
 * precomputed once, for the floor ({@code psql \copy}) and the SQLite baseline.
 *
 * <pre>java -cp ... dev.waymark.bench.ingest.ExportRows FEED_DIR OUT_FILE</pre>
 */
public final class ExportRows {
  private ExportRows() {}

  public static void main(String[] args) throws IOException {
    Feed feed = Feed.load(Path.of(args[0]), Integer.MAX_VALUE);
    StringBuilder line = new StringBuilder(1024);
    try (BufferedWriter out = Files.newBufferedWriter(Path.of(args[1]), StandardCharsets.UTF_8)) {
      for (var file : feed.files) {
        for (String[] r : file) {
          line.setLength(0);
          for (int i = 0; i < 3; i++) {
            if (i > 0) {
              line.append('\t');
            }
            PgWritePaths.escape(r[i], line);
          }
          out.append(line).append('\n');
        }
      }
    }
    System.out.printf(
        "exported %d rows (%d distinct keys) to %s%n", feed.rows, feed.distinct, args[1]);
  }
}
