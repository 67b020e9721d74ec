package dev.waymark.cli;

import dev.waymark.checkpoint.Names;
import dev.waymark.checkpoint.file.FileStoreAudit;
import dev.waymark.checkpoint.file.FileStoreAudit.Check;
import dev.waymark.checkpoint.file.FileStoreAudit.Finding;
import dev.waymark.checkpoint.file.FileStoreAudit.Severity;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code waymark checkpoint audit}: the chapter's four questions, asked of a state directory. */
@Command(
    name = "audit",
    mixinStandardHelpOptions = true,
    header = "Check atomicity, cursor keys, layout, format, permissions, history.",
    description = {
      "Audit a state directory (or one job) and answer the chapter's four questions about its"
          + " checkpoints, plus two more:",
      "  1. Atomic: no torn, empty or unreadable file, no leftover temp file (.*.tmp).",
      "  2. Keyed to source position: no cursor field looks like a wall-clock time (an ISO-8601"
          + " timestamp; a name like time, ts, timestamp, date, *_at; epoch seconds or"
          + " milliseconds, which only warns).",
      "  3. Per-partition layout: one checkpoint per partition, no stray files or links.",
      "  4. Current format version everywhere.",
      "  5. Permissions: nothing writable by group or others.",
      "  6. History: every kept version decodes, sequences increase, the current checkpoint is the"
          + " newest.",
      "Exit code 0 if nothing but warnings is found, 4 if a checkpoint is invalid, else 1.",
      "Takes no lock: run it beside a writer, though a commit in flight may show as a temp file."
    })
final class AuditCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin Options.State state;
  @Mixin Options.AnyJob job;
  @Mixin Options.Json json;

  @Override
  public Integer call() {
    Output o = new Output(spec);
    FileStoreAudit.Report report =
        job.name == null
            ? FileStoreAudit.run(state.dir())
            : FileStoreAudit.run(state.dir(), Names.requireValid("job", job.name));
    ExitCode exit = report.worst().map(AuditCommand::exitCode).orElse(ExitCode.OK);
    if (json.enabled) {
      List<Object> findings = new ArrayList<>();
      for (Finding f : report.findings()) {
        Map<String, Object> m = Output.object();
        m.put("severity", lower(f.severity()));
        m.put("check", lower(f.check()));
        m.put("path", f.path().toString());
        m.put("message", f.message());
        findings.add(m);
      }
      Map<String, Object> doc = Output.object();
      doc.put("state", report.stateDirectory().toString());
      doc.put("jobs", report.jobs());
      doc.put("partition_count", (long) report.partitions());
      doc.put("clean", report.isClean());
      doc.put("findings", findings);
      o.json(doc);
    } else {
      print(o, report);
    }
    o.flush();
    return exit.code;
  }

  private static ExitCode exitCode(Severity worst) {
    return switch (worst) {
      case INVALID -> ExitCode.CHECKPOINT_INVALID;
      case ERROR -> ExitCode.FAILURE;
      case WARNING -> ExitCode.OK;
    };
  }

  private static void print(Output o, FileStoreAudit.Report report) {
    o.out.println(
        "Audit of "
            + report.stateDirectory()
            + ": "
            + report.jobs().size()
            + " job"
            + (report.jobs().size() == 1 ? "" : "s")
            + ", "
            + report.partitions()
            + " partition"
            + (report.partitions() == 1 ? "" : "s"));
    int width =
        java.util.Arrays.stream(Check.values())
            .mapToInt(c -> c.question().length())
            .max()
            .orElse(0);
    int n = 0;
    for (Check check : Check.values()) {
      List<Finding> found = report.findings().stream().filter(f -> f.check() == check).toList();
      String verdict =
          found.stream()
              .map(Finding::severity)
              .min(Severity::compareTo)
              .map(
                  s ->
                      switch (s) {
                        case INVALID -> "INVALID";
                        case ERROR -> "FAIL";
                        case WARNING -> "ok, with warnings";
                      })
              .orElse("ok");
      o.out.println(String.format("%d. %-" + width + "s  %s", ++n, check.question(), verdict));
      for (Finding f : found) {
        o.out.println("     " + f.severity() + " " + f.path() + ": " + f.message());
      }
    }
    long invalid = count(report, Severity.INVALID);
    long errors = count(report, Severity.ERROR);
    long warnings = count(report, Severity.WARNING);
    o.out.println(
        report.isClean()
            ? "Clean"
                + (warnings > 0
                    ? " (" + warnings + " warning" + (warnings == 1 ? "" : "s") + ")."
                    : ".")
            : "Found "
                + invalid
                + " invalid, "
                + errors
                + " error"
                + (errors == 1 ? "" : "s")
                + ", "
                + warnings
                + " warning"
                + (warnings == 1 ? "" : "s")
                + ".");
  }

  private static long count(FileStoreAudit.Report report, Severity s) {
    return report.findings().stream().filter(f -> f.severity() == s).count();
  }

  private static String lower(Enum<?> e) {
    return e.name().toLowerCase(Locale.ROOT);
  }
}
