package dev.waymark.cli;

import static dev.waymark.cli.CliRun.waymark;
import static org.assertj.core.api.Assertions.assertThat;

import dev.waymark.checkpoint.Cursor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ErrorsAndHelpTest {
  @TempDir Path dir;

  @Test
  void topLevelHelpListsTheExitCodes() {
    CliRun run = waymark("--help");

    assertThat(run.exitCode()).isZero();
    assertThat(run.out())
        .contains("Usage: waymark")
        .contains("checkpoint")
        .contains("Exit codes:")
        .containsPattern("\\n +0 +Success")
        .containsPattern("\\n +2 +Usage error")
        .containsPattern("\\n +3 +Another process holds the job's lock")
        .containsPattern("\\n +4 +A checkpoint cannot be trusted")
        .containsPattern("\\n +5 +Bad input")
        .containsPattern("\\n +75 +A transient failure");
    // Each verb's one-line summary, whole: a summary cut mid-sentence says nothing.
    String commands =
        run.out().substring(run.out().indexOf("Commands:"), run.out().indexOf("Exit codes:"));
    for (String verb : List.of("ingest", "worker", "demo", "generate", "torture", "checkpoint")) {
      assertThat(commands).containsPattern("\\n  " + verb + " +[A-Z][^\\n]*\\.\\n");
    }
  }

  @Test
  void aVerbRunAloneHasTheOptionsAndHelpItHasAmongAllVerbs() {
    // Main gives picocli only the verb being run, for start-up time: it must not change the verb.
    for (Class<?> verb : verbs()) {
      String name = verb.getAnnotation(CommandLine.Command.class).name();
      CommandLine alone = Main.commandLine(verb).getSubcommands().get(name);
      CommandLine amongAll = Main.commandLine().getSubcommands().get(name);

      assertThat(Main.commandLine(verb).getSubcommands()).containsOnlyKeys(name);
      assertThat(alone.getUsageMessage(CommandLine.Help.Ansi.OFF))
          .as(name)
          .isEqualTo(amongAll.getUsageMessage(CommandLine.Help.Ansi.OFF));
    }
  }

  @Test
  void everyVerbAnswersHelpWithItsUsage() {
    // Usage errors end with "Try 'waymark VERB --help'": that must work for every verb, including
    // those with required options (ingest, generate), which picocli checks before anything else.
    for (Class<?> verb : verbs()) {
      String name = verb.getAnnotation(CommandLine.Command.class).name();
      CliRun run = waymark(name, "--help");

      assertThat(run.exitCode()).as(name).isZero();
      assertThat(run.out()).as(name).contains("Usage: waymark " + name).contains("Exit codes:");
      assertThat(run.err()).as(name).isEmpty();
    }
  }

  /** The top-level verbs, without picocli's own {@code help}. */
  private static List<Class<?>> verbs() {
    return Main.VERBS.stream().filter(v -> v != CommandLine.HelpCommand.class).toList();
  }

  @Test
  void onlyACommandLineThatPlainlyNamesAVerbGetsThatVerbAlone() {
    assertThat(Main.verbOf("ingest", "--input", "x")).isEqualTo(IngestCommand.class);
    assertThat(Main.verbOf("--debug", "checkpoint", "status")).isEqualTo(CheckpointCommand.class);
    // Everything else gets every verb: help needs them, and picocli suggests the closest one.
    assertThat(Main.verbOf("help", "ingest")).isNull();
    assertThat(Main.verbOf("--help")).isNull();
    assertThat(Main.verbOf("ingets", "--input", "x")).isNull();
    assertThat(Main.verbOf("@args.txt")).isNull();
    assertThat(Main.verbOf()).isNull();
  }

  @Test
  void aMistypedVerbIsAUsageErrorThatSuggestsTheVerb() {
    CliRun run = waymark("ingets", "--input", "x");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).contains("Unmatched argument").contains("ingest");
  }

  @Test
  void checkpointHelpListsVerbsAndExitCodes() {
    CliRun run = waymark("checkpoint", "--help");

    assertThat(run.exitCode()).isZero();
    assertThat(run.out())
        .contains(
            "status", "show", "history", "rollback", "reset", "migrate", "import-legacy", "audit")
        .contains("Exit codes:")
        .containsPattern("\\n +1 +Failure");
  }

  @Test
  void aMissingVerbIsAUsageError() {
    CliRun run = waymark("checkpoint");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err())
        .startsWith("waymark: Missing required subcommand")
        .contains("Try 'waymark checkpoint --help'");
  }

  @Test
  void anUnknownOptionIsAUsageErrorWithAHint() {
    CliRun run = waymark("checkpoint", "status", "--stat", "x");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err())
        .startsWith("waymark: Unknown options: '--stat', 'x'")
        .contains("Possible solutions: --state")
        .contains("Try 'waymark checkpoint status --help' for more information.");
  }

  @Test
  void anInvalidJobNameIsAUsageErrorWithTheRule() {
    CliRun run = waymark("checkpoint", "show", "--state", dir.toString(), "--job", "../etc");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err())
        .startsWith(
            "waymark: Invalid value for option '--job': job name '../etc' is not allowed: use"
                + " letters, digits, '.', '_' and '-', not starting with '.' and without '..'\n")
        .contains("Try 'waymark checkpoint show --help' for more information.");
  }

  /**
   * A staging table named like Waymark's own tables (or SQLite's) would be created, and then the
   * checkpoint or quarantine statements would fail against it after a unit had committed; refused
   * while parsing instead, before anything is created.
   */
  @Test
  void aStagingTableMayNotTakeTheNameOfWaymarksOwnTablesOrSqlites() throws Exception {
    for (String table : List.of("waymark_checkpoint", "waymark_quarantine", "sqlite_master")) {
      Path db = dir.resolve(table + ".db");
      CliRun run = ingestOneFile(db, "--table", table);

      assertThat(run.exitCode()).as(run.toString()).isEqualTo(2);
      assertThat(run.err())
          .startsWith(
              "waymark: Invalid value for option '--table': table name '"
                  + table
                  + "' is not allowed: names starting with 'waymark_' are Waymark's own tables")
          .contains("choose another name for the staging table");
      assertThat(db).doesNotExist();
    }
  }

  /** Found only after the whole run before: refused while starting, naming the flag and why. */
  @Test
  void aSummaryPathThatCannotBeWrittenIsRefusedBeforeAnythingIsLoaded() throws Exception {
    Path db = dir.resolve("x.db");
    Path missing = dir.resolve("no-such-folder").resolve("s.json");
    Path folder = Files.createDirectories(dir.resolve("a-folder"));
    for (Path summary : List.of(missing, folder)) {
      CliRun run = ingestOneFile(db, "--summary-json", summary.toString());

      assertThat(run.exitCode()).as(run.toString()).isEqualTo(2);
      assertThat(run.err())
          .startsWith("waymark: --summary-json " + summary + " cannot be written: ")
          .contains(
              summary == folder
                  ? "it is a folder; name a file"
                  : "its folder " + missing.getParent() + " does not exist")
          .contains("Nothing was loaded.");
      assertThat(db).doesNotExist();
    }
  }

  @Test
  void anInvalidGlobIsAUsageErrorNamingTheFlag() throws Exception {
    CliRun run = ingestOneFile(dir.resolve("x.db"), "--glob", "skus_[0-9.json");

    assertThat(run.exitCode()).as(run.toString()).isEqualTo(2);
    assertThat(run.err())
        .startsWith("waymark: --glob 'skus_[0-9.json' is not a valid glob: ")
        .contains("Use * for any characters");
  }

  @Test
  void anotherDedupKeyOnATableThatHoldsRowsIsAUsageError() throws Exception {
    Path db = dir.resolve("x.db");
    assertThat(ingestOneFile(db).exitCode()).isZero();

    // The file's one record is {"a":1}: keyed by field a alone it keeps its key, by b it cannot.
    CliRun sameKey = ingestOneFile(db, "--dedup-key", "fields:a", "--rescan");
    CliRun run = ingestOneFile(db, "--dedup-key", "fields:b", "--rescan");

    assertThat(sameKey.exitCode()).as(sameKey.toString()).isZero();
    assertThat(sameKey.out()).contains("[1/1] skus_00001.json: 0 new, 1 duplicate");
    assertThat(run.exitCode()).as(run.toString()).isEqualTo(2);
    assertThat(run.err())
        .startsWith(
            "waymark: Table skus_staging holds rows keyed otherwise than by --dedup-key fields:b:"
                + " its row from skus_00001.json is stored under key ")
        .contains("and its record lacks a field that key needs");
  }

  @Test
  void aGlobThatMatchesNothingSaysWhereItLookedAndForWhat() throws Exception {
    CliRun run = ingestOneFile(dir.resolve("x.db"), "--glob", "orders_*.csv");

    assertThat(run.exitCode()).as(run.toString()).isZero();
    assertThat(run.lines().get(0))
        .isEqualTo(
            "nothing to do: no file in " + dir.resolve("feed") + " matches --glob 'orders_*.csv'");
  }

  @Test
  void generateNamesTheFlagThatIsOutOfRangeOrNotAFolder() throws Exception {
    Path file = Files.writeString(dir.resolve("not-a-folder"), "x");
    CliRun tooFew = waymark("generate", "--files", "0", "--out", dir.resolve("a").toString());
    CliRun tooMany =
        waymark("generate", "--files", "20000", "--rows", "60000", "--out", dir.toString());
    CliRun onAFile = waymark("generate", "--files", "1", "--out", file.toString());

    assertThat(tooFew.exitCode()).as(tooFew.toString()).isEqualTo(2);
    assertThat(tooFew.err()).startsWith("waymark: --files must be between 1 and 100000, found 0");
    assertThat(tooMany.exitCode()).as(tooMany.toString()).isEqualTo(2);
    assertThat(tooMany.err())
        .startsWith("waymark: --rows must be between 0 and 50000 for --files 20000");
    assertThat(onAFile.exitCode()).as(onAFile.toString()).isEqualTo(2);
    assertThat(onAFile.err()).startsWith("waymark: --out " + file + " is a file, not a folder");
    assertThat(dir.resolve("a")).doesNotExist();
  }

  /** picocli reports a description it cannot format (a bare '%') on System.err, by itself. */
  @Test
  void generateHelpFormatsItsDescriptionWithoutAWarning() {
    java.io.PrintStream before = System.err;
    java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
    CliRun run;
    try {
      System.setErr(
          new java.io.PrintStream(captured, true, java.nio.charset.StandardCharsets.UTF_8));
      run = waymark("generate", "--help");
    } finally {
      System.setErr(before);
    }
    assertThat(run.exitCode()).isZero();
    assertThat(run.out()).contains("% of the records repeat earlier ones exactly.");
    assertThat(captured.toString(java.nio.charset.StandardCharsets.UTF_8)).doesNotContain("WARN");
  }

  @Test
  void errorsPrintNoStackTraceUnlessDebug() {
    new StateFixture(dir).commit("nightly", "0", Cursor.ofOffset(1));
    Path torn = new StateFixture(dir).truncate("nightly", "0");

    CliRun plain =
        waymark(
            "checkpoint", "rollback", "--state", dir.toString(), "--job", "nightly", "--to", "5");
    CliRun debug =
        waymark(
            "checkpoint",
            "rollback",
            "--state",
            dir.toString(),
            "--job",
            "nightly",
            "--to",
            "5",
            "--debug");

    assertThat(plain.exitCode()).isEqualTo(1);
    assertThat(plain.err()).doesNotContain("\tat ").hasLineCount(1);
    assertThat(debug.exitCode()).isEqualTo(1);
    assertThat(debug.err())
        .startsWith("waymark: Cannot roll back job 'nightly' partition '0' to sequence 5")
        .contains("dev.waymark.WaymarkException")
        .contains("\tat dev.waymark.cli.RollbackCommand.checkTarget");
    assertThat(torn).exists();
  }

  /** A script that asked for --json reads stdout: an error is there too, as JSON. */
  @Test
  void withJsonAnErrorIsAlsoOneJsonObjectOnStdout() {
    Path missing = dir.resolve("no-such-state");
    CliRun failed = waymark("checkpoint", "status", "--state", missing.toString(), "--json");
    CliRun usage = waymark("checkpoint", "status", "--json", "--bogus");

    assertThat(failed.exitCode()).isEqualTo(1);
    assertThat(failed.err()).startsWith("waymark: State directory " + missing + " does not exist");
    assertThat(CliRun.map(failed.json().get("error")))
        .containsEntry("exit_code", 1L)
        .containsEntry("kind", "failure")
        .containsEntry(
            "message",
            "State directory "
                + missing
                + " does not exist. Point --state at the directory your jobs write to.");
    assertThat(usage.exitCode()).isEqualTo(2);
    assertThat(CliRun.map(usage.json().get("error")))
        .containsEntry("exit_code", 2L)
        .containsEntry("kind", "usage");
  }

  @Test
  void debugIsAlsoAcceptedBeforeTheVerb() {
    CliRun run =
        waymark("--debug", "checkpoint", "status", "--state", dir.resolve("nope").toString());

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.err()).contains("does not exist").contains("\tat ");
  }

  @Test
  void exitCodesFollowTheKindOfFailure() {
    assertThat(ExitCode.of(new dev.waymark.checkpoint.LockHeldException("j", dir, "pid 1")).code)
        .isEqualTo(3);
    assertThat(ExitCode.of(new dev.waymark.checkpoint.FencedException("job 'j'", 1, 2)).code)
        .isEqualTo(3);
    assertThat(ExitCode.of(new BadInputException("bad", null)).code).isEqualTo(5);
    assertThat(ExitCode.of(new IllegalArgumentException("job name")).code).isEqualTo(2);
    assertThat(ExitCode.of(new IllegalStateException("bug")).code).isEqualTo(1);
  }

  /** {@code waymark ingest} of a one-file feed under the test's folder into SQLite {@code db}. */
  private CliRun ingestOneFile(Path db, String... more) throws java.io.IOException {
    Path feed = Files.createDirectories(dir.resolve("feed"));
    Files.writeString(feed.resolve("skus_00001.json"), "[{\"a\":1}]");
    List<String> args =
        new java.util.ArrayList<>(
            List.of(
                "ingest",
                "--input",
                feed.toString(),
                "--db",
                "jdbc:sqlite:" + db,
                "--state",
                dir.resolve("state").toString()));
    args.addAll(List.of(more));
    return waymark(args.toArray(String[]::new));
  }
}
