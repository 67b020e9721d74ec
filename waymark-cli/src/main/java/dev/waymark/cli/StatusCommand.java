package dev.waymark.cli;

import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.CheckpointInvalidException;
import dev.waymark.checkpoint.file.FileCheckpointStore;
import dev.waymark.checkpoint.global.GlobalCheckpoint;
import dev.waymark.checkpoint.global.GlobalCheckpointStore;
import dev.waymark.checkpoint.global.JobOutcome;
import dev.waymark.checkpoint.jdbc.ConnectionSource;
import dev.waymark.checkpoint.jdbc.JdbcCheckpointStore;
import dev.waymark.ingest.sink.JdbcUrls;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code waymark checkpoint status}: one line per partition. */
@Command(
    name = "status",
    mixinStandardHelpOptions = true,
    header = "Show each partition's position, the last global checkpoint and the outcome.",
    description = {
      "Show each partition's current position: sequence, epoch, cursor, when committed; then the"
          + " job's last complete global checkpoint (N, when, its cut) and its success or failure"
          + " marker. With --db, the db store's tables instead of --state.",
      "A partition whose checkpoint is invalid is listed with its error (exit code 4)."
    })
final class StatusCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin Options.State state;
  @Mixin Options.AnyJob job;

  @Option(
      names = "--partition",
      converter = NameConverters.Partition.class,
      paramLabel = "P",
      description = "Only this partition (needs --job; default: every partition).")
  String partition;

  @Option(
      names = "--db",
      paramLabel = "JDBC_URL",
      description =
          "Read the db checkpoint store (waymark_checkpoint in this database) instead of --state.")
  String db;

  @Mixin Options.Json json;

  @Override
  public Integer call() {
    Output o = new Output(spec);
    Options.refuseStateBesideDb(spec, db);
    if (partition != null && job.name == null) {
      throw new CommandLine.ParameterException(
          spec.commandLine(), "--partition needs --job: a partition belongs to one job.");
    }
    String where;
    List<String> jobs;
    List<Partitions.State> all = new ArrayList<>();
    Path dir = state.dir();
    if (db != null) {
      ConnectionSource connections = ConnectionSource.of(db);
      where = JdbcUrls.redact(db);
      jobs =
          job.name != null
              ? List.of(Options.requireDbJob(connections, job.name, where))
              : JdbcCheckpointStore.jobs(connections);
      for (String j : jobs) {
        try (JdbcCheckpointStore.Reader reader = JdbcCheckpointStore.reader(connections, j)) {
          all.addAll(Partitions.read(reader, partition, reader::location));
        }
      }
    } else {
      state.requireDirectory();
      where = dir.toString();
      jobs = job.name != null ? List.of(job.name) : FileCheckpointStore.jobs(dir);
      for (String j : jobs) {
        all.addAll(Partitions.read(state.requireJob(j), partition));
      }
    }
    List<GlobalStatus> globals = new ArrayList<>();
    for (String j : jobs) {
      globals.add(GlobalStatus.read(dir, db, j));
    }
    Instant now = Instant.now();
    boolean invalid =
        all.stream().anyMatch(s -> s.error() != null)
            || globals.stream().anyMatch(g -> g.error() != null);
    if (json.enabled) {
      List<Object> rows = new ArrayList<>();
      for (Partitions.State s : all) {
        rows.add(toJson(s, now));
      }
      Map<String, Object> doc = Output.object();
      doc.put(db != null ? "db" : "state", where);
      doc.put("partitions", rows);
      List<Object> global = new ArrayList<>();
      for (GlobalStatus g : globals) {
        global.add(g.toJson());
      }
      doc.put("global", global);
      o.json(doc);
    } else if (all.isEmpty()) {
      o.out.println(
          jobs.isEmpty()
              ? "No jobs in " + where + "."
              : "No partition of " + jobs + " has committed yet (" + where + ").");
    } else {
      Output.Table table =
          new Output.Table(
              "JOB", "PARTITION", "STATUS", "SEQ", "EPOCH", "COMMITTED_AT", "AGE", "CURSOR");
      for (Partitions.State s : all) {
        Checkpoint c = s.checkpoint().orElse(null);
        table.row(
            s.job(),
            s.partition(),
            s.error() != null ? "INVALID" : c != null ? "ok" : "never committed",
            c == null ? null : c.sequence(),
            c == null ? null : c.epoch(),
            c == null ? null : Output.seconds(c.committedAt()),
            c == null ? null : Output.age(c.committedAt(), now),
            c != null
                ? c.cursor()
                : s.error() != null ? s.error().reason() + " (see below)" : null);
      }
      table.print(o.out, "");
      o.out.flush();
      all.stream().filter(s -> s.error() != null).forEach(s -> o.problem(s.error()));
    }
    if (!json.enabled) {
      for (GlobalStatus g : globals) {
        g.print(o, now);
      }
    }
    o.flush();
    return invalid ? ExitCode.CHECKPOINT_INVALID.code : ExitCode.OK.code;
  }

  /** A job's last complete global checkpoint, the ones kept, and its outcome marker. */
  record GlobalStatus(
      String job,
      Optional<GlobalCheckpoint> last,
      List<Long> kept,
      Optional<JobOutcome> outcome,
      CheckpointInvalidException error) {

    static GlobalStatus read(Path dir, String db, String job) {
      try (GlobalCheckpointStore store = GlobalState.reader(dir, db, job)) {
        List<Long> kept = store.completeNumbers();
        try {
          return new GlobalStatus(job, store.lastComplete(), kept, store.outcome(), null);
        } catch (CheckpointInvalidException e) {
          return new GlobalStatus(job, Optional.empty(), kept, Optional.empty(), e);
        }
      }
    }

    Map<String, Object> toJson() {
      Map<String, Object> m = Output.object();
      m.put("job", job);
      m.put("last_complete", last.map(GlobalState::toJson).orElse(null));
      m.put("kept", kept);
      m.put("outcome", outcome.map(GlobalState::toJson).orElse(null));
      m.put("error", error == null ? null : error.getMessage());
      return m;
    }

    /**
     * Nothing for a job without global checkpoints or outcome (one written by the library alone).
     */
    void print(Output o, Instant now) {
      if (error == null && last.isEmpty() && outcome.isEmpty()) {
        return;
      }
      if (error != null) {
        o.out.println("Global checkpoints of job '" + job + "': INVALID (see below); kept " + kept);
        o.out.flush();
        o.problem(error);
        return;
      }
      if (last.isEmpty()) {
        o.out.println("Global checkpoints of job '" + job + "': none complete yet.");
      } else {
        GlobalCheckpoint g = last.get();
        o.out.println(
            "Global checkpoint of job '"
                + job
                + "': "
                + g.number()
                + ", completed "
                + Output.seconds(g.completedAt())
                + " ("
                + Output.age(g.completedAt(), now)
                + " ago); kept "
                + kept
                + ". Its cut:");
        GlobalState.printCut(o.out, g.cut());
      }
      o.out.println(
          outcome
              .map(GlobalState::describe)
              .orElse(
                  "No outcome marker: the job is running, or has not run since it was cleared."));
      o.out.flush();
    }
  }

  static Map<String, Object> toJson(Partitions.State s, Instant now) {
    Map<String, Object> m = Output.object();
    m.put("job", s.job());
    m.put("partition", s.partition());
    m.put("path", s.path().toString());
    m.put("status", s.status());
    m.put("sequence", null);
    m.put("epoch", null);
    m.put("cursor", null);
    m.put("committed_at", null);
    m.put("age_seconds", null);
    s.checkpoint().ifPresent(c -> m.putAll(Output.checkpointFields(c, now)));
    m.put("reason", s.error() == null ? null : s.error().reason().toString());
    m.put("error", s.error() == null ? null : s.error().getMessage());
    return m;
  }
}
