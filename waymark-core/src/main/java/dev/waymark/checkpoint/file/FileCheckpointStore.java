package dev.waymark.checkpoint.file;

import dev.waymark.WaymarkException;
import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.CheckpointInvalidException;
import dev.waymark.checkpoint.CheckpointReader;
import dev.waymark.checkpoint.CheckpointStore;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.FencedException;
import dev.waymark.checkpoint.Names;
import dev.waymark.checkpoint.PartitionLayout;
import dev.waymark.checkpoint.Retention;
import dev.waymark.checkpoint.format.CheckpointCodec;
import dev.waymark.checkpoint.format.Migration;
import dev.waymark.checkpoint.format.Migrations;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A {@link CheckpointStore} in a directory on local disk: the default store. Thread-safe.
 *
 * <h2>Layout</h2>
 *
 * <pre>
 * STATE/JOB/
 *   waymark.lock                        the writer's OS lock; records pid, host, started_at
 *   epoch                               the last writer's fencing token (checksummed JSON line)
 *   layout                              the job's partition layout, if recorded (checksummed line)
 *   partitions/P/checkpoint             partition P's current checkpoint (format version 1)
 *   partitions/P/committed              empty marker, written once P's first checkpoint is durable
 *   partitions/P/history/SEQ.ckpt       every kept version; SEQ is 20 digits, never overwritten
 *   partitions/P/history/SEQ.pre-migration-vN   the record a migration or import replaced
 * </pre>
 *
 * <h2>Guarantees</h2>
 *
 * <ul>
 *   <li>One writer per job: {@link #open} takes an OS lock on {@code waymark.lock} for the store's
 *       lifetime; a second opener, in this process or another, gets a {@link
 *       dev.waymark.checkpoint.LockHeldException} naming the holder.
 *   <li>Fencing: each open increments and persists the epoch. A commit that finds a higher epoch in
 *       the epoch file or the current checkpoint is refused with {@link FencedException}: a writer
 *       that lost its lock (on NFS, say) cannot overwrite a newer writer's checkpoint.
 *   <li>Atomic, durable commits through {@link AtomicFileWriter}; the history entry is a hard link
 *       to the same bytes, so keeping history costs no second data write.
 *   <li>A missing checkpoint reads as "never committed" only if the partition's {@code committed}
 *       marker is absent; a partition that committed and then lost its file is an error.
 *   <li>Partitions are independent: a commit touches only its own partition's folder; commits to
 *       different partitions may run concurrently from different threads.
 *   <li>Temp files left by a crash are deleted by {@link #open}, under the lock.
 * </ul>
 */
public final class FileCheckpointStore implements CheckpointStore {

  private final FileLayout layout;
  private final FileCheckpointReader reader;
  private final CheckpointFileSystem fs;
  private final AtomicFileWriter writer;
  private final FileStoreOptions options;
  private final JobLock lock;
  private final long epoch;
  private final ConcurrentHashMap<String, ReentrantLock> partitionLocks = new ConcurrentHashMap<>();
  private final Set<String> readyPartitions = ConcurrentHashMap.newKeySet();
  private final Set<String> markedPartitions = ConcurrentHashMap.newKeySet();
  private final Set<String> historyEmptied = ConcurrentHashMap.newKeySet();

  /**
   * What this store itself last committed to each partition, and the history sequences it knows to
   * be on disk. Under the job's lock no one else writes a partition, so a commit need not re-read
   * its checkpoint or list its history; a newer writer is caught by the epoch file, read on every
   * commit. Guarded by the partition's lock.
   */
  private final ConcurrentHashMap<String, Checkpoint> lastCommitted = new ConcurrentHashMap<>();

  private final ConcurrentHashMap<String, java.util.TreeSet<Long>> knownHistory =
      new ConcurrentHashMap<>();
  private final Object layoutLock = new Object();
  private volatile boolean closed;

  private FileCheckpointStore(FileLayout layout, FileStoreOptions options, JobLock lock) {
    this.layout = layout;
    this.options = options;
    this.fs = options.fileSystem();
    this.reader = new FileCheckpointReader(layout, fs);
    this.writer = new AtomicFileWriter(fs);
    this.lock = lock;
    this.epoch = takeNextEpoch();
  }

  /**
   * Opens the job's store for writing, creating the state and job folders if needed.
   *
   * @param stateDir the state directory holding one folder per job
   * @param job the job's name: letters, digits, {@code .}, {@code _}, {@code -}
   * @throws dev.waymark.checkpoint.LockHeldException if another writer holds the job
   * @throws IllegalArgumentException if {@code job} is not a valid name
   * @throws CheckpointInvalidException if the epoch file is damaged
   * @throws WaymarkException if the folders cannot be created or locked
   */
  public static FileCheckpointStore open(Path stateDir, String job, FileStoreOptions options) {
    FileLayout layout = new FileLayout(stateDir.toAbsolutePath().normalize(), job);
    CheckpointFileSystem fs = options.fileSystem();
    createDirectories(fs, layout.stateDir);
    createDirectories(fs, layout.jobDir);
    JobLock lock = JobLock.acquire(layout.lockFile(), job, options.clock().instant());
    try {
      FileCheckpointStore store = new FileCheckpointStore(layout, options, lock);
      store.deleteLeftoverTempFiles();
      return store;
    } catch (RuntimeException e) {
      lock.close();
      throw e;
    }
  }

  /** {@link #open(Path, String, FileStoreOptions)} with {@link FileStoreOptions#ofDefaults()}. */
  public static FileCheckpointStore open(Path stateDir, String job) {
    return open(stateDir, job, FileStoreOptions.ofDefaults());
  }

  /**
   * Returns a reader of the job's checkpoints that takes no lock and writes nothing: for status and
   * inspection while a writer may be running.
   */
  public static CheckpointReader reader(Path stateDir, String job) {
    return reader(stateDir, job, FileStoreOptions.ofDefaults());
  }

  /** {@link #reader(Path, String)} with the given file system. */
  public static CheckpointReader reader(Path stateDir, String job, FileStoreOptions options) {
    return new FileCheckpointReader(
        new FileLayout(stateDir.toAbsolutePath().normalize(), job), options.fileSystem());
  }

  /** The jobs with a folder in {@code stateDir}, sorted by name. */
  public static List<String> jobs(Path stateDir) {
    List<String> jobs = new ArrayList<>();
    CheckpointFileSystem fs = CheckpointFileSystem.system();
    try {
      for (Path p : fs.list(stateDir)) {
        String name = p.getFileName().toString();
        if (fs.kind(p) == CheckpointFileSystem.Kind.DIRECTORY && isValidName(name)) {
          jobs.add(name);
        }
      }
    } catch (IOException e) {
      throw new WaymarkException("Cannot list state directory " + stateDir + ": " + e, e);
    }
    jobs.sort(null);
    return jobs;
  }

  /** The path of a partition's current checkpoint file. */
  public Path checkpointPath(String partition) {
    return layout.checkpointFile(partition);
  }

  /** The job's folder. */
  public Path jobDirectory() {
    return layout.jobDir;
  }

  @Override
  public String job() {
    return layout.job;
  }

  @Override
  public long epoch() {
    return epoch;
  }

  @Override
  public Optional<Checkpoint> read(String partition) {
    return reader.read(partition);
  }

  @Override
  public List<String> partitions() {
    return reader.partitions();
  }

  @Override
  public Optional<PartitionLayout> layout() {
    return reader.layout();
  }

  @Override
  public void recordLayout(PartitionLayout partitionLayout) {
    Objects.requireNonNull(partitionLayout, "layout");
    synchronized (layoutLock) {
      checkNotFenced(DEFAULT_PARTITION);
      try {
        writer.write(layout.layoutFile(), LayoutFile.encode(layout.job, partitionLayout));
      } catch (IOException e) {
        throw new WaymarkException(
            "Cannot write "
                + layout.layoutFile()
                + ": "
                + e
                + ". Check that the state directory is writable and not full, then run again.",
            e);
      }
    }
  }

  @Override
  public List<Checkpoint> history(String partition) {
    return reader.history(partition);
  }

  @Override
  public Checkpoint commit(String partition, Cursor cursor) {
    Names.requireValid("partition", partition);
    Objects.requireNonNull(cursor, "cursor");
    return withPartition(
        partition,
        () -> {
          checkNotFenced(partition);
          Checkpoint mine = lastCommitted.get(partition);
          Optional<Checkpoint> current = mine != null ? Optional.of(mine) : reader.read(partition);
          if (current.isPresent() && current.get().epoch() > epoch) {
            throw new FencedException(where(partition), epoch, current.get().epoch());
          }
          long sequence = current.map(c -> c.sequence() + 1).orElse(1L);
          return write(partition, cursor, sequence);
        });
  }

  @Override
  public Checkpoint rollback(String partition, long sequence) {
    Names.requireValid("partition", partition);
    return withPartition(
        partition,
        () -> {
          checkNotFenced(partition);
          List<Long> kept = reader.historySequences(partition);
          long currentSeq = currentSequenceIfReadable(partition);
          if (sequence > currentSeq || !kept.contains(sequence)) {
            throw new WaymarkException(
                "Cannot roll back "
                    + where(partition)
                    + " to sequence "
                    + sequence
                    + ": no such version is kept in "
                    + layout.historyDir(partition)
                    + ". Kept: "
                    + kept.stream().filter(s -> s <= currentSeq).toList()
                    + ". Choose one of those with --to.");
          }
          Checkpoint target = reader.decodeFile(layout.historyFile(partition, sequence), partition);
          invalidateSuccess(partition);
          // Entries above a readable current checkpoint are orphans of a commit killed before its
          // rename: never committed, so the sequence continues from the current one (write()
          // replaces the orphan). Only an unreadable checkpoint leaves history as the guide.
          long next = currentSeq == Long.MAX_VALUE ? maxOf(kept) + 1 : currentSeq + 1;
          return write(partition, target.cursor(), next);
        });
  }

  @Override
  public void reset(String partition) {
    Names.requireValid("partition", partition);
    withPartition(
        partition,
        () -> {
          checkNotFenced(partition);
          long current = currentSequenceIfReadable(partition);
          try {
            // The marker goes first and the checkpoint last, each step durable before the next: a
            // crash part-way leaves either a readable checkpoint or none, never a marker or later
            // history versions without a checkpoint, which would read as a lost checkpoint.
            FileGlobalCheckpointStore.invalidateSuccess(fs, layout);
            fs.delete(layout.markerFile(partition));
            fs.fsyncDirectory(layout.partitionDir(partition));
            Path historyDir = layout.historyDir(partition);
            // Older versions go before the current checkpoint's own (and any orphan above it), and
            // durably so: a crash in between leaves history ending at the current checkpoint, as
            // every commit leaves it, not a current checkpoint that history lacks.
            List<Path> last = new ArrayList<>();
            boolean deletedOlder = false;
            for (Path p : reader.listOrFail(historyDir)) {
              if (FileLayout.historySequence(p).orElse(0) >= current) {
                last.add(p);
              } else {
                fs.delete(p);
                deletedOlder = true;
              }
            }
            if (deletedOlder && !last.isEmpty()) {
              fs.fsyncDirectory(historyDir);
            }
            for (Path p : last) {
              fs.delete(p);
            }
            if (fs.kind(historyDir) == CheckpointFileSystem.Kind.DIRECTORY) {
              fs.fsyncDirectory(historyDir);
            }
            fs.delete(layout.checkpointFile(partition));
            fs.fsyncDirectory(layout.partitionDir(partition));
          } catch (IOException e) {
            throw new WaymarkException(
                "Reset of " + where(partition) + " failed: " + e + ". Run it again.", e);
          }
          markedPartitions.remove(partition);
          lastCommitted.remove(partition);
          knownHistory.remove(partition);
          return null;
        });
  }

  /**
   * Rewrites the partition's current checkpoint in the current format version if it is older,
   * keeping the original in history as {@code SEQ.pre-migration-vN}. The rewrite is a commit with
   * the next sequence number and the same cursor.
   *
   * @return the migrated checkpoint, or empty if the checkpoint was already current or absent
   * @throws CheckpointInvalidException if the file is not a checkpoint of any known version
   */
  public Optional<Checkpoint> migrate(String partition) {
    Names.requireValid("partition", partition);
    return withPartition(
        partition,
        () -> {
          checkNotFenced(partition);
          Path file = layout.checkpointFile(partition);
          if (reader.kindOf(file) != CheckpointFileSystem.Kind.FILE) {
            reader.read(partition); // throws for a lost checkpoint or a directory
            return Optional.empty();
          }
          byte[] original = readBytes(file);
          Migrations migrations = Migrations.standard();
          Migrations.Inspection inspection =
              migrations.inspect(original, file, reader.expectation(partition));
          if (!inspection.needsMigration()) {
            reader.read(partition); // a current-version file must also pass every other check
            return Optional.empty();
          }
          long previous =
              inspection.record().get("sequence") instanceof Long s
                  ? s
                  : lastSequenceBeforeMigrating(partition, original, inspection.version());
          return Optional.of(
              replaceWithMigrated(partition, original, inspection, previous + 1, file));
        });
  }

  /**
   * Imports the chapter's legacy checkpoint ({@code {"last_file":..., "last_file_idx":...}}) as the
   * partition's first checkpoint, keeping the original bytes in history.
   *
   * @param legacyFile where the bytes came from, for messages
   * @throws WaymarkException if the partition already has a checkpoint
   * @throws CheckpointInvalidException if the bytes are not a legacy checkpoint
   */
  public Checkpoint importLegacy(String partition, byte[] legacy, Path legacyFile) {
    Names.requireValid("partition", partition);
    return withPartition(
        partition,
        () -> {
          checkNotFenced(partition);
          Optional<Checkpoint> current = reader.read(partition);
          if (current.isPresent()) {
            throw new WaymarkException(
                "Cannot import "
                    + legacyFile
                    + ": "
                    + where(partition)
                    + " already has checkpoint sequence "
                    + current.get().sequence()
                    + " ("
                    + current.get().cursor()
                    + "). Importing would move it. Start over first with `waymark checkpoint reset "
                    + layout.locationArgs(partition)
                    + " --yes` if that is what you want.");
          }
          Migrations.Inspection inspection =
              Migrations.standard().inspect(legacy, legacyFile, reader.expectation(partition));
          if (inspection.version() != 0) {
            throw new WaymarkException(
                "Cannot import "
                    + legacyFile
                    + ": it is not a legacy checkpoint (expected {\"last_file\": NAME,"
                    + " \"last_file_idx\": N}, found a format-version-"
                    + inspection.version()
                    + " record). Copy a Waymark checkpoint into place with `rollback` instead.");
          }
          // No checkpoint and none committed before (read() says so), so any history entry is the
          // orphan of an import or commit that crashed before its rename.
          long next = 1;
          return replaceWithMigrated(partition, legacy, inspection, next, legacyFile);
        });
  }

  /**
   * The sequence of the last commit before an in-place record without one (a legacy record): the
   * newest history entry, unless that entry is the orphan of a migration of these same bytes that
   * crashed between its link and its rename (its pre-migration copy holds exactly these bytes).
   */
  private long lastSequenceBeforeMigrating(String partition, byte[] original, int version) {
    long newest = maxOf(reader.historySequences(partition));
    Path keep = layout.preMigrationFile(partition, newest, version);
    try {
      if (newest > 0
          && fs.kind(keep) == CheckpointFileSystem.Kind.FILE
          && java.util.Arrays.equals(fs.read(keep), original)) {
        return newest - 1;
      }
    } catch (IOException e) {
      throw new WaymarkException("Cannot read " + keep + ": " + e, e);
    }
    return newest;
  }

  private Checkpoint replaceWithMigrated(
      String partition,
      byte[] original,
      Migrations.Inspection inspection,
      long sequence,
      Path source) {
    Checkpoint migrated =
        Migrations.standard()
            .upgrade(
                inspection,
                source,
                new Migration.Context(
                    layout.job, partition, sequence, epoch, options.clock().instant()));
    ensurePartitionDirs(partition);
    // The original is kept even when retention keeps no history, so the folder may not exist yet.
    createDirectories(fs, layout.historyDir(partition));
    Path keep = layout.preMigrationFile(partition, sequence, inspection.version());
    try {
      fs.delete(keep); // only an orphan of a migration that crashed before its commit
      writer.write(keep, original);
    } catch (IOException e) {
      throw new WaymarkException(
          "Cannot keep the pre-migration record at " + keep + ": " + e + ". Nothing was changed.",
          e);
    }
    return write(partition, migrated.cursor(), sequence);
  }

  private Checkpoint write(String partition, Cursor cursor, long sequence) {
    ensurePartitionDirs(partition);
    Checkpoint next =
        new Checkpoint(layout.job, partition, cursor, sequence, epoch, options.clock().instant());
    byte[] bytes = CheckpointCodec.encode(next);
    Retention retention = options.retention();
    Path history = retention.keepsHistory() ? layout.historyFile(partition, sequence) : null;
    Path file = layout.checkpointFile(partition);
    try {
      try {
        writer.write(file, bytes, history);
      } catch (java.nio.file.FileAlreadyExistsException e) {
        if (history == null || !history.equals(Path.of(String.valueOf(e.getFile())))) {
          throw e;
        }
        // Only an orphan can stand here: a commit that crashed between its link and its rename.
        fs.delete(history);
        writer.write(file, bytes, history);
      }
      lastCommitted.put(partition, next);
      markCommitted(partition);
    } catch (IOException e) {
      lastCommitted.remove(partition);
      knownHistory.remove(partition);
      throw new WaymarkException(
          "Commit of "
              + where(partition)
              + " sequence "
              + sequence
              + " failed while writing "
              + file
              + ": "
              + e
              + (holds(file, bytes)
                  ? ". The new checkpoint is in place, but a step after its rename failed, so it may"
                      + " not survive a power loss; fix the cause (disk full? permissions?) and"
                      + " commit again."
                  : ". The previous checkpoint is still in place; fix the cause (disk full?"
                      + " permissions?) and run again."),
          e);
    }
    prune(partition, history == null ? -1 : sequence);
    return next;
  }

  /** Whether {@code file} now holds exactly {@code bytes}: after a failed write, was it renamed? */
  private boolean holds(Path file, byte[] bytes) {
    try {
      return java.util.Arrays.equals(fs.read(file), bytes);
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  private void markCommitted(String partition) throws IOException {
    if (markedPartitions.contains(partition)) {
      return;
    }
    Path marker = layout.markerFile(partition);
    if (fs.kind(marker) == CheckpointFileSystem.Kind.MISSING) {
      fs.createExclusive(marker).close();
      fs.fsyncDirectory(layout.partitionDir(partition));
    }
    markedPartitions.add(partition);
  }

  private void prune(String partition, long added) {
    Retention retention = options.retention();
    if (!retention.keepsHistory() && historyEmptied.contains(partition)) {
      // Without history no write adds an entry, and this writer holds the job's lock: once this
      // store has emptied the partition's history, listing it on every commit would find nothing.
      return;
    }
    try {
      java.util.TreeSet<Long> seqs = knownHistory.get(partition);
      if (seqs == null) {
        seqs = new java.util.TreeSet<>(reader.historySequences(partition));
        knownHistory.put(partition, seqs);
      } else if (added > 0) {
        seqs.add(added);
      }
      while (seqs.size() > retention.keepLast()) {
        fs.delete(layout.historyFile(partition, seqs.first()));
        seqs.pollFirst();
      }
      Optional<Duration> keepFor = retention.keepFor();
      if (keepFor.isPresent()) {
        Instant now = options.clock().instant();
        while (seqs.size() > 1) {
          Path oldest = layout.historyFile(partition, seqs.first());
          if (!reader
              .decodeFile(oldest, partition)
              .committedAt()
              .plus(keepFor.get())
              .isBefore(now)) {
            break;
          }
          fs.delete(oldest);
          seqs.pollFirst();
        }
      }
      if (!retention.keepsHistory()) {
        historyEmptied.add(partition);
      }
    } catch (IOException | RuntimeException e) {
      knownHistory.remove(partition);
      // The commit is durable already; a history entry left behind is pruned next time.
      log()
          .log(
              System.Logger.Level.WARNING, "Pruning history of " + where(partition) + " failed", e);
    }
  }

  private long takeNextEpoch() {
    OptionalLong recorded = EpochFile.read(fs, layout.epochFile(), layout.job);
    long highest = recorded.orElse(0);
    if (recorded.isEmpty()) {
      // A lost epoch file must not let this writer fall below one that already committed.
      for (String partition : reader.partitions()) {
        try {
          highest = Math.max(highest, reader.read(partition).map(Checkpoint::epoch).orElse(0L));
        } catch (CheckpointInvalidException e) {
          // Read again, and reported, when the partition is used.
        }
      }
    }
    long next = highest + 1;
    try {
      writer.write(layout.epochFile(), EpochFile.encode(layout.job, next));
    } catch (IOException e) {
      throw new WaymarkException(
          "Cannot write "
              + layout.epochFile()
              + ": "
              + e
              + ". Check that the state directory is"
              + " writable and not full.",
          e);
    }
    return next;
  }

  private void checkNotFenced(String partition) {
    if (closed) {
      throw new IllegalStateException("the checkpoint store of job '" + layout.job + "' is closed");
    }
    long recorded = EpochFile.read(fs, layout.epochFile(), layout.job).orElse(0);
    if (recorded > epoch) {
      throw new FencedException(where(partition), epoch, recorded);
    }
  }

  private void deleteLeftoverTempFiles() {
    List<Path> dirs = new ArrayList<>();
    dirs.add(layout.jobDir);
    for (String partition : reader.partitions()) {
      dirs.add(layout.partitionDir(partition));
      dirs.add(layout.historyDir(partition));
    }
    for (Path dir : dirs) {
      for (Path p : reader.listOrFail(dir)) {
        if (AtomicFileWriter.isTempFile(p.getFileName().toString())) {
          try {
            fs.delete(p);
            log().log(System.Logger.Level.DEBUG, "Deleted temp file left by a crash: " + p);
          } catch (IOException e) {
            throw new WaymarkException(
                "Cannot delete "
                    + p
                    + ", a temp file left by a crash: "
                    + e
                    + ". Delete it by hand.",
                e);
          }
        }
      }
    }
  }

  /**
   * The store's logger, looked up when something is logged (rarely): a logger in a static field
   * would set up {@code java.util.logging} on every open, a measured part of a run's start-up.
   */
  private static System.Logger log() {
    return System.getLogger(FileCheckpointStore.class.getName());
  }

  private void ensurePartitionDirs(String partition) {
    if (readyPartitions.contains(partition)) {
      return;
    }
    createDirectories(fs, layout.partitionsDir());
    createDirectories(fs, layout.partitionDir(partition));
    if (options.retention().keepsHistory()) {
      createDirectories(fs, layout.historyDir(partition));
    }
    readyPartitions.add(partition);
  }

  /** Creates a directory and its missing parents, each made durable in its parent. */
  static void createDirectories(CheckpointFileSystem fs, Path dir) {
    try {
      CheckpointFileSystem.Kind kind = fs.kind(dir);
      if (kind == CheckpointFileSystem.Kind.DIRECTORY) {
        return;
      }
      if (kind != CheckpointFileSystem.Kind.MISSING) {
        throw new WaymarkException(FileLayout.notADirectory(dir, kind));
      }
      Path parent = dir.toAbsolutePath().getParent();
      if (parent != null) {
        createDirectories(fs, parent);
      }
      fs.createDirectory(dir);
      if (parent != null) {
        fs.fsyncDirectory(parent);
      }
    } catch (IOException e) {
      throw new WaymarkException(
          "Cannot create directory "
              + dir
              + ": "
              + e
              + ". Check that its parent exists and is"
              + " writable by this user.",
          e);
    }
  }

  /** The job's success marker no longer describes it once a partition moves back. */
  private void invalidateSuccess(String partition) {
    try {
      FileGlobalCheckpointStore.invalidateSuccess(fs, layout);
    } catch (IOException e) {
      throw new WaymarkException(
          "Cannot delete the success marker "
              + layout.successFile()
              + " before moving "
              + where(partition)
              + ": "
              + e
              + ". Nothing was changed; fix the cause and run again.",
          e);
    }
  }

  private long currentSequenceIfReadable(String partition) {
    try {
      return reader.read(partition).map(Checkpoint::sequence).orElse(0L);
    } catch (CheckpointInvalidException e) {
      return Long.MAX_VALUE;
    }
  }

  private byte[] readBytes(Path file) {
    try {
      return fs.read(file);
    } catch (IOException e) {
      throw new WaymarkException("Cannot read " + file + ": " + e, e);
    }
  }

  private static long maxOf(List<Long> values) {
    return values.stream().mapToLong(Long::longValue).max().orElse(0);
  }

  private String where(String partition) {
    return "job '" + layout.job + "' partition '" + partition + "'";
  }

  private <T> T withPartition(String partition, java.util.function.Supplier<T> action) {
    ReentrantLock l = partitionLocks.computeIfAbsent(partition, p -> new ReentrantLock());
    l.lock();
    try {
      return action.get();
    } finally {
      l.unlock();
    }
  }

  private static boolean isValidName(String name) {
    try {
      Names.requireValid("job", name);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      lock.close();
    }
  }

  @Override
  public String toString() {
    return "FileCheckpointStore[" + layout.jobDir + ", epoch " + epoch + "]";
  }
}
