package dev.waymark.cli;

import dev.waymark.WaymarkException;
import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.CheckpointInvalidException;
import dev.waymark.checkpoint.CheckpointReader;
import dev.waymark.checkpoint.CheckpointStore;
import dev.waymark.checkpoint.file.FileCheckpointStore;
import dev.waymark.checkpoint.file.FileGlobalCheckpointStore;
import dev.waymark.checkpoint.file.FileStoreOptions;
import dev.waymark.checkpoint.global.GlobalCheckpoint;
import dev.waymark.checkpoint.global.GlobalCheckpointStore;
import dev.waymark.checkpoint.global.GlobalRollback;
import dev.waymark.checkpoint.jdbc.ConnectionSource;
import dev.waymark.checkpoint.jdbc.JdbcCheckpointStore;
import dev.waymark.checkpoint.jdbc.JdbcGlobalCheckpointStore;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code waymark checkpoint rollback --to SEQ}: makes a kept version current again; {@code --global
 * [N]}: moves every partition back to a complete global checkpoint.
 */
@Command(
    name = "rollback",
    mixinStandardHelpOptions = true,
    header = "Make a kept version, or a global checkpoint, current again (takes the lock).",
    description = {
      "--to SEQ: make the cursor of a kept version current again, as a new commit with the next"
          + " sequence number; works even when the current checkpoint is damaged. See the versions"
          + " with `waymark checkpoint history`.",
      "--global [N]: move every partition back to complete global checkpoint N (default: the last"
          + " complete one), each as a new commit, then record the restored cut as a new global"
          + " checkpoint. An incomplete or pruned N is refused with the list of those available.",
      "Takes the job's lock: exit code 3 while a writer runs (with --db on PostgreSQL: while an"
          + " ingest or worker of the job is connected). Removes the job's success marker."
    })
final class RollbackCommand implements Callable<Integer> {
  /** {@code --global} without a number: the last complete global checkpoint. */
  private static final long LAST = -1;

  @Spec CommandSpec spec;
  @Mixin Options.State state;
  @Mixin Options.Job job;

  @Option(
      names = "--partition",
      converter = NameConverters.Partition.class,
      paramLabel = "P",
      description = "With --to: the partition (may be left out when the job has only one).")
  String partition;

  @Option(names = "--to", paramLabel = "SEQ", description = "The kept version's sequence number.")
  Long to;

  @Option(
      names = "--global",
      paramLabel = "N",
      arity = "0..1",
      fallbackValue = "" + LAST,
      description = "Every partition to complete global checkpoint N (default: the last).")
  Long global;

  @Option(
      names = "--db",
      paramLabel = "JDBC_URL",
      description = "The db store's tables in this database instead of --state.")
  String db;

  @Mixin Options.Json json;

  @Override
  public Integer call() {
    Options.refuseStateBesideDb(spec, db);
    if ((to == null) == (global == null)) {
      throw new CommandLine.ParameterException(
          spec.commandLine(),
          "Give either --to SEQ (one partition to a kept version) or --global [N] (every"
              + " partition to a global checkpoint).");
    }
    if (global != null && partition != null) {
      throw new CommandLine.ParameterException(
          spec.commandLine(), "--global moves every partition; leave out --partition.");
    }
    if (db == null) {
      state.requireJob(job.name);
    }
    if (to != null) {
      checkTarget();
    }
    try (CheckpointStore store =
        db != null
            ? JdbcCheckpointStore.openForRepair(ConnectionSource.of(db), job.name)
            : FileCheckpointStore.open(state.dir(), job.name)) {
      return global != null ? rollbackGlobal(store) : rollbackOne(store);
    }
  }

  private int rollbackOne(CheckpointStore store) {
    Output o = new Output(spec);
    String p =
        Options.onePartition(
            partition, store, m -> new CommandLine.ParameterException(spec.commandLine(), m));
    Checkpoint c = store.rollback(p, to);
    if (json.enabled) {
      Map<String, Object> doc = Output.object();
      doc.put("job", c.job());
      doc.put("partition", c.partition());
      doc.put("rolled_back_to", to);
      doc.put(
          "path",
          store instanceof FileCheckpointStore f
              ? f.checkpointPath(p).toString()
              : JdbcCheckpointStore.CHECKPOINT_TABLE);
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
    o.flush();
    return ExitCode.OK.code;
  }

  /**
   * Refuses a partition the job does not have, or a version it does not keep, before the store is
   * opened for repair: opening takes the job's next epoch, which fences a writer running beside it
   * where no lock keeps a repair out (the db store on SQLite), so that even a mistyped rollback
   * would stop that writer. A kept version that cannot be read is left to the store's rollback,
   * which names it (and repairs a damaged current checkpoint).
   */
  private void checkTarget() {
    if (db != null) {
      try (JdbcCheckpointStore.Reader reader =
          JdbcCheckpointStore.reader(ConnectionSource.of(db), job.name)) {
        checkTarget(reader);
      }
    } else {
      checkTarget(FileCheckpointStore.reader(state.dir(), job.name));
    }
  }

  private void checkTarget(CheckpointReader reader) {
    List<String> partitions = reader.partitions();
    String p =
        Options.onePartition(
            partition, reader, m -> new CommandLine.ParameterException(spec.commandLine(), m));
    if (!partitions.contains(p)) {
      throw new WaymarkException(
          "Job '"
              + job.name
              + "' has no partition '"
              + p
              + "'; "
              + (partitions.isEmpty()
                  ? "it has no checkpoint to roll back. Nothing was changed."
                  : "its partitions are "
                      + partitions
                      + ". Choose one of those with --partition. Nothing was changed."));
    }
    List<Long> kept;
    try {
      kept = reader.history(p).stream().map(Checkpoint::sequence).toList();
    } catch (CheckpointInvalidException damaged) {
      return;
    }
    if (!kept.contains(to)) {
      throw new WaymarkException(
          "Cannot roll back job '"
              + job.name
              + "' partition '"
              + p
              + "' to sequence "
              + to
              + ": no such version is kept. Kept: "
              + kept
              + ". Choose one of those with --to (`waymark checkpoint history` shows them)."
              + " Nothing was changed.");
    }
  }

  /**
   * A rollback prunes no global checkpoint: how many to keep is the job's {@code --global-keep},
   * which the rollback does not know; the job's next run prunes to it.
   */
  private static final int KEEP_ALL = Integer.MAX_VALUE;

  private int rollbackGlobal(CheckpointStore store) {
    Output o = new Output(spec);
    try (GlobalCheckpointStore globals =
        db != null
            ? JdbcGlobalCheckpointStore.open(ConnectionSource.of(db), job.name, KEEP_ALL)
            : FileGlobalCheckpointStore.open(
                state.dir(), job.name, FileStoreOptions.ofDefaults(), KEEP_ALL)) {
      GlobalRollback.Result r = GlobalRollback.run(store, globals, global == LAST ? null : global);
      GlobalCheckpoint target = r.target();
      if (json.enabled) {
        Map<String, Object> doc = Output.object();
        doc.put("job", job.name);
        doc.put("rolled_back_to", GlobalState.toJson(target));
        doc.put("recorded_as", GlobalState.toJson(r.recorded()));
        o.json(doc);
      } else {
        o.out.println(
            "Rolled back every partition of job '"
                + job.name
                + "' to global checkpoint "
                + target.number()
                + " (completed "
                + target.completedAt()
                + "), each as a new commit; recorded as global checkpoint "
                + r.recorded().number()
                + ":");
        GlobalState.printCut(o.out, r.recorded().cut());
      }
    }
    o.flush();
    return ExitCode.OK.code;
  }
}
