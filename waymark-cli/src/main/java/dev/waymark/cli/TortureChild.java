package dev.waymark.cli;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One run of the tortured command, and what it has said so far. Its stdout is a file that is read
 * as it grows, only complete lines counting: the first line (where the run starts, and for a
 * partitioned run how many files were committed before it) and the lines that each report a
 * committed file, {@code [i/T] NAME: ...} for a plain run, {@code [pK i/T] NAME: ...} for a
 * partitioned one (where {@code i/T} counts within partition K); for a {@code waymark worker}, also
 * its lines about a partition taken over from a worker whose lease expired and about a commit
 * refused by a newer epoch, and the partitions it holds (claimed, not yet finished, lost or
 * refused). Not thread-safe.
 */
final class TortureChild implements AutoCloseable {
  private static final Duration POLL = Duration.ofMillis(5);
  private static final Pattern FILE_LINE = Pattern.compile("^\\[(p\\S+ )?(\\d+)/\\d+\\] ");
  private static final Pattern PARTITION_EVENT =
      Pattern.compile("^(claimed|finished|lost|commit refused for) partition (\\S+) ");
  private static final Pattern PARTITIONED_RESUME =
      Pattern.compile("^resume \\d+ of \\d+ partitions, ([\\d,]+) of ");

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
  private int committedBefore; // files committed before this partitioned run started
  private boolean partitioned;
  private int takeovers;
  private int refusals;
  private final Set<String> holding = new LinkedHashSet<>();

  private TortureChild(Process process, Path stdout, Path stderr) {
    this.process = process;
    this.stdout = stdout;
    this.stderr = stderr;
  }

  /** Starts run {@code n} through {@code launcher}, its output files in {@code logs}. */
  static TortureChild start(ChildLauncher launcher, List<String> flags, Path logs, int n)
      throws IOException {
    return start(launcher, flags, logs, "run-" + n);
  }

  /**
   * Starts a child through {@code launcher}, its output in {@code logs/NAME.out} and {@code .err}.
   */
  static TortureChild start(ChildLauncher launcher, List<String> flags, Path logs, String name)
      throws IOException {
    Path out = logs.resolve(name + ".out"), err = logs.resolve(name + ".err");
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

  /** Waits until the child reported a committed file; false if it exited without one. */
  boolean awaitFirstFile() throws InterruptedException {
    while (filesReported == 0) {
      if (exitsWithin(POLL)) {
        return filesReported > 0;
      }
    }
    return true;
  }

  /**
   * Waits until the child's output tells that at least {@code files} files of the listing are
   * committed ({@link #filesDone}); false if it exited first.
   */
  boolean awaitFilesDone(int files) throws InterruptedException {
    while (filesDone() < files) {
      if (exitsWithin(POLL)) {
        return filesDone() >= files;
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
      Matcher resume = PARTITIONED_RESUME.matcher(line);
      if (resume.find()) {
        committedBefore = Integer.parseInt(resume.group(1).replace(",", ""));
      }
    }
    Matcher event = PARTITION_EVENT.matcher(line);
    if (event.find()) {
      if (event.group(1).equals("claimed")) {
        holding.add(event.group(2));
      } else {
        holding.remove(event.group(2));
      }
    }
    if (line.startsWith("claimed partition ") && line.contains(", taking over from ")) {
      takeovers++;
    } else if (line.startsWith("commit refused for partition ")) {
      refusals++;
    }
    Matcher file = FILE_LINE.matcher(line);
    if (file.find()) {
      if (file.group(1) != null) {
        partitioned = true;
      } else {
        lastFileNumber = Math.max(lastFileNumber, Integer.parseInt(file.group(2)));
      }
      if (filesReported++ == 0) {
        firstFileAt = now;
      }
    }
  }

  /**
   * Whether this worker, by what it has printed so far, holds a partition: claimed it and has not
   * yet finished it, lost it, or had a commit to it refused.
   */
  boolean holdsAPartition() {
    return !holding.isEmpty();
  }

  /** Partitions this worker claimed from a worker whose lease had expired. */
  int takeovers() {
    return takeovers;
  }

  /** Commits of this worker refused because another worker held the partition at a newer epoch. */
  int refusals() {
    return refusals;
  }

  /** The first line, e.g. {@code resume from file 13 (...)}, or null if none yet. */
  String firstLine() {
    return firstLine;
  }

  int filesReported() {
    return filesReported;
  }

  /**
   * How many files of the listing are committed, as far as the output tells: the highest file
   * number {@code i} of a line {@code [i/T]} for a plain run; for a partitioned run, the files
   * committed before it started plus the lines {@code [pK i/T]} it printed. 0 if none.
   */
  int filesDone() {
    return partitioned ? committedBefore + filesReported : lastFileNumber;
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
