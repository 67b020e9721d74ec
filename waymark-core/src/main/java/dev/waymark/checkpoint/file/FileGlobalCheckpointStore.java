package dev.waymark.checkpoint.file;

import dev.waymark.WaymarkException;
import dev.waymark.checkpoint.CheckpointInvalidException;
import dev.waymark.checkpoint.format.GlobalRecordCodec;
import dev.waymark.checkpoint.global.GlobalCheckpoint;
import dev.waymark.checkpoint.global.GlobalCheckpointNotAvailableException;
import dev.waymark.checkpoint.global.GlobalCheckpointStore;
import dev.waymark.checkpoint.global.JobOutcome;
import dev.waymark.checkpoint.global.PartitionMark;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A {@link GlobalCheckpointStore} in files under the job's state folder, each record written with
 * {@link AtomicFileWriter} (temp file, fsync, atomic rename, directory fsync) in {@link
 * GlobalRecordCodec}'s format. Thread-safe.
 *
 * <h2>Layout</h2>
 *
 * <pre>
 * STATE/JOB/
 *   global/barrier                         the last barrier issued: N never goes back
 *   global/NNNNNNNNNNNNNNNNNNNN.P.marker   partition P's marker for barrier N (N is 20 digits)
 *   global/NNNNNNNNNNNNNNNNNNNN.complete   "global checkpoint N complete": the whole cut, one file
 *   _SUCCESS                               the success marker: final cut and totals
 *   _FAILURE                               the failure marker: the error of the last run
 * </pre>
 *
 * <p>The complete file is written only after every partition's marker is durable, in one atomic
 * rename, so a reader sees a whole cut or none. Markers are dropped once their N is complete, and
 * markers of an N that never completed (a crash between a marker and the complete record) are
 * deleted by {@link #open}: they are never used for recovery.
 *
 * <p>{@link #open} is for the job's writer, which must hold the job's lock ({@link
 * FileCheckpointStore#open}); {@link #reader} takes no lock, writes nothing, and may run beside it.
 */
public final class FileGlobalCheckpointStore implements GlobalCheckpointStore {
  private static final Pattern COMPLETE = Pattern.compile("([0-9]{20})\\.complete");
  private static final Pattern MARKER = Pattern.compile("([0-9]{20})\\.(.+)\\.marker");

  private final FileLayout layout;
  private final CheckpointFileSystem fs;
  private final AtomicFileWriter writer;
  private final FileStoreOptions options;
  private final int keep;
  private final boolean writable;
  private long lastIssued; // guarded by this

  private FileGlobalCheckpointStore(
      FileLayout layout, FileStoreOptions options, int keep, boolean writable) {
    if (keep < 1) {
      throw new IllegalArgumentException("keep must be at least 1: " + keep);
    }
    this.layout = layout;
    this.options = options;
    this.fs = options.fileSystem();
    this.writer = new AtomicFileWriter(fs);
    this.keep = keep;
    this.writable = writable;
  }

  /**
   * Opens the job's global checkpoints for writing, deleting partial ones (markers of an N that
   * never completed) and temp files left by a crash. The caller must hold the job's lock.
   *
   * @param keep how many complete global checkpoints to keep, at least 1
   * @throws CheckpointInvalidException if the barrier file is damaged
   */
  public static FileGlobalCheckpointStore open(
      Path stateDir, String job, FileStoreOptions options, int keep) {
    FileGlobalCheckpointStore store =
        new FileGlobalCheckpointStore(
            new FileLayout(stateDir.toAbsolutePath().normalize(), job), options, keep, true);
    FileCheckpointStore.createDirectories(store.fs, store.layout.globalDir());
    store.deletePartials();
    store.lastIssued = Math.max(store.readLastBarrier(), store.newestComplete());
    return store;
  }

  /** A read-only view for status and {@code wait}: takes no lock, writes nothing. */
  public static FileGlobalCheckpointStore reader(Path stateDir, String job) {
    return new FileGlobalCheckpointStore(
        new FileLayout(stateDir.toAbsolutePath().normalize(), job),
        FileStoreOptions.ofDefaults(),
        DEFAULT_KEEP,
        false);
  }

  @Override
  public String job() {
    return layout.job;
  }

  /** The file of complete global checkpoint {@code n}. */
  public Path completeFile(long n) {
    return layout.globalDir().resolve(String.format("%020d.complete", n));
  }

  /** The success marker's file. */
  public Path successFile() {
    return layout.successFile();
  }

  /** The failure marker's file. */
  public Path failureFile() {
    return layout.failureFile();
  }

  Path markerFile(long n, String partition) {
    return layout.globalDir().resolve(String.format("%020d.%s.marker", n, partition));
  }

  private Path barrierFile() {
    return layout.globalDir().resolve("barrier");
  }

  @Override
  public synchronized long issueBarrier() {
    requireWritable();
    long n = lastIssued + 1;
    write(
        barrierFile(),
        GlobalRecordCodec.encodeBarrier(layout.job, n, options.clock().instant()),
        "barrier " + n);
    lastIssued = n;
    return n;
  }

  @Override
  public void mark(long n, PartitionMark mark) {
    requireWritable();
    synchronized (this) {
      if (n != lastIssued) {
        throw new IllegalStateException(
            "marker for barrier " + n + ", but the last barrier issued is " + lastIssued);
      }
    }
    write(
        markerFile(n, mark.partition()),
        GlobalRecordCodec.encodeMarker(layout.job, n, mark, options.clock().instant()),
        "partition '" + mark.partition() + "' marker for barrier " + n);
  }

  @Override
  public synchronized GlobalCheckpoint complete(long n, Collection<String> partitions) {
    requireWritable();
    List<PartitionMark> marks = new ArrayList<>();
    for (String p : partitions) {
      Path file = markerFile(n, p);
      if (kind(file) != CheckpointFileSystem.Kind.FILE) {
        throw new IllegalStateException(
            "global checkpoint " + n + " cannot complete: partition '" + p + "' has no marker");
      }
      marks.add(GlobalRecordCodec.decodeMarker(read(file), file, layout.job, n, partialFix()));
    }
    GlobalCheckpoint g =
        new GlobalCheckpoint(
            layout.job, n, options.clock().instant(), GlobalCheckpoint.cutOf(marks));
    write(completeFile(n), GlobalRecordCodec.encode(g), "global checkpoint " + n);
    // Markers and pruned checkpoints are deleted without a directory fsync: one that comes back
    // after a power loss is deleted again by the next open, or pruned again.
    for (String p : partitions) {
      deleteQuietly(markerFile(n, p));
    }
    List<Long> kept = completeNumbers();
    for (int i = 0; i < kept.size() - keep; i++) {
      deleteQuietly(completeFile(kept.get(i)));
    }
    return g;
  }

  @Override
  public Optional<GlobalCheckpoint> lastComplete() {
    List<Long> kept = completeNumbers();
    return kept.isEmpty() ? Optional.empty() : Optional.of(read(kept.get(kept.size() - 1)));
  }

  @Override
  public List<Long> completeNumbers() {
    List<Long> numbers = new ArrayList<>();
    for (Path p : list(layout.globalDir())) {
      Matcher m = COMPLETE.matcher(p.getFileName().toString());
      if (m.matches()) {
        numbers.add(Long.parseLong(m.group(1)));
      }
    }
    numbers.sort(null);
    return numbers;
  }

  @Override
  public GlobalCheckpoint read(long n) {
    Path file = completeFile(n);
    if (kind(file) != CheckpointFileSystem.Kind.FILE) {
      throw notAvailable(n, completeNumbers(), readLastBarrier());
    }
    return GlobalRecordCodec.decodeComplete(read(file), file, layout.job, completeFix(n));
  }

  private WaymarkException notAvailable(long n, List<Long> available, long barrier) {
    return new GlobalCheckpointNotAvailableException(
        n, layout.job, available, Math.max(barrier, newestOf(available)), keep);
  }

  @Override
  public Optional<JobOutcome> outcome() {
    for (Path file : List.of(layout.successFile(), layout.failureFile())) {
      if (kind(file) == CheckpointFileSystem.Kind.FILE) {
        return Optional.of(
            GlobalRecordCodec.decodeOutcome(
                read(file),
                file,
                layout.job,
                "Delete " + file + " and run the job again to write a new one."));
      }
    }
    return Optional.empty();
  }

  @Override
  public void recordOutcome(JobOutcome outcome) {
    requireWritable();
    Path file = outcome.succeeded() ? layout.successFile() : layout.failureFile();
    Path other = outcome.succeeded() ? layout.failureFile() : layout.successFile();
    deleteDurably(List.of(other));
    write(file, GlobalRecordCodec.encode(outcome), file.getFileName().toString());
  }

  @Override
  public void clearOutcome() {
    requireWritable();
    deleteDurably(List.of(layout.successFile(), layout.failureFile()));
  }

  /**
   * Deletes the success marker of the job in {@code layout}, durably: its position is about to move
   * (rollback, reset), so the marker would describe a state that no longer exists.
   */
  static void invalidateSuccess(CheckpointFileSystem fs, FileLayout layout) throws IOException {
    Path file = layout.successFile();
    if (fs.kind(file) != CheckpointFileSystem.Kind.MISSING) {
      fs.delete(file);
      fs.fsyncDirectory(layout.jobDir);
    }
  }

  @Override
  public void close() {
    // Holds nothing open: the job's lock belongs to its FileCheckpointStore.
  }

  @Override
  public String toString() {
    return "FileGlobalCheckpointStore[" + layout.globalDir() + "]";
  }

  // ---------------------------------------------------------------- helpers

  private void deletePartials() {
    for (Path p : list(layout.globalDir())) {
      String name = p.getFileName().toString();
      if (MARKER.matcher(name).matches() || AtomicFileWriter.isTempFile(name)) {
        try {
          fs.delete(p);
        } catch (IOException e) {
          throw new WaymarkException(
              "Cannot delete " + p + ", left by a run that stopped: " + e + ". Delete it by hand.",
              e);
        }
      }
    }
  }

  private long readLastBarrier() {
    Path file = barrierFile();
    if (kind(file) != CheckpointFileSystem.Kind.FILE) {
      return 0;
    }
    return GlobalRecordCodec.decodeBarrier(
        read(file),
        file,
        layout.job,
        "Delete "
            + file
            + "; the next run numbers its barriers after the newest complete global checkpoint.");
  }

  private long newestComplete() {
    return newestOf(completeNumbers());
  }

  private static long newestOf(List<Long> numbers) {
    return numbers.isEmpty() ? 0 : numbers.get(numbers.size() - 1);
  }

  private String completeFix(long n) {
    return "Delete "
        + completeFile(n)
        + " to fall back to the previous complete global checkpoint (see `waymark checkpoint status"
        + " --state "
        + layout.stateDir
        + " --job "
        + layout.job
        + "`), or run the job again to write a new one.";
  }

  private String partialFix() {
    return "Run the job again: markers of an unfinished global checkpoint are discarded.";
  }

  private void requireWritable() {
    if (!writable) {
      throw new IllegalStateException("a reader of global checkpoints cannot write");
    }
  }

  private void write(Path file, byte[] bytes, String what) {
    try {
      writer.write(file, bytes);
    } catch (IOException e) {
      throw new WaymarkException(
          "Cannot write "
              + what
              + " of job '"
              + layout.job
              + "' to "
              + file
              + ": "
              + e
              + ". Check that the state directory is writable and not full, then run again.",
          e);
    }
  }

  private void deleteDurably(List<Path> files) {
    try {
      boolean any = false;
      for (Path f : files) {
        if (fs.kind(f) != CheckpointFileSystem.Kind.MISSING) {
          fs.delete(f);
          any = true;
        }
      }
      if (any) {
        fs.fsyncDirectory(layout.jobDir);
      }
    } catch (IOException e) {
      throw new WaymarkException("Cannot delete " + files + ": " + e + ". Delete them by hand.", e);
    }
  }

  private void deleteQuietly(Path file) {
    try {
      fs.delete(file);
    } catch (IOException e) {
      // Deleted again by the next open or prune.
    }
  }

  private byte[] read(Path file) {
    try {
      return fs.read(file);
    } catch (IOException e) {
      throw new CheckpointInvalidException(
          CheckpointInvalidException.Reason.UNREADABLE,
          file,
          "the file cannot be read",
          "a readable file",
          e.toString(),
          "Check the file's permissions and the disk, then run again.",
          e);
    }
  }

  private CheckpointFileSystem.Kind kind(Path file) {
    try {
      return fs.kind(file);
    } catch (IOException e) {
      throw new WaymarkException("Cannot inspect " + file + ": " + e, e);
    }
  }

  private List<Path> list(Path dir) {
    try {
      return fs.list(dir);
    } catch (IOException e) {
      throw new WaymarkException("Cannot list " + dir + ": " + e, e);
    }
  }
}
