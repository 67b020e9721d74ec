package dev.waymark.cli;

import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.file.FileCheckpointStore;
import dev.waymark.ingest.FileListing;
import java.util.List;
import java.util.Optional;

/**
 * Test code only, never reachable from the CLI: the chapter's first mistake, an ingest that writes
 * each file's checkpoint <em>before</em> committing its rows. Takes the flags of {@code waymark
 * ingest} (honours --input, --glob, --db, --table, --job, --state; one file per unit, file store)
 * and prints the same lines, so that {@code waymark torture} can attack it unchanged. Killed
 * between the two steps, it resumes after a file whose rows never committed: rows go missing.
 */
final class CheckpointBeforeCommitIngest {
  private CheckpointBeforeCommitIngest() {}

  public static void main(String[] args) throws Exception {
    IngestCommand flags = Torture.parse(List.of(args));
    FileListing listing = FileListing.of(flags.input, flags.glob);
    int total = listing.size();
    try (FileCheckpointStore store = FileCheckpointStore.open(flags.state, flags.job);
        NaiveLoader loader = new NaiveLoader(flags.db, flags.table)) {
      Optional<Checkpoint> last = store.read("0");
      int start = last.map(c -> (int) c.cursor().number(Cursor.FILES).orElseThrow()).orElse(0);
      System.out.println(
          start == 0
              ? "starting at the first of " + total + " files"
              : "resume from file "
                  + (start + 1)
                  + " ("
                  + (start < total ? listing.name(start) : "-")
                  + "), "
                  + total
                  + " files in total");
      for (int i = start; i < total; i++) {
        store.commit("0", Cursor.ofFile(listing.name(i), i + 1)); // the mistake: before the data
        long[] n = loader.load(listing.path(i));
        System.out.printf(
            "[%d/%d] %s: %d new, %d duplicate%n", i + 1, total, listing.name(i), n[1], n[0] - n[1]);
      }
    }
  }
}
