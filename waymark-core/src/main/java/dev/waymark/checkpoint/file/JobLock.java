package dev.waymark.checkpoint.file;

import dev.waymark.WaymarkException;
import dev.waymark.checkpoint.LockHeldException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The one-writer-per-job lock: an OS file lock ({@code fcntl}) on {@code JOB/waymark.lock}, held
 * until {@link #close()}, and released by the kernel if the process dies. The file records its
 * holder ({@code pid}, {@code host}, {@code started_at}) so that the next opener can say who holds
 * it.
 *
 * <p>POSIX releases every lock a process holds on a file when any descriptor of that file is
 * closed, and a JVM cannot lock a file twice. Locks held in this JVM are therefore tracked in a
 * static map and checked first; the lock file is never opened twice by one process.
 */
final class JobLock implements AutoCloseable {
  static final String FILE_NAME = "waymark.lock";

  private static final Map<Path, String> HELD_IN_THIS_JVM = new ConcurrentHashMap<>();

  private final Path key;
  private final FileChannel channel;
  private final FileLock lock;

  private JobLock(Path key, FileChannel channel, FileLock lock) {
    this.key = key;
    this.channel = channel;
    this.lock = lock;
  }

  static JobLock acquire(Path lockFile, String job, Instant now) {
    Path key = registryKey(lockFile);
    String me = describeThisProcess(now);
    String previous = HELD_IN_THIS_JVM.putIfAbsent(key, me);
    if (previous != null) {
      throw new LockHeldException(job, lockFile, previous + " (this same process)");
    }
    FileChannel channel = null;
    try {
      if (Files.isSymbolicLink(lockFile)) {
        throw new WaymarkException(
            "Lock file " + lockFile + " is a symbolic link; remove it (Waymark recreates it).");
      }
      Set<OpenOption> options =
          Set.of(
              StandardOpenOption.CREATE,
              StandardOpenOption.READ,
              StandardOpenOption.WRITE,
              LinkOption.NOFOLLOW_LINKS);
      channel =
          lockFile.getFileSystem().supportedFileAttributeViews().contains("posix")
              ? FileChannel.open(
                  lockFile,
                  options,
                  PosixFilePermissions.asFileAttribute(
                      PosixFilePermissions.fromString("rw-r--r--")))
              : FileChannel.open(lockFile, options);
      FileLock lock;
      try {
        lock = channel.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null;
      }
      if (lock == null) {
        String holder = readHolder(channel);
        throw new LockHeldException(job, lockFile, holder);
      }
      byte[] record = record(now).getBytes(StandardCharsets.UTF_8);
      channel.truncate(0);
      channel.write(ByteBuffer.wrap(record), 0);
      channel.force(true);
      return new JobLock(key, channel, lock);
    } catch (IOException e) {
      closeQuietly(channel);
      HELD_IN_THIS_JVM.remove(key);
      if (Files.exists(lockFile, LinkOption.NOFOLLOW_LINKS)
          && !Files.isRegularFile(lockFile, LinkOption.NOFOLLOW_LINKS)) {
        throw new WaymarkException(
            lockFile
                + " is not a regular file (a directory, a link or a special file) where the job's"
                + " lock file belongs. Move it out of the way; the next run creates a new one.",
            e);
      }
      throw new WaymarkException(
          "Cannot open or lock "
              + lockFile
              + ": "
              + e
              + ". Check that the state directory exists"
              + " and is writable by this user.",
          e);
    } catch (RuntimeException e) {
      closeQuietly(channel);
      HELD_IN_THIS_JVM.remove(key);
      throw e;
    }
  }

  /**
   * The lock file's name in {@link #HELD_IN_THIS_JVM}: by its folder's real path, so that the same
   * job reached through a symbolic link is refused by the registry. Reaching the channel instead
   * would be worse than a refusal: closing a second channel to the file releases this process's
   * lock on it (POSIX locks belong to the process and file, not to the channel).
   */
  private static Path registryKey(Path lockFile) {
    Path absolute = lockFile.toAbsolutePath().normalize();
    try {
      return absolute.getParent().toRealPath().resolve(absolute.getFileName());
    } catch (IOException e) {
      return absolute; // the folder is not there: opening the lock file fails and says so
    }
  }

  /** The lock file's content: {@code pid=..., host=..., started_at=...}, one per line. */
  private static String record(Instant now) {
    return "pid="
        + ProcessHandle.current().pid()
        + "\nhost="
        + hostName()
        + "\nstarted_at="
        + now
        + "\n";
  }

  static String describeThisProcess(Instant now) {
    return "pid " + ProcessHandle.current().pid() + " on host " + hostName() + " since " + now;
  }

  /** Parses a lock file's content into a description, or says it could not. */
  static String describeHolder(String content) {
    String pid = null, host = null, since = null;
    for (String line : content.split("\n")) {
      int eq = line.indexOf('=');
      if (eq < 0) {
        continue;
      }
      String k = line.substring(0, eq), v = line.substring(eq + 1).trim();
      switch (k) {
        case "pid" -> pid = v;
        case "host" -> host = v;
        case "started_at" -> since = v;
        default -> {}
      }
    }
    if (pid == null || !pid.matches("[0-9]{1,10}")) {
      String shown = content.length() > 80 ? content.substring(0, 80) + "..." : content;
      return "another process that did not record itself (lock file content: "
          + (content.isEmpty() ? "empty" : "'" + shown.replace("\n", "\\n") + "'")
          + ")";
    }
    return "pid "
        + pid
        + " on host "
        + (host == null ? "?" : host)
        + " since "
        + (since == null ? "?" : since);
  }

  private static String readHolder(FileChannel channel) throws IOException {
    ByteBuffer buffer = ByteBuffer.allocate(1024);
    channel.read(buffer, 0);
    buffer.flip();
    return describeHolder(StandardCharsets.UTF_8.decode(buffer).toString());
  }

  static String hostName() {
    String env = System.getenv("HOSTNAME");
    if (env != null && !env.isBlank()) {
      return env.trim();
    }
    try {
      return Files.readString(Path.of("/etc/hostname")).trim();
    } catch (IOException | RuntimeException e) {
      return "unknown";
    }
  }

  @Override
  public void close() {
    try {
      channel.truncate(0);
      lock.release();
    } catch (IOException e) {
      // The lock goes with the channel below in any case.
    } finally {
      closeQuietly(channel);
      HELD_IN_THIS_JVM.remove(key);
    }
  }

  private static void closeQuietly(FileChannel channel) {
    if (channel != null) {
      try {
        channel.close();
      } catch (IOException ignored) {
        // Closing releases the lock even when it reports an error.
      }
    }
  }
}
