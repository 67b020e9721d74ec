package dev.waymark.cli;

import dev.waymark.checkpoint.jdbc.ConnectionSource;
import dev.waymark.ingest.CoordinatedIngest;
import dev.waymark.ingest.IngestListener;
import dev.waymark.ingest.IngestOptions;
import dev.waymark.ingest.IngestSummary;
import dev.waymark.ingest.Partitioning;
import dev.waymark.ingest.coord.Coordinator;
import dev.waymark.ingest.coord.CoordinatorListener;
import dev.waymark.ingest.coord.JobSpec;
import dev.waymark.ingest.coord.Lease;
import dev.waymark.ingest.sink.JdbcUrls;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;

/**
 * {@code waymark worker}: one of many identical processes, on any machines, that run one ingestion
 * job together through a PostgreSQL coordinator. Takes every {@code waymark ingest} flag.
 */
@Command(
    name = "worker",
    header = "Join other workers on one partitioned ingest, via PostgreSQL.",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Runs one ingestion job together with other worker processes, on this machine",
      "or others, coordinated through PostgreSQL: each worker claims partitions,",
      "renews its leases by heartbeat, takes over the partitions of a worker whose",
      "lease expired, and commits a unit only while the partition's epoch is its",
      "own. Every worker must see the same --input (a shared file system) and be",
      "started with the same layout flags. Ends when every partition of the job is",
      "done. Takes the flags of `waymark ingest`, except that --db defaults to the",
      "coordinator, checkpoints are always in the database (--checkpoint-store db),",
      "and --state and --rescan do not apply."
    })
final class WorkerCommand extends IngestCommand {
  /**
   * A worker's data connection's {@code idle_in_transaction_session_timeout}, in leases: long
   * enough for a slow read between a unit's statements, short enough that a paused worker's row
   * locks do not hold the others up for long.
   */
  static final int IDLE_IN_TRANSACTION_LEASES = 3;

  @Option(
      names = "--coordinator",
      required = true,
      paramLabel = "JDBC_URL",
      description =
          "PostgreSQL database that holds the job's partitions and leases, jdbc:postgresql://...; every worker of the job names the same one. Also the default --db.")
  String coordinator;

  @Option(
      names = "--lease",
      defaultValue = "30s",
      paramLabel = "DURATION",
      converter = LeaseConverter.class,
      description =
          "How long a partition stays a silent worker's: renewed every third of it; a dead worker's partitions are taken over once it runs out (default: ${DEFAULT-VALUE}).")
  Duration lease;

  @Override
  public Integer call() throws java.io.IOException {
    ParseResult parsed = spec.commandLine().getParseResult();
    if (!coordinator.startsWith("jdbc:postgresql:")) {
      throw new ParameterException(
          spec.commandLine(),
          "--coordinator must be a PostgreSQL URL (jdbc:postgresql://...), one every worker"
              + " reaches; found "
              + JdbcUrls.redact(coordinator));
    }
    if (parsed.hasMatchedOption("--checkpoint-store") && !checkpointStore.equals("db")) {
      throw new ParameterException(
          spec.commandLine(),
          "A worker keeps its checkpoints in the coordinator's database, committed with the rows"
              + " and fenced by the partition's epoch: leave --checkpoint-store out (or say db).");
    }
    if (rescan) {
      throw new ParameterException(
          spec.commandLine(),
          "--rescan is for a single process: run `waymark ingest --rescan` with the worker's"
              + " --db, --job and --partitions, then start the workers again.");
    }
    checkpointStore = "db";
    String workerId = Coordinator.newWorkerId();
    String target = parsed.hasMatchedOption("--db") ? db : coordinator;
    // Named after the worker in pg_stat_activity; and a paused worker's open transaction (holding
    // row locks its successor needs) is ended by the server within three leases.
    db = withSession(target, workerId, lease.multipliedBy(IDLE_IN_TRANSACTION_LEASES));
    IngestOptions options = options();
    checkSummaryPath();
    PrintWriter out = spec.commandLine().getOut();
    Lines lines = new Lines(out, lease, coordinator);
    JobSpec job = new JobSpec(this.job, partitions, Partitioning.HASH, layoutSettings());
    try (Coordinator c =
        Coordinator.join(ConnectionSource.of(coordinator), job, workerId, lease, lines)) {
      try (Connection data = DriverManager.getConnection(db)) {
        c.requireSameDatabase(data, JdbcUrls.redact(target));
      } catch (SQLException e) {
        throw new dev.waymark.WaymarkException(
            "Cannot reach --db "
                + JdbcUrls.redact(target)
                + ": "
                + JdbcUrls.redact(e.getMessage(), db),
            e);
      }
      out.printf(
          "worker %s joined job '%s' (%d partitions, hash %s, lease %s)%n",
          workerId, this.job, partitions, Partitioning.HASH, Durations.show(lease));
      out.flush();
      IngestSummary summary =
          CoordinatedIngest.run(
              options,
              new WorkerProgress(
                  new Progress(out, System.console() != null, db, noFilesLine()), lines.claimed),
              c);
      out.printf(
          "job '%s' done: every partition is finished (this worker finished %d, lost %d; %,d"
              + " files, %,d new rows)%n",
          this.job, lines.finished.get(), lines.lost.get(), summary.files(), summary.newRows());
      out.flush();
      writeSummary(summary);
    }
    return ExitCode.OK.code;
  }

  /** The flags that decide which file goes to which partition and what its rows are. */
  private Map<String, String> layoutSettings() {
    Map<String, String> s = new TreeMap<>();
    s.put("--glob", glob);
    s.put("--format", format);
    s.put("--table", table);
    s.put("--dedup-key", dedupKey);
    s.put("--column", String.join(",", columns));
    return s;
  }

  /** {@code url} with this worker's application name and an idle-in-transaction timeout. */
  static String withSession(String url, String workerId, Duration idleInTransaction) {
    if (!url.startsWith("jdbc:postgresql:")) {
      return url;
    }
    String name = URLEncoder.encode("waymark worker " + workerId, StandardCharsets.UTF_8);
    String timeout = "-c idle_in_transaction_session_timeout=" + idleInTransaction.toMillis();
    Matcher options = Pattern.compile("([?&])options=([^&]*)").matcher(url);
    String withOptions =
        options.find()
            ? url.substring(0, options.end())
                + URLEncoder.encode(" " + timeout, StandardCharsets.UTF_8).replace("+", "%20")
                + url.substring(options.end())
            : url
                + (url.contains("?") ? "&" : "?")
                + "options="
                + URLEncoder.encode(timeout, StandardCharsets.UTF_8).replace("+", "%20");
    return withOptions + "&ApplicationName=" + name.replace("+", "%20");
  }

  /** One line per claim, lost lease, failed renewal and finished partition. */
  private static final class Lines implements CoordinatorListener {
    private final PrintWriter out;
    private final Duration lease;
    private final String coordinator; // whose password no line may print
    final AtomicInteger finished = new AtomicInteger(), lost = new AtomicInteger();
    final Set<String> claimed = ConcurrentHashMap.newKeySet();

    Lines(PrintWriter out, Duration lease, String coordinator) {
      this.out = out;
      this.lease = lease;
      this.coordinator = coordinator;
    }

    private void line(String format, Object... args) {
      synchronized (out) {
        out.printf(format + "%n", args);
        out.flush();
      }
    }

    @Override
    public void jobCreated(JobSpec spec) {
      line("created job '%s' in the coordinator: %d partitions", spec.job(), spec.partitions());
    }

    @Override
    public void claimed(Lease l) {
      claimed.add(l.partition());
      line(
          "claimed partition %s at epoch %d%s",
          l.partition(),
          l.epoch(),
          l.previousOwner().map(o -> ", taking over from " + o + " (lease expired)").orElse(""));
    }

    @Override
    public void renewFailed(Exception error) {
      line(
          "renewing leases failed (%s); they run out %s after the last renewal unless one"
              + " succeeds",
          JdbcUrls.redact(ErrorHandler.message(error), coordinator), Durations.show(lease));
    }

    @Override
    public void reconnecting(Exception error, int attempt, Duration delay) {
      line(
          "the coordinator's connection was lost (%s); reconnecting in %s (attempt %d)",
          JdbcUrls.redact(ErrorHandler.message(error), coordinator),
          Durations.show(delay),
          attempt);
    }

    @Override
    public void lost(Lease l, long newerEpoch, String newOwner, String how) {
      lost.incrementAndGet();
      line(
          "lost partition %s at epoch %d: %s holds it at epoch %d (%s)",
          l.partition(), l.epoch(), newOwner, newerEpoch, how);
    }

    @Override
    public void commitRefused(Lease l, long newerEpoch, String newOwner) {
      line(
          "commit refused for partition %s at epoch %d: %s holds it at epoch %d; the unit's rows"
              + " and checkpoint were rolled back",
          l.partition(), l.epoch(), newOwner, newerEpoch);
    }

    @Override
    public void finished(Lease l) {
      finished.incrementAndGet();
      line("finished partition %s (epoch %d)", l.partition(), l.epoch());
    }

    @Override
    public void jobResumed(JobSpec spec, Coordinator.Failure failure) {
      line(
          "job '%s' had failed %s; this worker cleared the failure and resumes the job from its"
              + " partitions' checkpoints",
          spec.job(), failure);
    }

    @Override
    public void jobFailed(JobSpec spec, Coordinator.Failure failure) {
      line(
          "recorded job '%s' failed at %s (%s): no worker claims its partitions now, the others"
              + " stop at their next unit boundary, and `waymark wait` reports the failure (exit"
              + " 6)",
          spec.job(), failure.at(), failure.kind());
    }
  }

  /**
   * {@code waymark ingest}'s lines, with the closing summary limited to the partitions this worker
   * ran: the others' counts belong to other workers.
   */
  private static final class WorkerProgress implements IngestListener {
    private final Progress progress;
    private final Set<String> claimed;

    WorkerProgress(Progress progress, Set<String> claimed) {
      this.progress = progress;
      this.claimed = claimed;
    }

    @Override
    public void started(int startIndex, int total, String startName, boolean resumed) {
      progress.started(startIndex, total, startName, resumed);
    }

    @Override
    public void startedPartitions(
        int total, int partitions, int workers, int resumed, int committed) {
      progress.startedPartitions(total, partitions, workers, resumed, committed);
    }

    @Override
    public void fileCommitted(int index, int total, String name, long newRows, long duplicates) {
      progress.fileCommitted(index, total, name, newRows, duplicates);
    }

    @Override
    public void fileCommitted(
        String partition, int index, int total, String name, long newRows, long duplicates) {
      progress.fileCommitted(partition, index, total, name, newRows, duplicates);
    }

    @Override
    public void fileQuarantined(int index, int total, String name, String error) {
      progress.fileQuarantined(index, total, name, error);
    }

    @Override
    public void fileQuarantined(String partition, int index, int total, String name, String error) {
      progress.fileQuarantined(partition, index, total, name, error);
    }

    @Override
    public void retrying(int attempt, int maxAttempts, Duration delay, Throwable error) {
      progress.retrying(attempt, maxAttempts, delay, error);
    }

    @Override
    public void retrying(
        String partition, int attempt, int maxAttempts, Duration delay, Throwable error) {
      progress.retrying(partition, attempt, maxAttempts, delay, error);
    }

    @Override
    public void finished(IngestSummary s) {
      List<IngestSummary.Partition> ran =
          s.partitions().stream().filter(p -> claimed.contains(p.partition())).toList();
      progress.finished(
          new IngestSummary(
              s.job(),
              s.totalFiles(),
              s.startIndex(),
              s.files(),
              s.rowsRead(),
              s.newRows(),
              s.duplicates(),
              s.badFiles(),
              s.units(),
              s.elapsed(),
              ran));
    }
  }

  /** {@code --lease}: {@code 300ms}, {@code 3s}, {@code 2m}, {@code 1h}, as {@link Durations}. */
  static final class LeaseConverter implements ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      return Durations.parse("--lease", value);
    }
  }
}
