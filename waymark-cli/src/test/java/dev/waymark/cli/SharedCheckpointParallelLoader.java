package dev.waymark.cli;

import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.CheckpointReader;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.file.FileCheckpointStore;
import dev.waymark.ingest.CanonicalJson;
import dev.waymark.ingest.DedupKey;
import dev.waymark.ingest.FileListing;
import dev.waymark.ingest.IngestOptions;
import dev.waymark.ingest.sink.Row;
import dev.waymark.ingest.sink.Sink;
import dev.waymark.ingest.sink.TableSpec;
import dev.waymark.ingest.source.Format;
import dev.waymark.ingest.source.RecordSource;
import dev.waymark.ingest.source.SourceRecord;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * <b>Deliberately broken, test code only</b> (never reachable from the CLI): the chapter's fourth
 * mistake, one job-wide checkpoint written by parallel workers.
 *
 * <p>Two worker threads take the next file of the sorted listing from a shared counter, load it
 * into the staging table in its own transaction (the same dedup key and {@code ON CONFLICT DO
 * NOTHING} as {@code waymark ingest}), and after that commit advance ONE checkpoint (the real
 * {@link FileCheckpointStore}, partition "0") to "the last file done": the file it just finished,
 * if it lies further in the listing than the cursor. A restart resumes after that cursor. With two
 * workers "I finished up to here" is false: while one worker is still on a large file, the other
 * finishes the small files after it and moves the cursor past it; a crash then loses the large
 * file, because no restart will look at it again. {@code waymark ingest --partitions P} avoids this
 * with one checkpoint per partition, each written by the one worker that owns it.
 *
 * <p>Usage (a child JVM of {@link SharedCheckpointMistakeIT}): {@code FEED JDBC_URL STATE JOB}.
 * Prints {@code starting at file N of M}, then {@code done I NAME} after each file's checkpoint,
 * then {@code completed}.
 */
final class SharedCheckpointParallelLoader {
  static final int WORKERS = 2;
  private static final String PARTITION = "0";

  private final FileListing listing;
  private final String url;
  private final FileCheckpointStore store;
  private final AtomicInteger next;
  private final IntConsumer beforeInsert;

  private SharedCheckpointParallelLoader(
      FileListing listing,
      String url,
      FileCheckpointStore store,
      int start,
      IntConsumer beforeInsert) {
    this.listing = listing;
    this.url = url;
    this.store = store;
    this.next = new AtomicInteger(start);
    this.beforeInsert = beforeInsert;
  }

  public static void main(String[] args) throws Exception {
    load(Path.of(args[0]), args[1], Path.of(args[2]), args[3], index -> {});
  }

  /**
   * Loads the feed from the job-wide cursor on; {@code beforeInsert} runs in the worker before it
   * inserts each file's rows (tests use it to stall or fail one worker on a chosen file).
   *
   * @throws IllegalStateException wrapping the first failure of a worker, after both stopped
   */
  static void load(Path feed, String url, Path state, String job, IntConsumer beforeInsert)
      throws Exception {
    FileListing listing = FileListing.of(feed, IngestOptions.DEFAULT_GLOB);
    try (FileCheckpointStore store = FileCheckpointStore.open(state, job)) {
      int start = resumeIndex(store);
      System.out.println("starting at file " + start + " of " + listing.size());
      try (Sink sink = Sink.open(url, spec())) {
        sink.createTables();
        sink.commit();
      }
      SharedCheckpointParallelLoader loader =
          new SharedCheckpointParallelLoader(listing, url, store, start, beforeInsert);
      List<Thread> workers = new ArrayList<>();
      List<Throwable> failures = new CopyOnWriteArrayList<>();
      for (int w = 0; w < WORKERS; w++) {
        Thread t = new Thread(loader::work, "worker-" + w);
        t.setUncaughtExceptionHandler((th, e) -> failures.add(e));
        workers.add(t);
        t.start();
      }
      for (Thread t : workers) {
        t.join();
      }
      if (!failures.isEmpty()) {
        throw new IllegalStateException("a worker failed", failures.get(0));
      }
      System.out.println("completed");
    }
  }

  static TableSpec spec() {
    return new TableSpec(IngestTarget.TABLE, List.of());
  }

  /** The listing index after the job-wide cursor ("the last file done"). */
  private static int resumeIndex(CheckpointReader store) {
    Optional<Checkpoint> c = store.read(PARTITION);
    return c.map(k -> (int) k.cursor().number(Cursor.FILES).orElseThrow()).orElse(0);
  }

  private void work() {
    try (Sink sink = Sink.open(url, spec())) {
      for (int i = next.getAndIncrement(); i < listing.size(); i = next.getAndIncrement()) {
        List<Row> rows =
            rows(i); // read the whole file first: the write lock is held only to insert
        beforeInsert.accept(i);
        sink.insert(rows);
        sink.commit();
        advanceCheckpoint(i);
      }
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  /** THE MISTAKE: one cursor for the job, moved to the furthest file any worker has finished. */
  private synchronized void advanceCheckpoint(int index) {
    if (index + 1 > resumeIndex(store)) {
      store.commit(PARTITION, Cursor.ofFile(listing.name(index), index + 1L));
    }
    System.out.println("done " + index + " " + listing.name(index));
  }

  private List<Row> rows(int index) {
    List<Row> rows = new ArrayList<>();
    try (RecordSource source = RecordSource.open(listing.path(index), Format.JSON_ARRAY)) {
      for (SourceRecord r; (r = source.next()) != null; ) {
        rows.add(
            new Row(
                DedupKey.wholeRecord().keyOf(r),
                CanonicalJson.toString(r.fields(), CanonicalJson.NumberMode.EXACT),
                listing.name(index),
                List.of()));
      }
    }
    return rows;
  }
}
