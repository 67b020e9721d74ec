package dev.waymark.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.waymark.cli.IngestTarget.Db;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A password in the {@code --db} URL never reaches stdout, stderr (also with {@code --debug} stack
 * traces), {@code --summary-json}, {@code checkpoint status} (text and JSON), the state directory
 * or Waymark's own tables, whether the run succeeds or the driver fails and echoes the URL. The
 * local PostgreSQL trusts its clients, so a run with a password in its URL still connects.
 */
class PasswordsTest {
  static final String SECRET = "S3cr3tPW";

  @TempDir Path tmp;
  Path feed;

  @BeforeEach
  void feed() throws IOException {
    feed = tmp.resolve("feed");
    Files.createDirectories(feed);
    for (int i = 1; i <= 3; i++) {
      Files.writeString(feed.resolve("skus_0000" + i + ".json"), "[{\"a\":" + i + "}]");
    }
  }

  @ParameterizedTest(name = "{0} store")
  @ValueSource(strings = {"file", "db"})
  void aSuccessfulRunKeepsThePasswordOutOfEverythingItWrites(String store) throws Exception {
    try (IngestTarget target = IngestTarget.fresh(Db.POSTGRES, tmp)) {
      String url = target.url + "&password=" + SECRET;
      Path summary = tmp.resolve("summary-" + store + ".json");
      List<String> args = withDb(target.ingestArgs(feed, store, "1"), url);
      args.addAll(List.of("--summary-json", summary.toString()));

      CliRun run = IngestTarget.runInProcess(args);

      assertThat(run.exitCode()).as(run.toString()).isZero();
      assertNoSecret(run.out() + run.err());
      String json = Files.readString(summary, StandardCharsets.UTF_8);
      assertNoSecret(json);
      assertThat(json).contains("password=***");
      assertNoSecretUnder(tmp);
      assertNoSecret(waymarkTables(target));
      if (store.equals("file")) {
        for (String json2 : List.of("", "--json")) {
          List<String> status =
              new ArrayList<>(
                  List.of(
                      "checkpoint", "status", "--state", target.state.toString(), "--job", "it"));
          if (!json2.isEmpty()) {
            status.add(json2);
          }
          CliRun s = IngestTarget.runInProcess(status);
          assertThat(s.exitCode()).as(s.toString()).isZero();
          assertThat(s.out()).contains("skus_00003.json");
          assertNoSecret(s.out() + s.err());
        }
      }
    }
  }

  @Test
  void aRefusedConnectionWithRetriesPrintsNoPasswordEvenWithDebug() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort(); // closed again: nothing listens there
    }
    String url = "jdbc:postgresql://127.0.0.1:" + port + "/test?user=postgres&password=" + SECRET;
    CliRun run = ingest(url, "--retries", "2", "--debug");
    assertThat(run.exitCode()).as(run.toString()).isEqualTo(ExitCode.TRANSIENT_EXHAUSTED.code);
    assertThat(run.out()).contains("attempt 1 of 2 failed (Connection to 127.0.0.1:" + port);
    assertThat(run.err()).contains("Caused by: ").contains("Connection to 127.0.0.1:" + port);
    assertNoSecret(run.out() + run.err());
    assertNoSecretUnder(tmp);
  }

  /**
   * URLs whose password the driver echoes in its own exception: an unknown host {@code
   * postgres:PASSWORD@127.0.0.1}, a database named {@code test;password=PASSWORD}, a SQLite path;
   * and a URL refused before any driver sees it.
   */
  @ParameterizedTest(name = "{0}")
  @ValueSource(
      strings = {
        "jdbc:postgresql://postgres:" + SECRET + "@127.0.0.1:5432/test",
        "jdbc:postgresql://127.0.0.1:5432/test;password=" + SECRET,
        "jdbc:postgresql://127.0.0.1:5432/test?user=no_such_role&password=" + SECRET,
        "jdbc:postgresql://127.0.0.1:5432/test?user=postgres&password=" + SECRET + "&sslmode=x",
        "jdbc:sqlite:/no/such/dir/w.db?password=" + SECRET,
        "jdbc:mysql://root:" + SECRET + "@localhost/x"
      })
  void aFailingUrlPrintsNoPasswordInTheMessageOrTheStackTrace(String url) throws Exception {
    for (boolean debug : new boolean[] {false, true}) {
      CliRun run = debug ? ingest(url, "--retries", "1", "--debug") : ingest(url, "--retries", "1");
      assertThat(run.exitCode()).as(run.toString()).isNotZero();
      assertThat(run.err()).as(run.toString()).startsWith("waymark: ");
      if (debug) {
        assertThat(run.err()).as(run.toString()).contains("\tat dev.waymark.");
      }
      assertNoSecret(run.out() + run.err());
    }
    assertNoSecretUnder(tmp);
  }

  @Test
  void anEmptyPasswordParameterIsHarmless() throws Exception {
    try (IngestTarget target = IngestTarget.fresh(Db.POSTGRES, tmp)) {
      CliRun run =
          IngestTarget.runInProcess(
              withDb(target.ingestArgs(feed, "db", "1"), target.url + "&password="));
      assertThat(run.exitCode()).as(run.toString()).isZero();
      assertThat(target.count("SELECT COUNT(*) FROM " + IngestTarget.TABLE)).isEqualTo(3);
    }
  }

  @Test
  void aWorkerWhoseCoordinatorRefusesPrintsNoPasswordEvenWithDebug() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort(); // closed again: nothing listens there
    }
    for (String url :
        List.of(
            "jdbc:postgresql://127.0.0.1:" + port + "/test?user=postgres&password=" + SECRET,
            "jdbc:postgresql://127.0.0.1:5432/test;password=" + SECRET)) {
      CliRun run =
          IngestTarget.runInProcess(
              List.of(
                  "worker",
                  "--input",
                  feed.toString(),
                  "--coordinator",
                  url,
                  "--retries",
                  "1",
                  "--debug"));
      assertThat(run.exitCode()).as(run.toString()).isNotZero();
      assertThat(run.err()).as(run.toString()).startsWith("waymark: ");
      assertNoSecret(run.out() + run.err());
    }
    assertNoSecretUnder(tmp);
  }

  @Test
  void theCoordinatorsPasswordIsRemovedWhereverAMessageEchoesIt() {
    String url = "jdbc:postgresql://127.0.0.1:5432/test?user=postgres&password=" + SECRET;
    for (List<String> args :
        List.of(
            List.of("worker", "--coordinator", url), List.of("worker", "--coordinator=" + url))) {
      assertNoSecret(ErrorHandler.redact("role postgres with " + SECRET + " refused", args));
    }
  }

  private CliRun ingest(String url, String... more) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "ingest",
                "--input",
                feed.toString(),
                "--db",
                url,
                "--state",
                tmp.resolve("state").toString(),
                "--summary-json",
                tmp.resolve("summary.json").toString()));
    args.addAll(List.of(more));
    return IngestTarget.runInProcess(args);
  }

  private static List<String> withDb(List<String> args, String url) {
    args.set(args.indexOf("--db") + 1, url);
    return args;
  }

  private static void assertNoSecret(String text) {
    assertThat(text).doesNotContain(SECRET);
  }

  /** Every file under {@code dir}: state directories, summaries, databases. */
  private static void assertNoSecretUnder(Path dir) throws IOException {
    byte[] secret = SECRET.getBytes(StandardCharsets.UTF_8);
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        String content = new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1);
        assertThat(content)
            .as("%s", f)
            .doesNotContain(new String(secret, StandardCharsets.ISO_8859_1));
      }
    }
  }

  /** All rows of Waymark's tables (checkpoint store and quarantine) in the target, as text. */
  private static String waymarkTables(IngestTarget target) throws Exception {
    StringBuilder all = new StringBuilder();
    try (Connection c = DriverManager.getConnection(target.url);
        ResultSet tables =
            c.getMetaData().getTables(null, c.getSchema(), "waymark%", new String[] {"TABLE"})) {
      List<String> names = new ArrayList<>();
      while (tables.next()) {
        names.add(tables.getString("TABLE_NAME"));
      }
      for (String t : names) {
        try (Statement s = c.createStatement();
            ResultSet rs = s.executeQuery("SELECT t::text FROM \"" + t + "\" t")) {
          while (rs.next()) {
            all.append(rs.getString(1)).append('\n');
          }
        }
      }
    }
    return all.toString();
  }
}
