package dev.waymark.checkpoint.file;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A deliberately broken {@link CheckpointFileSystem} for tests: {@link #atomicMove} is a copy that
 * truncates the target and rewrites it in two halves, the non-atomic fallback Waymark refuses to
 * make. A process killed during the copy leaves an empty or half-written target. Each step is
 * forced to disk and the copy pauses between the halves, which widens the torn window as a slow
 * disk would; everything else is the real file system.
 *
 * <p>The kill test runs its child on this file system to prove that its checks catch a torn write.
 */
final class NonAtomicRenameFileSystem extends ForwardingCheckpointFileSystem {
  private static final long PAUSE_MILLIS = 20;

  private final CheckpointFileSystem real = CheckpointFileSystem.system();

  NonAtomicRenameFileSystem() {
    super(CheckpointFileSystem.system());
  }

  @Override
  public void atomicMove(Path source, Path target) throws IOException {
    byte[] content = real.read(source);
    int half = content.length / 2;
    try (FileChannel out =
        FileChannel.open(
            target,
            StandardOpenOption.CREATE,
            StandardOpenOption.WRITE,
            StandardOpenOption.TRUNCATE_EXISTING)) {
      out.force(true);
      writeFully(out, ByteBuffer.wrap(content, 0, half));
      out.force(true);
      pause();
      writeFully(out, ByteBuffer.wrap(content, half, content.length - half));
      out.force(true);
    }
    real.delete(source);
  }

  private static void pause() throws IOException {
    try {
      Thread.sleep(PAUSE_MILLIS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted in the middle of a non-atomic copy");
    }
  }

  private static void writeFully(FileChannel out, ByteBuffer buffer) throws IOException {
    while (buffer.hasRemaining()) {
      out.write(buffer);
    }
  }
}
