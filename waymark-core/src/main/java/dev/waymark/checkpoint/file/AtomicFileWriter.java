package dev.waymark.checkpoint.file;

import dev.waymark.WaymarkException;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Replaces a file's content atomically and durably. This class is the contract of the crash-safe
 * write; every checkpoint, epoch and history file goes through it. Thread-safe.
 *
 * <h2>The steps</h2>
 *
 * <ol>
 *   <li>Create a temp file {@code .NAME.RANDOM.tmp} exclusively ({@code O_CREAT|O_EXCL}, so never
 *       through a symbolic link and never shared with another writer) in the target's own
 *       directory, so that the rename below stays within one file system.
 *   <li>Write the content.
 *   <li>{@code fsync} the temp file ({@code FileChannel.force(true)}): its bytes are on disk before
 *       any name points to them.
 *   <li>Optionally hard-link the temp file under a second name (the history entry), which costs no
 *       second data write or {@code fsync}, and {@code fsync} the link's directory if it is not the
 *       target's: the link is durable before the rename can be. Otherwise a crash could keep the
 *       rename and lose the link, leaving a current checkpoint that history does not hold; this way
 *       the worst a crash leaves is a link above the current checkpoint, an orphan the store
 *       recognises and replaces.
 *   <li>{@code rename} the temp file over the target ({@code Files.move} with {@code ATOMIC_MOVE}):
 *       readers see the old file or the new one, never a mixture.
 *   <li>{@code fsync} the target's directory: the rename survives a power loss.
 * </ol>
 *
 * <p>The order of the {@code fsync}s is checked by {@code CrashStateExplorationTest}, which
 * enumerates the states a crash after each step could leave when un-synced data and directory
 * entries may be lost.
 *
 * <p>On any failure before the rename, the temp file (and the link) are deleted and the exception
 * is thrown; the target is untouched. A crash leaves at most a temp file, which the store deletes
 * when it is next opened. A failure after the rename (the directory {@code fsync}) is thrown too:
 * the new content is visible but its durability is unknown, so the caller must not report success.
 * A rename that reports an error although it happened (a network file system that lost the reply)
 * is recognised by the temp file being gone: the link is then kept, as it names the new content.
 *
 * <p>If the file system cannot rename atomically, the write is refused with a {@link
 * WaymarkException}; there is no fallback to copying, which a crash could tear.
 */
public final class AtomicFileWriter {
  /** Suffix of temp files; the store deletes {@code .*.tmp} files it finds when opened. */
  public static final String TEMP_SUFFIX = ".tmp";

  private final CheckpointFileSystem fs;

  public AtomicFileWriter(CheckpointFileSystem fs) {
    this.fs = fs;
  }

  /** Whether {@code name} is one of this class's temp files. */
  public static boolean isTempFile(String name) {
    return name.startsWith(".") && name.endsWith(TEMP_SUFFIX);
  }

  /**
   * Atomically replaces {@code target} with {@code content}.
   *
   * @throws IOException if a step fails; the target then holds its old content, unless the failure
   *     was the final directory {@code fsync}
   * @throws WaymarkException if the file system cannot rename atomically
   */
  public void write(Path target, byte[] content) throws IOException {
    write(target, content, null);
  }

  /**
   * Atomically replaces {@code target} with {@code content} and, in the same step, creates {@code
   * alsoLinkAs} (which must not exist) as a second name for the same content.
   *
   * @throws java.nio.file.FileAlreadyExistsException if {@code alsoLinkAs} exists
   */
  public void write(Path target, byte[] content, Path alsoLinkAs) throws IOException {
    Path dir = target.toAbsolutePath().getParent();
    Path temp = dir.resolve("." + target.getFileName() + "." + randomHex() + TEMP_SUFFIX);
    boolean linked = false;
    boolean moved = false;
    try {
      try (CheckpointFileSystem.WritableFile file = fs.createExclusive(temp)) {
        file.write(content);
        file.force();
      }
      if (alsoLinkAs != null) {
        fs.link(alsoLinkAs, temp);
        linked = true;
        Path linkDir = alsoLinkAs.toAbsolutePath().getParent();
        if (!linkDir.equals(dir)) {
          fs.fsyncDirectory(linkDir);
        }
      }
      try {
        fs.atomicMove(temp, target);
      } catch (AtomicMoveNotSupportedException e) {
        throw new WaymarkException(
            "The file system holding "
                + dir
                + " cannot rename a file atomically, so a crash could leave a torn checkpoint."
                + " Waymark refuses to fall back to a non-atomic write. Put the state directory on"
                + " a local file system such as ext4, xfs or btrfs.",
            e);
      }
      moved = true;
      fs.fsyncDirectory(dir);
    } catch (IOException | RuntimeException e) {
      if (!moved) {
        // A rename can happen although it reports an error (a network file system that lost the
        // reply): then the temp is gone and the link names the new target's content, so it stays.
        boolean renamedAnyway = linked && isMissing(temp);
        deleteQuietly(temp, e);
        if (linked && !renamedAnyway) {
          deleteQuietly(alsoLinkAs, e);
        }
      }
      throw e;
    }
  }

  private boolean isMissing(Path path) {
    try {
      return fs.kind(path) == CheckpointFileSystem.Kind.MISSING;
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  private void deleteQuietly(Path path, Exception failure) {
    try {
      fs.delete(path);
    } catch (IOException | RuntimeException e) {
      failure.addSuppressed(e);
    }
  }

  private static String randomHex() {
    // Uniqueness is all that is needed: O_EXCL already refuses any name that exists.
    return HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong());
  }
}
