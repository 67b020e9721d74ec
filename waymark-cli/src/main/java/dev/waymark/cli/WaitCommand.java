package dev.waymark.cli;

import dev.waymark.checkpoint.Names;
import dev.waymark.checkpoint.global.GlobalCheckpointStore;
import dev.waymark.checkpoint.global.JobOutcome;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code waymark wait}: blocks until a job's success or failure marker appears. */
@Command(
    name = "wait",
    mixinStandardHelpOptions = true,
    header = "Wait until a job succeeds or fails (for downstream consumers).",
    description = {
      "Block until the job's success marker appears (exit 0; prints the final global checkpoint"
          + " and the totals), the job fails (exit 6; prints the failure) or --timeout passes"
          + " (exit 124). Polls every 200 ms and takes no lock. The job need not exist yet:"
          + " start `wait`, then the job.",
      "A marker left by an earlier run counts; every run clears both markers when it starts, and"
          + " a rollback or reset removes the success marker."
    })
final class WaitCommand implements Callable<Integer> {
  static final long POLL_MILLIS = 200;

  @Spec CommandSpec spec;

  @Option(
      names = "--state",
      paramLabel = "DIR",
      defaultValue = "./state",
      description = "State directory of the file store (default: ${DEFAULT-VALUE}).")
  Path state;

  @Option(
      names = "--db",
      paramLabel = "JDBC_URL",
      description = "Wait on the database's waymark_job_outcome table instead (db store).")
  String db;

  @Mixin Options.Job job;

  @Option(
      names = "--timeout",
      paramLabel = "DURATION",
      description = "Give up after this long, e.g. 30s, 10m, 2h (default: wait for ever).")
  String timeout;

  @Mixin Options.Json json;

  @Override
  public Integer call() throws InterruptedException {
    Options.refuseStateBesideDb(spec, db);
    Output o = new Output(spec);
    Names.requireValid("job", job.name);
    Duration limit;
    try {
      limit = timeout == null ? null : Durations.parse("--timeout", timeout);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage(), e);
    }
    Path dir = state.toAbsolutePath().normalize();
    long deadline = limit == null ? Long.MAX_VALUE : System.nanoTime() + limit.toNanos();
    try (GlobalCheckpointStore store = GlobalState.reader(dir, db, job.name)) {
      while (true) {
        Optional<JobOutcome> outcome = store.outcome();
        if (outcome.isPresent()) {
          return report(o, outcome.get());
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          String message =
              "timed out after "
                  + Durations.show(limit)
                  + " waiting for job '"
                  + job.name
                  + "' in "
                  + GlobalState.where(dir, db)
                  + ": it has neither succeeded nor failed. Check that it runs, or wait longer"
                  + " with --timeout.";
          if (json.enabled) {
            Map<String, Object> doc = Output.object();
            doc.put("job", job.name);
            doc.put("outcome", "timeout");
            doc.put("error", message);
            o.json(doc);
          }
          o.err.println("waymark: " + message);
          o.flush();
          return ExitCode.WAIT_TIMEOUT.code;
        }
        Thread.sleep(Math.min(POLL_MILLIS, Math.max(1, left / 1_000_000)));
      }
    }
  }

  private int report(Output o, JobOutcome outcome) {
    if (json.enabled) {
      o.json(GlobalState.toJson(outcome));
    } else if (outcome.succeeded()) {
      o.out.println(GlobalState.describe(outcome));
      GlobalState.printCut(o.out, outcome.cut());
    } else {
      o.err.println("waymark: " + GlobalState.describe(outcome));
    }
    o.flush();
    return outcome.succeeded() ? ExitCode.OK.code : ExitCode.JOB_FAILED.code;
  }
}
