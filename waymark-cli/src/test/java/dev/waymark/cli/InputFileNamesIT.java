package dev.waymark.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.waymark.ingest.FeedGenerator;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Input file names are bytes on Linux but text in the cursor, the table's {@code source_file} and
 * the progress lines. A name that is not valid in the JVM's file-name charset (a Latin-1 name under
 * a UTF-8 locale; any non-ASCII name under the POSIX locale) decodes to text that names no file,
 * and two such names can decode to the same text: the run is refused before it reads anything (exit
 * 5), with a message that names the files and the fix. The {@code ./waymark} launcher sets a UTF-8
 * locale when the environment has none, so UTF-8 names load under cron's bare environment.
 */
class InputFileNamesIT {
  @TempDir Path tmp;

  /** Creates {@code dir/NAME} where NAME is given as printf(1) escapes, e.g. {@code caf\351}. */
  private static void touchRaw(Path dir, String printfName) throws Exception {
    Process p =
        new ProcessBuilder(
                "sh",
                "-c",
                "cd \"$1\" && printf '[]' > \"$(printf \"$2\")\"",
                "sh",
                dir.toString(),
                printfName)
            .redirectErrorStream(true)
            .start();
    assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(new String(p.getInputStream().readAllBytes())).isZero();
  }

  private Path feed() {
    Path feed = tmp.resolve("feed");
    FeedGenerator.generate(feed, 3, 5, 1);
    return feed;
  }

  @Test
  void latin1NamesAreRefusedBeforeAnythingIsLoadedAndTheMessageSaysHowToRename() throws Exception {
    Path feed = feed();
    // Two Latin-1 names that both decode to "skus_caf\ufffd.json": neither could be told apart.
    touchRaw(feed, "skus_caf\\351.json");
    touchRaw(feed, "skus_caf\\350.json");
    String db = "jdbc:sqlite:" + tmp.resolve("w.db");
    Path state = tmp.resolve("state");

    CliRun run =
        IngestTarget.runInProcess(
            List.of("ingest", "--input", feed.toString(), "--db", db, "--state", state.toString()));

    assertThat(run.exitCode()).as(run.toString()).isEqualTo(ExitCode.BAD_INPUT.code);
    assertThat(run.err())
        .contains("Bad input in " + feed)
        .contains("the names of 2 input files are not valid UTF-8")
        .contains("'skus_caf\ufffd.json', 'skus_caf\ufffd.json'")
        .contains("nothing was loaded")
        .contains("ls -b")
        .contains("convmv -f latin1 -t utf8");
    assertThat(Files.exists(state.resolve("ingest")))
        .as("no checkpoint state for the job")
        .isFalse();
    assertThat(tableRows(db)).as("rows in the table").isZero();

    // Narrowing the glob past them is one of the fixes the message offers.
    CliRun narrowed =
        IngestTarget.runInProcess(
            List.of(
                "ingest",
                "--input",
                feed.toString(),
                "--glob",
                "skus_0*.json",
                "--db",
                db,
                "--state",
                state.toString()));
    assertThat(narrowed.exitCode()).as(narrowed.toString()).isZero();
    assertThat(tableRows(db)).isPositive();
  }

  @Test
  void underThePosixLocaleTheJarRefusesUtf8NamesWithTheLocaleFixAndTheLauncherLoadsThem()
      throws Exception {
    Path feed = feed();
    String name = "skus_caf\u00e9_\u30b8.json";
    Files.writeString(feed.resolve(name), "[{\"sku\":\"\u00e9\"}]", StandardCharsets.UTF_8);
    String db = "jdbc:sqlite:" + tmp.resolve("p.db");
    List<String> args =
        List.of(
            "ingest",
            "--input",
            feed.toString(),
            "--db",
            db,
            "--state",
            tmp.resolve("state").toString());
    Map<String, String> posix = Map.of("LANG", "", "LC_ALL", "", "LC_CTYPE", "");

    IngestChild bare = IngestChild.start(tmp.resolve("logs"), posix, List.of(), args);
    assertThat(bare.exitsWithin(java.time.Duration.ofSeconds(60))).isTrue();
    assertThat(bare.exitCode()).as(bare.toString()).isEqualTo(ExitCode.BAD_INPUT.code);
    assertThat(bare.err()).contains("not valid ANSI_X3.4-1968").contains("run with LC_ALL=C.UTF-8");
    assertThat(tableRows(db)).isZero();

    Path launcher = Path.of("..", "waymark").toAbsolutePath().normalize();
    List<String> command = new ArrayList<>(List.of(launcher.toString()));
    command.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    pb.environment().putAll(posix);
    pb.environment().remove("WAYMARK_FAULT");
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    assertThat(out).contains(name + ": 1 new");
    assertThat(sourceFiles(db)).contains(name);
  }

  private static long tableRows(String db) throws Exception {
    try (Connection c = DriverManager.getConnection(db);
        ResultSet t =
            c.createStatement()
                .executeQuery(
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name ="
                        + " 'skus_staging'")) {
      t.next();
      if (t.getLong(1) == 0) {
        return 0;
      }
      ResultSet r = c.createStatement().executeQuery("SELECT COUNT(*) FROM skus_staging");
      r.next();
      return r.getLong(1);
    }
  }

  private static TreeSet<String> sourceFiles(String db) throws IOException {
    TreeSet<String> names = new TreeSet<>();
    try (Connection c = DriverManager.getConnection(db);
        ResultSet r =
            c.createStatement().executeQuery("SELECT DISTINCT source_file FROM skus_staging")) {
      while (r.next()) {
        names.add(r.getString(1));
      }
    } catch (java.sql.SQLException e) {
      throw new IOException(e);
    }
    return names;
  }
}
