package dev.waymark.checkpoint.file.crashstate;

import dev.waymark.checkpoint.file.AtomicFileWriter;
import dev.waymark.checkpoint.file.ForwardingCheckpointFileSystem;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Deliberately broken checkpoint writers, for tests only (never reachable from the CLI): they prove
 * that the crash-state checker fails when the write is not crash-safe. Each sits between the store
 * and the {@link RecordingFileSystem}, so the checker sees exactly the calls they make.
 */
final class BrokenWriters {
  private BrokenWriters() {}

  /**
   * Writes straight into the target: truncate, write, fsync; no temp file and no rename. This is
   * the chapter's in-place write: a crash between the truncate and the fsync leaves an empty or
   * torn checkpoint. (A history link, if the retention keeps history, names the target itself.)
   */
  static final class InPlace extends ForwardingCheckpointFileSystem {
    private final RecordingFileSystem recorder;

    InPlace(RecordingFileSystem recorder) {
      super(recorder);
      this.recorder = recorder;
    }

    @Override
    public WritableFile createExclusive(Path path) throws IOException {
      return isTemp(path) ? recorder.openTruncating(target(path)) : super.createExclusive(path);
    }

    @Override
    public void link(Path link, Path existing) throws IOException {
      super.link(link, isTemp(existing) ? target(existing) : existing);
    }

    @Override
    public void atomicMove(Path source, Path target) throws IOException {
      if (!isTemp(source)) {
        super.atomicMove(source, target);
      }
      // The bytes are in place already: there is nothing to rename.
    }

    @Override
    public void delete(Path path) throws IOException {
      if (!isTemp(path)) {
        super.delete(path);
      }
    }

    private static boolean isTemp(Path path) {
      return AtomicFileWriter.isTempFile(path.getFileName().toString());
    }

    /** {@code .checkpoint.0a1b2c3d.tmp} stands for {@code checkpoint}. */
    private static Path target(Path temp) {
      String name = temp.getFileName().toString();
      String stem = name.substring(1, name.length() - AtomicFileWriter.TEMP_SUFFIX.length());
      return temp.resolveSibling(stem.substring(0, stem.lastIndexOf('.')));
    }
  }

  /**
   * The atomic write without its directory {@code fsync}s: never torn, but a commit that has
   * returned can still be lost, since its rename is not durable.
   */
  static final class NoDirectoryFsync extends ForwardingCheckpointFileSystem {
    NoDirectoryFsync(RecordingFileSystem recorder) {
      super(recorder);
    }

    @Override
    public void fsyncDirectory(Path dir) {
      // Skipped: the mistake under test.
    }
  }

  /**
   * The atomic write with its history link's directory {@code fsync} moved after the rename, the
   * order {@code AtomicFileWriter} had before this checker found it: a crash can keep the rename
   * and lose the link, leaving a current checkpoint that history lacks (the audit then blames a
   * person). The {@code history} directory's {@code fsync} is held back until after the next
   * directory {@code fsync}, the target's, which follows the rename.
   */
  static final class LinkSyncedAfterRename extends ForwardingCheckpointFileSystem {
    private Path heldBack;

    LinkSyncedAfterRename(RecordingFileSystem recorder) {
      super(recorder);
    }

    @Override
    public synchronized void fsyncDirectory(Path dir) throws IOException {
      if (heldBack == null && dir.getFileName().toString().equals("history")) {
        heldBack = dir;
        return;
      }
      super.fsyncDirectory(dir);
      if (heldBack != null) {
        Path later = heldBack;
        heldBack = null;
        super.fsyncDirectory(later);
      }
    }
  }
}
