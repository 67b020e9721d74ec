package dev.waymark.checkpoint;

import dev.waymark.WaymarkException;
import java.nio.file.Path;

/**
 * Thrown when a stored checkpoint cannot be trusted. Waymark never treats an unreadable checkpoint
 * as "start from the beginning": that would silently redo or skip work. The message names the file,
 * what was expected, what was found and the command that fixes it.
 */
public final class CheckpointInvalidException extends WaymarkException {

  /** Why the checkpoint was refused. */
  public enum Reason {
    /** The file has no bytes. */
    EMPTY,
    /** The file ends before its record does (no final newline, or cut mid-record). */
    TRUNCATED,
    /**
     * The bytes are not a Waymark checkpoint (not JSON, wrong marker, wrong fields, not canonical).
     */
    NOT_THE_FORMAT,
    /** The recorded CRC-32C does not match the content. */
    CHECKSUM_MISMATCH,
    /** The record belongs to another job. */
    WRONG_JOB,
    /** The record belongs to another partition of this job. */
    WRONG_PARTITION,
    /** Written by a newer Waymark with a format version this build does not know. */
    NEWER_VERSION,
    /** An older format version that must be migrated first. */
    NOT_MIGRATED,
    /** The partition committed before, but its current checkpoint file is gone. */
    MISSING,
    /** Something other than a regular file stands where the checkpoint should be. */
    NOT_A_FILE,
    /** The file exists but cannot be read (permissions, I/O error). */
    UNREADABLE
  }

  private final Reason reason;
  private final Path path;

  public CheckpointInvalidException(
      Reason reason, Path path, String problem, String expected, String found, String fix) {
    this(reason, path, problem, expected, found, fix, null);
  }

  public CheckpointInvalidException(
      Reason reason,
      Path path,
      String problem,
      String expected,
      String found,
      String fix,
      Throwable cause) {
    super(
        Kind.CHECKPOINT_INVALID,
        "Checkpoint "
            + path
            + " is invalid: "
            + problem
            + " (expected "
            + expected
            + ", found "
            + found
            + "). "
            + fix,
        cause);
    this.reason = reason;
    this.path = path;
  }

  public Reason reason() {
    return reason;
  }

  /** The file (or missing file) that was refused. */
  public Path path() {
    return path;
  }
}
