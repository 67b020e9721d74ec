package dev.waymark.cli;

import dev.waymark.checkpoint.internal.Json;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code waymark torture}: attacks an ingest configuration with SIGKILLs (or SIGSTOP pauses) at
 * seeded random instants, then compares the result with an uninterrupted run. See {@link Torture}.
 */
@Command(
    name = "torture",
    header = "Kill an ingest at random instants, then check its table's rows.",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    customSynopsis = {
      "waymark torture [--kills=N] [--seed=S] [--pause] [--fresh-table]",
      "                [--keep-reference] [--json] [OPTIONS] -- INGEST_FLAGS..."
    },
    description = {
      "Runs 'waymark ingest INGEST_FLAGS' uninterrupted into TABLE_reference, then",
      "again into TABLE in a child JVM killed with SIGKILL at seeded random instants",
      "and restarted until it completes. Then compares: the same rows (dedup key and",
      "payload), none missing, none twice, rows per source file, the checkpoint",
      "valid and at the end, no temp file left. Without --input it generates a feed.",
      "PASS exits 0, FAIL exits 1. Refuses (exit 2, changing nothing) a TABLE that",
      "holds rows or a job with a checkpoint, unless --fresh-table.",
      "With --coordinator among INGEST_FLAGS it runs --worker-processes 'waymark",
      "worker' processes instead, pausing one past its --lease (or killing and",
      "replacing it) at each strike, against one plain ingest as the reference.",
      "Example: waymark torture --kills 30 -- --db jdbc:postgresql://h/db"
    })
final class TortureCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--kills",
      defaultValue = "20",
      paramLabel = "N",
      description =
          "SIGKILLs (or pauses with --pause) before the run may complete (default: ${DEFAULT-VALUE}).")
  int kills;

  @Option(
      names = "--seed",
      paramLabel = "S",
      description = "Seed of every random draw, printed by each run (default: a random one).")
  Long seed;

  @Option(
      names = "--pause",
      description =
          "SIGSTOP the child for a random time and SIGCONT it instead of killing it (for workers"
              + " whose lease can expire; a run that exits 3, fenced, is restarted).")
  boolean pause;

  @Option(
      names = "--max-pause",
      defaultValue = "3s",
      paramLabel = "DURATION",
      description = "Longest pause with --pause, e.g. 500ms, 3s, 2m (default: ${DEFAULT-VALUE}).")
  String maxPause;

  @Option(
      names = "--files",
      defaultValue = "200",
      paramLabel = "N",
      description =
          "Files of the generated feed, when INGEST_FLAGS have no --input (default: ${DEFAULT-VALUE}).")
  int files;

  @Option(
      names = "--rows",
      defaultValue = "100",
      paramLabel = "R",
      description = "Records per generated file (default: ${DEFAULT-VALUE}).")
  int rows;

  @Option(
      names = "--fresh-table",
      description =
          "Drop TABLE and TABLE_reference and forget the job's checkpoints first, if they hold"
              + " anything (without it, torture refuses and changes nothing).")
  boolean freshTable;

  @Option(
      names = "--keep-reference",
      description = "Keep TABLE_reference (and its job's checkpoint) for a look afterwards.")
  boolean keepReference;

  @Option(
      names = "--worker-processes",
      defaultValue = "3",
      paramLabel = "N",
      description =
          "When INGEST_FLAGS include --coordinator: how many 'waymark worker' processes run the"
              + " job together (default: ${DEFAULT-VALUE}).")
  int workerProcesses;

  @Mixin Options.Json json;

  @Parameters(
      paramLabel = "INGEST_FLAGS",
      arity = "0..*",
      description = "After --: the flags of 'waymark ingest' to attack.")
  List<String> ingestFlags = new ArrayList<>();

  /** What runs as the child; tests swap in a deliberately broken runner. */
  ChildLauncher launcher = ChildLauncher.ingest();

  /** What runs as each worker when the ingest flags include {@code --coordinator}. */
  ChildLauncher workerLauncher =
      ChildLauncher.java(List.of(), Main.class.getName(), List.of("worker"));

  @Override
  public Integer call() throws Exception {
    if (kills < 0 || files < 1 || rows < 0 || workerProcesses < 1) {
      throw new ParameterException(
          spec.commandLine(),
          "--kills and --rows must be at least 0, --files and --worker-processes at least 1");
    }
    long s = seed != null ? seed : ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
    Torture.Settings settings =
        new Torture.Settings(
            kills,
            s,
            pause,
            duration(maxPause),
            files,
            rows,
            freshTable,
            keepReference,
            workerProcesses);
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter log = json.enabled ? spec.commandLine().getErr() : out;
    log.printf(
        "waymark torture: seed %d (--seed %d repeats the draws), %d %s%n",
        s, s, kills, pause ? "pauses" : "kills");
    log.flush();
    Torture.Result result = new Torture(settings, launcher, workerLauncher, log).run(ingestFlags);
    if (json.enabled) {
      out.println(Json.write(fields(result)));
    } else {
      print(result, out);
    }
    out.flush();
    return result.passed() ? ExitCode.OK.code : ExitCode.FAILURE.code;
  }

  private Duration duration(String text) {
    String t = text.trim().toLowerCase(Locale.ROOT);
    try {
      if (t.endsWith("ms")) {
        return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
      }
      if (t.endsWith("s")) {
        return Duration.ofMillis(
            Math.round(Double.parseDouble(t.substring(0, t.length() - 1)) * 1000));
      }
      if (t.endsWith("m")) {
        return Duration.ofSeconds(
            Math.round(Double.parseDouble(t.substring(0, t.length() - 1)) * 60));
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new ParameterException(
        spec.commandLine(),
        "--max-pause '" + text + "' must be a duration such as 500ms, 3s or 2m");
  }

  /** The figures and the verdict, as text. */
  static void print(Torture.Result r, PrintWriter out) {
    TortureTables.Comparison c = r.rows();
    out.println("result:");
    if (r.settings().pause()) {
      out.printf(
          "  pauses            %d (SIGSTOP, %.1f s in all)%n",
          r.pauses(), r.paused().toMillis() / 1e3);
    } else {
      out.printf(
          "  kills             %d (SIGKILL; %d during start-up, %d before the run reported its"
              + " first commit)%s%n",
          r.kills(),
          r.killsDuringStartup(),
          r.killsBeforeFirstCommit(),
          r.kills() < r.settings().kills()
              ? "; " + r.settings().kills() + " planned, the last run completed first"
              : "");
    }
    out.printf("  restarts          %d%n", r.restarts());
    if (r.workers() != null) {
      Torture.Workers w = r.workers();
      out.printf(
          "  workers           %d 'waymark worker' processes at a time, %d started in all%n",
          w.processes(), w.started());
      out.printf(
          "  takeovers         %d (partitions claimed from a worker whose lease expired)%n",
          w.takeovers());
      out.printf(
          "  commits refused   %d (a resumed worker fenced by a newer epoch)%n", w.refusals());
    }
    out.printf("  rows expected     %,d (%s, uninterrupted)%n", c.expected(), r.referenceTable());
    out.printf("  rows found        %,d (%s)%n", c.found(), r.table());
    out.printf("  missing           %,d%n", c.missing());
    out.printf("  duplicated        %,d%n", c.duplicated());
    out.printf("  unexpected        %,d%n", c.unexpected());
    out.printf(
        "  files differing   %,d%s%n",
        c.filesDiffering().size(),
        c.filesDiffering().isEmpty()
            ? ""
            : " ("
                + String.join(
                    ", ", c.filesDiffering().subList(0, Math.min(5, c.filesDiffering().size())))
                + (c.filesDiffering().size() > 5 ? ", ..." : "")
                + ")");
    if (c.filesMayDiffer() && c.moved() > 0) {
      out.printf(
          "  rows moved        %,d (kept from another file than in the reference: with partitions,"
              + " a record repeated in two partitions' files is kept from the one that commits it"
              + " first; no divergence)%n",
          c.moved());
    }
    for (String line : r.checkpoints()) {
      out.printf("  checkpoint        %s%n", line);
    }
    out.printf("  seed              %d%n", r.settings().seed());
    out.printf("  elapsed           %.1f s%n", r.elapsed().toMillis() / 1e3);
    for (String p : r.problems()) {
      out.printf("  problem           %s%n", p);
    }
    if (r.logs() != null) {
      out.printf("  logs kept in      %s%n", r.logs());
    }
    out.println(r.passed() ? "PASS" : "FAIL");
  }

  /** The figures and the verdict, for {@code --json}. */
  static Map<String, Object> fields(Torture.Result r) {
    TortureTables.Comparison c = r.rows();
    Map<String, Object> m = Output.object();
    m.put("verdict", r.passed() ? "PASS" : "FAIL");
    m.put("seed", r.settings().seed());
    m.put("mode", r.settings().pause() ? "pause" : "kill");
    m.put("kills", (long) r.kills());
    m.put("kills_planned", (long) r.settings().kills());
    m.put("kills_during_startup", (long) r.killsDuringStartup());
    m.put("kills_before_first_commit", (long) r.killsBeforeFirstCommit());
    m.put("pauses", (long) r.pauses());
    m.put("paused_ms", r.paused().toMillis());
    m.put("restarts", (long) r.restarts());
    if (r.workers() != null) {
      m.put("worker_processes", (long) r.workers().processes());
      m.put("workers_started", (long) r.workers().started());
      m.put("takeovers", (long) r.workers().takeovers());
      m.put("commits_refused", (long) r.workers().refusals());
    }
    m.put("table", r.table());
    m.put("reference_table", r.referenceTable());
    m.put("generated_feed", r.generatedFeed());
    m.put("rows_expected", c.expected());
    m.put("rows_found", c.found());
    m.put("missing", c.missing());
    m.put("duplicated", c.duplicated());
    m.put("unexpected", c.unexpected());
    m.put("files_differing", new ArrayList<Object>(c.filesDiffering()));
    m.put("rows_moved", c.moved());
    m.put("checkpoints", new ArrayList<Object>(r.checkpoints()));
    m.put("problems", new ArrayList<Object>(r.problems()));
    m.put("logs", r.logs() == null ? null : r.logs().toString());
    m.put("elapsed_ms", r.elapsed().toMillis());
    return m;
  }
}
