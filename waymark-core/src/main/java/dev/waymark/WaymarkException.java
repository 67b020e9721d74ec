package dev.waymark;

/**
 * The root of every error Waymark reports. Unchecked: callers that can do something about a
 * specific failure catch the subclass; everyone else lets it reach the job's top level, where
 * {@link #kind()} picks the exit code.
 *
 * <p>Every message says what happened, where (a path, a partition, a byte offset) and how to fix
 * it.
 */
public class WaymarkException extends RuntimeException {

  /** Who is at fault, which decides the process exit code. */
  public enum Kind {
    /** Anything not covered below: I/O failure, refused operation. Exit code 1. */
    FAILURE,
    /** Another process holds the job's lock. Exit code 3. */
    LOCK_HELD,
    /** A checkpoint on disk cannot be trusted. Exit code 4. */
    CHECKPOINT_INVALID,
    /** An input file is malformed. Exit code 5. */
    BAD_INPUT,
    /** A transient failure outlived its retries. Exit code 75 (EX_TEMPFAIL). */
    TRANSIENT_EXHAUSTED,
    /**
     * The job failed elsewhere: a worker of a job that many processes share stopped because another
     * worker failed the job. Exit code 6, as {@code waymark wait} on a failed job.
     */
    JOB_FAILED
  }

  private final Kind kind;

  public WaymarkException(String message) {
    this(Kind.FAILURE, message, null);
  }

  public WaymarkException(String message, Throwable cause) {
    this(Kind.FAILURE, message, cause);
  }

  protected WaymarkException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  /** Returns the category of this failure; the CLI maps it to an exit code. */
  public Kind kind() {
    return kind;
  }
}
