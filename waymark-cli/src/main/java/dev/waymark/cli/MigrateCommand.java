package dev.waymark.cli;

import dev.waymark.WaymarkException;
import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.file.FileCheckpointStore;
import dev.waymark.checkpoint.file.FileStoreInspector;
import dev.waymark.checkpoint.file.FileStoreInspector.KeptFile;
import dev.waymark.checkpoint.format.CheckpointCodec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code waymark checkpoint migrate}: rewrites old-format checkpoints in the current format. */
@Command(
    name = "migrate",
    mixinStandardHelpOptions = true,
    header = "Rewrite old-format checkpoints in the current format (takes the lock).",
    description = {
      "Rewrite every partition's current checkpoint that is in an older format version (including"
          + " the chapter's legacy record found in place) in the current one, atomically, as a"
          + " commit with the next sequence number; the original is kept in history. Partitions"
          + " already current are left alone. Takes the job's lock: exit code 3 while a writer"
          + " runs."
    })
final class MigrateCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin Options.State state;
  @Mixin Options.Job job;

  @Option(
      names = "--partition",
      converter = NameConverters.Partition.class,
      paramLabel = "P",
      description = "Only this partition (default: all).")
  String partition;

  @Mixin Options.Json json;

  @Override
  public Integer call() {
    Output o = new Output(spec);
    FileStoreInspector inspector = state.requireJob(job.name);
    List<Map<String, Object>> results = new ArrayList<>();
    List<WaymarkException> errors = new ArrayList<>();
    try (FileCheckpointStore store = FileCheckpointStore.open(state.dir(), job.name)) {
      List<String> partitions =
          Options.someOrAllPartitions(job.name, store.partitions(), partition, "migrated");
      for (String p : partitions) {
        Map<String, Object> r = Output.object();
        r.put("partition", p);
        r.put("path", inspector.checkpointPath(p).toString());
        try {
          Optional<Checkpoint> migrated = store.migrate(p);
          if (migrated.isPresent()) {
            Checkpoint c = migrated.get();
            KeptFile kept =
                inspector.historyFiles(p).stream()
                    .filter(f -> f.isPreMigration() && f.sequence() == c.sequence())
                    .findFirst()
                    .orElse(null);
            r.put("action", "migrated");
            r.put("from_version", kept == null ? null : (long) kept.preMigrationVersion());
            r.put("to_version", (long) CheckpointCodec.CURRENT_VERSION);
            r.put("sequence", c.sequence());
            r.put("cursor", c.cursor().fields());
            r.put("original_kept_at", kept == null ? null : kept.path().toString());
          } else {
            r.put("action", store.read(p).isPresent() ? "already_current" : "never_committed");
          }
        } catch (WaymarkException e) {
          r.put("action", "failed");
          r.put("error", e.getMessage());
          errors.add(e);
        }
        results.add(r);
      }
    }
    if (json.enabled) {
      Map<String, Object> doc = Output.object();
      doc.put("job", job.name);
      doc.put("partitions", results);
      o.json(doc);
    } else {
      print(o, results);
      errors.forEach(o::problem);
    }
    o.flush();
    return errors.isEmpty() ? ExitCode.OK.code : ExitCode.of(errors.get(0)).code;
  }

  private void print(Output o, List<Map<String, Object>> results) {
    long migrated = results.stream().filter(r -> r.get("action").equals("migrated")).count();
    for (Map<String, Object> r : results) {
      String line =
          switch (r.get("action").toString()) {
            case "migrated" ->
                "migrated from format v"
                    + r.get("from_version")
                    + " to v"
                    + r.get("to_version")
                    + " as sequence "
                    + r.get("sequence")
                    + "; the original is kept at "
                    + r.get("original_kept_at");
            case "already_current" ->
                "already format v" + CheckpointCodec.CURRENT_VERSION + "; nothing to do";
            case "never_committed" -> "never committed; nothing to do";
            default -> "FAILED (see below)";
          };
      o.out.println("partition '" + r.get("partition") + "': " + line);
    }
    o.out.println(
        "Migrated "
            + migrated
            + " of "
            + results.size()
            + " partition"
            + (results.size() == 1 ? "" : "s")
            + " of job '"
            + job.name
            + "'.");
    o.out.flush();
  }
}
