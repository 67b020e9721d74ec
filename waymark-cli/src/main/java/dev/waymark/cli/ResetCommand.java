package dev.waymark.cli;

import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.CheckpointInvalidException;
import dev.waymark.checkpoint.CheckpointStore;
import dev.waymark.checkpoint.file.FileCheckpointStore;
import dev.waymark.checkpoint.internal.Json;
import dev.waymark.checkpoint.jdbc.ConnectionSource;
import dev.waymark.checkpoint.jdbc.JdbcCheckpointStore;
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

/** {@code waymark checkpoint reset --yes}: forgets partitions, so that they start over. */
@Command(
    name = "reset",
    mixinStandardHelpOptions = true,
    header = "Forget a partition or a whole job; needs --yes (takes the lock).",
    description = {
      "Forget a partition's checkpoint and history, or with no --partition every partition of the"
          + " job: the next run starts from the beginning of its source. Requires --yes. Takes"
          + " the job's lock: exit code 3 while a writer runs (with --db on PostgreSQL: while an"
          + " ingest or worker of the job is connected)."
    })
final class ResetCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin Options.State state;
  @Mixin Options.Job job;

  @Option(
      names = "--partition",
      converter = NameConverters.Partition.class,
      paramLabel = "P",
      description = "Only this partition (default: every partition of the job).")
  String partition;

  @Option(names = "--yes", description = "Confirm: the checkpoint and its history are deleted.")
  boolean yes;

  @Option(
      names = "--db",
      paramLabel = "JDBC_URL",
      description = "The db store's tables in this database instead of --state.")
  String db;

  @Mixin Options.Json json;

  @Override
  public Integer call() {
    Output o = new Output(spec);
    Options.refuseStateBesideDb(spec, db);
    String what =
        "job '"
            + job.name
            + "' "
            + (partition == null ? "(every partition)" : "partition '" + partition + "'");
    if (!yes) {
      throw new CommandLine.ParameterException(
          spec.commandLine(),
          "reset deletes the checkpoint and history of "
              + what
              + ", so the next run starts from the beginning of its source. Add --yes to confirm.");
    }
    if (db == null) {
      state.requireJob(job.name);
    }
    List<Map<String, Object>> done = new ArrayList<>();
    try (CheckpointStore store =
        db != null
            ? JdbcCheckpointStore.openForRepair(ConnectionSource.of(db), job.name)
            : FileCheckpointStore.open(state.dir(), job.name)) {
      List<String> partitions =
          Options.someOrAllPartitions(job.name, store.partitions(), partition, "reset");
      for (String p : partitions) {
        Map<String, Object> entry = Output.object();
        entry.put("partition", p);
        entry.put("previous_status", "never_committed");
        entry.put("previous_sequence", null);
        entry.put("previous_cursor", null);
        try {
          Optional<Checkpoint> before = store.read(p);
          if (before.isPresent()) {
            entry.put("previous_status", "ok");
            entry.put("previous_sequence", before.get().sequence());
            entry.put("previous_cursor", before.get().cursor().fields());
          }
        } catch (CheckpointInvalidException e) {
          entry.put("previous_status", "invalid");
        }
        store.reset(p);
        done.add(entry);
      }
    }
    if (json.enabled) {
      Map<String, Object> doc = Output.object();
      doc.put("job", job.name);
      doc.put("reset", done);
      o.json(doc);
    } else if (done.isEmpty()) {
      o.out.println("Job '" + job.name + "' has no partitions; nothing to reset.");
    } else {
      for (Map<String, Object> e : done) {
        Object seq = e.get("previous_sequence");
        o.out.println(
            "Reset job '"
                + job.name
                + "' partition '"
                + e.get("partition")
                + "' (was "
                + switch (e.get("previous_status").toString()) {
                  case "ok" -> "sequence " + seq + " at " + Json.write(e.get("previous_cursor"));
                  case "invalid" -> "an invalid checkpoint";
                  default -> "never committed";
                }
                + "); its next run starts from the beginning.");
      }
    }
    o.flush();
    return ExitCode.OK.code;
  }
}
