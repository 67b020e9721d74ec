package dev.waymark.checkpoint.file;

import dev.waymark.WaymarkException;
import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.CheckpointInvalidException;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.Names;
import dev.waymark.checkpoint.PartitionLayout;
import dev.waymark.checkpoint.format.Migrations;
import dev.waymark.checkpoint.global.GlobalCheckpoint;
import dev.waymark.checkpoint.global.PartitionMark;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Audits a state directory written by {@link FileCheckpointStore} and answers the four questions
 * the chapter asks of any checkpoint, plus two of its own:
 *
 * <ol>
 *   <li>{@link Check#ATOMIC}: is every write atomic? No torn, empty or unreadable checkpoint, no
 *       temp file ({@code .*.tmp}) left behind by an interrupted write.
 *   <li>{@link Check#SOURCE_POSITION}: is the checkpoint keyed to a source position? A cursor field
 *       that looks like a wall-clock time (an ISO-8601 timestamp; a field named {@code time},
 *       {@code ts}, {@code timestamp}, {@code date} or {@code *_at}; an integer that reads as epoch
 *       seconds or milliseconds between 2000 and 2100) is flagged.
 *   <li>{@link Check#LAYOUT}: one checkpoint per partition, in its own folder, and no stray files
 *       or symbolic links in Waymark's folders.
 *   <li>{@link Check#FORMAT_VERSION}: is every checkpoint in the current format version?
 *   <li>{@link Check#PERMISSIONS}: no file or folder is writable by group or others.
 *   <li>{@link Check#HISTORY}: every kept version decodes, its file name matches its sequence,
 *       epochs never go down, and the current checkpoint is the newest kept version.
 * </ol>
 *
 * <p>Each problem is a {@link Finding} with a {@link Severity}: {@link Severity#INVALID} when a
 * checkpoint cannot be trusted (the same files that make reads throw {@link
 * CheckpointInvalidException}), {@link Severity#ERROR} when a rule above is broken, {@link
 * Severity#WARNING} when something is probably harmless but worth a look (an orphaned history entry
 * of an interrupted commit; an integer cursor field that merely falls in the epoch-seconds range).
 *
 * <pre>{@code
 * FileStoreAudit.Report report = FileStoreAudit.run(Path.of("/var/lib/waymark"));
 * report.findings().forEach(f -> System.out.println(f.severity() + " " + f.path() + ": " + f.message()));
 * }</pre>
 *
 * <p>The audit takes no lock and writes nothing, so it may run beside a writer; a commit in flight
 * can then show up as a temp file. Thread-safe: each run keeps its own state.
 */
public final class FileStoreAudit {

  /** How bad a finding is. */
  public enum Severity {
    /** A checkpoint or kept version cannot be trusted: reading it throws. */
    INVALID,
    /** One of the audit's rules is broken. */
    ERROR,
    /** Probably harmless, worth a look. */
    WARNING
  }

  /** Which question a finding answers. */
  public enum Check {
    ATOMIC("Atomic writes: no torn or unreadable files, no leftover temp files"),
    SOURCE_POSITION("Keyed to source position: no cursor field looks like a wall-clock time"),
    LAYOUT("Per-partition layout: one checkpoint per partition, no stray files"),
    FORMAT_VERSION("Current format version everywhere"),
    PERMISSIONS("Permissions: nothing writable by group or others"),
    HISTORY("History: every kept version decodes, sequences increase, current is the newest");

    private final String question;

    Check(String question) {
      this.question = question;
    }

    /** The question this check answers, for reports. */
    public String question() {
      return question;
    }
  }

  /**
   * One problem.
   *
   * @param path the file or folder concerned
   * @param message what is wrong, and how to fix it
   */
  public record Finding(Severity severity, Check check, Path path, String message) {}

  /**
   * The outcome of an audit. Immutable.
   *
   * @param stateDirectory the audited directory, absolute
   * @param jobs the jobs audited
   * @param partitions how many partitions were audited, over all jobs
   * @param findings the problems found, in the order the files were visited
   */
  public record Report(
      Path stateDirectory, List<String> jobs, int partitions, List<Finding> findings) {
    public Report {
      jobs = List.copyOf(jobs);
      findings = List.copyOf(findings);
    }

    /** Whether nothing but warnings was found. */
    public boolean isClean() {
      return worst().map(s -> s == Severity.WARNING).orElse(true);
    }

    /** The most severe finding's severity, if there is any finding. */
    public Optional<Severity> worst() {
      return findings.stream().map(Finding::severity).min(Comparator.naturalOrder());
    }
  }

  private static final Set<PosixFilePermission> WRITABLE_BY_OTHERS =
      Set.of(PosixFilePermission.GROUP_WRITE, PosixFilePermission.OTHERS_WRITE);
  private static final Pattern ISO_TIMESTAMP =
      Pattern.compile(
          "\\d{4}-\\d{2}-\\d{2}[T ]\\d{2}:\\d{2}(:\\d{2}([.,]\\d+)?)?(Z|[+-]\\d{2}(:?\\d{2})?)?");
  private static final Pattern DIGITS = Pattern.compile("\\d{9,13}");
  private static final Pattern PRE_MIGRATION = Pattern.compile("[0-9]{20}\\.pre-migration-v\\d+");
  private static final Set<String> TIME_WORDS =
      Set.of("time", "timestamp", "ts", "date", "datetime", "mtime", "ctime", "atime", "tstamp");
  private static final Set<String> POSITION_WORDS =
      Set.of(
          "offset",
          "pos",
          "position",
          "index",
          "idx",
          "seq",
          "sequence",
          "count",
          "file",
          "files",
          "line",
          "lines",
          "row",
          "rows",
          "id",
          "key",
          "page",
          "byte",
          "bytes",
          "lsn",
          "size",
          "number",
          "num",
          "n",
          "partition",
          "shard");
  private static final long EPOCH_SECONDS_FROM = 946_684_800L; // 2000-01-01T00:00:00Z
  private static final long EPOCH_SECONDS_UNTIL = 4_102_444_800L; // 2100-01-01T00:00:00Z

  private final Path state;
  private final CheckpointFileSystem fs = CheckpointFileSystem.system();
  private final List<Finding> findings = new ArrayList<>();
  private int partitions;
  private final java.util.Set<String> globalChecked = new java.util.HashSet<>();

  private FileStoreAudit(Path state) {
    this.state = state;
  }

  /**
   * Audits every job in {@code stateDir}, and flags anything in it that is not a job's folder.
   *
   * @throws WaymarkException if {@code stateDir} is not a directory or cannot be listed
   */
  public static Report run(Path stateDir) {
    FileStoreAudit audit = new FileStoreAudit(requireDirectory(stateDir));
    List<String> jobs = audit.stateEntries();
    for (String job : jobs) {
      audit.job(job);
    }
    return audit.report(jobs);
  }

  /**
   * Audits one job of {@code stateDir}.
   *
   * @throws IllegalArgumentException if {@code job} is not a valid name
   * @throws WaymarkException if {@code stateDir} is not a directory or has no folder for the job
   */
  public static Report run(Path stateDir, String job) {
    Names.requireValid("job", job);
    FileStoreAudit audit = new FileStoreAudit(requireDirectory(stateDir));
    if (audit.kind(audit.state.resolve(job)) != CheckpointFileSystem.Kind.DIRECTORY) {
      throw new WaymarkException(
          "No job '"
              + job
              + "' in state directory "
              + audit.state
              + "; the jobs there are "
              + FileCheckpointStore.jobs(audit.state)
              + ". Check --job and --state.");
    }
    audit.rootPermissions();
    audit.job(job);
    return audit.report(List.of(job));
  }

  private Report report(List<String> jobs) {
    return new Report(state, jobs, partitions, findings);
  }

  private static Path requireDirectory(Path stateDir) {
    Path dir = stateDir.toAbsolutePath().normalize();
    if (!Files.isDirectory(dir)) { // a state directory may well be a link to a data disk
      throw new WaymarkException(
          "State directory "
              + dir
              + (Files.exists(dir) ? " is not a directory" : " does not exist")
              + ". Point --state at the directory your jobs write to.");
    }
    return dir;
  }

  private List<String> stateEntries() {
    rootPermissions();
    List<String> jobs = new ArrayList<>();
    for (Path p : list(state)) {
      String name = p.getFileName().toString();
      CheckpointFileSystem.Kind kind = kind(p);
      if (isTemp(p)) {
        leftoverTemp(p);
      } else if (kind == CheckpointFileSystem.Kind.DIRECTORY && validName(name)) {
        jobs.add(name);
      } else if (kind == CheckpointFileSystem.Kind.FILE && looksLegacy(p)) {
        add(
            Severity.ERROR,
            Check.LAYOUT,
            p,
            "a legacy checkpoint of the chapter's pipeline lies outside Waymark's layout. Import it"
                + " with `waymark checkpoint import-legacy "
                + p
                + " --state "
                + state
                + " --job NAME`, then move it away.");
      } else {
        stray(p, "the state directory holds one folder per job");
      }
    }
    jobs.sort(null);
    return jobs;
  }

  private void job(String job) {
    FileLayout layout = new FileLayout(state, job);
    FileCheckpointReader reader = new FileCheckpointReader(layout, fs);
    permissions(layout.jobDir);
    List<String> names = new ArrayList<>();
    Optional<PartitionLayout> recorded = Optional.empty();
    for (Path p : list(layout.jobDir)) {
      String name = p.getFileName().toString();
      CheckpointFileSystem.Kind kind = kind(p);
      if (isTemp(p)) {
        leftoverTemp(p);
      } else if (name.equals(FileLayout.LAYOUT)) {
        if (expect(p, kind, CheckpointFileSystem.Kind.FILE)) {
          try {
            recorded = LayoutFile.read(fs, p, job);
          } catch (CheckpointInvalidException e) {
            add(Severity.INVALID, Check.ATOMIC, p, e.getMessage());
          }
        }
      } else if (name.equals(JobLock.FILE_NAME) || name.equals(FileLayout.EPOCH)) {
        if (expect(p, kind, CheckpointFileSystem.Kind.FILE) && name.equals(FileLayout.EPOCH)) {
          try {
            EpochFile.read(fs, p, job);
          } catch (CheckpointInvalidException e) {
            add(Severity.INVALID, Check.ATOMIC, p, e.getMessage());
          }
        }
      } else if (p.equals(layout.globalDir())) {
        if (expect(p, kind, CheckpointFileSystem.Kind.DIRECTORY)) {
          globalCheckpoints(job);
        }
      } else if (p.equals(layout.successFile()) || p.equals(layout.failureFile())) {
        if (expect(p, kind, CheckpointFileSystem.Kind.FILE)) {
          globalCheckpoints(job);
        }
      } else if (name.equals(FileLayout.PARTITIONS)) {
        if (expect(p, kind, CheckpointFileSystem.Kind.DIRECTORY)) {
          for (Path q : list(p)) {
            if (isTemp(q)) {
              leftoverTemp(q);
            } else if (kind(q) == CheckpointFileSystem.Kind.DIRECTORY
                && validName(q.getFileName().toString())) {
              names.add(q.getFileName().toString());
            } else {
              stray(q, "the partitions folder holds one folder per partition");
            }
          }
        }
      } else {
        stray(
            p,
            "a job's folder holds only "
                + JobLock.FILE_NAME
                + ", "
                + FileLayout.EPOCH
                + ", "
                + FileLayout.LAYOUT
                + ", "
                + FileLayout.PARTITIONS
                + "/, global/, _SUCCESS and _FAILURE");
      }
    }
    names.sort(null);
    for (String partition : names) {
      partitions++;
      partition(layout, reader, partition);
    }
    List<String> missing =
        recorded.map(PartitionLayout::ids).orElse(List.of()).stream()
            .filter(p -> !names.contains(p))
            .toList();
    if (!missing.isEmpty()) {
      Optional<GlobalCheckpoint> global = lastGlobalIfReadable(job); // once for all of them
      for (String partition : missing) {
        missingPartition(layout, global, partition, recorded.get());
      }
    }
  }

  /**
   * A partition of the recorded layout without a folder: as it should be if it never committed (its
   * files may all have gone to other partitions), an error if the last global checkpoint's cut has
   * a mark for it (its state was removed). Without that evidence, nothing: {@code status} lists it
   * as never committed.
   */
  private void missingPartition(
      FileLayout layout,
      Optional<GlobalCheckpoint> global,
      String partition,
      PartitionLayout recorded) {
    PartitionMark mark = global.map(g -> g.cut().get(partition)).orElse(null);
    if (mark == null || mark.cursor() == null) {
      return;
    }
    add(
        Severity.ERROR,
        Check.LAYOUT,
        layout.partitionDir(partition),
        "partition "
            + partition
            + " of the recorded layout ("
            + recorded
            + ") has no folder, but global checkpoint "
            + global.get().number()
            + " recorded it at sequence "
            + mark.sequence()
            + ", "
            + mark.cursor()
            + ": its state was removed. The next run starts it from its first file; rows it"
            + " already loaded are skipped by their dedup key.");
  }

  private Optional<GlobalCheckpoint> lastGlobalIfReadable(String job) {
    try {
      return FileGlobalCheckpointStore.reader(state, job).lastComplete();
    } catch (CheckpointInvalidException damaged) {
      return Optional.empty(); // reported by globalCheckpoints
    }
  }

  /** Decodes the newest complete global checkpoint and the outcome marker, once per job. */
  private void globalCheckpoints(String job) {
    if (!globalChecked.add(job)) {
      return;
    }
    FileGlobalCheckpointStore global = FileGlobalCheckpointStore.reader(state, job);
    try {
      global.lastComplete();
      global.outcome();
    } catch (CheckpointInvalidException e) {
      add(Severity.INVALID, Check.ATOMIC, e.path(), e.getMessage());
    }
  }

  private void partition(FileLayout layout, FileCheckpointReader reader, String partition) {
    Path dir = layout.partitionDir(partition);
    permissions(dir);
    for (Path p : list(dir)) {
      String name = p.getFileName().toString();
      CheckpointFileSystem.Kind kind = kind(p);
      if (isTemp(p)) {
        leftoverTemp(p);
      } else if (name.equals(FileLayout.CHECKPOINT)) {
        if (kind != CheckpointFileSystem.Kind.DIRECTORY) {
          permissions(p); // anything else is reported by the read below
        }
      } else if (name.equals(FileLayout.MARKER)) {
        expect(p, kind, CheckpointFileSystem.Kind.FILE);
      } else if (name.equals(FileLayout.HISTORY)) {
        expect(p, kind, CheckpointFileSystem.Kind.DIRECTORY);
      } else if (kind == CheckpointFileSystem.Kind.FILE && decodes(reader, p, partition)) {
        add(
            Severity.ERROR,
            Check.LAYOUT,
            p,
            "a second checkpoint of partition '"
                + partition
                + "' beside "
                + layout.checkpointFile(partition)
                + "; a partition has exactly one. Nothing reads this copy: delete it, or restore"
                + " a version with `waymark checkpoint rollback`.");
      } else {
        stray(p, "a partition's folder holds only checkpoint, committed and history/");
      }
    }

    Optional<Checkpoint> current = Optional.empty();
    boolean currentInvalid = false;
    try {
      current = reader.read(partition);
    } catch (CheckpointInvalidException e) {
      currentInvalid = true;
      add(Severity.INVALID, checkFor(e, Check.ATOMIC), e.path(), e.getMessage());
    }
    current.ifPresent(c -> cursor(c.cursor(), layout.checkpointFile(partition)));
    history(layout, reader, partition, current, currentInvalid);
  }

  private void history(
      FileLayout layout,
      FileCheckpointReader reader,
      String partition,
      Optional<Checkpoint> current,
      boolean currentInvalid) {
    Path dir = layout.historyDir(partition);
    if (kind(dir) != CheckpointFileSystem.Kind.DIRECTORY) {
      return;
    }
    List<Path> entries = new ArrayList<>();
    for (Path p : list(dir)) {
      String name = p.getFileName().toString();
      if (isTemp(p)) {
        leftoverTemp(p);
      } else if (kind(p) != CheckpointFileSystem.Kind.FILE) {
        stray(p, "the history folder holds only files");
      } else if (FileLayout.historySequence(p).isPresent()) {
        permissions(p);
        entries.add(p);
      } else if (PRE_MIGRATION.matcher(name).matches()) {
        permissions(p);
      } else {
        stray(p, "the history folder holds only SEQ.ckpt and SEQ.pre-migration-vN files");
      }
    }
    entries.sort(null); // 20-digit names sort by sequence
    long limit = current.map(Checkpoint::sequence).orElse(currentInvalid ? Long.MAX_VALUE : 0L);
    Checkpoint newest = null;
    for (Path p : entries) {
      long seq = FileLayout.historySequence(p).getAsLong();
      if (seq > limit) {
        add(
            Severity.WARNING,
            Check.HISTORY,
            p,
            "an orphan of a commit that was interrupted before its rename: its sequence "
                + seq
                + " is above the current checkpoint's "
                + (limit == 0 ? "(none)" : limit)
                + ". Readers ignore it and the next commit replaces it.");
        continue;
      }
      Checkpoint kept;
      try {
        kept = reader.decodeFile(p, partition);
      } catch (CheckpointInvalidException e) {
        add(Severity.INVALID, checkFor(e, Check.HISTORY), p, e.getMessage());
        continue;
      }
      if (kept.sequence() != seq) {
        add(
            Severity.ERROR,
            Check.HISTORY,
            p,
            "the file name says sequence "
                + seq
                + " but the record holds sequence "
                + kept.sequence()
                + "; history entries are never renamed, so it was copied or edited by hand."
                + " Rollback to it would restore the wrong version: delete it.");
        continue;
      }
      if (newest != null && kept.epoch() < newest.epoch()) {
        add(
            Severity.ERROR,
            Check.HISTORY,
            p,
            "sequence "
                + seq
                + " has epoch "
                + kept.epoch()
                + ", below epoch "
                + newest.epoch()
                + " of the earlier sequence "
                + newest.sequence()
                + ": a fenced writer's commit was kept. Check which writer owns the job.");
      }
      newest = kept;
    }
    if (current.isPresent() && newest != null && !newest.equals(current.get())) {
      add(
          Severity.ERROR,
          Check.HISTORY,
          layout.checkpointFile(partition),
          "the current checkpoint is sequence "
              + current.get().sequence()
              + " but the newest kept version is sequence "
              + newest.sequence()
              + (newest.sequence() == current.get().sequence() ? " with different content" : "")
              + "; every commit writes both, so one of them was changed by hand. Compare them with"
              + " `waymark checkpoint history` and roll back to the right one.");
    }
  }

  private void cursor(Cursor cursor, Path file) {
    for (Map.Entry<String, Object> e : cursor.fields().entrySet()) {
      String field = e.getKey();
      Object value = e.getValue();
      List<String> words = words(field);
      String why = null;
      Severity severity = Severity.ERROR;
      if (words.stream().anyMatch(TIME_WORDS::contains)
          || (words.size() > 1 && words.get(words.size() - 1).equals("at"))) {
        why = "its name says it is a time";
      } else if (value instanceof String s && ISO_TIMESTAMP.matcher(s).matches()) {
        why = "its value is an ISO-8601 timestamp";
      } else if (words.stream().noneMatch(POSITION_WORDS::contains)) {
        OptionalLong n = OptionalLong.empty();
        if (value instanceof Long l) {
          n = OptionalLong.of(l);
        } else if (value instanceof String s && DIGITS.matcher(s).matches()) {
          n = OptionalLong.of(Long.parseLong(s));
        }
        why = n.isPresent() ? epochReading(n.getAsLong()) : null;
        severity = Severity.WARNING;
      }
      if (why != null) {
        add(
            severity,
            Check.SOURCE_POSITION,
            file,
            "cursor field '"
                + field
                + "' = "
                + (value instanceof String s ? "\"" + s + "\"" : value)
                + " looks like a wall-clock time: "
                + why
                + ". Resuming from a time skips records that arrive late and repeats records"
                + " with equal times; key the cursor to a position in the source (a file name and"
                + " count, an offset, a key) instead.");
      }
    }
  }

  private static String epochReading(long n) {
    if (n >= EPOCH_SECONDS_FROM && n < EPOCH_SECONDS_UNTIL) {
      return "its value reads as epoch seconds (" + Instant.ofEpochSecond(n) + ")";
    }
    if (n >= EPOCH_SECONDS_FROM * 1000 && n < EPOCH_SECONDS_UNTIL * 1000) {
      return "its value reads as epoch milliseconds (" + Instant.ofEpochMilli(n) + ")";
    }
    return null;
  }

  /** Splits {@code updatedAt}, {@code updated_at} and {@code updated-at} into lower-case words. */
  private static List<String> words(String field) {
    String snake = field.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toLowerCase(Locale.ROOT);
    List<String> words = new ArrayList<>();
    for (String w : snake.split("[^a-z0-9]+")) {
      if (!w.isEmpty()) {
        words.add(w);
      }
    }
    return words;
  }

  private static Check checkFor(CheckpointInvalidException e, Check damaged) {
    return switch (e.reason()) {
      case NEWER_VERSION, NOT_MIGRATED -> Check.FORMAT_VERSION;
      case WRONG_JOB, WRONG_PARTITION, MISSING, NOT_A_FILE -> Check.LAYOUT;
      default -> damaged;
    };
  }

  private boolean decodes(FileCheckpointReader reader, Path p, String partition) {
    try {
      reader.decodeFile(p, partition);
      return true;
    } catch (CheckpointInvalidException e) {
      return false;
    }
  }

  private boolean looksLegacy(Path p) {
    try {
      byte[] bytes = fs.read(p);
      return bytes.length <= 4096 && Migrations.standard().inspect(bytes, p, null).version() == 0;
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  private boolean expect(Path p, CheckpointFileSystem.Kind kind, CheckpointFileSystem.Kind wanted) {
    if (kind != wanted) {
      add(
          Severity.ERROR,
          Check.LAYOUT,
          p,
          "expected a "
              + (wanted == CheckpointFileSystem.Kind.FILE ? "regular file" : "directory")
              + ", found "
              + describe(kind)
              + ". Move it out of the way; Waymark recreates it.");
      return false;
    }
    permissions(p);
    return true;
  }

  private void stray(Path p, String rule) {
    CheckpointFileSystem.Kind kind = kind(p);
    add(
        Severity.ERROR,
        Check.LAYOUT,
        p,
        describe(kind)
            + " that is not part of Waymark's layout ("
            + rule
            + "). Move it out of the state directory.");
  }

  private void leftoverTemp(Path p) {
    add(
        Severity.ERROR,
        Check.ATOMIC,
        p,
        "a temp file left by an interrupted write. The checkpoint beside it is intact (the old or"
            + " the new version), and the store deletes such files the next time it is opened; if"
            + " no writer is running, you may delete it.");
  }

  private void rootPermissions() {
    try {
      permissions(state.toRealPath()); // through a link, to the directory that holds the jobs
    } catch (IOException e) {
      add(Severity.ERROR, Check.PERMISSIONS, state, "cannot resolve the directory: " + e);
    }
  }

  private void permissions(Path p) {
    PosixFileAttributeView view =
        Files.getFileAttributeView(p, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
    if (view == null) {
      return; // not a POSIX file system: nothing to check
    }
    Set<PosixFilePermission> perms;
    try {
      PosixFileAttributes attributes = view.readAttributes();
      if (attributes.isSymbolicLink()) {
        return; // reported as a stray entry; its own mode is meaningless
      }
      perms = attributes.permissions();
    } catch (IOException e) {
      add(Severity.ERROR, Check.PERMISSIONS, p, "cannot read its permissions: " + e);
      return;
    }
    if (perms.stream().anyMatch(WRITABLE_BY_OTHERS::contains)) {
      add(
          Severity.ERROR,
          Check.PERMISSIONS,
          p,
          "is writable by "
              + (perms.contains(PosixFilePermission.GROUP_WRITE)
                  ? (perms.contains(PosixFilePermission.OTHERS_WRITE)
                      ? "group and others"
                      : "group")
                  : "others")
              + " ("
              + PosixFilePermissions.toString(perms)
              + "), so another user could replace a checkpoint. Fix: chmod go-w "
              + p);
    }
  }

  private static String describe(CheckpointFileSystem.Kind kind) {
    return switch (kind) {
      case FILE -> "a file";
      case DIRECTORY -> "a directory";
      case OTHER -> "a symbolic link or special file";
      case MISSING -> "nothing";
    };
  }

  private static boolean isTemp(Path p) {
    return AtomicFileWriter.isTempFile(p.getFileName().toString());
  }

  private static boolean validName(String name) {
    try {
      Names.requireValid("name", name);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private List<Path> list(Path dir) {
    try {
      List<Path> entries = new ArrayList<>(fs.list(dir));
      entries.sort(null);
      return entries;
    } catch (IOException e) {
      throw new WaymarkException(
          "Cannot list " + dir + ": " + e + ". Check the directory's permissions.", e);
    }
  }

  private CheckpointFileSystem.Kind kind(Path p) {
    try {
      return fs.kind(p);
    } catch (IOException e) {
      throw new WaymarkException("Cannot inspect " + p + ": " + e, e);
    }
  }

  private void add(Severity severity, Check check, Path path, String message) {
    findings.add(new Finding(severity, check, path, message));
  }
}
