package dev.waymark.cli;

import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.file.FileCheckpointStore;
import dev.waymark.checkpoint.jdbc.ConnectionSource;
import dev.waymark.checkpoint.jdbc.JdbcCheckpointStore;
import dev.waymark.ingest.sink.JdbcUrls;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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
    header = "Show each partition's position: sequence, epoch, cursor, age.",
    description = {
      "Show each partition's current position: sequence, epoch, cursor, when committed.",
      "A partition whose checkpoint is invalid is listed with its error (exit code 4)."
    })
final class StatusCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin Options.State state;
  @Mixin Options.AnyJob job;

  @Option(
      names = "--partition",
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
    if (partition != null && job.name == null) {
      throw new CommandLine.ParameterException(
          spec.commandLine(), "--partition needs --job: a partition belongs to one job.");
    }
    String where;
    List<String> jobs;
    List<Partitions.State> all = new ArrayList<>();
    if (db != null) {
      ConnectionSource connections = ConnectionSource.of(db);
      where = JdbcUrls.redact(db);
      jobs = job.name != null ? List.of(job.name) : JdbcCheckpointStore.jobs(connections);
      for (String j : jobs) {
        try (JdbcCheckpointStore.Reader reader = JdbcCheckpointStore.reader(connections, j)) {
          all.addAll(Partitions.read(reader, partition, reader::location));
        }
      }
    } else {
      Path dir = state.requireDirectory();
      where = dir.toString();
      jobs = job.name != null ? List.of(job.name) : FileCheckpointStore.jobs(dir);
      for (String j : jobs) {
        all.addAll(Partitions.read(state.requireJob(j), partition));
      }
    }
    Instant now = Instant.now();
    boolean invalid = all.stream().anyMatch(s -> s.error() != null);
    if (json.enabled) {
      List<Object> rows = new ArrayList<>();
      for (Partitions.State s : all) {
        rows.add(toJson(s, now));
      }
      Map<String, Object> doc = Output.object();
      doc.put(db != null ? "db" : "state", where);
      doc.put("partitions", rows);
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
    o.flush();
    return invalid ? ExitCode.CHECKPOINT_INVALID.code : ExitCode.OK.code;
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
