package dev.waymark.bench;

import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.Retention;
import dev.waymark.checkpoint.file.CheckpointFileSystem;
import dev.waymark.checkpoint.file.FileCheckpointStore;
import dev.waymark.checkpoint.file.FileStoreOptions;
import dev.waymark.checkpoint.format.CheckpointCodec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.EnumSet;
import java.util.Set;

/**
 * One way of durably replacing a partition's checkpoint, timed one commit at a time. Each variant
 * works in its own directory under the benchmark's root, at the same depth as the store's layout
 * ({@code ROOT/VARIANT/bench/partitions/p0/}), so the file system does comparable work for each.
 */
abstract class Variant implements AutoCloseable {
  static final String JOB = "bench";
  static final String PARTITION = "p0";

  final String name;
  final String description;

  Variant(String name, String description) {
    this.name = name;
    this.description = description;
  }

  /**
   * Prepares the commit numbered {@code n} (1, 2, ...) outside the timed region; {@link #commit}
   * then performs it.
   */
  abstract void prepare(long n);

  /** The timed part: one durable commit. */
  abstract void commit() throws IOException;

  @Override
  public void close() throws IOException {}

  /** The directory of partition {@code p0} under a layout rooted at {@code stateDir}. */
  static Path partitionDir(Path stateDir) {
    return stateDir.resolve(JOB).resolve("partitions").resolve(PARTITION);
  }

  /** The cursor the store variants commit as their {@code n}th checkpoint. */
  static Cursor cursor(long n) {
    return Cursor.ofFile(String.format("skus_%05d.json", n % 100_000), n);
  }

  /**
   * The bytes the store writes for its {@code n}th commit: a version-1 checkpoint of the same job,
   * partition and cursor (about 230 bytes).
   */
  static byte[] bytes(long n) {
    return CheckpointCodec.encode(new Checkpoint(JOB, PARTITION, cursor(n), n, 1, Instant.now()));
  }

  /**
   * The raw steps of a crash-safe replace and nothing else: create a temp file exclusively in the
   * target's directory, write, {@code fsync} it, rename it over the target, {@code fsync} the
   * directory. With {@code linkDir}, also hard-link the temp file into that directory before the
   * rename, {@code fsync} that directory after it, and unlink the entry {@code keep} commits back:
   * the least a history of the last {@code keep} versions can cost.
   *
   * <p>The temp file's name is the commit's number and the bytes are encoded before the timer
   * starts: only file-system work is timed.
   */
  static final class RawReplace extends Variant {
    private static final FileAttribute<Set<PosixFilePermission>> MODE =
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-r--r--"));
    private static final Set<StandardOpenOption> CREATE =
        EnumSet.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);

    private final Path dir;
    private final Path target;
    private final Path linkDir;
    private final int keep;
    private final boolean posix;
    private final CheckpointFileSystem seam;
    private byte[] content;
    private Path temp;
    private Path link;
    private Path expired;

    /**
     * @param seam null to call {@code java.nio} directly (the measured baseline); a file system to
     *     go through it instead (the {@code --breakdown} profile)
     */
    RawReplace(String name, String description, Path root, int keep, CheckpointFileSystem seam)
        throws IOException {
      super(name, description);
      this.seam = seam;
      this.dir = partitionDir(root);
      this.target = dir.resolve("checkpoint");
      this.linkDir = keep > 0 ? dir.resolve("history") : null;
      this.keep = keep;
      Files.createDirectories(linkDir != null ? linkDir : dir);
      this.posix = Files.getFileStore(dir).supportsFileAttributeView("posix");
    }

    @Override
    void prepare(long n) {
      content = bytes(n);
      temp = dir.resolve(".checkpoint." + n + ".tmp");
      if (linkDir != null) {
        link = linkDir.resolve(String.format("%020d.ckpt", n));
        expired = n > keep ? linkDir.resolve(String.format("%020d.ckpt", n - keep)) : null;
      }
    }

    @Override
    void commit() throws IOException {
      if (seam != null) {
        commitThroughSeam();
        return;
      }
      try (FileChannel file =
          posix
              ? FileChannel.open(temp, CREATE, MODE)
              : FileChannel.open(temp, CREATE, new FileAttribute<?>[0])) {
        ByteBuffer buffer = ByteBuffer.wrap(content);
        while (buffer.hasRemaining()) {
          file.write(buffer);
        }
        file.force(true);
      }
      if (linkDir != null) {
        Files.createLink(link, temp);
      }
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
      fsyncDirectory(dir);
      if (linkDir != null) {
        fsyncDirectory(linkDir);
        if (expired != null) {
          Files.delete(expired);
        }
      }
    }

    /** The same steps through the store's file-system seam, so they can be timed alike. */
    private void commitThroughSeam() throws IOException {
      try (CheckpointFileSystem.WritableFile file = seam.createExclusive(temp)) {
        file.write(content);
        file.force();
      }
      if (linkDir != null) {
        seam.link(link, temp);
      }
      seam.atomicMove(temp, target);
      seam.fsyncDirectory(dir);
      if (linkDir != null) {
        seam.fsyncDirectory(linkDir);
        if (expired != null) {
          seam.delete(expired);
        }
      }
    }

    private static void fsyncDirectory(Path dir) throws IOException {
      try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
        channel.force(true);
      }
    }
  }

  /** {@link FileCheckpointStore#commit(String, Cursor)} with the given retention. */
  static final class StoreCommit extends Variant {
    private final FileCheckpointStore store;
    private Cursor next;

    StoreCommit(
        String name,
        String description,
        Path stateDir,
        Retention retention,
        CheckpointFileSystem fileSystem) {
      super(name, description);
      this.store =
          FileCheckpointStore.open(
              stateDir,
              JOB,
              FileStoreOptions.builder().retention(retention).fileSystem(fileSystem).build());
    }

    @Override
    void prepare(long n) {
      next = cursor(n);
    }

    @Override
    void commit() {
      store.commit(PARTITION, next);
    }

    @Override
    public void close() {
      store.close();
    }
  }
}
