package dev.waymark.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.waymark.checkpoint.Cursor;
import dev.waymark.cli.IngestTarget.Db;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Job, partition, table and column names an attacker (or a typo) might pass: path traversal, SQL
 * injection, very long, non-ASCII, invisible and control characters, empty. Each is refused while
 * the command line is parsed (exit 2, a message naming the flag and the rule, invisible characters
 * shown as escapes), so nothing is created on disk or in the database: checked on SQLite and
 * PostgreSQL, with the file and the db checkpoint store. Names that are odd but safe are accepted.
 */
class HostileNamesTest {
  @TempDir Path tmp;

  static final List<String> HOSTILE =
      List.of(
          "../x",
          "/etc",
          "a/b",
          "x; DROP TABLE y",
          "it's",
          "\"q\"",
          "a".repeat(300),
          "ジョブ",
          "\u202eevil", // right-to-left override
          "a\u200bb", // zero-width space
          "",
          ".",
          "..",
          "a\0b",
          "a\nb");

  static Stream<Arguments> hostile() {
    List<Arguments> cases = new ArrayList<>();
    for (String flag : List.of("--job", "--table", "--column")) {
      for (String name : HOSTILE) {
        cases.add(Arguments.of(flag, name));
      }
    }
    return cases.stream();
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("hostile")
  void ingestRefusesTheNameBeforeCreatingAnything(String flag, String name) throws Exception {
    Path feed = feed();
    for (Db db : Db.values()) {
      for (String store : List.of("file", "db")) {
        try (IngestTarget target = IngestTarget.fresh(db, tmp)) {
          List<String> args = target.ingestArgs(feed, store, "1");
          String value = flag.equals("--column") ? name + "=/a" : name;
          int at = args.indexOf(flag);
          if (at >= 0) {
            args.set(at + 1, value);
          } else {
            args.addAll(List.of(flag, value));
          }

          CliRun run = IngestTarget.runInProcess(args);

          String where = db + " " + store + "\n" + run;
          assertThat(run.exitCode()).as(where).isEqualTo(ExitCode.USAGE.code);
          assertRefusalMessage(run.err(), flag, name, where);
          assertThat(Files.exists(target.state)).as("state directory created: " + where).isFalse();
          assertThat(tables(target)).as("tables created: " + where).isEmpty();
        }
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"status", "show", "history", "rollback", "reset", "migrate"})
  void checkpointVerbsRefuseAHostilePartitionOrJobAndChangeNothing(String verb) throws Exception {
    Path state = tmp.resolve("state");
    new StateFixture(state).commit("nightly", "0", Cursor.ofOffset(1), Cursor.ofOffset(2));
    List<String> before = listing(state);
    for (String name : HOSTILE) {
      for (String flag : List.of("--partition", "--job")) {
        List<String> args =
            new ArrayList<>(List.of("checkpoint", verb, "--state", state.toString()));
        args.addAll(flag.equals("--job") ? List.of("--job", name) : List.of("--job", "nightly"));
        if (flag.equals("--partition")) {
          args.addAll(List.of("--partition", name));
        }
        args.addAll(
            switch (verb) {
              case "rollback" -> List.of("--to", "1");
              case "reset" -> List.of("--yes");
              default -> List.of();
            });

        CliRun run = IngestTarget.runInProcess(args);

        String where = String.join(" ", args) + "\n" + run;
        assertThat(run.exitCode()).as(where).isEqualTo(ExitCode.USAGE.code);
        assertRefusalMessage(run.err(), flag, name, where);
        assertThat(listing(state)).as(where).isEqualTo(before);
      }
    }
  }

  /**
   * Odd but safe: reserved SQL words are quoted identifiers, dots and dashes plain folder names.
   */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"sqlite", "postgres"})
  void safeButUnusualNamesAreAcceptedAndStayWhereTheyBelong(String database) throws Exception {
    Path feed = feed();
    Db db = Db.valueOf(database.toUpperCase(java.util.Locale.ROOT));
    for (String store : List.of("file", "db")) {
      try (IngestTarget target = IngestTarget.fresh(db, tmp)) {
        List<String> args = target.ingestArgs(feed, store, "1", "--column", "from=/a");
        args.set(args.indexOf("--job") + 1, "Nightly.v2-x_1");
        args.set(args.indexOf("--table") + 1, "select");

        CliRun run = IngestTarget.runInProcess(args);

        assertThat(run.exitCode()).as(run.toString()).isZero();
        assertThat(target.count("SELECT COUNT(*) FROM \"select\" WHERE \"from\" = '7'"))
            .isEqualTo(1);
        if (store.equals("file")) {
          try (Stream<Path> jobs = Files.list(target.state)) {
            assertThat(jobs.map(p -> p.getFileName().toString())).containsExactly("Nightly.v2-x_1");
          }
        } else {
          assertThat(Files.exists(target.state)).isFalse();
        }
      }
    }
  }

  /**
   * Input file names are data: they reach the table through bound parameters and the checkpoint
   * through JSON, exactly; on the terminal their invisible characters are escaped, so a name with a
   * newline cannot forge a progress line.
   */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"sqlite", "postgres"})
  void hostileInputFileNamesAreLoadedAsDataAndPrintedEscaped(String database) throws Exception {
    Path feed = tmp.resolve("hostile-feed");
    Files.createDirectories(feed);
    List<String> names =
        List.of(
            "skus_00001.json",
            "skus_00002'; DROP TABLE skus_staging; --.json",
            "skus_00003\ndone: 9 files, forged.json",
            "skus_00004\u202enosj.json");
    for (int i = 0; i < names.size(); i++) {
      Files.writeString(feed.resolve(names.get(i)), "[{\"a\":" + i + "}]");
    }
    Db db = Db.valueOf(database.toUpperCase(java.util.Locale.ROOT));
    try (IngestTarget target = IngestTarget.fresh(db, tmp)) {
      CliRun run = IngestTarget.runInProcess(target.ingestArgs(feed, "file", "1"));

      assertThat(run.exitCode()).as(run.toString()).isZero();
      assertThat(target.content().values())
          .extracting(v -> v.substring(v.indexOf(" @ ") + 3))
          .containsExactlyInAnyOrderElementsOf(names);
      assertThat(IngestTarget.position(target.fileCheckpoint().orElseThrow().cursor()))
          .isEqualTo(Cursor.ofFile(names.get(3), 4));
      assertThat(run.lines())
          .containsExactly(
              "starting at the first of 4 files",
              "[1/4] skus_00001.json: 1 new, 0 duplicate",
              "[2/4] skus_00002'; DROP TABLE skus_staging; --.json: 1 new, 0 duplicate",
              "[3/4] skus_00003\\u000adone: 9 files, forged.json: 1 new, 0 duplicate",
              "[4/4] skus_00004\\u202enosj.json: 1 new, 0 duplicate",
              run.lines().get(5));
      assertThat(run.lines().get(5)).startsWith("done: 4 files, 4 rows read, 4 new");
    }
  }

  private static void assertRefusalMessage(String err, String flag, String name, String where) {
    String what = flag.substring(2);
    if (flag.equals("--column") && name.isEmpty()) {
      assertThat(err).as(where).startsWith("waymark: --column '=/a' must be NAME=/json/pointer");
      return;
    }
    assertThat(err).as(where).startsWith("waymark: Invalid value for option '" + flag + "': ");
    if (name.isEmpty() && !what.equals("table") && !what.equals("column")) {
      assertThat(err).as(where).contains(what + " name must not be empty");
    } else if (name.length() > 100 && !what.equals("table") && !what.equals("column")) {
      assertThat(err).as(where).contains("is 300 characters; at most 100");
    } else {
      assertThat(err)
          .as(where)
          .contains(what + " name '")
          .contains(
              what.equals("table") || what.equals("column")
                  ? "is not allowed: use 1 to 63 lowercase letters, digits and '_'"
                  : "is not allowed: use letters, digits, '.', '_' and '-'");
    }
    // Invisible and control characters are shown as escapes, never written to the terminal.
    String firstLine = err.substring(0, err.indexOf('\n'));
    assertThat(firstLine.chars().filter(c -> c < 0x20 || c == 0x200b || c == 0x202e).count())
        .as(where)
        .isZero();
    if (name.contains("\u202e")) {
      assertThat(err).contains("'\\u202eevil'");
    }
  }

  private Path feed() throws IOException {
    Path feed = tmp.resolve("feed");
    if (!Files.isDirectory(feed)) {
      Files.createDirectories(feed);
      Files.writeString(feed.resolve("skus_00001.json"), "[{\"a\":7}]");
    }
    return feed;
  }

  private static List<String> tables(IngestTarget target) throws Exception {
    if (target.db == Db.SQLITE) {
      Path file = Path.of(target.url.substring("jdbc:sqlite:".length()));
      if (!Files.exists(file)) {
        return List.of();
      }
    }
    List<String> names = new ArrayList<>();
    try (Connection c = DriverManager.getConnection(target.url);
        ResultSet rs =
            c.getMetaData()
                .getTables(null, target.db == Db.POSTGRES ? c.getSchema() : null, "%", null)) {
      while (rs.next()) {
        names.add(rs.getString("TABLE_NAME"));
      }
    }
    return names;
  }

  private static List<String> listing(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      return files
          .map(
              p -> {
                try {
                  return dir.relativize(p)
                      + (Files.isRegularFile(p)
                          ? " " + Files.size(p) + " " + Files.getLastModifiedTime(p)
                          : "");
                } catch (IOException e) {
                  throw new java.io.UncheckedIOException(e);
                }
              })
          .sorted()
          .toList();
    }
  }
}
