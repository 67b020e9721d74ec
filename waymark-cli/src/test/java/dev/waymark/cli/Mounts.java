package dev.waymark.cli;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Real file systems for fault tests, made with the machine's own commands: a small tmpfs (a disk
 * that fills up), a read-only bind mount, and a child that runs without root's power to ignore file
 * permissions. They need root (CI on the development machine runs as root). Without it the test is
 * skipped with one loud line, or fails under {@code WAYMARK_REQUIRE_PG=1} (CI), where a skipped
 * fault test would be a silent gap.
 */
final class Mounts {
  private Mounts() {}

  /** A mounted file system, unmounted on close. */
  static final class Mount implements AutoCloseable {
    final Path dir;

    private Mount(Path dir) {
      this.dir = dir;
    }

    @Override
    public void close() throws IOException {
      try {
        Result r = run(List.of("umount", dir.toString()));
        if (r.code != 0) {
          // Busy (a child still inside): detach now, the kernel unmounts when it is free.
          run(List.of("umount", "-l", dir.toString()));
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while unmounting " + dir, e);
      }
    }
  }

  /** Mounts a tmpfs of {@code kib} KiB at {@code dir} (created if needed). */
  static Mount tmpfs(Path dir, int kib) throws IOException, InterruptedException {
    Files.createDirectories(dir);
    require(
        "mount a tmpfs",
        List.of(
            "mount", "-t", "tmpfs", "-o", "size=" + kib + "k,mode=0755", "tmpfs", dir.toString()));
    return new Mount(dir);
  }

  /** Mounts {@code source} read-only at {@code dir} (a bind mount remounted read-only). */
  static Mount readOnlyBind(Path source, Path dir) throws IOException, InterruptedException {
    Files.createDirectories(dir);
    require(
        "bind-mount a directory", List.of("mount", "--bind", source.toString(), dir.toString()));
    Mount m = new Mount(dir);
    Result r = run(List.of("mount", "-o", "remount,ro,bind", dir.toString()));
    if (r.code != 0) {
      m.close();
      unavailable("remount a bind mount read-only", r);
    }
    return m;
  }

  /**
   * The wrapper that runs a command as root without {@code CAP_DAC_OVERRIDE} and {@code
   * CAP_DAC_READ_SEARCH}: file permissions then apply to it as to any user, while it can still read
   * the build's own files (owned by root).
   */
  static List<String> withoutPermissionOverride() throws IOException, InterruptedException {
    List<String> wrapper =
        List.of("setpriv", "--bounding-set=-dac_override,-dac_read_search", "--");
    List<String> probe = new ArrayList<>(wrapper);
    probe.add("true");
    Result r = run(probe);
    if (r.code != 0) {
      unavailable("drop CAP_DAC_OVERRIDE with setpriv", r);
    }
    return wrapper;
  }

  /** Fills the file system holding {@code dir} to the last byte, with a file named {@code name}. */
  static Path fill(Path dir, String name) throws IOException {
    Path filler = dir.resolve(name);
    byte[] block = new byte[4096];
    try (var out = Files.newOutputStream(filler)) {
      while (true) {
        out.write(block);
        out.flush();
      }
    } catch (IOException full) {
      if (!String.valueOf(full.getMessage()).contains("No space left on device")) {
        throw full;
      }
    }
    return filler;
  }

  private static void require(String what, List<String> command)
      throws IOException, InterruptedException {
    Result r = run(command);
    if (r.code != 0) {
      unavailable(what, r);
    }
  }

  private static void unavailable(String what, Result r) {
    String message =
        "cannot "
            + what
            + " on this machine ("
            + r.output.strip()
            + "); this real-file-system fault test needs root. The same failures are simulated"
            + " through the store's file-system seam by waymark-core's FaultInjectionTest";
    if ("1".equals(System.getenv("WAYMARK_REQUIRE_PG"))) {
      fail(message + " (WAYMARK_REQUIRE_PG=1, so this fails instead of skipping)");
    }
    System.err.println("WAYMARK: " + message + ". This test is SKIPPED.");
    Assumptions.abort(message);
  }

  record Result(int code, String output) {}

  static Result run(List<String> command) throws IOException, InterruptedException {
    Process p;
    try {
      p = new ProcessBuilder(command).redirectErrorStream(true).start();
    } catch (IOException e) {
      return new Result(127, command.get(0) + ": " + e.getMessage());
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(2, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      return new Result(124, "timed out: " + command);
    }
    return new Result(p.exitValue(), out);
  }
}
