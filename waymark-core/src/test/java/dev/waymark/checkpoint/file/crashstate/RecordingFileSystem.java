package dev.waymark.checkpoint.file.crashstate;

import dev.waymark.checkpoint.file.CheckpointFileSystem;
import dev.waymark.checkpoint.file.ForwardingCheckpointFileSystem;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Passes every call to the real file system and records it, with its arguments, as an {@link FsOp}:
 * the log {@link CrashStateModel} replays. A call is recorded once it has succeeded; a call that
 * failed changed nothing on disk (the store's own retries, such as replacing an orphaned history
 * entry after {@code FileAlreadyExistsException}, are then recorded as they happen).
 *
 * <p>Thread-safe: calls are appended to one synchronized log, so the log is a total order.
 */
final class RecordingFileSystem extends ForwardingCheckpointFileSystem {
  private final List<FsOp> log = new ArrayList<>();
  private int handles;

  RecordingFileSystem() {
    super(CheckpointFileSystem.system());
  }

  /** The calls recorded after the first {@code from}. */
  synchronized List<FsOp> operationsFrom(int from) {
    return List.copyOf(log.subList(from, log.size()));
  }

  synchronized int size() {
    return log.size();
  }

  private synchronized void record(
      FsOp.Kind kind, Path path, Path other, int handle, byte[] bytes) {
    log.add(
        new FsOp(
            kind,
            path.toAbsolutePath(),
            other == null ? null : other.toAbsolutePath(),
            handle,
            bytes == null ? new byte[0] : bytes.clone()));
  }

  private synchronized int nextHandle() {
    return ++handles;
  }

  @Override
  public WritableFile createExclusive(Path path) throws IOException {
    WritableFile file = delegate().createExclusive(path);
    int handle = nextHandle();
    record(FsOp.Kind.CREATE, path, null, handle, null);
    return recorded(path, handle, file);
  }

  /**
   * Opens {@code path} for writing, creating it if absent and truncating it to 0 bytes otherwise:
   * the in-place rewrite that {@code AtomicFileWriter} exists to avoid. Only the test-only broken
   * writers call this.
   */
  WritableFile openTruncating(Path path) throws IOException {
    FileChannel channel =
        FileChannel.open(
            path,
            StandardOpenOption.CREATE,
            StandardOpenOption.WRITE,
            StandardOpenOption.TRUNCATE_EXISTING);
    int handle = nextHandle();
    record(FsOp.Kind.OPEN_TRUNCATE, path, null, handle, null);
    return recorded(
        path,
        handle,
        new WritableFile() {
          @Override
          public void write(byte[] bytes) throws IOException {
            ByteBuffer buffer = ByteBuffer.wrap(bytes);
            while (buffer.hasRemaining()) {
              channel.write(buffer);
            }
          }

          @Override
          public void force() throws IOException {
            channel.force(true);
          }

          @Override
          public void close() throws IOException {
            channel.close();
          }
        });
  }

  private WritableFile recorded(Path path, int handle, WritableFile file) {
    return new WritableFile() {
      @Override
      public void write(byte[] bytes) throws IOException {
        file.write(bytes);
        record(FsOp.Kind.WRITE, path, null, handle, bytes);
      }

      @Override
      public void force() throws IOException {
        file.force();
        record(FsOp.Kind.FSYNC, path, null, handle, null);
      }

      @Override
      public void close() throws IOException {
        file.close();
        record(FsOp.Kind.CLOSE, path, null, handle, null);
      }
    };
  }

  @Override
  public void link(Path link, Path existing) throws IOException {
    delegate().link(link, existing);
    record(FsOp.Kind.LINK, link, existing, 0, null);
  }

  @Override
  public void atomicMove(Path source, Path target) throws IOException {
    delegate().atomicMove(source, target);
    record(FsOp.Kind.RENAME, source, target, 0, null);
  }

  @Override
  public void fsyncDirectory(Path dir) throws IOException {
    delegate().fsyncDirectory(dir);
    record(FsOp.Kind.FSYNC_DIR, dir, null, 0, null);
  }

  @Override
  public void createDirectory(Path dir) throws IOException {
    delegate().createDirectory(dir);
    record(FsOp.Kind.MKDIR, dir, null, 0, null);
  }

  @Override
  public void delete(Path path) throws IOException {
    delegate().delete(path);
    record(FsOp.Kind.UNLINK, path, null, 0, null);
  }

  @Override
  public byte[] read(Path path) throws IOException {
    byte[] bytes = delegate().read(path);
    record(FsOp.Kind.READ, path, null, 0, null);
    return bytes;
  }

  @Override
  public List<Path> list(Path dir) throws IOException {
    List<Path> entries = delegate().list(dir);
    record(FsOp.Kind.LIST, dir, null, 0, null);
    return entries;
  }

  @Override
  public Kind kind(Path path) throws IOException {
    Kind kind = delegate().kind(path);
    record(FsOp.Kind.STAT, path, null, 0, null);
    return kind;
  }
}
