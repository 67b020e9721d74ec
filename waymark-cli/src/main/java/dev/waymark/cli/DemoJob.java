package dev.waymark.cli;

import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.file.AtomicFileWriter;
import dev.waymark.checkpoint.file.CheckpointFileSystem;
import dev.waymark.checkpoint.file.FileCheckpointStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;

/**
 * The demo's job, run as a child JVM so that its crash is real: for each feed file after the
 * checkpoint, write the file's output (one output file per input, so redoing a file is harmless),
 * then commit the checkpoint. With a crash point, it halts between the two commits of that file.
 */
final class DemoJob {
  static final String JOB = "demo";

  private DemoJob() {}

  /** Arguments: FEED_DIR OUTPUT_DIR STATE_DIR CRASH_AFTER_FILE (or -1). */
  public static void main(String[] args) throws IOException {
    Path feed = Path.of(args[0]), output = Path.of(args[1]), state = Path.of(args[2]);
    int crashAfter = Integer.parseInt(args[3]);
    List<String> files = listFeed(feed);
    AtomicFileWriter writer = new AtomicFileWriter(CheckpointFileSystem.system());
    try (FileCheckpointStore store = FileCheckpointStore.open(state, JOB)) {
      Optional<Checkpoint> last = store.read();
      // Resume by name: binary search for the last committed file in the sorted listing.
      int start =
          last.map(
                  c -> Collections.binarySearch(files, c.cursor().string("file").orElseThrow()) + 1)
              .orElse(0);
      System.out.println(
          start == 0
              ? "starting at the first of " + files.size() + " files"
              : "resume from file "
                  + (start + 1)
                  + " ("
                  + files.get(start)
                  + "), "
                  + files.size()
                  + " files in total");
      for (int i = start; i < files.size(); i++) {
        String name = files.get(i);
        long records = countRecords(feed.resolve(name));
        writer.write(
            output.resolve(name + ".out"), (records + "\n").getBytes(StandardCharsets.UTF_8));
        if (i + 1 == crashAfter) {
          System.out.println(
              "["
                  + (i + 1)
                  + "/"
                  + files.size()
                  + "] "
                  + name
                  + ": output committed; crashing before its checkpoint");
          System.out.flush();
          Runtime.getRuntime().halt(137);
        }
        store.commit(Cursor.ofFile(name, i + 1));
        if ((i + 1) % 250 == 0 || i + 1 == files.size() || i == start) {
          System.out.println(
              "[" + (i + 1) + "/" + files.size() + "] " + name + ": " + records + " records");
        }
      }
    }
  }

  static List<String> listFeed(Path feed) throws IOException {
    try (Stream<Path> s = Files.list(feed)) {
      return s.map(p -> p.getFileName().toString())
          .filter(n -> n.startsWith("skus_") && n.endsWith(".json"))
          .sorted()
          .toList();
    }
  }

  private static long countRecords(Path file) throws IOException {
    return Files.readString(file).chars().filter(c -> c == '{').count();
  }

  /** Writes {@code files} small JSON-array files of SKU records; returns the record count. */
  static long generateFeed(Path feed, int files) throws IOException {
    Random random = new Random(42);
    long records = 0;
    for (int f = 0; f < files; f++) {
      StringBuilder sb = new StringBuilder("[");
      int rows = 100;
      for (int r = 0; r < rows; r++) {
        if (r > 0) {
          sb.append(',');
        }
        sb.append("{\"sku_id\":\"SKU-")
            .append(f)
            .append('-')
            .append(r)
            .append("\",\"price\":")
            .append(random.nextInt(100_00) / 100.0)
            .append('}');
      }
      sb.append("]\n");
      records += rows;
      Files.writeString(feed.resolve(String.format("skus_%05d.json", f)), sb);
    }
    return records;
  }
}
