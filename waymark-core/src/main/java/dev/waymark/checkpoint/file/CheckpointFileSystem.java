package dev.waymark.checkpoint.file;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Path;
import java.util.List;

/**
 * The file-system operations the file store performs, as a seam: production uses {@link #system()};
 * tests substitute an implementation that fails or records at any step, to prove that every crash
 * point leaves either the old or the new checkpoint.
 *
 * <p>Implementations must be thread-safe.
 */
public interface CheckpointFileSystem {

  /** The real file system, through {@code java.nio}. */
  static CheckpointFileSystem system() {
    return NioCheckpointFileSystem.INSTANCE;
  }

  /** What stands at a path, without following a final symbolic link. */
  enum Kind {
    MISSING,
    FILE,
    DIRECTORY,
    OTHER
  }

  /** An open file being written. */
  interface WritableFile extends Closeable {
    /** Writes all of {@code bytes} at the current position. */
    void write(byte[] bytes) throws IOException;

    /** Forces content and metadata to stable storage ({@code fsync}). */
    void force() throws IOException;
  }

  /**
   * Creates a new regular file for writing; fails if anything, including a symbolic link, already
   * stands at {@code path}. The file is readable by all and writable only by its owner.
   */
  WritableFile createExclusive(Path path) throws IOException;

  /** Creates {@code link} as a new hard link to {@code existing}; fails if {@code link} exists. */
  void link(Path link, Path existing) throws IOException;

  /**
   * Renames {@code source} over {@code target} atomically.
   *
   * @throws AtomicMoveNotSupportedException if the file system cannot; never falls back
   */
  void atomicMove(Path source, Path target) throws IOException;

  /**
   * Forces a directory's entries to stable storage, making renames, links and creations in it
   * durable.
   */
  void fsyncDirectory(Path dir) throws IOException;

  /** Creates one directory level if absent. */
  void createDirectory(Path dir) throws IOException;

  /** Deletes a file if present. */
  void delete(Path path) throws IOException;

  /** Reads a whole (small) file. */
  byte[] read(Path path) throws IOException;

  /** Lists a directory's entries, or returns an empty list if it does not exist. */
  List<Path> list(Path dir) throws IOException;

  /** What stands at {@code path}. */
  Kind kind(Path path) throws IOException;
}
