package dev.waymark.ingest;

import dev.waymark.checkpoint.Names;
import dev.waymark.checkpoint.global.GlobalCheckpointStore;
import dev.waymark.ingest.sink.Identifiers;
import dev.waymark.ingest.source.Format;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/** What an ingestion run does. Immutable; built with {@link #builder(Path)}. */
public final class IngestOptions {
  /** Where checkpoints are kept. */
  public enum CheckpointStoreKind {
    /** Files under the state directory, written after the data commits. */
    FILE,
    /** A row in {@code waymark_checkpoint}, in the same transaction as the data. */
    DB
  }

  /** What to do with a malformed input file. */
  public enum OnBadFile {
    /** Stop with exit code 5; nothing from the file is committed. */
    FAIL,
    /** Record it in {@code waymark_quarantine} and move past it. */
    QUARANTINE
  }

  public static final String DEFAULT_DB = "jdbc:sqlite:waymark.db";
  public static final String DEFAULT_GLOB = "skus_*.json";
  public static final String DEFAULT_TABLE = "skus_staging";
  public static final String DEFAULT_JOB = "ingest";
  public static final int DEFAULT_RETRIES = 8;
  public static final int MAX_PARTITIONS = 1024;

  final Path input;
  final String glob;
  final Format format;
  final String db;
  final String table;
  final String job;
  final Path state;
  final DedupKey dedupKey;
  final Map<String, String> columns;
  final CommitPolicy commitPolicy;
  final CheckpointStoreKind checkpointStore;
  final OnBadFile onBadFile;
  final int retries;
  final boolean rescan;
  final int partitions;
  final int workers;
  final Faults faults;
  final Duration globalCheckpointEvery;
  final int globalKeep;

  private IngestOptions(Builder b) {
    this.input = b.input;
    this.glob = b.glob;
    this.format = b.format;
    this.db = b.db;
    this.table = Identifiers.require("table", b.table);
    this.job = Names.requireValid("job", b.job);
    this.state = b.state;
    this.dedupKey = b.dedupKey;
    this.columns = Collections.unmodifiableMap(new LinkedHashMap<>(b.columns));
    this.commitPolicy = b.commitPolicy;
    this.checkpointStore = b.checkpointStore;
    this.onBadFile = b.onBadFile;
    this.retries = b.retries;
    this.rescan = b.rescan;
    this.partitions = b.partitions;
    this.workers =
        b.workers > 0
            ? b.workers
            : Math.min(b.partitions, Runtime.getRuntime().availableProcessors());
    this.faults = b.faults;
    this.globalCheckpointEvery = b.globalCheckpointEvery;
    this.globalKeep = b.globalKeep;
  }

  public static Builder builder(Path input) {
    return new Builder(input);
  }

  public String job() {
    return job;
  }

  public Path state() {
    return state;
  }

  public String db() {
    return db;
  }

  public String table() {
    return table;
  }

  public CheckpointStoreKind checkpointStore() {
    return checkpointStore;
  }

  /** The number of partitions the listing is split into (1: not partitioned). */
  public int partitions() {
    return partitions;
  }

  /** The number of worker threads (never more are started than there are partitions). */
  public int workers() {
    return workers;
  }

  /** Builds {@link IngestOptions}; every setting but the input has a default. Not thread-safe. */
  public static final class Builder {
    private final Path input;
    private String glob = DEFAULT_GLOB;
    private Format format = Format.JSON_ARRAY;
    private String db = DEFAULT_DB;
    private String table = DEFAULT_TABLE;
    private String job = DEFAULT_JOB;
    private Path state = Path.of("state");
    private DedupKey dedupKey = DedupKey.wholeRecord();
    private final Map<String, String> columns = new LinkedHashMap<>();
    private CommitPolicy commitPolicy = CommitPolicy.ofDefaults();
    private CheckpointStoreKind checkpointStore = CheckpointStoreKind.FILE;
    private OnBadFile onBadFile = OnBadFile.FAIL;
    private int retries = DEFAULT_RETRIES;
    private boolean rescan;
    private int partitions = 1;
    private int workers;
    private Faults faults = Faults.none();
    private Duration globalCheckpointEvery;
    private int globalKeep = GlobalCheckpointStore.DEFAULT_KEEP;

    private Builder(Path input) {
      this.input = Objects.requireNonNull(input, "input");
    }

    /**
     * @throws IllegalArgumentException if {@code glob} is not a valid glob (an unclosed {@code [}
     *     or <code>{</code>, say), naming where
     */
    public Builder glob(String glob) {
      Objects.requireNonNull(glob);
      try {
        // As the listing will match it; a glob of literals and stars alone cannot be malformed.
        FileListing.NameMatcher.of(java.nio.file.FileSystems.getDefault(), glob);
      } catch (java.util.regex.PatternSyntaxException e) {
        throw new IllegalArgumentException(
            "--glob '"
                + glob
                + "' is not a valid glob: "
                + e.getDescription()
                + (e.getIndex() >= 0 ? " at character " + (e.getIndex() + 1) : "")
                + ". Use * for any characters, ? for one, [abc] for one of a set and {a,b} for"
                + " either.");
      }
      this.glob = glob;
      return this;
    }

    public Builder format(Format format) {
      this.format = Objects.requireNonNull(format);
      return this;
    }

    public Builder db(String jdbcUrl) {
      this.db = Objects.requireNonNull(jdbcUrl);
      return this;
    }

    public Builder table(String table) {
      this.table = table;
      return this;
    }

    public Builder job(String job) {
      this.job = job;
      return this;
    }

    public Builder state(Path state) {
      this.state = Objects.requireNonNull(state);
      return this;
    }

    public Builder dedupKey(DedupKey key) {
      this.dedupKey = Objects.requireNonNull(key);
      return this;
    }

    /**
     * Adds an extracted column: {@code name} filled from the record at JSON Pointer {@code
     * pointer}.
     */
    public Builder column(String name, String pointer) {
      Identifiers.require("column", name);
      JsonPointer.parse(pointer);
      if (columns.put(name, pointer) != null) {
        throw new IllegalArgumentException("--column " + name + " is given twice");
      }
      return this;
    }

    public Builder commitPolicy(CommitPolicy policy) {
      this.commitPolicy = Objects.requireNonNull(policy);
      return this;
    }

    public Builder checkpointStore(CheckpointStoreKind kind) {
      this.checkpointStore = Objects.requireNonNull(kind);
      return this;
    }

    public Builder onBadFile(OnBadFile policy) {
      this.onBadFile = Objects.requireNonNull(policy);
      return this;
    }

    /** Attempts per unit after a transient failure (default 8); 1 means no retry. */
    public Builder retries(int attempts) {
      if (attempts < 1) {
        throw new IllegalArgumentException("--retries must be at least 1, found " + attempts);
      }
      this.retries = attempts;
      return this;
    }

    /** Reprocesses every file up to the checkpoint (safe: the sink is idempotent). */
    public Builder rescan(boolean rescan) {
      this.rescan = rescan;
      return this;
    }

    /**
     * Splits the listing into {@code count} partitions by {@link Partitioning} (default 1), each
     * with its own checkpoint. The count is recorded for the job; a later run must use the same
     * count, or {@link #rescan} to reprocess into a new one.
     */
    public Builder partitions(int count) {
      if (count < 1 || count > MAX_PARTITIONS) {
        throw new IllegalArgumentException(
            "--partitions must be between 1 and " + MAX_PARTITIONS + ", found " + count);
      }
      this.partitions = count;
      return this;
    }

    /**
     * Worker threads, each running one partition at a time with its own database connection
     * (default: the smaller of the partition count and the available processors).
     */
    public Builder workers(int count) {
      if (count < 1) {
        throw new IllegalArgumentException("--workers must be at least 1, found " + count);
      }
      this.workers = count;
      return this;
    }

    /** Test-only crash points; see {@link Faults}. */
    public Builder faults(Faults faults) {
      this.faults = Objects.requireNonNull(faults);
      return this;
    }

    /**
     * Writes a two-phase global checkpoint this often while the run goes on (default: only the
     * final one, which every run writes when all partitions have finished).
     */
    public Builder globalCheckpointEvery(Duration interval) {
      if (interval != null && (interval.isNegative() || interval.isZero())) {
        throw new IllegalArgumentException(
            "--global-checkpoint-every must be positive, found " + interval);
      }
      this.globalCheckpointEvery = interval;
      return this;
    }

    /** How many complete global checkpoints to keep (default 10, at least 1). */
    public Builder globalKeep(int keep) {
      if (keep < 1) {
        throw new IllegalArgumentException("--global-keep must be at least 1, found " + keep);
      }
      this.globalKeep = keep;
      return this;
    }

    public IngestOptions build() {
      return new IngestOptions(this);
    }
  }
}
