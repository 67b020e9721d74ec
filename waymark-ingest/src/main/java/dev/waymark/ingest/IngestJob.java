package dev.waymark.ingest;

import dev.waymark.WaymarkException;
import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.CheckpointStore;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.FencedException;
import dev.waymark.checkpoint.LockHeldException;
import dev.waymark.checkpoint.PartitionLayout;
import dev.waymark.checkpoint.file.CheckpointFileSystem;
import dev.waymark.checkpoint.file.FileCheckpointStore;
import dev.waymark.checkpoint.file.FileGlobalCheckpointStore;
import dev.waymark.checkpoint.file.FileStoreOptions;
import dev.waymark.checkpoint.file.ForwardingCheckpointFileSystem;
import dev.waymark.checkpoint.global.GlobalCheckpointStore;
import dev.waymark.checkpoint.global.JobOutcome;
import dev.waymark.checkpoint.global.PartitionMark;
import dev.waymark.checkpoint.jdbc.ConnectionSource;
import dev.waymark.checkpoint.jdbc.JdbcCheckpointStore;
import dev.waymark.checkpoint.jdbc.JdbcGlobalCheckpointStore;
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
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

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
 *   <li><b>The file store's checkpoint runs beside the next unit.</b> Its write (temp file, fsync,
 *       rename, directory fsync) goes to a thread of the partition's own once the unit's data has
 *       committed, while the writer starts the next unit; before the next unit's checkpoint, and
 *       before the partition's attempt ends in any way, the writer waits for it. So checkpoints are
 *       written in order, one at a time, each after its own data committed, and the checkpoint
 *       trails the data by at most one unit (a crash then redoes at most two units, which the dedup
 *       key makes harmless). A unit is reported (its file lines, its global checkpoint marker) once
 *       its checkpoint is written, which the writer looks for after each file, and never before.
 *       With {@code --commit-every 1} a night run took 0.87x the time it took with the write in
 *       line (BENCHMARKS.md, session 4). With {@code WAYMARK_FAULT} set, the write stays in line,
 *       so that a crash point leaves exactly the state it names.
 *   <li><b>Resume by name.</b> The cursor is the last committed file and the count of files at or
 *       before it. The next file is found by binary search; if the count no longer matches (a late
 *       or deleted file), the run stops and offers {@code --rescan}.
 *   <li><b>Partitions.</b> With {@code --partitions P} the listing is split by {@link
 *       Partitioning}; each partition is a run of its own in miniature (sub-listing, cursor,
 *       retries, late-file check) with its own checkpoint. W worker threads take partitions one at
 *       a time, each with its own sink (connection) and reader thread. The job's lock (file store)
 *       or epoch (db store) is taken once and shared: the workers commit through one store, the db
 *       store in each worker's own transaction. The layout (P and the hash) is recorded for the
 *       job; see {@link #checkLayout}. The first failure stops the other workers at their next unit
 *       boundary, so their committed work stays committed, and is then thrown.
 *   <li><b>Bad files.</b> Each file starts with a savepoint; a malformed file is rolled back to it,
 *       so nothing from it is committed, while the unit's earlier files are kept.
 *   <li><b>Threads per worker.</b> A reader thread parses and hashes files ahead of the writer,
 *       through a queue of row chunks bounded by rows: memory does not grow with file size or
 *       count. On PostgreSQL the sink runs each statement of several files on a thread of its own,
 *       so that the writer takes the next files and readies their statement while the server
 *       inserts the last ones ({@link UnitLoop#flush}); one statement at a time, and settled before
 *       the connection is used for anything else (a savepoint, a quarantine row, the commit).
 *   <li><b>Several files per statement.</b> Files that fit in one chunk are sent together, about
 *       {@code POSTGRES_BATCH_ROWS} rows per statement on PostgreSQL, which reports each file's new
 *       rows; one statement per file cost PostgreSQL more CPU than the rows themselves
 *       (BENCHMARKS.md, session 3), and the server waits for the client between two statements
 *       (session 6).
 *   <li><b>Global checkpoints.</b> A {@link GlobalCoordinator} wraps the hooks: every {@code
 *       --global-checkpoint-every}, and once when every partition has finished, it collects each
 *       partition's committed cursor into one "complete" record; the last one goes into the success
 *       marker. A run that fails writes the failure marker instead. A run whose hooks do not own
 *       the job's global checkpoints ({@link PartitionHooks#ownsGlobalCheckpoints}: a worker of
 *       many processes) writes neither; {@link WorkerGlobals} does, for the whole job.
 *   <li><b>Retries.</b> A transient failure rolls the unit back and restarts the partition from its
 *       checkpoint after an exponential backoff with jitter; when the attempts run out, {@link
 *       RetriesExhaustedException} (exit 75) leaves the checkpoint where it was.
 * </ul>
 */
public final class IngestJob {
  private static final int CHUNK_ROWS = 2_000;

  /**
   * A chunk also ends once its payloads reach this many characters, so that wide records (a 100 KB
   * description each) do not make chunks, the reader's queue and statements 50 times larger than
   * the night feed's: the bounds below hold in bytes as well as in rows.
   */
  private static final int CHUNK_CHARS = 4 << 20;

  /**
   * Rows the reader may hold ready for the writer: as much as 8 full chunks. A chunk weighs its
   * rows, or its payloads' kilo-characters if more ({@link Reader#weight}), so the queue also holds
   * at most about 16 M characters of payload.
   */
  private static final int QUEUE_ROWS = 8 * CHUNK_ROWS;

  /**
   * Small files are sent together once they hold this many rows (or at the unit's end). The
   * property {@code waymark.batchRows} exists for the benchmarks that compare sizes; see
   * BENCHMARKS.md.
   */
  private static final int BATCH_ROWS = Integer.getInteger("waymark.batchRows", CHUNK_ROWS);

  /**
   * The same for PostgreSQL, where the statement runs on the sink's thread while the next is
   * readied: between two statements the server waits for the client (the result read, the next
   * one's 5 MB of arrays sent), 7-9 % of a night run's samples with 2,000 rows a statement, 3-5 %
   * with 10,000; the run took 0.91x the time, and 20,000 or 40,000 rows were no faster
   * (BENCHMARKS.md, "Session 6").
   */
  private static final int POSTGRES_BATCH_ROWS = Integer.getInteger("waymark.batchRows", 10_000);

  /** Pending files are also sent once their payloads reach this many characters. */
  private static final long BATCH_CHARS = 8 << 20;

  /**
   * The first statement of an attempt holds up to this many rows, and each next one twice as many,
   * up to the statement size. At the start the reader is slow (its code not yet compiled): a first
   * statement of 10,000 rows left the server idle for 320 ms after a night run's first commit while
   * it was gathered, and small statements set the server to work on the first files while the
   * reader reads the next: traced, the first statement started 114 instead of 387 ms after the
   * run's first commit (its preparation's), about 0.1 s of a run (BENCHMARKS.md, "Session 7"). Not
   * with several partitions, whose units must go in as one statement each (CONCURRENT_BATCH_ROWS).
   */
  private static final int FIRST_STATEMENT_ROWS = 1_000;

  /**
   * With several partitions on PostgreSQL, units of different partitions are written at once (by
   * worker threads, or worker processes), and two that insert the same repeated records in opposite
   * orders deadlock: PostgreSQL notices after {@code deadlock_timeout} (1 s) and one unit is redone
   * (25 to 36 times a night run with W = 2, BENCHMARKS.md). So there a unit's small files go in as
   * one statement, its rows in key order ({@link Sink#insertFiles}): two transactions that each
   * take their keys in one order cannot wait on each other in a cycle. Up to this many rows; a
   * larger unit, or a file of several chunks, is split, and a deadlock is again possible (and
   * retried).
   */
  private static final int CONCURRENT_BATCH_ROWS = 50_000;

  private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);
  private static final Duration RETRY_BUDGET = Duration.ofMinutes(2);

  private final IngestOptions o;
  private final IngestListener listener;
  private PartitionHooks
      hooks; // wrapped by the global checkpoint coordinator before the workers start
  private final FileListing listing;
  private final TableSpec spec;
  private final List<JsonPointer> pointers = new ArrayList<>();
  private final HaltingFileSystem checkpointFs = new HaltingFileSystem();
  private final boolean postgres;
  private final boolean partitioned;
  private final int batchRows; // see BATCH_ROWS and CONCURRENT_BATCH_ROWS
  private final List<PartitionRun> runs = new ArrayList<>();
  private final Map<String, PartitionRun> runsById = new HashMap<>();

  /** Units committed by this process, all partitions together. */
  private final AtomicLong unitsCommitted = new AtomicLong();

  /** Numbers {@link Faults}' units: each unit takes its own when it starts committing. */
  private final AtomicLong unitNumbers = new AtomicLong();

  /** The first failure of any worker; the others stop at their next unit boundary. */
  private final AtomicReference<RuntimeException> failure = new AtomicReference<>();

  /** Workers inside {@link PartitionHooks#nextPartition}, interrupted when the run fails. */
  private final Set<Thread> waitingForPartition = new HashSet<>();

  private FileCheckpointStore fileStore;
  private JdbcCheckpointStore dbStore;

  /**
   * The connection {@link #prepare} opened, handed to the first partition attempt that asks, so
   * that a run opens one connection before its first commit instead of two; guarded by this.
   */
  private Sink preparedSink;

  /** PostgreSQL's connection, opening while the files are listed; taken by {@link #prepare}. */
  private final EarlySink earlySink;

  /**
   * The files the job has in {@code waymark_quarantine} as the run starts: one that loads now (a
   * rescan after it was fixed) has its row deleted in the transaction that loads it.
   */
  private volatile Set<String> quarantinedFiles = Set.of();

  /** The first attempt's reader, started before the database is reached; guarded by this. */
  private Reader earlyReader;

  private IngestJob(IngestOptions options, IngestListener listener, PartitionHooks hooks) {
    this.o = options;
    this.listener = new SerialListener(listener);
    this.hooks = hooks;
    this.postgres = options.db.startsWith("jdbc:postgresql:");
    this.spec = new TableSpec(options.table, List.copyOf(options.columns.keySet()));
    this.earlySink = postgres ? EarlySink.open(options.db, spec) : null;
    this.partitioned = options.partitions > 1;
    this.batchRows =
        !postgres
            ? BATCH_ROWS
            : partitioned
                ? Math.max(POSTGRES_BATCH_ROWS, CONCURRENT_BATCH_ROWS)
                : POSTGRES_BATCH_ROWS;
    try {
      this.listing = FileListing.of(options.input, options.glob);
      for (String pointer : options.columns.values()) {
        pointers.add(JsonPointer.parse(pointer));
      }
      for (int p = 0; p < options.partitions; p++) {
        PartitionRun run =
            new PartitionRun(Partitioning.id(p), listing.partition(p, options.partitions));
        run.rescan = options.rescan;
        runs.add(run);
        runsById.put(run.id, run);
      }
    } catch (RuntimeException | Error e) {
      if (earlySink != null) {
        earlySink.discard(); // no run follows to take it
      }
      throw e;
    }
  }

  /**
   * Runs the ingestion to the end of the listing.
   *
   * @throws BadInputException if a file is malformed and {@code --on-bad-file} is {@code fail}
   * @throws RetriesExhaustedException if a transient failure outlived its retries
   * @throws LayoutMismatchException if the job was recorded with another partition layout and
   *     {@code --rescan} was not given
   * @throws dev.waymark.checkpoint.LockHeldException if another process runs the job
   * @throws WaymarkException for anything else; the checkpoint never passes uncommitted work
   */
  public static IngestSummary run(IngestOptions options, IngestListener listener) {
    return run(options, listener, PartitionHooks.NONE);
  }

  /** {@link #run(IngestOptions, IngestListener)} with the internal hooks of the layers above. */
  static IngestSummary run(IngestOptions options, IngestListener listener, PartitionHooks hooks) {
    return new IngestJob(options, listener, hooks).run();
  }

  private IngestSummary run() {
    long t0 = System.nanoTime();
    GlobalCheckpointStore global = null;
    GlobalCoordinator coordinator = null;
    Optional<JobOutcome> before = Optional.empty();
    boolean prepared = false;
    try {
      if (o.checkpointStore == CheckpointStoreKind.FILE) {
        FileStoreOptions fsOptions = FileStoreOptions.builder().fileSystem(checkpointFs).build();
        fileStore = FileCheckpointStore.open(o.state, o.job, fsOptions);
        startEarlyReader();
        global = FileGlobalCheckpointStore.open(o.state, o.job, fsOptions, o.globalKeep);
      } else if (hooks.ownsGlobalCheckpoints()) {
        global = JdbcGlobalCheckpointStore.open(ConnectionSource.of(o.db), o.job, o.globalKeep);
      }
      if (global != null) {
        before = outcomeIfReadable(global);
        // Until this run ends, the job has no outcome: a waiting consumer keeps waiting.
        global.clearOutcome();
      }
      prepare();
      prepared = true;
      if (global != null) {
        Map<String, PartitionMark> initial = new HashMap<>();
        for (PartitionRun r : runs) {
          initial.put(r.id, PartitionMark.of(r.id, store().read(r.id)));
        }
        coordinator = new GlobalCoordinator(global, initial, o.globalCheckpointEvery, o.faults);
        coordinator.start();
        hooks = coordinator.around(hooks);
      }
      runWorkers();
      IngestSummary summary = summary(Duration.ofNanos(System.nanoTime() - t0));
      if (global != null) {
        global.recordOutcome(
            JobOutcome.succeeded(
                coordinator.finish(),
                Instant.now(),
                new JobOutcome.Totals(
                    summary.files(), summary.rowsRead(), summary.newRows(), summary.duplicates())));
      }
      listener.finished(summary);
      return summary;
    } catch (RuntimeException | Error e) {
      if (!prepared && refusal(e)) {
        restoreOutcome(global, before, e);
      } else {
        recordFailure(global, e);
      }
      throw e;
    } finally {
      if (coordinator != null) {
        coordinator.close();
      }
      if (global != null) {
        global.close();
      }
      if (fileStore != null) {
        fileStore.close();
      }
      if (dbStore != null) {
        dbStore.close();
      }
      closeQuietly(takePreparedSink());
      Reader early = takeEarlyReader();
      if (early != null) {
        early.close(); // the run ended before its first unit: nobody took it
      }
      if (earlySink != null) {
        earlySink.discard(); // the run ended before preparing: nobody took it
      }
    }
  }

  /**
   * Starts the reader of an unpartitioned run with the file store before the database is reached:
   * the checkpoint, and so the first file, is known once the store is open, and the first file is
   * read while the connection is still opening: a resumed night run made its first commit after 339
   * instead of 354 ms (medians of 9; BENCHMARKS.md, "Session 7"). A checkpoint that does not fit
   * the listing starts nothing here: {@link #prepare} finds it again and says so, after the checks
   * that come first.
   */
  private void startEarlyReader() {
    if (partitioned || o.rescan) {
      return;
    }
    PartitionRun run = runs.get(0);
    int start;
    try {
      start = resumeIndex(run, fileStore.read(run.id));
    } catch (RuntimeException e) {
      return;
    }
    if (start < run.listing.size()) {
      Reader reader = new Reader(run, start);
      reader.start();
      synchronized (this) {
        earlyReader = reader;
      }
    }
  }

  /** The reader {@link #startEarlyReader} started, once; the caller owns it. */
  private synchronized Reader takeEarlyReader() {
    Reader reader = earlyReader;
    earlyReader = null;
    return reader;
  }

  private synchronized Sink takePreparedSink() {
    Sink sink = preparedSink;
    preparedSink = null;
    return sink;
  }

  private static void closeQuietly(Sink sink) {
    if (sink != null) {
      try {
        sink.close();
      } catch (SQLException | RuntimeException e) {
        // Unused, and its transaction is committed: nothing to lose.
      }
    }
  }

  /**
   * Whether {@code e} refused the run for how it was asked for (another layout or dedup key, an
   * unsafe durability setting), before it did any work: such a run was never the job's, and the
   * outcome of the job's last run still describes it.
   */
  private static boolean refusal(Throwable e) {
    return e instanceof IllegalArgumentException || e instanceof BadUsageException;
  }

  private static Optional<JobOutcome> outcomeIfReadable(GlobalCheckpointStore global) {
    try {
      return global.outcome();
    } catch (RuntimeException damaged) {
      return Optional.empty(); // nothing to put back; the run replaces it
    }
  }

  /** Puts back the outcome a refused run found, which it cleared on starting. */
  private static void restoreOutcome(
      GlobalCheckpointStore global, Optional<JobOutcome> before, Throwable e) {
    if (global == null || before.isEmpty()) {
      return;
    }
    try {
      global.recordOutcome(before.get());
    } catch (RuntimeException suppressed) {
      e.addSuppressed(suppressed);
    }
  }

  /**
   * Writes the failure marker, so that {@code waymark wait} returns. A run that never became the
   * job's writer (the lock is held, or it was fenced) leaves the other run's outcome alone.
   */
  private void recordFailure(GlobalCheckpointStore global, Throwable e) {
    if (global == null || e instanceof LockHeldException || e instanceof FencedException) {
      return;
    }
    try {
      global.recordOutcome(
          JobOutcome.failed(
              o.job,
              Instant.now(),
              e instanceof WaymarkException w
                  ? w.kind().name()
                  : WaymarkException.Kind.FAILURE.name(),
              message(e)));
    } catch (RuntimeException suppressed) {
      e.addSuppressed(suppressed);
    }
  }

  /**
   * Opens the database and the checkpoint store, checks the layout and each partition's cursor, and
   * says where the run starts; retried like a unit.
   */
  private void prepare() {
    retrying(
        null,
        () -> {
          Sink early = earlySink != null ? earlySink.take() : null; // first attempt only
          Sink sink = early != null ? early : Sink.open(o.db, spec);
          try {
            // Refused before anything is created: a refused run leaves the database as it was.
            if (fileStore != null) {
              Optional<String> problem = sink.durabilityProblem();
              if (problem.isPresent()) {
                throw new BadUsageException(problem.get());
              }
            }
            sink.createTables();
            checkDedupKey(sink);
            quarantinedFiles = Set.copyOf(sink.quarantined(o.job));
            if (o.checkpointStore == CheckpointStoreKind.DB && dbStore == null) {
              dbStore = hooks.openDbStore(o.db, o.job);
            }
            sink.commit(); // a SQLite snapshot taken before the store made its tables lacks them
            checkLayout(store());
            for (PartitionRun run : runs) {
              run.start = o.rescan ? 0 : resumeIndex(run, readCheckpoint(sink, run.id));
            }
          } catch (SQLException | RuntimeException | Error e) {
            try {
              sink.close();
            } catch (SQLException | RuntimeException suppressed) {
              e.addSuppressed(suppressed);
            }
            throw e;
          }
          // No transaction is open on it (the last step committed or only read files).
          synchronized (this) {
            preparedSink = sink;
          }
          return null;
        });
    int committed = 0, resumed = 0;
    for (PartitionRun run : runs) {
      committed += run.start;
      resumed += run.start > 0 ? 1 : 0;
    }
    if (partitioned) {
      listener.startedPartitions(
          listing.size(), runs.size(), Math.min(o.workers, runs.size()), resumed, committed);
    } else {
      PartitionRun only = runs.get(0);
      listener.started(
          only.start,
          listing.size(),
          only.start < listing.size() ? listing.name(only.start) : null,
          only.start > 0);
    }
  }

  private CheckpointStore store() {
    return fileStore != null ? fileStore : dbStore;
  }

  private Optional<Checkpoint> readCheckpoint(Sink sink, String partition) throws SQLException {
    if (fileStore != null) {
      return fileStore.read(partition);
    }
    Optional<Checkpoint> checkpoint = dbStore.read(sink.connection(), partition);
    sink.commit(); // ends the read: SQLite must not hold a snapshot into the first insert
    return checkpoint;
  }

  // ------------------------------------------------------------------------- the dedup key

  /**
   * Refuses a run whose dedup key is not the one the table's rows were keyed with.
   *
   * <p>Idempotence rests on a record getting the same key every time. Rows keyed one way never
   * match rows keyed another, so a run with another {@code --dedup-key} would load every record
   * already in the table a second time (all of them with {@code --rescan}). One row tells: its
   * payload is the record's canonical JSON, so keying it again must give the key it was stored
   * under. A row whose payload cannot be read back (a number PostgreSQL's jsonb wrote longer than
   * the reader takes) proves nothing either way and is let pass.
   */
  private void checkDedupKey(Sink sink) throws SQLException {
    Optional<Row> sample = sink.anyRow();
    if (sample.isEmpty()) {
      return;
    }
    Row row = sample.get();
    Map<String, Object> record;
    try {
      record = RecordSource.readObject("a payload of table " + o.table, row.payload());
    } catch (BadInputException | IllegalArgumentException unreadable) {
      return;
    }
    String key;
    try {
      key = o.dedupKey.keyOf(record);
    } catch (IllegalArgumentException missingField) {
      key = null; // a fields: key naming a field the record lacks: not how it was keyed
    }
    if (row.dedupKey().equals(key)) {
      return;
    }
    throw new DedupKeyMismatchException(
        "Table "
            + o.table
            + " holds rows keyed otherwise than by --dedup-key "
            + o.dedupKey.spec()
            + ": its row from "
            + row.sourceFile()
            + " is stored under key "
            + row.dedupKey()
            + (key == null
                ? ", and its record lacks a field that key needs"
                : ", but that key makes " + key + " of the same record")
            + ". Rows keyed one way never match rows keyed another, so every record already"
            + " loaded would go in a second time. Run with the --dedup-key the table was loaded"
            + " with (the default is hash), or pass another --table; to re-key this table, empty"
            + " it first (DELETE FROM "
            + o.table
            + ") and run with --rescan.");
  }

  // ---------------------------------------------------------------------------- the layout

  /**
   * Checks the run's layout against the job's, and records it.
   *
   * <p>A cursor means something only in the layout that wrote it. A job without a recorded layout
   * is an unpartitioned one if it has checkpoints (jobs from before partitions), and a new one
   * otherwise. A job whose partitions hold no checkpoint (never run, or reset) takes any layout.
   * Otherwise another layout is refused, unless {@code --rescan}: then every old partition is reset
   * first and the new layout recorded last, so that a crash in between leaves no checkpoint that
   * the new layout would trust (only the old layout, with fewer checkpoints, which the next run
   * with {@code --rescan} finishes resetting, or which a run with no checkpoint left accepts).
   */
  private void checkLayout(CheckpointStore store) {
    PartitionLayout wanted = new PartitionLayout(o.partitions, Partitioning.HASH);
    Optional<PartitionLayout> recorded = store.layout();
    List<String> holding = new ArrayList<>();
    for (String partition : store.partitions()) {
      try {
        if (store.read(partition).isPresent()) {
          holding.add(partition);
        }
      } catch (dev.waymark.checkpoint.CheckpointInvalidException e) {
        holding.add(partition); // state all the same; reading it for the run reports the damage
      }
    }
    PartitionLayout current =
        recorded.orElse(holding.isEmpty() ? null : new PartitionLayout(1, Partitioning.HASH));
    if (wanted.equals(current) || holding.isEmpty()) {
      if (!recorded.equals(Optional.of(wanted))) {
        store.recordLayout(wanted);
      }
      return;
    }
    if (!o.rescan) {
      throw new LayoutMismatchException(
          "Job '"
              + o.job
              + "' was run with "
              + current
              + (recorded.isPresent() ? ", as recorded in " + layoutLocation() : "")
              + "; this run asks for "
              + wanted
              + ". A partition's checkpoint says how far that partition got in the layout that"
              + " wrote it; under another layout the same files fall into other partitions, so"
              + " resuming would skip or repeat files. Run with --partitions "
              + current.partitions()
              + " to resume; or run with --partitions "
              + wanted.partitions()
              + " --rescan to reprocess every file into the new layout (safe: rows already"
              + " loaded are skipped by their dedup key); or start over with `waymark checkpoint"
              + " reset --state "
              + o.state
              + " --job "
              + o.job
              + " --yes`.");
    }
    int reset = 0;
    for (String partition : holding) {
      store.reset(partition);
      o.faults.maybeCrash(Faults.Point.MID_RELAYOUT, ++reset);
    }
    store.recordLayout(wanted);
  }

  private String layoutLocation() {
    return fileStore != null
        ? fileStore.jobDirectory().resolve("layout").toString()
        : JdbcCheckpointStore.LAYOUT_TABLE;
  }

  // ---------------------------------------------------------------------------- the workers

  /**
   * Runs the partitions on {@code min(W, P)} workers: inline for one, else on threads that each
   * take the next partition until none is left or a worker has failed.
   */
  private void runWorkers() {
    ConcurrentLinkedQueue<PartitionRun> unclaimed = new ConcurrentLinkedQueue<>(runs);
    Supplier<String> next =
        () -> {
          PartitionRun r = unclaimed.poll();
          return r == null ? null : r.id;
        };
    int workers = Math.min(o.workers, runs.size());
    if (workers <= 1) {
      work(next);
    } else {
      List<Thread> threads = new ArrayList<>();
      for (int w = 0; w < workers; w++) {
        Thread t = new Thread(() -> work(next), "waymark-worker-" + w);
        t.setDaemon(true);
        threads.add(t);
        t.start();
      }
      for (Thread t : threads) {
        try {
          t.join();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          fail(new WaymarkException("interrupted while waiting for the workers", e));
        }
      }
    }
    RuntimeException first = failure.get();
    if (first != null) {
      throw first;
    }
  }

  /**
   * One worker: partitions one after the other, until none is left or the run is stopping. Any
   * failure, a hook's included, fails the run: a worker never ends silently with partitions left.
   */
  private void work(Supplier<String> unclaimed) {
    try {
      while (!stopping()) {
        String id = nextPartition(unclaimed);
        if (id == null) {
          return;
        }
        if (stopping()) {
          hooks.partitionFailed(id); // picked while the run was stopping: give it back
          return;
        }
        PartitionRun run = runsById.get(id);
        if (run == null) {
          fail(new IllegalStateException("no partition '" + id + "' in " + runsById.keySet()));
          return;
        }
        try {
          runPartition(run);
        } catch (PartitionLostException e) {
          // Another worker owns it now; this one moves on.
        } catch (RuntimeException | Error e) {
          RuntimeException error = asRuntime(e);
          fail(error);
          hooks.partitionFailed(id, error);
          return;
        }
      }
    } catch (RuntimeException | Error e) {
      fail(asRuntime(e));
    }
  }

  /**
   * Asks the hooks for the next partition. A worker waiting there (for a lease, say) is interrupted
   * when another fails, so the run stops instead of waiting for partitions it will not run.
   */
  private String nextPartition(Supplier<String> unclaimed) {
    Thread self = Thread.currentThread();
    synchronized (waitingForPartition) {
      waitingForPartition.add(self);
    }
    try {
      return stopping() ? null : hooks.nextPartition(unclaimed);
    } finally {
      synchronized (waitingForPartition) {
        waitingForPartition.remove(self);
        if (stopping()) {
          Thread.interrupted(); // an interrupt meant for the wait must not reach the next step
        }
      }
    }
  }

  private static RuntimeException asRuntime(Throwable e) {
    return e instanceof RuntimeException r ? r : new WaymarkException(e.toString(), e);
  }

  private void fail(RuntimeException e) {
    if (!failure.compareAndSet(null, e) && failure.get() != e) {
      failure.get().addSuppressed(e);
    }
    synchronized (waitingForPartition) {
      for (Thread t : waitingForPartition) {
        if (t != Thread.currentThread()) {
          t.interrupt();
        }
      }
    }
  }

  private boolean stopping() {
    return failure.get() != null;
  }

  /** Runs one partition to its end, resuming from its checkpoint on each attempt. */
  private void runPartition(PartitionRun run) {
    retrying(
        run,
        () -> {
          Sink prepared = takePreparedSink();
          try (Sink sink = prepared != null ? prepared : Sink.open(o.db, spec)) {
            int start = run.rescan ? 0 : resumeIndex(run, readCheckpoint(sink, run.id));
            run.pendingUnit = start;
            new UnitLoop(run, sink).run(start);
          }
          return null;
        });
    if (!stopping()) {
      hooks.partitionFinished(run.id, Optional.ofNullable(run.lastCursor));
    }
  }

  @FunctionalInterface
  private interface Attempt {
    Object run() throws SQLException;
  }

  /**
   * Runs {@code attempt} until it succeeds, retrying transient failures with backoff; {@code run}
   * is the partition it works on, or null for the run's preparation. The attempts and the time
   * budget count per unit: once a unit has committed since the last failure, the next failure
   * starts a new count, so blips hours apart in a long run do not add up to giving up.
   */
  private void retrying(PartitionRun run, Attempt attempt) {
    long firstFailure = 0;
    long unitsAtLastFailure = -1;
    for (int n = 1; ; n++) {
      try {
        attempt.run();
        return;
      } catch (ReplayUnit replay) {
        n--; // not a failure: the unit runs again, refusing the file found unstorable
      } catch (SQLException | RuntimeException e) {
        if (!Transients.isTransient(e)) {
          Optional<String> fix = Transients.permanentIoProblem(e);
          if (fix.isPresent() && !(e instanceof WaymarkException)) {
            throw new WaymarkException(
                (e instanceof SQLException
                        ? failure((SQLException) e, run).getMessage()
                        : message(e))
                    + ". To fix: "
                    + fix.get()
                    + ". The checkpoint was not moved past the last unit whose checkpoint was"
                    + " written; rows of the failed unit (with the file store, also of the unit"
                    + " before it) may already be in the table and are"
                    + " skipped as duplicates on the rerun. Run the same command again afterwards.",
                e);
          }
          if (e instanceof RuntimeException r) {
            throw r;
          }
          throw failure((SQLException) e, run);
        }
        long now = System.nanoTime();
        long units = run != null ? run.units : 0;
        if (unitsAtLastFailure >= 0 && units != unitsAtLastFailure) {
          n = 1; // a unit committed since the last failure: this one starts a new count
          firstFailure = 0;
        }
        unitsAtLastFailure = units;
        if (firstFailure == 0) {
          firstFailure = now;
        }
        Duration spent = Duration.ofNanos(now - firstFailure);
        if (n >= o.retries || spent.compareTo(RETRY_BUDGET) >= 0) {
          throw new RetriesExhaustedException(
              "Gave up after "
                  + n
                  + " attempts over "
                  + spent.toSeconds()
                  + "s; "
                  + pendingUnitName(run)
                  + " did not commit. Last error: "
                  + message(e).replaceFirst("\\.+$", "")
                  + ". The checkpoint is intact: run the same command again once the database"
                  + " or the input is reachable.",
              e);
        }
        Duration delay = backoff(n);
        if (partitioned && run != null) {
          listener.retrying(run.id, n, o.retries, delay, e);
        } else {
          listener.retrying(n, o.retries, delay, e);
        }
        sleep(delay);
      }
    }
  }

  /** Names the unit that failed, for the message that gives up on it. */
  private String pendingUnitName(PartitionRun failed) {
    PartitionRun run = failed != null ? failed : runs.get(0);
    int index = run.pendingUnit;
    if (index < 0 && fileStore != null) {
      try {
        index = resumeIndex(run, fileStore.read(run.id)); // the database was never reached
      } catch (RuntimeException e) {
        index = -1;
      }
    }
    String of = partitioned ? " of partition " + run.id : "";
    if (partitioned && failed == null) {
      return "the run's preparation (opening the database and reading the checkpoints)";
    }
    return index >= 0 && index < run.listing.size()
        ? "the unit starting at file " + (index + 1) + of + " (" + run.listing.name(index) + ")"
        : "the unit after the checkpoint" + of;
  }

  private IngestSummary summary(Duration elapsed) {
    List<IngestSummary.Partition> partitions = new ArrayList<>();
    List<IngestSummary.BadFile> badFiles = new ArrayList<>();
    int files = 0, committedBefore = 0;
    long rowsRead = 0, newRows = 0, units = 0;
    for (PartitionRun r : runs) {
      partitions.add(
          new IngestSummary.Partition(
              r.id,
              r.listing.size(),
              r.start,
              r.filesCommitted,
              r.rowsRead,
              r.newRows,
              r.rowsRead - r.newRows,
              r.badFiles.size(),
              r.units));
      badFiles.addAll(r.badFiles);
      files += r.filesCommitted;
      committedBefore += r.start;
      rowsRead += r.rowsRead;
      newRows += r.newRows;
      units += r.units;
    }
    return new IngestSummary(
        o.job,
        listing.size(),
        committedBefore,
        files,
        rowsRead,
        newRows,
        rowsRead - newRows,
        List.copyOf(badFiles),
        units,
        elapsed,
        List.copyOf(partitions));
  }

  /**
   * Where a partition starts, from its checkpoint: the file after the cursor, checked against the
   * partition's listing.
   */
  int resumeIndex(PartitionRun run, Optional<Checkpoint> checkpoint) {
    if (checkpoint.isEmpty()) {
      return 0;
    }
    FileListing listing = run.listing;
    String jobName = "job '" + o.job + "'" + (partitioned ? " partition '" + run.id + "'" : "");
    Cursor cursor = checkpoint.get().cursor();
    Optional<String> file = cursor.string(Cursor.FILE);
    if (file.isEmpty() || cursor.number(Cursor.FILES).isEmpty()) {
      throw new WaymarkException(
          "The checkpoint of "
              + jobName
              + " holds cursor "
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
                  + " (deleted or renamed, or --glob '"
                  + o.glob
                  + "' no longer matches it)"
              : now > recorded
                  ? (now - recorded)
                      + " file(s) sorting at or before "
                      + file.get()
                      + (partitioned ? " in this partition" : "")
                      + " arrived after it was committed"
                      + modifiedSince(listing, index, checkpoint.get().committedAt())
                  : (recorded - now)
                      + " file(s) sorting at or before "
                      + file.get()
                      + (partitioned ? " in this partition" : "")
                      + " were deleted since it was committed";
      throw new WaymarkException(
          "Cannot resume "
              + jobName
              + ": "
              + what
              + ". The checkpoint recorded "
              + recorded
              + " files at or before it, the input now has "
              + now
              + ". Resuming by name would skip or misplace them. Run again with --rescan to"
              + " reprocess every file up to the checkpoint (safe: rows already loaded are"
              + " skipped by their dedup key).");
    }
    Optional<String> names = cursor.string(Cursor.NAMES);
    if (names.isPresent() && !names.get().equals(run.names.through(index))) {
      throw new WaymarkException(
          "Cannot resume "
              + jobName
              + ": the files sorting at or before "
              + file.get()
              + (partitioned ? " in this partition" : "")
              + " in "
              + listing.dir()
              + " are as many as when it was committed ("
              + recorded
              + "), but not the same ones: a file was deleted or renamed and another arrived"
              + " late (the checkpoint's digest of their names, "
              + names.get()
              + ", differs from the folder's now)"
              + modifiedSince(listing, index, checkpoint.get().committedAt())
              + ". Resuming by name would skip the new one. Run"
              + " again with --rescan to reprocess every file up to the checkpoint (safe: rows"
              + " already loaded are skipped by their dedup key).");
    }
    return index + 1;
  }

  /**
   * Names the files up to {@code index} modified after {@code committedAt}, the likely late ones,
   * for a message; empty if none is (a copy that kept its old time, as {@code cp -p} makes, is not
   * found this way).
   */
  private static String modifiedSince(FileListing listing, int index, Instant committedAt) {
    List<String> modified = new ArrayList<>();
    int more = 0;
    for (int i = 0; i <= index; i++) {
      try {
        if (Files.getLastModifiedTime(listing.path(i)).toInstant().isAfter(committedAt)) {
          if (modified.size() < 5) {
            modified.add(listing.name(i));
          } else {
            more++;
          }
        }
      } catch (IOException gone) {
        // deleted since the listing: not one to name
      }
    }
    if (modified.isEmpty()) {
      return "";
    }
    return " (modified since, so likely the late one"
        + (modified.size() > 1 ? "s" : "")
        + ": "
        + String.join(", ", modified)
        + (more > 0 ? " and " + more + " more" : "")
        + ")";
  }

  /** One partition's listing, position and totals; used by one worker at a time. */
  private static final class PartitionRun {
    final String id;
    final FileListing listing;

    /** Files the database refused a value of, found in an attempt that had to be replayed. */
    final Map<Integer, BadInputException> unstorable = new HashMap<>();

    final List<IngestSummary.BadFile> badFiles = new ArrayList<>();
    boolean rescan;
    int start; // where this run started, per the checkpoint read at preparation
    int pendingUnit = -1; // index of the first file of the unit not yet committed, if known
    long unitNumber; // the Faults number of the unit being committed, 0 between units
    boolean filePerStatement; // replaying a unit whose batch the database refused; see flush
    Cursor lastCursor; // the partition's cursor as committed by this run
    int filesCommitted;
    long rowsRead;
    long newRows;
    long units;

    final NamesDigest names; // of the listing's names, for each cursor (Cursor.NAMES)

    PartitionRun(String id, FileListing listing) {
      this.id = id;
      this.listing = listing;
      this.names = new NamesDigest(listing);
    }
  }

  // ---------------------------------------------------------------------------- the unit loop

  /** One attempt at one partition: reads files from a start index and commits unit by unit. */
  private final class UnitLoop {
    private final PartitionRun run;
    private final FileListing listing;
    private final Sink sink;
    private final List<FileResult> unit = new ArrayList<>();
    private long unitStart;

    /** Whole files read but not yet sent, and their positions in {@link #unit}; see flush. */
    private final List<List<Row>> pending = new ArrayList<>();

    private final List<Integer> pendingAt = new ArrayList<>();
    private int pendingRows;
    private long pendingChars;

    /** Rows that send the pending files; grows to batchRows (FIRST_STATEMENT_ROWS). */
    private int statementRows = partitioned ? batchRows : Math.min(batchRows, FIRST_STATEMENT_ROWS);

    /**
     * The statement the last flush started, which the database may still be running, and the
     * positions in {@link #unit} of its files; settled before the sink is used for anything else.
     */
    private Sink.PendingFiles sent;

    private List<Integer> sentAt;

    /**
     * Writes the file store's checkpoints beside the next unit (see the design notes), or null: the
     * db store, or a fault armed.
     */
    private final ExecutorService checkpointWriter;

    /** The checkpoint being written, and the unit it is for, reported once it is written. */
    private Future<?> checkpointInFlight;

    private CommittedUnit unitInFlight;

    UnitLoop(PartitionRun run, Sink sink) {
      this.run = run;
      this.listing = run.listing;
      this.sink = sink;
      this.checkpointWriter =
          fileStore != null && o.faults.isNone()
              ? Executors.newSingleThreadExecutor(
                  r -> {
                    Thread t = new Thread(r, "waymark checkpoint " + run.id);
                    t.setDaemon(true);
                    return t;
                  })
              : null;
    }

    void run(int start) throws SQLException {
      Throwable failed = null;
      try {
        runUnits(start);
      } catch (SQLException | RuntimeException | Error e) {
        failed = e;
        throw e;
      } finally {
        try {
          awaitCheckpoint(); // a retry reads the checkpoint: it must be the last one written
        } catch (RuntimeException | Error e) {
          // A checkpoint that could not be written (a full or read-only state directory) wins:
          // under a ReplayUnit (which carries no suppressed exceptions) the retry would commit
          // and fail the same way without end, and under a bad file it would go unsaid.
          if (!(failed instanceof Error)) {
            if (failed != null) {
              e.addSuppressed(failed);
            }
            throw e;
          }
          failed.addSuppressed(e);
        } finally {
          if (checkpointWriter != null) {
            checkpointWriter.shutdown();
          }
        }
      }
    }

    private void runUnits(int start) throws SQLException {
      if (start >= listing.size()) {
        return;
      }
      Reader early = takeEarlyReader();
      if (early != null && (early.run != run || early.start != start)) {
        early.close();
        early = null;
      }
      try (Reader reader = early != null ? early : new Reader(run, start)) {
        if (early == null) {
          reader.start();
        }
        for (int i = start; i < listing.size(); i++) {
          if (unit.isEmpty()) {
            if (stopping()) {
              return; // another partition failed: stop at this unit boundary
            }
            unitStart = System.nanoTime();
            run.pendingUnit = i;
          }
          FileResult result = loadFile(i, reader);
          unit.add(result);
          if (result.bad() == null && quarantinedFiles.contains(listing.name(i))) {
            settle(); // the connection runs one statement at a time
            sink.unquarantine(o.job, listing.name(i));
          }
          if (checkpointInFlight != null && checkpointInFlight.isDone()) {
            awaitCheckpoint(); // report the last unit as soon as its checkpoint is written
          }
          if (pendingRows >= statementRows || pendingChars >= BATCH_CHARS) {
            flush();
            statementRows = (int) Math.min(batchRows, 2L * statementRows);
          }
          if (i == listing.size() - 1
              || o.commitPolicy.unitComplete(
                  unit.size(),
                  Duration.ofNanos(System.nanoTime() - unitStart),
                  unitsCommitted.get() == 0)) {
            commitUnit();
          }
        }
      }
    }

    /**
     * Inserts one file's chunks. A file that fits in one chunk is not sent yet: it waits in {@link
     * #pending} to go with the next files in one statement ({@link #flush}), unless the unit is
     * being replayed one file per statement. A savepoint is set only before the first chunk of a
     * file that spans several chunks and follows other files in the unit: a file that fits in one
     * chunk is refused by the reader before any of its rows is sent, so a refusal that arrives as
     * its first chunk has nothing to undo. Savepoints are not free: each is a round trip, and in
     * PostgreSQL a transaction with more than 64 subtransactions slows down (measured in
     * BENCHMARKS.md).
     */
    private FileResult loadFile(int index, Reader reader) throws SQLException {
      BadInputException known = run.unstorable.get(index);
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
        if (first && chunk.last && !run.filePerStatement) {
          if (!chunk.rows.isEmpty()) {
            pending.add(chunk.rows);
            pendingAt.add(unit.size()); // where the caller puts this file's result
            pendingRows += chunk.rows.size();
            pendingChars += chunk.chars;
          }
          return new FileResult(index, chunk.rows.size(), 0, null); // its count comes at flush
        }
        if (first && !chunk.last) {
          flush(); // the files before this one are not its savepoint's to undo
          settle();
          if (!unit.isEmpty()) {
            savepoint = sink.connection().setSavepoint();
          }
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
            run.unstorable.put(index, bad);
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
      // A file that shrank while read is being changed, not malformed: quarantined, it would
      // stay out for good although restored it loads.
      if (o.onBadFile == OnBadFile.FAIL || bad.changedWhileRead()) {
        if (!unit.isEmpty()) {
          commitUnit(); // the good files before it stay loaded
        }
        throw bad;
      }
      String position = position(bad);
      settle();
      String error = bad.quarantinedMessage();
      sink.quarantine(o.job, listing.name(index), position, error);
      return new FileResult(
          index, 0, 0, new IngestSummary.BadFile(listing.name(index), position, error));
    }

    /**
     * Sends the pending files in one statement; {@link #settle} records each one's count of new
     * rows. The statement is readied (sorted, encoded) while the one before is still in the
     * database, and started without waiting for it to run: the loop meanwhile takes the next files
     * from the reader, so that the server need not wait for the writer between statements.
     */
    private void flush() throws SQLException {
      if (pending.isEmpty()) {
        return;
      }
      Sink.FilesStatement next = sink.prepareFiles(pending);
      settle();
      sent = sink.startFiles(next);
      sentAt = List.copyOf(pendingAt);
      pending.clear();
      pendingAt.clear();
      pendingRows = 0;
      pendingChars = 0;
    }

    /**
     * Waits for the statement {@link #flush} started, if any, and records each file's count of new
     * rows. If the database refused a value, the statement does not say whose: the unit is rolled
     * back and replayed from the checkpoint one file per statement, so that {@link #loadFile} finds
     * the file and treats it as today; the units after it batch again.
     */
    private void settle() throws SQLException {
      if (sent == null) {
        return;
      }
      Sink.PendingFiles statement = sent;
      List<Integer> at = sentAt;
      sent = null;
      sentAt = null;
      long[] inserted;
      try {
        inserted = statement.await();
      } catch (SQLException e) {
        if (!isDataException(e)) {
          throw e;
        }
        sink.rollback();
        run.filePerStatement = true;
        throw new ReplayUnit();
      }
      for (int j = 0; j < inserted.length; j++) {
        FileResult f = unit.get(at.get(j));
        unit.set(at.get(j), new FileResult(f.index, f.read, inserted[j], null));
      }
    }

    private void commitUnit() throws SQLException {
      flush();
      settle();
      // Unit N is the N-th unit of this process, all partitions together; a retry of a unit that
      // did not commit keeps its number.
      if (run.unitNumber == 0) {
        run.unitNumber = unitNumbers.incrementAndGet();
      }
      long number = run.unitNumber;
      FileResult last = unit.get(unit.size() - 1);
      Cursor cursor =
          Cursor.ofFile(listing.name(last.index), last.index + 1L, run.names.through(last.index));
      long read = 0, inserted = 0;
      for (FileResult f : unit) {
        read += f.read;
        inserted += f.inserted;
      }
      PartitionHooks.UnitCounts counts = new PartitionHooks.UnitCounts(unit.size(), read, inserted);
      o.faults.maybeCrash(Faults.Point.BEFORE_COMMIT, number);
      CommittedUnit committed = new CommittedUnit(cursor, List.copyOf(unit));
      unit.clear();
      if (dbStore != null) {
        dbStore.commit(sink.connection(), run.id, cursor);
        hooks.beforeCommit(run.id, sink.connection(), cursor, counts);
        o.faults.maybeCrash(Faults.Point.MID_CHECKPOINT, number);
        sink.commit();
        o.faults.maybeCrash(Faults.Point.AFTER_COMMIT, number);
        afterCommit();
        report(committed);
      } else {
        hooks.beforeCommit(run.id, sink.connection(), cursor, counts);
        sink.commit();
        o.faults.maybeCrash(Faults.Point.AFTER_COMMIT, number);
        afterCommit();
        awaitCheckpoint(); // the previous unit's: one at a time, in order
        if (checkpointWriter != null) {
          checkpointInFlight = checkpointWriter.submit(() -> fileStore.commit(run.id, cursor));
          unitInFlight = committed;
        } else {
          checkpointFs.haltInUnit.set(
              o.faults.armed(Faults.Point.MID_CHECKPOINT, number) ? number : 0);
          fileStore.commit(run.id, cursor);
          report(committed);
        }
      }
    }

    /** What follows a unit's data commit at once, whether or not its checkpoint is written yet. */
    private void afterCommit() {
      unitsCommitted.incrementAndGet();
      run.filePerStatement = false;
      run.unitNumber = 0;
    }

    /**
     * Waits for the checkpoint in flight, if any, and reports its unit. The wait is not
     * interruptible: the write is short, and returning before it ends would let a retry read the
     * checkpoint while it is being written.
     */
    private void awaitCheckpoint() {
      if (checkpointInFlight == null) {
        return;
      }
      Future<?> write = checkpointInFlight;
      CommittedUnit committed = unitInFlight;
      checkpointInFlight = null;
      unitInFlight = null;
      boolean interrupted = false;
      try {
        while (true) {
          try {
            write.get();
            break;
          } catch (InterruptedException e) {
            interrupted = true;
          } catch (ExecutionException e) {
            run.pendingUnit = committed.files.get(0).index; // where a rerun resumes
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) {
              throw r;
            }
            if (cause instanceof Error err) {
              throw err;
            }
            throw new IllegalStateException(cause);
          }
        }
      } finally {
        if (interrupted) {
          Thread.currentThread().interrupt();
        }
      }
      report(committed);
    }

    /** Counts and reports a unit whose data committed and whose checkpoint is written. */
    private void report(CommittedUnit committed) {
      Cursor cursor = committed.cursor;
      // A retry resumes from what this run has committed; before the rescan's first commit, the
      // old checkpoint is still the one that does not match the listing, so a retry rescans.
      run.rescan = false;
      run.units++;
      run.lastCursor = cursor;
      for (FileResult f : committed.files) {
        run.filesCommitted++;
        run.rowsRead += f.read;
        run.newRows += f.inserted;
        if (f.bad != null) {
          run.badFiles.add(f.bad);
          if (partitioned) {
            listener.fileQuarantined(
                run.id, f.index, listing.size(), listing.name(f.index), f.bad.error());
          } else {
            listener.fileQuarantined(f.index, listing.size(), listing.name(f.index), f.bad.error());
          }
        } else if (partitioned) {
          listener.fileCommitted(
              run.id,
              f.index,
              listing.size(),
              listing.name(f.index),
              f.inserted,
              f.read - f.inserted);
        } else {
          listener.fileCommitted(
              f.index, listing.size(), listing.name(f.index), f.inserted, f.read - f.inserted);
        }
      }
      hooks.unitCommitted(run.id, cursor);
    }
  }

  /** A unit whose data committed: its checkpoint's cursor and its files. */
  private record CommittedUnit(Cursor cursor, List<FileResult> files) {}

  /** Rolls the attempt back to the checkpoint and runs it again; see {@code unstorable}. */
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
    final long chars; // the rows' payloads

    Chunk(
        int index,
        List<Row> rows,
        long chars,
        boolean last,
        BadInputException bad,
        RuntimeException failure) {
      this.index = index;
      this.rows = rows;
      this.chars = chars;
      this.last = last;
      this.bad = bad;
      this.failure = failure;
    }
  }

  /** Parses and hashes files ahead of the writer on its own thread. */
  private final class Reader implements AutoCloseable {
    // Bounded by rows, not chunks: the same memory as 8 full chunks, and room for many small files
    // ahead of a writer busy with a statement holding several of them.
    private final BlockingQueue<Chunk> queue = new LinkedBlockingQueue<>();
    private final Semaphore queuedRows = new Semaphore(QUEUE_ROWS);
    private final FileListing listing;
    private final PartitionRun run;
    private final int start;
    private final Thread thread;
    private volatile boolean closed;

    Reader(PartitionRun run, int start) {
      this.listing = run.listing;
      this.run = run;
      this.start = start;
      this.thread =
          new Thread(
              () -> readFrom(start), partitioned ? "waymark-reader-p" + run.id : "waymark-reader");
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
        queuedRows.release(weight(c));
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
          put(new Chunk(i, List.of(), 0, true, e, null));
        } catch (RuntimeException e) {
          put(new Chunk(i, List.of(), 0, true, null, e));
          return;
        } catch (Error e) {
          // Passed on, so that the writer fails now rather than wait ten minutes for a chunk.
          put(
              new Chunk(
                  i,
                  List.of(),
                  0,
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
            FileListing.whyNotARegularFile(path),
            null);
      }
      try (RecordSource source = RecordSource.open(path, o.format)) {
        List<Row> rows = new ArrayList<>(CHUNK_ROWS);
        long chars = 0;
        for (SourceRecord r; (r = source.next()) != null; ) {
          Row row = toRow(r, name);
          rows.add(row);
          chars += row.payload().length();
          if (rows.size() == CHUNK_ROWS || chars >= CHUNK_CHARS) {
            put(new Chunk(index, rows, chars, false, null, null));
            rows = new ArrayList<>(CHUNK_ROWS);
            chars = 0;
          }
        }
        put(new Chunk(index, rows, chars, true, null, null));
      }
    }

    private void put(Chunk chunk) {
      try {
        while (!closed && !queuedRows.tryAcquire(weight(chunk), 100, TimeUnit.MILLISECONDS)) {
          // the writer is busy; wait, unless it has gone
        }
        if (!closed) {
          queue.add(chunk);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    /**
     * A chunk's share of {@code QUEUE_ROWS}: its rows, or its payloads' kilo-characters if more, at
     * least 1; at most all of it (one record larger than the whole bound then waits for an empty
     * queue instead of forever).
     */
    private static int weight(Chunk c) {
      long weight = Math.max(Math.max(1, c.rows.size()), c.chars >> 10);
      return (int) Math.min(weight, QUEUE_ROWS);
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
                  // A number as in the payload (1e2 is 100, 1.10 is 1.1), not in Java's form.
                  : v instanceof Map<?, ?> || v instanceof List<?> || v instanceof Number
                      ? CanonicalJson.toString(v, NumberMode.EXACT)
                      : v.toString());
    }
    return new Row(key, payload, name, columns);
  }

  // ---------------------------------------------------------------------------- helpers

  /** Passes calls on one at a time, so that a listener need not be thread-safe. */
  private static final class SerialListener implements IngestListener {
    private final IngestListener target;

    SerialListener(IngestListener target) {
      this.target = target;
    }

    @Override
    public synchronized void started(int startIndex, int total, String startName, boolean resumed) {
      target.started(startIndex, total, startName, resumed);
    }

    @Override
    public synchronized void startedPartitions(
        int total, int partitions, int workers, int resumed, int committed) {
      target.startedPartitions(total, partitions, workers, resumed, committed);
    }

    @Override
    public synchronized void fileCommitted(
        int index, int total, String name, long newRows, long duplicates) {
      target.fileCommitted(index, total, name, newRows, duplicates);
    }

    @Override
    public synchronized void fileCommitted(
        String partition, int index, int total, String name, long newRows, long duplicates) {
      target.fileCommitted(partition, index, total, name, newRows, duplicates);
    }

    @Override
    public synchronized void fileQuarantined(int index, int total, String name, String error) {
      target.fileQuarantined(index, total, name, error);
    }

    @Override
    public synchronized void fileQuarantined(
        String partition, int index, int total, String name, String error) {
      target.fileQuarantined(partition, index, total, name, error);
    }

    @Override
    public synchronized void retrying(int attempt, int max, Duration delay, Throwable error) {
      target.retrying(attempt, max, delay, error);
    }

    @Override
    public synchronized void retrying(
        String partition, int attempt, int max, Duration delay, Throwable error) {
      target.retrying(partition, attempt, max, delay, error);
    }

    @Override
    public synchronized void finished(IngestSummary summary) {
      target.finished(summary);
    }
  }

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
    return JdbcUrls.redact(String.valueOf(e.getMessage()), o.db);
  }

  private WaymarkException failure(SQLException e, PartitionRun run) {
    return new WaymarkException(
        "Database error on "
            + JdbcUrls.redact(o.db)
            + (partitioned && run != null ? " in partition " + run.id : "")
            + ": "
            + message(e),
        e);
  }

  /**
   * The checkpoint store's file system, able to halt the JVM between the checkpoint's synced temp
   * file and its rename, for {@code crash-mid-checkpoint}.
   */
  private static final class HaltingFileSystem extends ForwardingCheckpointFileSystem {
    /** The unit whose checkpoint rename halts the JVM, or 0; per thread, as workers commit. */
    final ThreadLocal<Long> haltInUnit = ThreadLocal.withInitial(() -> 0L);

    HaltingFileSystem() {
      super(CheckpointFileSystem.system());
    }

    @Override
    public void atomicMove(Path source, Path target) throws IOException {
      long unit = haltInUnit.get();
      if (unit > 0) {
        Faults.crash(Faults.Point.MID_CHECKPOINT, unit);
      }
      super.atomicMove(source, target);
    }
  }
}
