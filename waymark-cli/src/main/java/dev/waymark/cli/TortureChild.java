package dev.waymark.cli;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One run of the tortured command, and what it has said so far. Its stdout is a file that is read
 * as it grows, only complete lines counting: the first line (where the run starts) and the lines
 * {@code [i/T] NAME: ...} that each report a committed file. Not thread-safe.
 */
final class TortureChild implements AutoCloseable {
  private static final Duration POLL = Duration.ofMillis(5);

  private final Process process;
  private final Path stdout;
  private final Path stderr;
  private final long launched = System.nanoTime();
  private final StringBuilder partial = new StringBuilder();
  private long readTo;
  private String firstLine;
  private long firstLineAt;
  private long firstFileAt;
  private int filesReported;
  private int lastFileNumber;

  private TortureChild(Process process, Path stdout, Path stderr) {
    this.process = process;
    this.stdout = stdout;
    this.stderr = stderr;
  }

  /** Starts run {@code n} through {@code launcher}, its output files in {@code logs}. */
  static TortureChild start(ChildLauncher launcher, List<String> flags, Path logs, int n)
      throws IOException {
    Path out = logs.resolve("run-" + n + ".out"), err = logs.resolve("run-" + n + ".err");
    return new TortureChild(launcher.start(flags, out, err), out, err);
  }

  long pid() {
    return process.pid();
  }

  boolean alive() {
    return process.isAlive();
  }

  /** Waits up to {@code d} for the child to exit, reading its output; true if it exited. */
  boolean exitsWithin(Duration d) throws InterruptedException {
    long deadline = System.nanoTime() + d.toNanos();
    while (true) {
      long left = deadline - System.nanoTime();
      if (process.waitFor(Math.max(0, Math.min(left, POLL.toNanos())), TimeUnit.NANOSECONDS)) {
        poll();
        return true;
      }
      poll();
      if (left <= 0) {
        return false;
      }
    }
  }

  /** Waits until the child printed its first line; false if it exited without one. */
  boolean awaitFirstLine() throws InterruptedException {
    while (firstLine == null) {
      if (exitsWithin(POLL)) {
        return firstLine != null;
      }
    }
    return true;
  }

  /** Waits for the child to exit and returns its exit value. */
  int waitForExit() throws InterruptedException {
    while (!exitsWithin(Duration.ofMillis(200))) {
      // reading its output as it goes keeps the counters current
    }
    return process.exitValue();
  }

  /** Kills the child with SIGKILL; returns its exit value (0 if it finished first). */
  int kill() throws InterruptedException {
    process.destroyForcibly();
    return waitForExit();
  }

  /** Reads what the child has written since the last look. */
  void poll() {
    try (RandomAccessFile f = new RandomAccessFile(stdout.toFile(), "r")) {
      long length = f.length();
      if (length <= readTo) {
        return;
      }
      byte[] bytes = new byte[(int) Math.min(length - readTo, 1 << 20)];
      f.seek(readTo);
      f.readFully(bytes);
      readTo += bytes.length;
      partial.append(new String(bytes, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the child's output " + stdout, e);
    }
    for (int nl; (nl = partial.indexOf("\n")) >= 0; ) {
      line(partial.substring(0, nl));
      partial.delete(0, nl + 1);
    }
  }

  private void line(String line) {
    long now = System.nanoTime();
    if (firstLine == null) {
      firstLine = line;
      firstLineAt = now;
    }
    if (line.startsWith("[")) {
      int slash = line.indexOf('/');
      if (slash > 1) {
        try {
          lastFileNumber = Math.max(lastFileNumber, Integer.parseInt(line.substring(1, slash)));
        } catch (NumberFormatException e) {
          return; // not a file line
        }
        if (filesReported++ == 0) {
          firstFileAt = now;
        }
      }
    }
  }

  /** The first line, e.g. {@code resume from file 13 (...)}, or null if none yet. */
  String firstLine() {
    return firstLine;
  }

  int filesReported() {
    return filesReported;
  }

  /** The highest file number {@code i} of a line {@code [i/T]}, 0 if none. */
  int lastFileNumber() {
    return lastFileNumber;
  }

  /** From launch to now. */
  Duration age() {
    return Duration.ofNanos(System.nanoTime() - launched);
  }

  /** From launch to the first line, if there was one. */
  Duration startup() {
    return firstLine == null ? null : Duration.ofNanos(firstLineAt - launched);
  }

  /** From the first line to the first committed file, if there was one. */
  Duration firstCommit() {
    return filesReported == 0 ? null : Duration.ofNanos(firstFileAt - firstLineAt);
  }

  /** From the first line to now (or to the end, once dead), zero without a first line. */
  Duration sinceFirstLine() {
    return firstLine == null ? Duration.ZERO : Duration.ofNanos(System.nanoTime() - firstLineAt);
  }

  /** The last lines of its stderr, for a message. */
  String stderrTail() {
    try {
      List<String> lines = new ArrayList<>(Files.readAllLines(stderr, StandardCharsets.UTF_8));
      lines.removeIf(String::isBlank);
      return String.join(" | ", lines.subList(Math.max(0, lines.size() - 3), lines.size()));
    } catch (IOException e) {
      return "(stderr unreadable: " + e.getMessage() + ")";
    }
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      process.destroyForcibly();
    }
  }
}
