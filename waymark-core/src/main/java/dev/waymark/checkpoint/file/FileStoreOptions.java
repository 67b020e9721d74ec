package dev.waymark.checkpoint.file;

import dev.waymark.checkpoint.Retention;
import java.time.Clock;
import java.util.Objects;

/**
 * Settings of a {@link FileCheckpointStore}. Immutable.
 *
 * <pre>{@code
 * FileStoreOptions.ofDefaults();
 * FileStoreOptions.builder().retention(Retention.builder().keepLast(50).build()).build();
 * }</pre>
 */
public final class FileStoreOptions {
  private final Retention retention;
  private final Clock clock;
  private final CheckpointFileSystem fileSystem;

  private FileStoreOptions(Builder b) {
    this.retention = b.retention;
    this.clock = b.clock;
    this.fileSystem = b.fileSystem;
  }

  /** Default retention (the last 10 versions), the system UTC clock and the real file system. */
  public static FileStoreOptions ofDefaults() {
    return builder().build();
  }

  /** A builder starting from the defaults of {@link #ofDefaults()}. */
  public static Builder builder() {
    return new Builder();
  }

  /** How many versions of each partition's checkpoint are kept for rollback. */
  public Retention retention() {
    return retention;
  }

  /** The clock stamped into {@code committed_at} and used for age-based retention. */
  public Clock clock() {
    return clock;
  }

  /** The file system every read and write goes through (the real one unless a test replaced it). */
  public CheckpointFileSystem fileSystem() {
    return fileSystem;
  }

  /** Builds {@link FileStoreOptions}. Not thread-safe. */
  public static final class Builder {
    private Retention retention = Retention.ofDefaults();
    private Clock clock = Clock.systemUTC();
    private CheckpointFileSystem fileSystem = CheckpointFileSystem.system();

    private Builder() {}

    /** Sets the versions kept for rollback; default {@link Retention#ofDefaults()}. */
    public Builder retention(Retention retention) {
      this.retention = Objects.requireNonNull(retention, "retention");
      return this;
    }

    /**
     * Sets the clock stamped into {@code committed_at} and used for age-based retention; default
     * the system UTC clock. Never decides where a job resumes.
     */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /** Replaces the file system; for tests that inject faults or record operations. */
    public Builder fileSystem(CheckpointFileSystem fileSystem) {
      this.fileSystem = Objects.requireNonNull(fileSystem, "fileSystem");
      return this;
    }

    /** The options set so far; the builder can go on and build others. */
    public FileStoreOptions build() {
      return new FileStoreOptions(this);
    }
  }
}
