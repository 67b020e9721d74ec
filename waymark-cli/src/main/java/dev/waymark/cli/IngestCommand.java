package dev.waymark.cli;

import dev.waymark.WaymarkException;
import dev.waymark.checkpoint.Names;
import dev.waymark.checkpoint.global.GlobalCheckpointStore;
import dev.waymark.checkpoint.internal.Json;
import dev.waymark.ingest.CommitPolicy;
import dev.waymark.ingest.DedupKey;
import dev.waymark.ingest.Faults;
import dev.waymark.ingest.IngestJob;
import dev.waymark.ingest.IngestListener;
import dev.waymark.ingest.IngestOptions;
import dev.waymark.ingest.IngestOptions.CheckpointStoreKind;
import dev.waymark.ingest.IngestOptions.OnBadFile;
import dev.waymark.ingest.IngestSummary;
import dev.waymark.ingest.sink.JdbcUrls;
import dev.waymark.ingest.source.Format;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code waymark ingest}: a directory of files into SQLite or PostgreSQL, resumable. */
@Command(
    name = "ingest",
    header = "Load a folder of files into a table, resumably and idempotently.",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    sortOptions = false,
    description = {
      "Loads the files of a directory into a staging table, idempotently, committing the rows of",
      "each unit of work before its checkpoint. Run the same command again after a crash: it",
      "resumes after the last committed file.",
      "With --partitions P the files are split by CRC-32C of the name mod P; each partition has",
      "its own checkpoint and W workers run them in parallel. P is recorded for the job: a run",
      "with another P stops (exit 2) unless --rescan is given."
    })
class IngestCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--input",
      paramLabel = "DIR",
      required = true,
      description = "Folder of input files.")
  Path input;

  @Option(
      names = "--glob",
      defaultValue = IngestOptions.DEFAULT_GLOB,
      description = "Which files of --input to load (default: ${DEFAULT-VALUE}).")
  String glob;

  @Option(
      names = "--format",
      defaultValue = "json-array",
      paramLabel = "json-array|ndjson|csv",
      description = "Input format (default: ${DEFAULT-VALUE}).")
  String format;

  @Option(
      names = "--db",
      paramLabel = "JDBC_URL",
      defaultValue = IngestOptions.DEFAULT_DB,
      description =
          "Target database, jdbc:sqlite:FILE or jdbc:postgresql://... (default: ${DEFAULT-VALUE}).")
  String db;

  @Option(
      names = "--table",
      converter = NameConverters.Table.class,
      defaultValue = IngestOptions.DEFAULT_TABLE,
      description = "Staging table, created if absent (default: ${DEFAULT-VALUE}).")
  String table;

  @Option(
      names = "--job",
      converter = NameConverters.Job.class,
      defaultValue = IngestOptions.DEFAULT_JOB,
      description = "Job name; its checkpoint is kept under it (default: ${DEFAULT-VALUE}).")
  String job;

  @Option(
      names = "--state",
      paramLabel = "DIR",
      defaultValue = "./state",
      description = "State directory of the file checkpoint store (default: ${DEFAULT-VALUE}).")
  Path state;

  @Option(
      names = "--dedup-key",
      defaultValue = "hash",
      paramLabel = "hash|fields:a,b",
      description =
          "SHA-256 of the whole record in RFC 8785 canonical JSON, or of the listed fields (default: ${DEFAULT-VALUE}).")
  String dedupKey;

  @Option(
      names = "--column",
      paramLabel = "NAME=/json/pointer",
      description = "Also fill column NAME from the record at a JSON Pointer; repeatable.")
  List<String> columns = new ArrayList<>();

  @Option(
      names = "--commit-every",
      defaultValue = "1s",
      paramLabel = "N|DURATION",
      description =
          "End a unit of work after N files, or once it has run this long (default: ${DEFAULT-VALUE}; 1 is one file, one checkpoint).")
  String commitEvery;

  @Option(
      names = "--checkpoint-store",
      defaultValue = "file",
      paramLabel = "file|db",
      description =
          "file: under --state, after the rows commit. db: a waymark_checkpoint row in the rows' own transaction (default: ${DEFAULT-VALUE}).")
  String checkpointStore;

  @Option(
      names = "--on-bad-file",
      defaultValue = "fail",
      paramLabel = "fail|quarantine",
      description =
          "fail: stop with exit 5. quarantine: record the file in waymark_quarantine and go on (default: ${DEFAULT-VALUE}).")
  String onBadFile;

  @Option(
      names = "--retries",
      defaultValue = "" + IngestOptions.DEFAULT_RETRIES,
      paramLabel = "N",
      description =
          "Attempts per unit after a transient failure, with exponential backoff, within 2 minutes (default: ${DEFAULT-VALUE}).")
  int retries;

  @Option(
      names = "--rescan",
      description =
          "Reprocess every file up to the checkpoint (after a late or deleted file; safe, rows already loaded are skipped).")
  boolean rescan;

  @Option(
      names = "--partitions",
      defaultValue = "1",
      paramLabel = "P",
      description =
          "Split the files into P partitions by CRC-32C of the file name mod P, each with its own checkpoint; recorded for the job, a later run must use the same P or --rescan (default: ${DEFAULT-VALUE}).")
  int partitions;

  @Option(
      names = "--workers",
      paramLabel = "W",
      description =
          "Worker threads, each running one partition at a time on its own connection (default: the smaller of P and the number of processors).")
  Integer workers;

  @Option(
      names = "--global-checkpoint-every",
      paramLabel = "DURATION",
      description =
          "Also write a two-phase global checkpoint (every partition's committed cursor, one consistent cut) this often, e.g. 10s; one is always written at the end of a run that succeeds (default: only that one).")
  String globalCheckpointEvery;

  @Option(
      names = "--global-keep",
      defaultValue = "" + GlobalCheckpointStore.DEFAULT_KEEP,
      paramLabel = "K",
      description = "Complete global checkpoints to keep (default: ${DEFAULT-VALUE}).")
  int globalKeep;

  @Option(
      names = "--summary-json",
      paramLabel = "PATH",
      description = "Also write the run's summary as JSON to PATH.")
  Path summaryJson;

  @Override
  public Integer call() throws IOException {
    IngestOptions options = options();
    checkSummaryPath();
    PrintWriter out = spec.commandLine().getOut();
    Progress progress = new Progress(out, System.console() != null, db, noFilesLine());
    writeSummary(IngestJob.run(options, progress));
    return ExitCode.OK.code;
  }

  /** What a run prints when no file matches: where it looked and for what. */
  String noFilesLine() {
    return "nothing to do: no file in "
        + Names.printable(input.toString())
        + " matches --glob '"
        + glob
        + "'";
  }

  /** Writes {@code summary} to {@code --summary-json}, if given. */
  void writeSummary(IngestSummary summary) {
    if (summaryJson != null) {
      try {
        Files.writeString(
            summaryJson, Json.write(summaryFields(summary)) + "\n", StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new WaymarkException(
            "The run is done (its rows and checkpoint are committed), but its summary could not"
                + " be written to --summary-json "
                + summaryJson
                + ": "
                + e
                + ". Check that the folder is writable and not full; running the same command"
                + " again loads nothing and writes the summary of that run.",
            e);
      }
    }
  }

  /**
   * Refuses a {@code --summary-json} that could not be written, before the run loads anything: a
   * folder that does not exist or is not writable, or a path that is a folder.
   */
  void checkSummaryPath() {
    if (summaryJson == null) {
      return;
    }
    Path file = summaryJson.toAbsolutePath();
    Path folder = file.getParent();
    String why =
        Files.isDirectory(file)
            ? "it is a folder; name a file"
            : folder == null || !Files.isDirectory(folder)
                ? "its folder " + folder + " does not exist; create it or name another file"
                : !Files.isWritable(folder) && !Files.isWritable(file)
                    ? "its folder " + folder + " is not writable; name a file in a writable folder"
                    : null;
    if (why != null) {
      throw new ParameterException(
          spec.commandLine(),
          "--summary-json " + summaryJson + " cannot be written: " + why + ". Nothing was loaded.");
    }
  }

  /**
   * The options these flags ask for, checked; {@link WorkerCommand} adjusts the flags first, and
   * {@code torture} runs them.
   */
  IngestOptions options() {
    IngestOptions.Builder b = IngestOptions.builder(input);
    try {
      b.glob(glob)
          .format(Format.fromCliName(format))
          .db(db)
          .table(table)
          .job(job)
          .state(state)
          .dedupKey(DedupKey.parse(dedupKey))
          .commitPolicy(CommitPolicy.parse(commitEvery))
          .checkpointStore(choice(CheckpointStoreKind.class, "--checkpoint-store", checkpointStore))
          .onBadFile(choice(OnBadFile.class, "--on-bad-file", onBadFile))
          .retries(retries)
          .rescan(rescan)
          .partitions(partitions)
          .globalCheckpointEvery(
              globalCheckpointEvery == null
                  ? null
                  : Durations.parse("--global-checkpoint-every", globalCheckpointEvery))
          .globalKeep(globalKeep)
          .faults(Faults.fromEnvironment());
      if (workers != null) {
        b.workers(workers);
      }
      for (String c : columns) {
        int eq = c.indexOf('=');
        if (eq <= 0) {
          throw new IllegalArgumentException(
              "--column '" + Names.shown(c) + "' must be NAME=/json/pointer, e.g. sku=/sku_id");
        }
        try {
          b.column(c.substring(0, eq), c.substring(eq + 1));
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(
              "Invalid value for option '--column': " + e.getMessage(), e);
        }
      }
      return b.build();
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage(), e);
    }
  }

  private static <E extends Enum<E>> E choice(Class<E> type, String flag, String value) {
    try {
      return Enum.valueOf(type, value.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      List<String> allowed = new ArrayList<>();
      for (E c : type.getEnumConstants()) {
        allowed.add(c.name().toLowerCase(Locale.ROOT));
      }
      throw new IllegalArgumentException(flag + " '" + value + "' must be one of " + allowed);
    }
  }

  private Map<String, Object> summaryFields(IngestSummary s) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("job", s.job());
    m.put("db", JdbcUrls.redact(db));
    m.put("table", table);
    m.put("total_files", (long) s.totalFiles());
    m.put("files", (long) s.files());
    m.put("rows_read", s.rowsRead());
    m.put("new", s.newRows());
    m.put("duplicates", s.duplicates());
    m.put("units", s.units());
    m.put("elapsed_ms", s.elapsed().toMillis());
    m.put("rows_per_second", Math.round(s.rowsPerSecond()));
    List<Object> bad = new ArrayList<>();
    for (IngestSummary.BadFile f : s.badFiles()) {
      Map<String, Object> b = new LinkedHashMap<>();
      b.put("file", f.name());
      b.put("position", f.position());
      b.put("error", f.error());
      bad.add(b);
    }
    m.put("bad_files", bad);
    if (s.partitions().size() > 1) {
      List<Object> parts = new ArrayList<>();
      for (IngestSummary.Partition p : s.partitions()) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("partition", p.partition());
        e.put("total_files", (long) p.totalFiles());
        e.put("committed_before", (long) p.startIndex());
        e.put("files", (long) p.files());
        e.put("rows_read", p.rowsRead());
        e.put("new", p.newRows());
        e.put("duplicates", p.duplicates());
        e.put("bad_files", (long) p.badFiles());
        e.put("units", p.units());
        parts.add(e);
      }
      m.put("partitions", parts);
    }
    return m;
  }

  /** Prints one line per committed file, or a progress bar on a terminal, then the summary. */
  static final class Progress implements IngestListener {
    private final PrintWriter out;
    private final boolean terminal;
    private final String db;
    private final String noFiles;
    private long start;
    private int first;
    private int done; // files committed, before and during this run (partitioned runs)
    private int total; // files in the listing (partitioned runs)
    private long rows;
    private long lastDraw;

    /**
     * @param noFiles the line to print if no file matches the glob ({@link #noFilesLine})
     */
    Progress(PrintWriter out, boolean terminal, String db, String noFiles) {
      this.out = out;
      this.terminal = terminal;
      this.db = db;
      this.noFiles = noFiles;
    }

    @Override
    public void started(int startIndex, int total, String startName, boolean resumed) {
      start = System.nanoTime();
      first = startIndex;
      if (total == 0) {
        out.println(noFiles);
      } else if (startIndex >= total) {
        out.printf("nothing to do: all %,d files are committed%n", total);
      } else if (!resumed) {
        out.printf("starting at the first of %,d files%n", total);
      } else {
        out.printf(
            "resume from file %,d (%s), %,d files in total%n",
            startIndex + 1, Names.printable(startName), total);
      }
      out.flush();
    }

    @Override
    public void startedPartitions(
        int total, int partitions, int workers, int resumed, int committed) {
      start = System.nanoTime();
      first = committed;
      done = committed;
      this.total = total;
      if (total == 0) {
        out.println(noFiles);
      } else if (committed >= total) {
        out.printf("nothing to do: all %,d files are committed%n", total);
      } else if (resumed == 0) {
        out.printf("starting at the first of %,d files%n", total);
      } else {
        out.printf(
            "resume %d of %d partitions, %,d of %,d files committed, %,d files in total%n",
            resumed, partitions, committed, total, total);
      }
      out.printf(
          "%d partitions (CRC-32C of the file name mod %d), %d worker%s%n",
          partitions, partitions, workers, workers == 1 ? "" : "s");
      out.flush();
    }

    @Override
    public void fileCommitted(
        String partition, int index, int total, String name, long newRows, long duplicates) {
      rows += newRows + duplicates;
      done++;
      if (terminal) {
        draw(done, this.total, false);
      } else {
        out.printf(
            "[p%s %d/%d] %s: %d new, %d duplicate%n",
            partition, index + 1, total, name, newRows, duplicates);
      }
    }

    @Override
    public void fileQuarantined(String partition, int index, int total, String name, String error) {
      done++;
      if (terminal) {
        out.print("\r");
      }
      out.printf("[p%s %d/%d] %s: quarantined: %s%n", partition, index + 1, total, name, error);
    }

    @Override
    public void retrying(String partition, int attempt, int max, Duration delay, Throwable error) {
      if (terminal) {
        out.print("\r");
      }
      out.printf(
          "waymark: partition %s: attempt %d of %d failed (%s); retrying the unit from its start in"
              + " %.1f s%n",
          partition,
          attempt,
          max,
          JdbcUrls.redact(ErrorHandler.message(error), db),
          delay.toMillis() / 1000.0);
      out.flush();
    }

    @Override
    public void fileCommitted(int index, int total, String name, long newRows, long duplicates) {
      rows += newRows + duplicates;
      if (terminal) {
        draw(index + 1, total, false);
      } else {
        out.printf(
            "[%d/%d] %s: %d new, %d duplicate%n",
            index + 1, total, Names.printable(name), newRows, duplicates);
      }
    }

    @Override
    public void fileQuarantined(int index, int total, String name, String error) {
      if (terminal) {
        out.print("\r");
      }
      out.printf("[%d/%d] %s: quarantined: %s%n", index + 1, total, Names.printable(name), error);
    }

    @Override
    public void retrying(int attempt, int max, Duration delay, Throwable error) {
      if (terminal) {
        out.print("\r");
      }
      out.printf(
          "waymark: attempt %d of %d failed (%s); retrying the unit from its start in %.1f s%n",
          attempt,
          max,
          JdbcUrls.redact(ErrorHandler.message(error), db),
          delay.toMillis() / 1000.0);
      out.flush();
    }

    private void draw(int done, int total, boolean force) {
      long now = System.nanoTime();
      if (!force && now - lastDraw < 200_000_000L && done < total) {
        return;
      }
      lastDraw = now;
      double seconds = Math.max(1e-9, (now - start) / 1e9);
      double filesPerSecond = (done - first) / seconds;
      long eta = filesPerSecond > 0 ? Math.round((total - done) / filesPerSecond) : 0;
      int width = 30, filled = total == 0 ? width : (int) ((long) done * width / total);
      out.printf(
          "\r[%s%s] %,d/%,d files  %,.0f rows/s  ETA %dm%02ds ",
          "=".repeat(filled),
          " ".repeat(width - filled),
          done,
          total,
          rows / seconds,
          eta / 60,
          eta % 60);
      out.flush();
    }

    @Override
    public void finished(IngestSummary s) {
      if (terminal) {
        out.println();
      }
      out.printf(
          "done: %,d files, %,d rows read, %,d new, %,d duplicate, %d bad files, %.1f s, %,.0f rows/s%n",
          s.files(),
          s.rowsRead(),
          s.newRows(),
          s.duplicates(),
          s.badFiles().size(),
          s.elapsed().toMillis() / 1000.0,
          s.rowsPerSecond());
      if (s.partitions().size() > 1) {
        for (IngestSummary.Partition p : s.partitions()) {
          out.printf(
              "  partition %s: %,d of %,d files committed (%,d by this run), %,d rows read,"
                  + " %,d new, %,d duplicate, %d bad files%n",
              p.partition(),
              p.startIndex() + p.files(),
              p.totalFiles(),
              p.files(),
              p.rowsRead(),
              p.newRows(),
              p.duplicates(),
              p.badFiles());
        }
      }
      out.flush();
    }
  }
}
