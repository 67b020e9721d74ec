package dev.waymark.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code waymark ingest ...} in a real child JVM (the test classpath, main class {@link Main}), for
 * tests that crash or kill it. Stdout and stderr go to files, not pipes: the JDK loses the last
 * lines of a pipe when its writer is killed (see waymark-core's {@code ChildJvm}). Only complete
 * lines count.
 */
final class IngestChild implements AutoCloseable {
  /** Exit value of a process killed by SIGKILL (128 + 9), and of a {@code WAYMARK_FAULT} halt. */
  static final int KILLED = 137;

  private static final AtomicInteger COUNTER = new AtomicInteger();

  private final Process process;
  private final Path stdout;
  private final Path stderr;
  private final long startedNanos = System.nanoTime();

  private IngestChild(Process process, Path stdout, Path stderr) {
    this.process = process;
    this.stdout = stdout;
    this.stderr = stderr;
  }

  /** JVM options for a child that should start fast: C1 only, a small heap. */
  static final List<String> FAST_START = List.of("-XX:TieredStopAtLevel=1", "-Xmx96m");

  /**
   * Starts {@code waymark <args>} with the extra environment {@code env} (e.g. {@code
   * WAYMARK_FAULT}) and JVM options {@code jvm} (e.g. {@link #FAST_START}); output files go to
   * {@code logDir}.
   */
  static IngestChild start(
      Path logDir, Map<String, String> env, List<String> jvm, List<String> args)
      throws IOException {
    return start(logDir, env, List.of(), jvm, args);
  }

  /**
   * {@link #start(Path, Map, List, List)} under the command {@code wrapper} (e.g. {@code setpriv
   * ...}, which then runs {@code java}).
   */
  static IngestChild start(
      Path logDir,
      Map<String, String> env,
      List<String> wrapper,
      List<String> jvm,
      List<String> args)
      throws IOException {
    return start(logDir, env, wrapper, jvm, Main.class, args);
  }

  /**
   * Starts {@code mainClass} (a class of the test classpath, e.g. a deliberately broken loader)
   * instead of {@link Main}, as {@link #start(Path, Map, List, List, List)} does.
   */
  static IngestChild start(
      Path logDir,
      Map<String, String> env,
      List<String> wrapper,
      List<String> jvm,
      Class<?> mainClass,
      List<String> args)
      throws IOException {
    List<String> command = new ArrayList<>(wrapper);
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(List.of("-Xshare:auto", "-XX:+UseSerialGC", "-XX:-UsePerfData", "-Xss512k"));
    command.addAll(jvm);
    command.addAll(List.of("-cp", testClassPath(), mainClass.getName()));
    command.addAll(args);
    Files.createDirectories(logDir);
    int n = COUNTER.incrementAndGet();
    Path out = logDir.resolve("child-" + n + ".out");
    Path err = logDir.resolve("child-" + n + ".err");
    ProcessBuilder pb =
        new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
    pb.environment().remove("WAYMARK_FAULT");
    pb.environment().putAll(env);
    return new IngestChild(pb.start(), out, err);
  }

  /** Runs {@code waymark <args>} to its end (at most {@code timeout}); returns the child. */
  static IngestChild run(
      Path logDir, Map<String, String> env, List<String> jvm, Duration timeout, List<String> args)
      throws IOException, InterruptedException {
    IngestChild child = start(logDir, env, jvm, args);
    if (!child.process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      child.kill();
      throw new AssertionError(
          "waymark " + args + " did not finish within " + timeout + "; stdout:\n" + child.out());
    }
    return child;
  }

  /**
   * The classpath this test runs with (surefire and failsafe may run from a manifest-only jar and
   * record the real one in a property).
   */
  static String testClassPath() {
    String surefire = System.getProperty("surefire.test.class.path");
    return surefire != null && !surefire.isBlank()
        ? surefire
        : System.getProperty("java.class.path");
  }

  /**
   * Waits until the child reports that it paused at a {@code WAYMARK_FAULT=pause-...} point; fails
   * if it exits first or does not pause within {@code timeout}.
   */
  void awaitPause(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!err().contains("WAYMARK_FAULT: paused")) {
      if (!process.isAlive() || System.nanoTime() > deadline) {
        throw new AssertionError(
            "the child did not pause (alive: " + process.isAlive() + ")\n" + this);
      }
      Thread.sleep(50);
    }
  }

  /** Whether the child is still running (stopped by SIGSTOP counts as running). */
  boolean alive() {
    return process.isAlive();
  }

  /** The child's process id, for signals other than SIGKILL (SIGSTOP, SIGCONT). */
  long pid() {
    return process.pid();
  }

  /** Sends a line to the child's stdin, which resumes it after a pause point. */
  void resume() throws IOException {
    process.getOutputStream().write('\n');
    process.getOutputStream().flush();
  }

  Duration age() {
    return Duration.ofNanos(System.nanoTime() - startedNanos);
  }

  /** Waits up to {@code d} for the child to exit; true if it did. */
  boolean exitsWithin(Duration d) throws InterruptedException {
    return process.waitFor(d.toNanos(), TimeUnit.NANOSECONDS);
  }

  /** Kills the child with SIGKILL and returns its exit value. */
  int kill() throws InterruptedException {
    process.destroyForcibly();
    return exitCode();
  }

  /** Waits for the child to exit (killing it after two minutes) and returns its exit value. */
  int exitCode() throws InterruptedException {
    if (!process.waitFor(2, TimeUnit.MINUTES)) {
      process.destroyForcibly();
      process.waitFor();
    }
    return process.exitValue();
  }

  /** Every complete stdout line so far; all of them once the child is dead. */
  List<String> lines() {
    String all = out();
    int end = all.lastIndexOf('\n');
    return end < 0 ? List.of() : List.of(all.substring(0, end).split("\n", -1));
  }

  String out() {
    return read(stdout);
  }

  String err() {
    return read(stderr);
  }

  private static String read(Path p) {
    try {
      return Files.readString(p, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public String toString() {
    return "stdout:\n" + out() + "stderr:\n" + err();
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      process.destroyForcibly();
    }
  }
}
