package dev.waymark.cli;

import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.file.FileCheckpointStore;
import dev.waymark.checkpoint.file.FileStoreInspector;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code waymark checkpoint rollback --to SEQ}: makes a kept version current again. */
@Command(
    name = "rollback",
    mixinStandardHelpOptions = true,
    header = "Make a kept version current again (takes the lock).",
    description = {
      "Make the cursor of a kept version current again, as a new commit with the next sequence"
          + " number; works even when the current checkpoint is damaged. Takes the job's lock:"
          + " exit code 3 while a writer runs. See the versions with `waymark checkpoint history`."
    })
final class RollbackCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin Options.State state;
  @Mixin Options.Job job;

  @Option(
      names = "--partition",
      converter = NameConverters.Partition.class,
      paramLabel = "P",
      description = "The partition (may be left out when the job has only one).")
  String partition;

  @Option(
      names = "--to",
      paramLabel = "SEQ",
      required = true,
      description = "The kept version's sequence number.")
  long to;

  @Mixin Options.Json json;

  @Override
  public Integer call() {
    Output o = new Output(spec);
    FileStoreInspector inspector = state.requireJob(job.name);
    try (FileCheckpointStore store = FileCheckpointStore.open(state.dir(), job.name)) {
      String p =
          Options.onePartition(
              partition, store, m -> new CommandLine.ParameterException(spec.commandLine(), m));
      Checkpoint c = store.rollback(p, to);
      if (json.enabled) {
        Map<String, Object> doc = Output.object();
        doc.put("job", c.job());
        doc.put("partition", c.partition());
        doc.put("rolled_back_to", to);
        doc.put("path", inspector.checkpointPath(p).toString());
        doc.putAll(Output.checkpointFields(c, Instant.now()));
        o.json(doc);
      } else {
        o.out.println(
            "Rolled back job '"
                + c.job()
                + "' partition '"
                + c.partition()
                + "' to the cursor of sequence "
                + to
                + ": committed as sequence "
                + c.sequence()
                + " (epoch "
                + c.epoch()
                + "), cursor "
                + c.cursor()
                + ".");
      }
    }
    o.flush();
    return ExitCode.OK.code;
  }
}
