package dev.waymark.ingest;

import dev.waymark.WaymarkException;
import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.CheckpointReader;
import dev.waymark.checkpoint.CheckpointStore;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.file.CheckpointFileSystem;
import dev.waymark.checkpoint.file.FileCheckpointStore;
import dev.waymark.checkpoint.file.FileStoreOptions;
import dev.waymark.checkpoint.file.ForwardingCheckpointFileSystem;
import dev.waymark.checkpoint.jdbc.ConnectionSource;
import dev.waymark.checkpoint.jdbc.JdbcCheckpointStore;
import dev.waymark.ingest.CanonicalJson.NumberMode;
import dev.waymark.ingest.IngestOptions.CheckpointStoreKind;
import dev.waymark.ingest.IngestOptions.OnBadFile;
import dev.waymark.ingest.sink.JdbcUrls;
import dev.waymark.ingest.sink.Row;
import dev.waymark.ingest.sink.Sink;
import dev.waymark.ingest.sink.TableSpec;
import dev.waymark.ingest.source.RecordSource;
import dev.waymark.ingest.source.SourceRecord;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Runs one ingestion: the files of a directory into a staging table, resumable after any crash.
 *
 * <h2>Design notes</h2>
 *
 * <ul>
 *   <li><b>Order.</b> A unit of work (one or more files, per {@link CommitPolicy}) is inserted and
 *       committed in one transaction; only then is the checkpoint written (file store), or the
 *       checkpoint row is updated inside that same transaction (db store). A crash between the two
 *       (file store) redoes the unit, which the dedup key makes harmless.
 *   <li><b>Resume by name.</b> The cursor is the last committed file and the count of files at or
 *       before it. The next file is found by binary search; if the count no longer matches (a late
 *       or deleted file), the run stops and offers {@code --rescan}.
 *   <li><b>Bad files.</b> Each file starts with a savepoint; a malformed file is rolled back to it,
 *       so nothing from it is committed, while the unit's earlier files are kept.
 *   <li><b>Two threads.</b> A reader thread parses and hashes files ahead of the writer, through a
 *       small bounded queue of row chunks: memory does not grow with file size or count.
 *   <li><b>Retries.</b> A transient failure rolls the unit back and restarts from the checkpoint
 *       after an exponential backoff with jitter; when the attempts run out, {@link
 *       RetriesExhaustedException} (exit 75) leaves the checkpoint where it was.
 * </ul>
 */
public final class IngestJob {
  /** Partition id used until partitioned runs exist. */
  static final String PARTITION = CheckpointReader.DEFAULT_PARTITION;

  private static final int CHUNK_ROWS = 2_000;
  private static final int QUEUE_CHUNKS = 8;
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);
  private static final Duration RETRY_BUDGET = Duration.ofMinutes(2);

  private final IngestOptions o;
  private final IngestListener listener;
  private final FileListing listing;
  private final TableSpec spec;
  private final List<JsonPointer> pointers = new ArrayList<>();
  private final HaltingFileSystem checkpointFs = new HaltingFileSystem();
  private final boolean postgres;

  /** Files the database refused a value of, found in an attempt that had to be replayed. */
  private final Map<Integer, BadInputException> unstorable = new java.util.HashMap<>();

  private int firstStart;
  private long unitsCommitted;
  private int pendingUnit = -1; // index of the first file of the unit not yet committed, if known
  private int filesCommitted;
  private long rowsRead;
  private long newRows;
  private final List<IngestSummary.BadFile> badFiles = new ArrayList<>();

  private IngestJob(IngestOptions options, IngestListener listener) {
    this.o = options;
    this.listener = listener;
    this.postgres = options.db.startsWith("jdbc:postgresql:");
    this.listing = FileListing.of(options.input, options.glob);
    this.spec = new TableSpec(options.table, List.copyOf(options.columns.keySet()));
    for (String pointer : options.columns.values()) {
      pointers.add(JsonPointer.parse(pointer));
    }
  }

  /**
   * Runs the ingestion to the end of the listing.
   *
   * @throws BadInputException if a file is malformed and {@code --on-bad-file} is {@code fail}
   * @throws RetriesExhaustedException if a transient failure outlived its retries
   * @throws dev.waymark.checkpoint.LockHeldException if another process runs the job
   * @throws WaymarkException for anything else; the checkpoint never passes uncommitted work
   */
  public static IngestSummary run(IngestOptions options, IngestListener listener) {
    return new IngestJob(options, listener).run();
  }

  private IngestSummary run() {
    long t0 = System.nanoTime();
    FileCheckpointStore fileStore = null;
    try {
      if (o.checkpointStore == CheckpointStoreKind.FILE) {
        fileStore =
            FileCheckpointStore.open(
                o.state, o.job, FileStoreOptions.builder().fileSystem(checkpointFs).build());
      }
      boolean rescan = o.rescan;
      boolean announced = false;
      long firstFailure = 0;
      for (int attempt = 1; ; attempt++) {
        try (Sink sink = Sink.open(o.db, spec);
            JdbcCheckpointStore dbStore =
                o.checkpointStore == CheckpointStoreKind.DB
                    ? JdbcCheckpointStore.open(ConnectionSource.of(o.db), o.job)
                    : null) {
          // Refused before anything is created: a refused run leaves the database as it was.
          if (fileStore != null) {
            Optional<String> problem = sink.durabilityProblem();
            if (problem.isPresent()) {
              throw new BadUsageException(problem.get());
            }
          }
          sink.createTables();
          CheckpointStore store = fileStore != null ? fileStore : dbStore;
          Optional<Checkpoint> checkpoint = store.read(PARTITION);
          int start = rescan ? 0 : resumeIndex(checkpoint);
          pendingUnit = start;
          if (!announced) {
            listener.started(
                start,
                listing.size(),
                start < listing.size() ? listing.name(start) : null,
                start > 0);
            announced = true;
            firstStart = start;
          }
          rescan = false; // a retry resumes from what this run has committed
          new UnitLoop(sink, fileStore, dbStore).run(start);
          break;
        } catch (ReplayUnit replay) {
          attempt--; // not a failure: the unit runs again, refusing the file found unstorable
        } catch (SQLException | RuntimeException e) {
          if (!Transients.isTransient(e)) {
            if (e instanceof RuntimeException r) {
              throw r;
            }
            throw failure((SQLException) e);
          }
          long now = System.nanoTime();
          if (firstFailure == 0) {
            firstFailure = now;
          }
          Duration spent = Duration.ofNanos(now - firstFailure);
          if (attempt >= o.retries || spent.compareTo(RETRY_BUDGET) >= 0) {
            throw new RetriesExhaustedException(
                "Gave up after "
                    + attempt
                    + " attempts over "
                    + spent.toSeconds()
                    + "s; "
                    + pendingUnitName(fileStore)
                    + " did not commit. Last error: "
                    + message(e)
                    + ". The checkpoint is intact: run the same command again once the database"
                    + " or the input is reachable.",
                e);
          }
          Duration delay = backoff(attempt);
          listener.retrying(attempt, o.retries, delay, e);
          sleep(delay);
        }
      }
    } finally {
      if (fileStore != null) {
        fileStore.close();
      }
    }
    IngestSummary summary =
        new IngestSummary(
            o.job,
            listing.size(),
            firstStart,
            filesCommitted,
            rowsRead,
            newRows,
            rowsRead - newRows,
            List.copyOf(badFiles),
            unitsCommitted,
            Duration.ofNanos(System.nanoTime() - t0));
    listener.finished(summary);
    return summary;
  }

  /** Names the unit that failed, for the message that gives up on it. */
  private String pendingUnitName(FileCheckpointStore fileStore) {
    int index = pendingUnit;
    if (index < 0 && fileStore != null) {
      try {
        index = resumeIndex(fileStore.read(PARTITION)); // the database was never reached
      } catch (RuntimeException e) {
        index = -1;
      }
    }
    return index >= 0 && index < listing.size()
        ? "the unit starting at file " + (index + 1) + " (" + listing.name(index) + ")"
        : "the unit after the checkpoint";
  }

  /**
   * Where to start, from the checkpoint: the file after the cursor, checked against the listing.
   */
  int resumeIndex(Optional<Checkpoint> checkpoint) {
    if (checkpoint.isEmpty()) {
      return 0;
    }
    Cursor cursor = checkpoint.get().cursor();
    Optional<String> file = cursor.string(Cursor.FILE);
    if (file.isEmpty() || cursor.number(Cursor.FILES).isEmpty()) {
      throw new WaymarkException(
          "The checkpoint of job '"
              + o.job
              + "' holds cursor "
              + cursor
              + ", which is not a directory cursor ({\"file\":...,\"files\":...}); it was written by"
              + " another kind of job. Use another --job, or reset this one.");
    }
    long recorded = cursor.number(Cursor.FILES).getAsLong();
    int index = listing.indexOf(file.get());
    long now = index >= 0 ? index + 1 : -(index + 1);
    if (index < 0 || now != recorded) {
      String what =
          index < 0
              ? "the last committed file, "
                  + file.get()
                  + ", is no longer in "
                  + listing.dir()
                  + " (deleted or renamed)"
              : now > recorded
                  ? (now - recorded)
                      + " file(s) sorting at or before "
                      + file.get()
                      + " arrived after it was committed"
                  : (recorded - now)
                      + " file(s) sorting at or before "
                      + file.get()
                      + " were deleted since it was committed";
      throw new WaymarkException(
          "Cannot resume job '"
              + o.job
              + "': "
              + what
              + ". The checkpoint recorded "
              + recorded
              + " files at or before it, the input now has "
              + now
              + ". Resuming by name would skip or misplace them. Run again with --rescan to"
              + " reprocess every file up to the checkpoint (safe: rows already loaded are"
              + " skipped by their dedup key).");
    }
    return index + 1;
  }

  // ---------------------------------------------------------------------------- the unit loop

  /** One attempt: reads files from a start index and commits them unit by unit. */
  private final class UnitLoop {
    private final Sink sink;
    private final FileCheckpointStore fileStore;
    private final JdbcCheckpointStore dbStore;
    private final List<FileResult> unit = new ArrayList<>();
    private long unitStart;

    UnitLoop(Sink sink, FileCheckpointStore fileStore, JdbcCheckpointStore dbStore) {
      this.sink = sink;
      this.fileStore = fileStore;
      this.dbStore = dbStore;
    }

    void run(int start) throws SQLException {
      if (start >= listing.size()) {
        return;
      }
      try (Reader reader = new Reader(start)) {
        reader.start();
        for (int i = start; i < listing.size(); i++) {
          if (unit.isEmpty()) {
            unitStart = System.nanoTime();
            pendingUnit = i;
          }
          FileResult result = loadFile(i, reader);
          unit.add(result);
          if (i == listing.size() - 1
              || o.commitPolicy.unitComplete(
                  unit.size(),
                  Duration.ofNanos(System.nanoTime() - unitStart),
                  unitsCommitted == 0)) {
            commitUnit();
          }
        }
      }
    }

    /**
     * Inserts one file's chunks. A savepoint is set only before the first chunk of a file that
     * spans several chunks and follows other files in the unit: a file that fits in one chunk is
     * refused by the reader before any of its rows is sent, so a refusal that arrives as its first
     * chunk has nothing to undo. Savepoints are not free: each is a round trip, and in PostgreSQL a
     * transaction with more than 64 subtransactions slows down (measured in BENCHMARKS.md).
     */
    private FileResult loadFile(int index, Reader reader) throws SQLException {
      BadInputException known = unstorable.get(index);
      if (known != null) {
        reader.skipFile(index, false);
        return badFile(index, known);
      }
      Savepoint savepoint = null;
      boolean first = true;
      long read = 0, inserted = 0;
      while (true) {
        Chunk chunk = reader.take();
        if (chunk.index != index) {
          throw new IllegalStateException("reader out of step: " + chunk.index + " != " + index);
        }
        if (chunk.failure != null) {
          throw chunk.failure;
        }
        if (chunk.bad != null) {
          if (savepoint != null) {
            sink.connection().rollback(savepoint);
          } else if (unit.isEmpty()) {
            sink.rollback();
          } // else its first chunk is the refusal: nothing of this file reached the database
          return badFile(index, chunk.bad);
        }
        if (first && !chunk.last && !unit.isEmpty()) {
          savepoint = sink.connection().setSavepoint();
        }
        first = false;
        try {
          inserted += sink.insert(chunk.rows);
        } catch (SQLException e) {
          if (!isDataException(e)) {
            throw e;
          }
          // The database refused a value of this file: the file is bad, not the database.
          BadInputException bad =
              new BadInputException(
                  listing.path(index),
                  0,
                  0,
                  -1,
                  0,
                  BadInputException.Reason.NOT_STORABLE,
                  "the database refused a value of this file: " + message(e),
                  e);
          if (savepoint != null) {
            sink.connection().rollback(savepoint);
          } else if (unit.isEmpty()) {
            sink.rollback();
          } else {
            // No savepoint covers this file (a one-chunk file needs none against parse errors),
            // and the failed statement aborted the transaction with the unit's earlier files in
            // it. Roll it all back and replay the unit from the checkpoint, refusing this file
            // before it reaches the database; committing the earlier files now would move the
            // checkpoint past rows that were rolled back.
            sink.rollback();
            unstorable.put(index, bad);
            throw new ReplayUnit();
          }
          reader.skipFile(index, chunk.last);
          return badFile(index, bad);
        }
        read += chunk.rows.size();
        if (chunk.last) {
          if (savepoint != null) {
            // Unreleased savepoints pile up: PostgreSQL keeps a subtransaction for each.
            sink.connection().releaseSavepoint(savepoint);
          }
          return new FileResult(index, read, inserted, null);
        }
      }
    }

    private FileResult badFile(int index, BadInputException bad) throws SQLException {
      if (o.onBadFile == OnBadFile.FAIL) {
        if (!unit.isEmpty()) {
          commitUnit(); // the good files before it stay loaded
        }
        throw bad;
      }
      String position = position(bad);
      sink.quarantine(o.job, listing.name(index), position, bad.getMessage());
      return new FileResult(
          index, 0, 0, new IngestSummary.BadFile(listing.name(index), position, bad.getMessage()));
    }

    private void commitUnit() throws SQLException {
      long number = unitsCommitted + 1;
      FileResult last = unit.get(unit.size() - 1);
      Cursor cursor = Cursor.ofFile(listing.name(last.index), last.index + 1L);
      o.faults.maybeCrash(Faults.Point.BEFORE_COMMIT, number);
      if (dbStore != null) {
        dbStore.commit(sink.connection(), PARTITION, cursor);
        o.faults.maybeCrash(Faults.Point.MID_CHECKPOINT, number);
        sink.commit();
        o.faults.maybeCrash(Faults.Point.AFTER_COMMIT, number);
      } else {
        sink.commit();
        o.faults.maybeCrash(Faults.Point.AFTER_COMMIT, number);
        checkpointFs.haltInUnit = o.faults.armed(Faults.Point.MID_CHECKPOINT, number) ? number : 0;
        fileStore.commit(PARTITION, cursor);
      }
      unitsCommitted = number;
      for (FileResult f : unit) {
        filesCommitted++;
        rowsRead += f.read;
        newRows += f.inserted;
        if (f.bad != null) {
          badFiles.add(f.bad);
          listener.fileQuarantined(f.index, listing.size(), listing.name(f.index), f.bad.error());
        } else {
          listener.fileCommitted(
              f.index, listing.size(), listing.name(f.index), f.inserted, f.read - f.inserted);
        }
      }
      unit.clear();
    }
  }

  /** Rolls the attempt back to the checkpoint and runs it again; see {@link #unstorable}. */
  private static final class ReplayUnit extends RuntimeException {
    ReplayUnit() {
      super(null, null, false, false);
    }
  }

  private record FileResult(int index, long read, long inserted, IngestSummary.BadFile bad) {}

  // ---------------------------------------------------------------------------- the reader

  /** A piece of one file: rows, or the reason the file was refused, or a failure to read it. */
  private static final class Chunk {
    final int index;
    final List<Row> rows;
    final boolean last;
    final BadInputException bad;
    final RuntimeException failure;

    Chunk(
        int index, List<Row> rows, boolean last, BadInputException bad, RuntimeException failure) {
      this.index = index;
      this.rows = rows;
      this.last = last;
      this.bad = bad;
      this.failure = failure;
    }
  }

  /** Parses and hashes files ahead of the writer on its own thread. */
  private final class Reader implements AutoCloseable {
    private final BlockingQueue<Chunk> queue = new ArrayBlockingQueue<>(QUEUE_CHUNKS);
    private final Thread thread;
    private volatile boolean closed;

    Reader(int start) {
      this.thread = new Thread(() -> readFrom(start), "waymark-reader");
      thread.setDaemon(true);
    }

    void start() {
      thread.start();
    }

    Chunk take() {
      try {
        Chunk c = queue.poll(10, TimeUnit.MINUTES);
        if (c == null) {
          throw new IllegalStateException("the reader thread stopped answering");
        }
        return c;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new WaymarkException("interrupted while waiting for input", e);
      }
    }

    /** Discards the rest of file {@code index}'s chunks, after one that ended with {@code last}. */
    void skipFile(int index, boolean last) {
      while (!last) {
        Chunk c = take();
        if (c.index != index) {
          throw new IllegalStateException("reader out of step: " + c.index + " != " + index);
        }
        last = c.last;
      }
    }

    private void readFrom(int start) {
      for (int i = start; i < listing.size() && !closed; i++) {
        try {
          readFile(i);
        } catch (BadInputException e) {
          put(new Chunk(i, List.of(), true, e, null));
        } catch (RuntimeException e) {
          put(new Chunk(i, List.of(), true, null, e));
          return;
        } catch (Error e) {
          // Passed on, so that the writer fails now rather than wait ten minutes for a chunk.
          put(
              new Chunk(
                  i,
                  List.of(),
                  true,
                  null,
                  new WaymarkException("Reading " + listing.path(i) + " failed: " + e, e)));
          return;
        }
      }
    }

    private void readFile(int index) {
      Path path = listing.path(index);
      String name = listing.name(index);
      if (!Files.isRegularFile(path)) {
        throw new BadInputException(
            path,
            0,
            0,
            -1,
            0,
            BadInputException.Reason.NOT_A_FILE,
            Files.isDirectory(path)
                ? "it is a directory, not a file"
                : "it is not a readable regular file (a broken link or a link loop?)",
            null);
      }
      try (RecordSource source = RecordSource.open(path, o.format)) {
        List<Row> rows = new ArrayList<>(CHUNK_ROWS);
        for (SourceRecord r; (r = source.next()) != null; ) {
          rows.add(toRow(r, name));
          if (rows.size() == CHUNK_ROWS) {
            put(new Chunk(index, rows, false, null, null));
            rows = new ArrayList<>(CHUNK_ROWS);
          }
        }
        put(new Chunk(index, rows, true, null, null));
      }
    }

    private void put(Chunk chunk) {
      try {
        while (!closed && !queue.offer(chunk, 100, TimeUnit.MILLISECONDS)) {
          // the writer is busy; wait, unless it has gone
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    @Override
    public void close() {
      closed = true;
      queue.clear();
      thread.interrupt();
    }
  }

  private Row toRow(SourceRecord r, String name) {
    // The one-encoding path notices U+0000 as it encodes; the other walks the record for it.
    DedupKey.Keyed keyed = o.dedupKey.keyAndPayload(r);
    if (postgres && (keyed != null ? keyed.nul() : holdsNul(r.fields()))) {
      throw r.refuse(
          BadInputException.Reason.NUL_BYTE,
          "a string holds U+0000 (\\u0000), which PostgreSQL cannot store in text or jsonb");
    }
    String key;
    String payload;
    if (keyed != null) { // the key hashed the payload's bytes: one encoding for both
      key = keyed.key();
      payload = keyed.canonical();
    } else {
      key = o.dedupKey.keyOf(r);
      try {
        payload = CanonicalJson.toString(r.fields(), NumberMode.EXACT);
      } catch (IllegalArgumentException e) {
        throw r.refuse(BadInputException.Reason.DEDUP_KEY, e.getMessage());
      }
    }
    if (pointers.isEmpty()) {
      return new Row(key, payload, name, List.of());
    }
    List<String> columns = new ArrayList<>(pointers.size());
    for (JsonPointer p : pointers) {
      Object v = p.find(r.fields());
      columns.add(
          v == null
              ? null
              : v instanceof String s
                  ? s
                  : v instanceof Map<?, ?> || v instanceof List<?>
                      ? CanonicalJson.toString(v, NumberMode.EXACT)
                      : v.toString());
    }
    return new Row(key, payload, name, columns);
  }

  // ---------------------------------------------------------------------------- helpers

  /** Whether a key or string anywhere in {@code value} contains U+0000. */
  private static boolean holdsNul(Object value) {
    if (value instanceof String s) {
      return s.indexOf('\0') >= 0;
    }
    if (value instanceof Map<?, ?> m) {
      // Keys, then values: iterating the entries of the source's unmodifiable map would wrap each.
      for (Object k : m.keySet()) {
        if (holdsNul(k)) {
          return true;
        }
      }
      for (Object v : m.values()) {
        if (holdsNul(v)) {
          return true;
        }
      }
    } else if (value instanceof List<?> l) {
      for (Object v : l) {
        if (holdsNul(v)) {
          return true;
        }
      }
    }
    return false;
  }

  private static String position(BadInputException e) {
    StringBuilder sb = new StringBuilder();
    if (e.line() > 0) {
      sb.append("line ").append(e.line());
      if (e.column() > 0) {
        sb.append(", column ").append(e.column());
      }
    }
    if (e.byteOffset() >= 0) {
      sb.append(sb.length() > 0 ? " " : "").append("(byte ").append(e.byteOffset()).append(')');
    }
    if (e.recordNumber() > 0) {
      sb.append(sb.length() > 0 ? ", " : "").append("record ").append(e.recordNumber());
    }
    return sb.length() == 0 ? "whole file" : sb.toString();
  }

  /**
   * SQLState class 22: a value the database cannot store (PostgreSQL's jsonb and {@code \u0000}).
   */
  private static boolean isDataException(SQLException e) {
    return e.getSQLState() != null && e.getSQLState().startsWith("22");
  }

  private Duration backoff(int attempt) {
    long base = Math.min(MAX_BACKOFF.toMillis(), 250L << Math.min(attempt - 1, 16));
    long jittered = base / 2 + ThreadLocalRandom.current().nextLong(base / 2 + 1);
    return Duration.ofMillis(jittered);
  }

  private static void sleep(Duration d) {
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new WaymarkException("interrupted while waiting to retry", e);
    }
  }

  private String message(Throwable e) {
    return JdbcUrls.redact(String.valueOf(e.getMessage()));
  }

  private WaymarkException failure(SQLException e) {
    return new WaymarkException(
        "Database error on " + JdbcUrls.redact(o.db) + ": " + message(e), e);
  }

  /**
   * The checkpoint store's file system, able to halt the JVM between the checkpoint's synced temp
   * file and its rename, for {@code crash-mid-checkpoint}.
   */
  private static final class HaltingFileSystem extends ForwardingCheckpointFileSystem {
    /** The unit whose checkpoint rename halts the JVM, or 0. */
    volatile long haltInUnit;

    HaltingFileSystem() {
      super(CheckpointFileSystem.system());
    }

    @Override
    public void atomicMove(Path source, Path target) throws IOException {
      if (haltInUnit > 0) {
        Faults.crash(Faults.Point.MID_CHECKPOINT, haltInUnit);
      }
      super.atomicMove(source, target);
    }
  }
}
