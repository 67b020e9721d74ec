package dev.waymark.checkpoint;

import dev.waymark.WaymarkException;
import java.nio.file.Path;

/**
 * Thrown when a job's lock is held by another writer: another process, or another store opened in
 * this JVM. The message names the holder as it recorded itself in the lock file, or, for a lock
 * kept in a database, as the database reports it.
 */
public final class LockHeldException extends WaymarkException {
  private final Path lockFile;
  private final String holder;

  public LockHeldException(String job, Path lockFile, String holder) {
    super(
        Kind.LOCK_HELD,
        "Job '"
            + job
            + "' is locked by "
            + holder
            + " (lock file "
            + lockFile
            + "). Only one writer may run a job at a time. Wait for that process to finish or stop"
            + " it; the lock is released by the operating system the moment it exits, so there is"
            + " nothing to delete by hand.",
        null);
    this.lockFile = lockFile;
    this.holder = holder;
  }

  /**
   * A lock kept in a database rather than a file ({@link #lockFile()} is null): {@code message}
   * says what is locked, by whom ({@code holder}) and what to do.
   */
  public LockHeldException(String message, String holder) {
    super(Kind.LOCK_HELD, message, null);
    this.lockFile = null;
    this.holder = holder;
  }

  /** The lock file, or null for a lock kept in a database. */
  public Path lockFile() {
    return lockFile;
  }

  /**
   * The holder's own description, e.g. {@code pid 4242 on host etl-01 since 2026-11-26T03:12:00Z}.
   */
  public String holder() {
    return holder;
  }
}
