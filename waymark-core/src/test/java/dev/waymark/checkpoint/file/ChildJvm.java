package dev.waymark.checkpoint.file;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real child JVM running a {@code main} class from the test classpath, for tests that kill
 * processes. Its stdout goes to a file, read line by line; its stderr is appended to a log, shown
 * when a child fails on its own.
 *
 * <p>Stdout goes to a file rather than a pipe because the JDK loses pipe output of a killed
 * process: when the child dies, the process reaper drains and closes the pipe under a reader that
 * is still reading, which then gets "Stream closed" and never sees the last lines (measured: 12 of
 * 60 kills of a fast printer lost lines on JDK 17). A file keeps every byte the child wrote. Only
 * complete lines count: a line cut short by the kill was never printed.
 *
 * <p>The child starts with flags that make a JVM start fast (class data sharing, C1 only, a small
 * serial heap) and without {@code hsperfdata}, which a SIGKILLed JVM would leave behind in {@code
 * /tmp}.
 */
final class ChildJvm implements AutoCloseable {
  /** Exit value of a process killed by SIGKILL: 128 + 9. */
  static final int SIGKILL_EXIT = 137;

  private static final AtomicInteger COUNTER = new AtomicInteger();

  private final Process process;
  private final Path stdout;
  private final Path stderrLog;
  private final long startedNanos = System.nanoTime();
  private final PrintStream stdin;
  private int consumed;

  private ChildJvm(Process process, Path stdout, Path stderrLog) {
    this.process = process;
    this.stdout = stdout;
    this.stderrLog = stderrLog;
    this.stdin = new PrintStream(process.getOutputStream(), true, StandardCharsets.UTF_8);
  }

  /**
   * Starts {@code main}'s {@code main(String[])} in a new JVM with the test classpath; its stdout
   * and stderr go to files in {@code logDir}.
   */
  static ChildJvm start(Class<?> main, Path logDir, String... args) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(
        List.of(
            "-Xshare:auto",
            "-XX:TieredStopAtLevel=1",
            "-XX:+UseSerialGC",
            "-XX:-UsePerfData",
            "-Xms16m",
            "-Xmx64m",
            "-Xss512k",
            "-cp",
            testClassPath(),
            main.getName()));
    command.addAll(List.of(args));
    Files.createDirectories(logDir);
    Path stdout = logDir.resolve("child-" + COUNTER.incrementAndGet() + ".out");
    Path stderr = logDir.resolve("children.err");
    Process process =
        new ProcessBuilder(command)
            .redirectOutput(stdout.toFile())
            .redirectError(ProcessBuilder.Redirect.appendTo(stderr.toFile()))
            .start();
    return new ChildJvm(process, stdout, stderr);
  }

  /**
   * The classpath this test runs with. Surefire and failsafe may run tests from a manifest-only
   * jar, so {@code java.class.path} is used only when they did not record the real one.
   */
  static String testClassPath() {
    String surefire = System.getProperty("surefire.test.class.path");
    return surefire != null && !surefire.isBlank()
        ? surefire
        : System.getProperty("java.class.path");
  }

  long pid() {
    return process.pid();
  }

  Duration age() {
    return Duration.ofNanos(System.nanoTime() - startedNanos);
  }

  /**
   * Waits for the next stdout line starting with {@code prefix}, skipping others; returns null if
   * the child exited or the timeout passed first.
   */
  String awaitLine(String prefix, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      boolean exited = !process.isAlive();
      List<String> lines = lines();
      while (consumed < lines.size()) {
        String line = lines.get(consumed++);
        if (line.startsWith(prefix)) {
          return line;
        }
      }
      if (exited || System.nanoTime() > deadline) {
        return null;
      }
      Thread.sleep(2);
    }
  }

  /** Sends one line to the child's stdin. */
  void send(String line) {
    stdin.println(line);
  }

  /**
   * Kills the child with SIGKILL ({@link Process#destroyForcibly()} on Linux), waits for it to die
   * and returns its exit value.
   */
  int kill() throws InterruptedException {
    process.destroyForcibly();
    return awaitExit();
  }

  /**
   * Waits for the child to exit on its own (killing it after a minute) and returns its exit value.
   */
  int awaitExit() throws InterruptedException {
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      process.waitFor();
    }
    return process.exitValue();
  }

  /** Every complete line the child printed so far; all of them once it is dead. */
  List<String> lines() {
    String all;
    try {
      all = Files.readString(stdout);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    int end = all.lastIndexOf('\n');
    return end < 0 ? List.of() : List.of(all.substring(0, end).split("\n", -1));
  }

  /** The last lines of the children's stderr log, for failure messages. */
  String stderrTail() {
    try {
      String all = Files.readString(stderrLog);
      return all.length() > 4000 ? "..." + all.substring(all.length() - 4000) : all;
    } catch (IOException e) {
      return "(cannot read " + stderrLog + ": " + e + ")";
    }
  }

  @Override
  public void close() {
    try {
      if (process.isAlive()) {
        kill();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      stdin.close();
    }
  }
}
