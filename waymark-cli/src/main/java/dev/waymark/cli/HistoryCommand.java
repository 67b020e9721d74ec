package dev.waymark.cli;

import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.CheckpointInvalidException;
import dev.waymark.checkpoint.file.FileStoreInspector;
import dev.waymark.checkpoint.file.FileStoreInspector.KeptFile;
import dev.waymark.checkpoint.jdbc.ConnectionSource;
import dev.waymark.checkpoint.jdbc.JdbcCheckpointStore;
import dev.waymark.ingest.sink.JdbcUrls;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code waymark checkpoint history}: the kept versions, oldest first. */
@Command(
    name = "history",
    mixinStandardHelpOptions = true,
    header = "List the kept versions, oldest first.",
    description = {
      "List the versions each partition keeps, oldest first: the rollback targets. Records that a"
          + " migration or import-legacy replaced are listed too, just before the checkpoint that"
          + " replaced them. A damaged version is listed with its error (exit code 4)."
    })
final class HistoryCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin Options.State state;
  @Mixin Options.Job job;

  @Option(
      names = "--partition",
      converter = NameConverters.Partition.class,
      paramLabel = "P",
      description = "Only this partition (default: all).")
  String partition;

  @Option(
      names = "--db",
      paramLabel = "JDBC_URL",
      description = "The db store's tables in this database instead of --state.")
  String db;

  @Mixin Options.Json json;

  @Override
  public Integer call() {
    Options.refuseStateBesideDb(spec, db);
    if (db != null) {
      return dbHistory();
    }
    Output o = new Output(spec);
    FileStoreInspector inspector = state.requireJob(job.name);
    Instant now = Instant.now();
    List<CheckpointInvalidException> errors = new ArrayList<>();
    List<Object> partitions = new ArrayList<>();
    for (Partitions.State s : Partitions.read(inspector, partition)) {
      // Entries above the current sequence are orphans of an interrupted commit, which rollback
      // refuses; with a damaged current checkpoint every entry is a candidate.
      long limit =
          s.checkpoint().map(Checkpoint::sequence).orElse(s.error() != null ? Long.MAX_VALUE : 0L);
      List<Map<String, Object>> versions = new ArrayList<>();
      for (KeptFile f : inspector.historyFiles(s.partition())) {
        if (f.sequence() > limit) {
          continue;
        }
        Map<String, Object> v = Output.object();
        v.put("sequence", f.sequence());
        v.put("path", f.path().toString());
        if (f.isPreMigration()) {
          v.put("kind", "pre-migration");
          v.put("format_version", (long) f.preMigrationVersion());
          v.put("content", content(f));
        } else {
          try {
            v.put("kind", "checkpoint");
            Map<String, Object> fields =
                Output.checkpointFields(inspector.read(s.partition(), f), now);
            fields.remove("sequence");
            v.putAll(fields);
          } catch (CheckpointInvalidException e) {
            v.put("kind", "invalid");
            v.put("error", e.getMessage());
            errors.add(e);
          }
        }
        versions.add(v);
      }
      partitions.add(listed(o, s, versions));
    }
    return finish(o, "state", inspector.stateDirectory().toString(), partitions, errors);
  }

  /** The db store's kept versions: rows of {@code waymark_checkpoint_history}. */
  private int dbHistory() {
    Output o = new Output(spec);
    Instant now = Instant.now();
    List<CheckpointInvalidException> errors = new ArrayList<>();
    List<Object> partitions = new ArrayList<>();
    ConnectionSource connections = ConnectionSource.of(db);
    Options.requireDbJob(connections, job.name, JdbcUrls.redact(db));
    try (JdbcCheckpointStore.Reader reader = JdbcCheckpointStore.reader(connections, job.name)) {
      for (Partitions.State s : Partitions.read(reader, partition, reader::location)) {
        List<Map<String, Object>> versions = new ArrayList<>();
        try {
          for (Checkpoint c : reader.history(s.partition())) {
            Map<String, Object> v = Output.object();
            v.put("sequence", c.sequence());
            v.put("kind", "checkpoint");
            Map<String, Object> fields = Output.checkpointFields(c, now);
            fields.remove("sequence");
            v.putAll(fields);
            versions.add(v);
          }
        } catch (CheckpointInvalidException e) {
          errors.add(e); // the table's rows are read together: one damaged row hides the rest
        }
        if (s.error() != null) {
          errors.add(s.error());
        }
        partitions.add(listed(o, s, versions));
      }
    }
    return finish(o, "db", JdbcUrls.redact(db), partitions, errors);
  }

  /** One partition's versions: printed now as text, or returned for the JSON document. */
  private Map<String, Object> listed(
      Output o, Partitions.State s, List<Map<String, Object>> versions) {
    Map<String, Object> p = Output.object();
    p.put("partition", s.partition());
    p.put("current_sequence", s.checkpoint().map(Checkpoint::sequence).orElse(null));
    p.put("versions", versions);
    if (!json.enabled) {
      print(o, s, versions);
    }
    return p;
  }

  /** The JSON document, or the problems after the text; the exit code. */
  private int finish(
      Output o,
      String whereKey,
      String where,
      List<Object> partitions,
      List<CheckpointInvalidException> errors) {
    if (json.enabled) {
      Map<String, Object> doc = Output.object();
      doc.put(whereKey, where);
      doc.put("job", job.name);
      doc.put("partitions", partitions);
      o.json(doc);
    } else {
      o.out.flush();
      errors.forEach(o::problem);
    }
    o.flush();
    return errors.isEmpty() ? ExitCode.OK.code : ExitCode.CHECKPOINT_INVALID.code;
  }

  private static void print(Output o, Partitions.State s, List<Map<String, Object>> versions) {
    String current =
        s.error() != null
            ? "current checkpoint INVALID (" + s.error().reason() + ")"
            : s.checkpoint().map(c -> "current sequence " + c.sequence()).orElse("never committed");
    o.out.println(
        s.job() + " partition " + s.partition() + ": " + versions.size() + " kept, " + current);
    if (versions.isEmpty()) {
      return;
    }
    Output.Table table = new Output.Table("SEQ", "KIND", "EPOCH", "COMMITTED_AT", "CURSOR");
    for (Map<String, Object> v : versions) {
      Object kind = v.get("kind");
      Object cursor =
          switch (kind.toString()) {
            case "checkpoint" -> dev.waymark.checkpoint.internal.Json.write(v.get("cursor"));
            case "pre-migration" -> v.get("content") + " (format v" + v.get("format_version") + ")";
            default -> "see below";
          };
      Object at = v.get("committed_at");
      table.row(
          v.get("sequence"),
          kind,
          v.get("epoch"),
          at == null ? null : Output.seconds(Instant.parse(at.toString())),
          cursor);
    }
    table.print(o.out, "  ");
  }

  private static String content(KeptFile f) {
    try {
      String text = new String(Files.readAllBytes(f.path()), StandardCharsets.UTF_8).strip();
      return text.length() > 500 ? text.substring(0, 500) + "..." : text;
    } catch (IOException e) {
      return "(unreadable: " + e + ")";
    }
  }
}
