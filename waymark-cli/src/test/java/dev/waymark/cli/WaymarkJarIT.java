package dev.waymark.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.file.FileCheckpointStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs the real shaded jar in a child JVM: exit codes as a shell sees them. */
class WaymarkJarIT {
  private static final Path JAR = Path.of("target", "waymark.jar");

  @TempDir Path dir;

  private CliRun java(String... args) throws IOException, InterruptedException {
    return run(javaCommand(args));
  }

  private static List<String> javaCommand(String... args) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-jar");
    command.add(JAR.toAbsolutePath().toString());
    command.addAll(List.of(args));
    return command;
  }

  private CliRun run(List<String> command) throws IOException, InterruptedException {
    return run(command, Map.of());
  }

  private CliRun run(List<String> command, Map<String, String> env)
      throws IOException, InterruptedException {
    Path out = dir.resolve("out.txt");
    Path err = dir.resolve("err.txt");
    ProcessBuilder builder =
        new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
    builder.environment().putAll(env);
    Process p = builder.start();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("waymark finished").isTrue();
    return new CliRun(
        p.exitValue(),
        Files.readString(out, StandardCharsets.UTF_8),
        Files.readString(err, StandardCharsets.UTF_8));
  }

  @Test
  void filesCreatedUnderAPermissiveUmaskAreNotGroupWritableSoTheAuditIsClean() throws Exception {
    // Regression: the lock file used to be created with 0666 & ~umask, group-writable under 002.
    Path legacy =
        Files.writeString(
            dir.resolve("skus.ckpt.json"),
            "{\"last_file\": \"skus_00003.json\", \"last_file_idx\": 3}");
    Path state = dir.resolve("state");
    List<String> command =
        javaCommand(
            "checkpoint",
            "import-legacy",
            legacy.toString(),
            "--state",
            state.toString(),
            "--job",
            "skus");
    StringBuilder shell = new StringBuilder("umask 002 && exec");
    for (String arg : command) {
      shell.append(" '").append(arg.replace("'", "'\\''")).append("'");
    }

    CliRun imported = run(List.of("/bin/sh", "-c", shell.toString()));
    CliRun audit = java("checkpoint", "audit", "--state", state.toString());

    assertThat(imported.exitCode()).as(imported.toString()).isZero();
    assertThat(Files.getPosixFilePermissions(state.resolve("skus/waymark.lock")))
        .doesNotContain(PosixFilePermission.GROUP_WRITE, PosixFilePermission.OTHERS_WRITE);
    assertThat(audit.exitCode()).as(audit.toString()).isZero();
    assertThat(audit.out()).endsWith("Clean.\n");
  }

  @Test
  void theClassDataArchiveBuiltWithTheJarMapsIntoThisJvmAndPrintsNothing() throws Exception {
    // mvn package writes it (CdsTraining) and ./waymark passes it to `java`. With -Xshare:on the
    // JVM exits with an error instead of running on without an archive that does not fit.
    Path archive = JAR.resolveSibling("waymark.jsa").toAbsolutePath();
    assertThat(archive).isRegularFile();

    CliRun run =
        run(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xshare:on",
                "-XX:SharedArchiveFile=" + archive,
                "-jar",
                JAR.toAbsolutePath().toString(),
                "--version"));

    assertThat(run.exitCode()).as(run.toString()).isZero();
    assertThat(run.out()).startsWith("waymark ").hasLineCount(1);
    assertThat(run.err()).isEmpty();
  }

  @Test
  void theLauncherRunsAVerbWithTheArchiveAndWithoutIt() throws Exception {
    // A copy of the launcher beside a copy of the jar: with the archive newer than the jar, then
    // with a stale one (older than the jar, which the launcher leaves out), then with none.
    Path root = dir.resolve("root");
    Path target = Files.createDirectories(root.resolve("waymark-cli/target"));
    Files.copy(Path.of("..", "waymark"), root.resolve("waymark"));
    Path jar = Files.copy(JAR, target.resolve("waymark.jar"));
    Path archive = target.resolve("waymark.jsa");
    // The archive names the jar it was built with, so a copied jar is not the same one: this
    // checks the launcher's handling, not that the JVM maps it (the test above does).
    Files.copy(JAR.resolveSibling("waymark.jsa"), archive);
    Files.setLastModifiedTime(
        archive,
        java.nio.file.attribute.FileTime.fromMillis(
            Files.getLastModifiedTime(jar).toMillis() + 5_000));
    List<String> launcher = List.of(root.resolve("waymark").toString(), "--version");

    CliRun fresh = run(launcher);
    Files.setLastModifiedTime(
        archive,
        java.nio.file.attribute.FileTime.fromMillis(
            Files.getLastModifiedTime(jar).toMillis() - 5_000));
    CliRun stale = run(launcher);
    Files.delete(archive);
    CliRun none = run(launcher);

    for (CliRun r : List.of(fresh, stale, none)) {
      assertThat(r.exitCode()).as(r.toString()).isZero();
      assertThat(r.out()).as(r.toString()).startsWith("waymark ").hasLineCount(1);
      assertThat(r.err()).as(r.toString()).isEmpty();
    }
  }

  @Test
  void theLauncherGivesTheSqliteDriverTheLibraryTheBuildCopiedSoItCopiesNothingAtRunTime()
      throws Exception {
    // The driver would copy its library out of the jar into org.sqlite.tmpdir; pointed at a folder
    // that does not exist, it can load only the one the launcher names (CdsTraining copies it into
    // target/native/ at package time), and only while that is newer than the jar.
    Path root = dir.resolve("root");
    Path target = Files.createDirectories(root.resolve("waymark-cli/target"));
    Files.copy(Path.of("..", "waymark"), root.resolve("waymark"));
    Path jar = Files.copy(JAR, target.resolve("waymark.jar"));
    Path builtNative = JAR.resolveSibling("native");
    Path library;
    try (java.util.stream.Stream<Path> files = Files.list(builtNative)) {
      library = files.findFirst().orElseThrow();
    }
    Path copied =
        Files.copy(
            library,
            Files.createDirectories(target.resolve("native")).resolve(library.getFileName()));
    Path feed = Files.createDirectories(dir.resolve("feed"));
    Files.writeString(feed.resolve("skus_00000.json"), "[{\"sku_id\": 1}, {\"sku_id\": 2}]");
    Map<String, String> env =
        Map.of("WAYMARK_JAVA_OPTS", "-Dorg.sqlite.tmpdir=" + dir.resolve("no-such-folder"));

    touch(copied, Files.getLastModifiedTime(jar).toMillis() + 5_000);
    CliRun named = run(ingestSqlite(root, feed, "named"), env);
    touch(copied, Files.getLastModifiedTime(jar).toMillis() - 5_000);
    CliRun stale = run(ingestSqlite(root, feed, "stale"), env);

    assertThat(named.exitCode()).as(named.toString()).isZero();
    assertThat(named.out()).contains("[1/1] skus_00000.json: 2 new, 0 duplicate");
    assertThat(stale.exitCode()).as("a library older than the jar is left out: %s", stale).isOne();
    assertThat(stale.err()).contains("Error opening connection");
  }

  private List<String> ingestSqlite(Path root, Path feed, String name) {
    return List.of(
        root.resolve("waymark").toString(),
        "ingest",
        "--input",
        feed.toString(),
        "--db",
        "jdbc:sqlite:" + dir.resolve(name + ".db"),
        "--state",
        dir.resolve(name + "-state").toString());
  }

  private static void touch(Path file, long millis) throws IOException {
    Files.setLastModifiedTime(file, java.nio.file.attribute.FileTime.fromMillis(millis));
  }

  @Test
  void theLauncherRunsTheSerialCollectorUnlessTheUsersOptionsNameOne() throws Exception {
    List<String> launcher = List.of(Path.of("..", "waymark").toString(), "--version");
    String flags = "-XX:+PrintCommandLineFlags"; // prints the JVM's flags, collector included

    CliRun byDefault = run(launcher, Map.of("WAYMARK_JAVA_OPTS", flags));
    CliRun chosen = run(launcher, Map.of("WAYMARK_JAVA_OPTS", "-XX:+UseG1GC " + flags));

    assertThat(byDefault.exitCode()).as(byDefault.toString()).isZero();
    assertThat(byDefault.out()).contains("-XX:+UseSerialGC").doesNotContain("-XX:+UseG1GC");
    // Two collectors would stop the JVM before it starts: the user's choice alone is passed.
    assertThat(chosen.exitCode()).as(chosen.toString()).isZero();
    assertThat(chosen.out()).contains("-XX:+UseG1GC").doesNotContain("-XX:+UseSerialGC");
  }

  @Test
  void theJarPrintsHelpWithExitCodes() throws Exception {
    CliRun run = java("checkpoint", "--help");

    assertThat(run.exitCode()).isZero();
    assertThat(run.out()).contains("Usage: waymark checkpoint").contains("Exit codes:");
  }

  @Test
  void rollbackWhileAnotherProcessHoldsTheLockExitsWith3NamingThatProcess() throws Exception {
    Path state = dir.resolve("state");
    try (FileCheckpointStore writer = FileCheckpointStore.open(state, "nightly")) {
      writer.commit(Cursor.ofOffset(1));
      writer.commit(Cursor.ofOffset(2));

      CliRun run =
          java(
              "checkpoint",
              "rollback",
              "--state",
              state.toString(),
              "--job",
              "nightly",
              "--to",
              "1");

      assertThat(run.exitCode()).as(run.toString()).isEqualTo(3);
      assertThat(run.err())
          .startsWith("waymark: Job 'nightly' is locked by pid " + ProcessHandle.current().pid())
          .doesNotContain("this same process")
          .doesNotContain("\tat ");
    }
  }

  @Test
  void aTruncatedCheckpointExitsWith4FromTheShell() throws Exception {
    Path state = dir.resolve("state");
    try (FileCheckpointStore writer = FileCheckpointStore.open(state, "nightly")) {
      writer.commit(Cursor.ofOffset(1));
    }
    Path torn = new StateFixture(state).truncate("nightly", "0");

    CliRun status = java("checkpoint", "status", "--state", state.toString(), "--json");
    CliRun audit = java("checkpoint", "audit", "--state", state.toString());

    assertThat(status.exitCode()).isEqualTo(4);
    assertThat(status.out()).contains("\"status\":\"invalid\"").contains(torn.toString());
    assertThat(audit.exitCode()).isEqualTo(4);
    assertThat(audit.out()).contains("INVALID " + torn);
  }
}
