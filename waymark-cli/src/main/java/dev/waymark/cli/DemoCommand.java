package dev.waymark.cli;

import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.file.FileCheckpointStore;
import dev.waymark.ingest.FeedGenerator;
import dev.waymark.ingest.FileListing;
import dev.waymark.ingest.IngestOptions;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code waymark demo}: generates a feed, runs {@code waymark ingest} into SQLite in a child JVM
 * that dies between a unit's commit and its checkpoint near the middle, runs it again, and proves
 * convergence: every distinct record loaded once, the checkpoint at the last file.
 */
@Command(
    name = "demo",
    header = "Crash an ingest of a generated feed, resume it, check the table.",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = {
      "Generates a feed under --dir, ingests it into SQLite in a child process that crashes",
      "between committing a unit of files and writing its checkpoint, runs the same command",
      "again, and checks that the table holds every distinct record exactly once."
    })
final class DemoCommand implements Callable<Integer> {
  private static final String JOB = "demo";
  private static final int UNIT_FILES = 50;

  @Spec CommandSpec spec;

  @Option(
      names = "--dir",
      defaultValue = "waymark-demo",
      description = "Working folder, recreated on each run (default: ${DEFAULT-VALUE}).")
  Path dir;

  @Option(
      names = "--files",
      defaultValue = "2000",
      description = "Files in the generated feed (default: ${DEFAULT-VALUE}).")
  int files;

  @Option(
      names = "--rows",
      defaultValue = "100",
      description = "Records per file (default: ${DEFAULT-VALUE}).")
  int rows;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    if (files < 2 * UNIT_FILES) {
      throw new ParameterException(
          spec.commandLine(), "--files must be at least " + 2 * UNIT_FILES);
    }
    dir = dir.toAbsolutePath().normalize();
    Path feed = dir.resolve("feed"), state = dir.resolve("state");
    String db = "jdbc:sqlite:" + dir.resolve("waymark.db");
    deleteRecursively(dir);
    Files.createDirectories(dir);
    long t0 = System.nanoTime();
    FeedGenerator.Summary feedSummary = FeedGenerator.generate(feed, files, rows, 42);
    out.printf(
        "Generated %,d files, %,d records (%,d distinct) in %s%n",
        feedSummary.files(), feedSummary.records(), feedSummary.distinctRecords(), feed);

    List<String> ingest =
        List.of(
            "ingest",
            "--input",
            feed.toString(),
            "--db",
            db,
            "--state",
            state.toString(),
            "--job",
            JOB,
            "--commit-every",
            Integer.toString(UNIT_FILES));
    int crashUnit = files / UNIT_FILES / 2;
    out.printf(
        "%nRun 1: waymark %s%n"
            + "       (commits every %d files; WAYMARK_FAULT=crash-after-commit:%d kills the JVM"
            + " after unit %d's rows commit, before its checkpoint)%n",
        String.join(" ", ingest), UNIT_FILES, crashUnit, crashUnit);
    int exit1 = run(out, ingest, "crash-after-commit:" + crashUnit);
    long rowsAfterCrash = count(db, "SELECT COUNT(*) FROM skus_staging");
    Checkpoint afterCrash = FileCheckpointStore.reader(state, JOB).read().orElseThrow();
    out.printf(
        "Run 1 died with exit code %d. The table holds %,d rows; the checkpoint says %s:%n"
            + "the last unit's rows are in, its checkpoint is not.%n",
        exit1, rowsAfterCrash, afterCrash.cursor());

    out.printf("%nRun 2: the same command again.%n");
    int exit2 = run(out, ingest, null);
    if (exit2 != 0) {
      out.printf("Run 2 failed with exit code %d.%n", exit2);
      return ExitCode.FAILURE.code;
    }
    return verify(out, db, state, feed, feedSummary, t0) ? ExitCode.OK.code : ExitCode.FAILURE.code;
  }

  private boolean verify(
      PrintWriter out, String db, Path state, Path feedDir, FeedGenerator.Summary feed, long t0)
      throws SQLException {
    long rowsLoaded = count(db, "SELECT COUNT(*) FROM skus_staging");
    long distinctKeys = count(db, "SELECT COUNT(DISTINCT dedup_key) FROM skus_staging");
    Checkpoint last = FileCheckpointStore.reader(state, JOB).read().orElseThrow();
    FileListing listing = FileListing.of(feedDir, IngestOptions.DEFAULT_GLOB);
    Cursor expected = listing.cursorAt(listing.size() - 1);
    boolean ok =
        rowsLoaded == feed.distinctRecords()
            && distinctKeys == rowsLoaded
            && last.cursor().equals(expected);
    out.printf("%nCheck:%n");
    out.printf("  distinct records in the feed   %,d%n", feed.distinctRecords());
    out.printf(
        "  rows in skus_staging           %,d (%,d distinct keys: none twice)%n",
        rowsLoaded, distinctKeys);
    out.printf(
        "  final checkpoint               sequence %d, %s%n", last.sequence(), last.cursor());
    out.printf(
        "%s (%.1f s in all)%n",
        ok
            ? "Converged: the rerun resumed after the last checkpoint, redid the one unit whose"
                + " checkpoint was lost without inserting a row twice, and finished the feed."
            : "NOT converged: see the figures above.",
        (System.nanoTime() - t0) / 1e9);
    out.printf(
        "Look closer: ./waymark checkpoint status --state %s   and   sqlite3 %s%n",
        state, db.substring("jdbc:sqlite:".length()));
    return ok;
  }

  /** Runs {@code waymark ARGS} in a child JVM, echoing a readable selection of its lines. */
  private static int run(PrintWriter out, List<String> args, String fault)
      throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(Main.class.getName());
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    if (fault != null) {
      pb.environment().put("WAYMARK_FAULT", fault);
    } else {
      pb.environment().remove("WAYMARK_FAULT");
    }
    Process p = pb.start();
    String previous = null;
    int shown = 0;
    try (BufferedReader r =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = r.readLine()) != null; ) {
        boolean fileLine = line.startsWith("[");
        if (!fileLine || shown < 2 || line.matches("\\[\\d*(000|250|500|750)/.*")) {
          if (fileLine && previous != null && shown >= 2) {
            out.println("  | ...");
          }
          out.println("  | " + line);
          shown++;
          previous = null;
        } else {
          previous = line;
        }
        out.flush();
      }
    }
    int exit = p.waitFor();
    if (previous != null) {
      out.println("  | ...");
      out.println("  | " + previous);
    }
    return exit;
  }

  private static long count(String db, String sql) throws SQLException {
    try (Connection c = DriverManager.getConnection(db);
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder())
          .forEach(
              p -> {
                try {
                  Files.delete(p);
                } catch (IOException e) {
                  throw new UncheckedIOException(e);
                }
              });
    }
  }
}
