package dev.waymark.checkpoint.file;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/** {@link CheckpointFileSystem} on the default {@code java.nio} file system. */
final class NioCheckpointFileSystem implements CheckpointFileSystem {
  static final NioCheckpointFileSystem INSTANCE = new NioCheckpointFileSystem();

  private static final Set<PosixFilePermission> FILE_PERMISSIONS =
      PosixFilePermissions.fromString("rw-r--r--");
  private static final Set<PosixFilePermission> DIR_PERMISSIONS =
      PosixFilePermissions.fromString("rwxr-xr-x");

  private NioCheckpointFileSystem() {}

  @Override
  public WritableFile createExclusive(Path path) throws IOException {
    // CREATE_NEW is O_CREAT|O_EXCL: it refuses an existing file and any symbolic link, dangling or
    // not.
    Set<StandardOpenOption> options =
        EnumSet.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    FileChannel channel =
        supportsPosix(path)
            ? FileChannel.open(
                path, options, PosixFilePermissions.asFileAttribute(FILE_PERMISSIONS))
            : FileChannel.open(path, options, new FileAttribute<?>[0]);
    return new WritableFile() {
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
    };
  }

  @Override
  public void link(Path link, Path existing) throws IOException {
    Files.createLink(link, existing);
  }

  @Override
  public void atomicMove(Path source, Path target) throws IOException {
    Files.move(source, target, StandardCopyOption.ATOMIC_MOVE);
  }

  @Override
  public void fsyncDirectory(Path dir) throws IOException {
    try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
      channel.force(true);
    }
  }

  @Override
  public void createDirectory(Path dir) throws IOException {
    try {
      if (supportsPosix(dir.toAbsolutePath().getParent())) {
        Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(DIR_PERMISSIONS));
      } else {
        Files.createDirectory(dir);
      }
    } catch (FileAlreadyExistsException e) {
      if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
        throw e;
      }
    }
  }

  @Override
  public void delete(Path path) throws IOException {
    Files.deleteIfExists(path);
  }

  @Override
  public byte[] read(Path path) throws IOException {
    return Files.readAllBytes(path);
  }

  @Override
  public List<Path> list(Path dir) throws IOException {
    List<Path> entries = new ArrayList<>();
    try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
      stream.forEach(entries::add);
    } catch (NoSuchFileException e) {
      return List.of();
    }
    return entries;
  }

  @Override
  public Kind kind(Path path) throws IOException {
    BasicFileAttributes attrs;
    try {
      attrs = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      return Kind.MISSING;
    }
    if (attrs.isRegularFile()) {
      return Kind.FILE;
    }
    return attrs.isDirectory() ? Kind.DIRECTORY : Kind.OTHER;
  }

  private static boolean supportsPosix(Path path) {
    return path != null && path.getFileSystem().supportedFileAttributeViews().contains("posix");
  }
}
