package dev.waymark.checkpoint.file.crashstate;

import java.nio.file.Path;

/**
 * One file-system call recorded by {@link RecordingFileSystem}, with the arguments the crash-state
 * model needs to replay it.
 *
 * @param kind what the call did
 * @param path the file or directory it was about (for a link, the new name; for a move, the source)
 * @param other the second path: the existing file of a link, the target of a move
 * @param handle the open file a {@code WRITE}, {@code FSYNC} or {@code CLOSE} went through, as
 *     numbered by the {@code CREATE} or {@code OPEN_TRUNCATE} that opened it; 0 otherwise
 * @param bytes the bytes of a {@code WRITE}; empty otherwise
 */
record FsOp(Kind kind, Path path, Path other, int handle, byte[] bytes) {

  /** The recorded calls. */
  enum Kind {
    /** {@code createExclusive}: a new, empty file and its directory entry. */
    CREATE,
    /**
     * Opens an existing file and truncates it to 0 bytes (test-only broken writers; the store never
     * does this).
     */
    OPEN_TRUNCATE,
    WRITE,
    /** {@code force()} on an open file: its data and size are durable. */
    FSYNC,
    CLOSE,
    LINK,
    RENAME,
    FSYNC_DIR,
    MKDIR,
    UNLINK,
    READ,
    LIST,
    STAT;

    /** Whether the call can change what a crash leaves behind. */
    boolean mutates() {
      return switch (this) {
        case CLOSE, READ, LIST, STAT -> false;
        default -> true;
      };
    }
  }

  @Override
  public String toString() {
    String s = kind + " " + path.getFileName();
    if (other != null) {
      s += (kind == Kind.LINK ? " => " : " -> ") + other.getFileName();
    }
    if (kind == Kind.WRITE) {
      s += " (" + bytes.length + " bytes)";
    }
    return s;
  }
}
