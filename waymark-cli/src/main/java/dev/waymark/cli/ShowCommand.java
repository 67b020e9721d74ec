package dev.waymark.cli;

import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.internal.Json;
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

/** {@code waymark checkpoint show}: the current checkpoint of each partition, in full. */
@Command(
    name = "show",
    mixinStandardHelpOptions = true,
    header = "Show the current checkpoints in full.",
    description = {
      "Show a job's current checkpoints in full: every field, the cursor's fields one per line,"
          + " and the record exactly as stored."
    })
final class ShowCommand implements Callable<Integer> {
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
    List<Partitions.State> all = Partitions.read(state.requireJob(job.name), partition);
    Instant now = Instant.now();
    if (json.enabled) {
      List<Object> rows = new ArrayList<>();
      for (Partitions.State s : all) {
        Map<String, Object> m = StatusCommand.toJson(s, now);
        m.put("record", s.checkpoint().isPresent() ? storedRecord(s) : null);
        rows.add(m);
      }
      Map<String, Object> doc = Output.object();
      doc.put("state", state.dir().toString());
      doc.put("job", job.name);
      doc.put("partitions", rows);
      o.json(doc);
    } else {
      if (all.isEmpty()) {
        o.out.println("Job '" + job.name + "' has no partitions yet.");
      }
      for (Partitions.State s : all) {
        o.out.println(s.job() + " partition " + s.partition() + ":");
        o.out.println("  path          " + s.path());
        if (s.error() != null) {
          o.out.println("  status        INVALID (" + s.error().reason() + ", see below)");
          continue;
        }
        if (s.checkpoint().isEmpty()) {
          o.out.println("  status        never committed");
          continue;
        }
        Checkpoint c = s.checkpoint().get();
        o.out.println("  sequence      " + c.sequence());
        o.out.println("  epoch         " + c.epoch());
        o.out.println(
            "  committed_at  "
                + c.committedAt()
                + " ("
                + Output.age(c.committedAt(), now)
                + " ago)");
        o.out.println("  cursor        " + c.cursor());
        c.cursor().fields().forEach((k, v) -> o.out.println("    " + k + " = " + Json.write(v)));
        Object record = storedRecord(s);
        o.out.println("  record        " + (record == null ? "-" : Json.write(record)));
      }
      o.out.flush();
      all.stream().filter(s -> s.error() != null).forEach(s -> o.problem(s.error()));
    }
    o.flush();
    return all.stream().anyMatch(s -> s.error() != null)
        ? ExitCode.CHECKPOINT_INVALID.code
        : ExitCode.OK.code;
  }

  /** The stored line, parsed: the checkpoint's fields plus format, version and checksum. */
  private static Object storedRecord(Partitions.State s) {
    try {
      String line = new String(Files.readAllBytes(s.path()), StandardCharsets.UTF_8).strip();
      return Json.parse(line.getBytes(StandardCharsets.UTF_8));
    } catch (IOException | Json.ParseException e) {
      return null; // replaced by a concurrent commit; the decoded fields above stand
    }
  }
}
