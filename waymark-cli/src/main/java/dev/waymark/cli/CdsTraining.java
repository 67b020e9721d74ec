package dev.waymark.cli;

import dev.waymark.ingest.FeedGenerator;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.sqlite.util.LibraryLoaderUtil;

/**
 * Builds the class-data sharing (CDS) archive that {@code mvn package} writes beside the jar,
 * {@code target/waymark.jsa}, and that the {@code ./waymark} launcher passes to the JVM:
 *
 * <pre>
 * java -cp target/waymark.jar dev.waymark.cli.CdsTraining ARCHIVE WORK_DIR CLASS_LIST
 * </pre>
 *
 * <p>It runs a training in a child JVM started with {@code -XX:DumpLoadedClassList}, which lists
 * every class the training loaded; a second JVM ({@code -Xshare:dump}) then archives them, parsed
 * and verified, so that a later run maps them instead of loading them from the jar (BENCHMARKS.md,
 * "Session 3: time to first commit"). A static archive, not a dynamic one ({@code
 * -XX:ArchiveClassesAtExit}, used until session 7): OpenJDK 17's dynamic archive leaves out class
 * files older than Java 6, and picocli's are Java 5 ones, about 190 classes that every run then
 * loaded from the jar; the static archive holds them, and a resumed night run made its first commit
 * sooner (BENCHMARKS.md, "Session 7"). The training ingests a small generated feed into SQLite the
 * ways a user does: a first run, a resumed one, and one with the database checkpoint store. A
 * PostgreSQL run would need a server, which a build may not have, so the classes such a run loads
 * are loaded by name from {@code CLASS_LIST} instead (one binary name per line, {@code #} comments;
 * names no longer found are skipped): loaded classes are archived whether they ran or not.
 *
 * <p>The archive is written under a temporary name, then mapped by a JVM started with {@code
 * -Xshare:on} (which fails rather than run without it), and only then renamed into place: the JVM
 * crashes (SIGBUS, OpenJDK 17) on a truncated archive whose header is intact, as an interrupted
 * dump could leave. If a step fails, no archive is left and the build goes on with a warning: the
 * launcher then runs without one, only slower to start.
 *
 * <p>First it copies the SQLite driver's native library for this machine out of the jar into {@code
 * native/} beside the archive, which the launcher names to the driver ({@code
 * org.sqlite.lib.path}): otherwise the driver copies it to a new temporary file and loads that on
 * every run, which took about 50 ms of a resumed run's start (BENCHMARKS.md, "Session 10").
 *
 * <p>Only for the build: it deletes and recreates {@code WORK_DIR}.
 */
final class CdsTraining {
  private static final String TRAIN = "--train";

  private CdsTraining() {}

  public static void main(String[] args) throws IOException, InterruptedException {
    if (args.length == 3 && args[0].equals(TRAIN)) {
      train(Path.of(args[1]).toAbsolutePath(), Path.of(args[2]));
    } else if (args.length == 3) {
      build(Path.of(args[0]).toAbsolutePath(), args[1], args[2]);
    } else {
      throw new IllegalArgumentException("usage: CdsTraining ARCHIVE WORK_DIR CLASS_LIST");
    }
  }

  private static void build(Path archive, String work, String classList)
      throws IOException, InterruptedException {
    extractSqliteLibrary(archive.resolveSibling("native"));
    Path tmp = archive.resolveSibling(archive.getFileName() + ".tmp");
    Files.deleteIfExists(archive); // older than the new jar: the launcher would skip it anyway
    Files.deleteIfExists(tmp);
    Path loaded = archive.resolveSibling(archive.getFileName() + ".classes");
    Files.deleteIfExists(loaded);
    String java = ProcessHandle.current().info().command().orElse("java");
    String jar = System.getProperty("java.class.path");
    String failure =
        run(
            List.of(
                java,
                "-XX:DumpLoadedClassList=" + loaded,
                "-cp",
                jar,
                CdsTraining.class.getName(),
                TRAIN,
                work,
                classList),
            "the training run");
    if (failure == null) {
      failure =
          run(
              List.of(
                  java,
                  "-Xshare:dump",
                  "-XX:SharedClassListFile=" + loaded,
                  "-XX:SharedArchiveFile=" + tmp,
                  "-cp",
                  jar),
              "the archive's dump");
    }
    Files.deleteIfExists(loaded);
    if (failure == null && !Files.isRegularFile(tmp)) {
      failure = "the dump wrote no archive";
    }
    if (failure == null) {
      // As the launcher runs the jar, so that the archive is checked against the same class path.
      failure =
          run(
              List.of(java, "-Xshare:on", "-XX:SharedArchiveFile=" + tmp, "-jar", jar, "--version"),
              "mapping the archive with -Xshare:on");
    }
    if (failure != null) {
      Files.deleteIfExists(tmp);
      System.err.println(
          "[WARNING] No CDS archive was built ("
              + failure
              + "); ./waymark works without one, only slower to start.");
      return;
    }
    Files.move(tmp, archive, StandardCopyOption.ATOMIC_MOVE);
  }

  /**
   * Copies the SQLite driver's native library for this machine out of the jar into {@code dir},
   * emptied first; leaves it empty, with a warning, if the jar has none for this machine (the
   * driver then fails at run time with its own message, as it would anyway).
   */
  static void extractSqliteLibrary(Path dir) throws IOException {
    deleteRecursively(dir);
    Files.createDirectories(dir);
    String name = LibraryLoaderUtil.getNativeLibName();
    String resource = LibraryLoaderUtil.getNativeLibResourcePath() + "/" + name;
    try (InputStream in = CdsTraining.class.getResourceAsStream(resource)) {
      if (in == null) {
        System.err.println(
            "[WARNING] The jar holds no SQLite native library at "
                + resource
                + "; ./waymark leaves the driver to look for one.");
        return;
      }
      Path tmp = dir.resolve(name + ".tmp");
      Files.copy(in, tmp);
      Files.move(tmp, dir.resolve(name), StandardCopyOption.ATOMIC_MOVE);
    }
  }

  /** Runs {@code command}: null if it exited with 0, else what went wrong, with its output. */
  private static String run(List<String> command, String what)
      throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    int code = p.waitFor();
    return code == 0 ? null : what + " exited with " + code + ": " + output.strip();
  }

  private static void train(Path work, Path classList) throws IOException {
    deleteRecursively(work);
    Path feed = work.resolve("feed");
    Path prefix = Files.createDirectories(work.resolve("prefix"));
    FeedGenerator.generate(feed, 4, 50, 1);
    for (int i = 0; i < 2; i++) {
      String name = FeedGenerator.fileName(i);
      Files.copy(feed.resolve(name), prefix.resolve(name));
    }
    String db = "jdbc:sqlite:" + work.resolve("training.db");
    String state = work.resolve("state").toString();
    ingest("--input", prefix.toString(), "--db", db, "--state", state);
    ingest("--input", feed.toString(), "--db", db, "--state", state); // resumes at file 3
    ingest(
        "--input",
        feed.toString(),
        "--db",
        db,
        "--state",
        state,
        "--job",
        "db-store",
        "--checkpoint-store",
        "db",
        "--commit-every",
        "1");
    preload(classList);
  }

  private static void ingest(String... args) {
    StringWriter out = new StringWriter(), err = new StringWriter();
    String[] all = Stream.concat(Stream.of("ingest"), Stream.of(args)).toArray(String[]::new);
    int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), all);
    if (code != 0) {
      throw new IllegalStateException(
          "`waymark " + String.join(" ", all) + "` failed (exit " + code + "):\n" + out + err);
    }
  }

  private static void preload(Path list) throws IOException {
    ClassLoader loader = CdsTraining.class.getClassLoader();
    for (String line : Files.readAllLines(list, StandardCharsets.UTF_8)) {
      String name = line.strip();
      if (name.isEmpty() || name.startsWith("#")) {
        continue;
      }
      try {
        Class.forName(name, false, loader);
      } catch (ClassNotFoundException | LinkageError e) {
        // Renamed or removed since the list was made: that class is just not archived.
      }
    }
  }

  private static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
