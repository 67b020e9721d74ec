package dev.waymark.cli;

import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.CheckpointReader;
import dev.waymark.checkpoint.file.FileCheckpointStore;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code waymark demo}: a job over a generated feed crashes between committing a file's output and
 * committing its checkpoint, then resumes from the checkpoint, and the result is checked.
 *
 * <p>Until the ingestion runner lands, "the job" is {@link DemoJob}: it writes one output file per
 * input file (idempotent by name) and checkpoints after each, in a child JVM that really dies.
 */
@Command(
    name = "demo",
    description = {
      "Shows a crash and a resume: generates a feed under --dir, runs a job that dies between",
      "committing a file's output and its checkpoint, runs it again and checks the result."
    })
final class DemoCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--dir",
      defaultValue = "waymark-demo",
      description = "Working folder, recreated on each run (default: ${DEFAULT-VALUE}).")
  Path dir;

  @Option(
      names = "--files",
      defaultValue = "2000",
      description = "Files in the generated feed (default: ${DEFAULT-VALUE}).")
  int files;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    if (files < 2) {
      throw new picocli.CommandLine.ParameterException(
          spec.commandLine(), "--files must be at least 2");
    }
    Path feed = dir.resolve("feed"), output = dir.resolve("output"), state = dir.resolve("state");
    deleteRecursively(dir);
    Files.createDirectories(feed);
    Files.createDirectories(output);
    long records = DemoJob.generateFeed(feed, files);
    out.printf("Generated %,d files (%,d records) in %s%n", files, records, feed);

    int crashAfter = files / 2 + 17;
    out.printf(
        "%nRun 1: the job will die (Runtime.halt) after committing file %d's output,"
            + " before its checkpoint.%n",
        crashAfter);
    int exit1 = runJob(out, feed, output, state, crashAfter);
    out.printf("Run 1 ended with exit code %d: the process died mid-job.%n", exit1);
    try (var store = FileCheckpointStore.open(state, DemoJob.JOB)) {
      Checkpoint c = store.read().orElseThrow();
      out.printf(
          "Checkpoint after the crash: sequence %d, cursor %s (file %d's output exists, its"
              + " checkpoint does not).%n",
          c.sequence(), c.cursor(), crashAfter);
    }

    out.printf("%nRun 2: the same command again.%n");
    int exit2 = runJob(out, feed, output, state, -1);
    if (exit2 != 0) {
      out.printf("Run 2 failed with exit code %d.%n", exit2);
      return ExitCode.FAILURE.code;
    }

    return verify(out, feed, output, state) ? ExitCode.OK.code : ExitCode.FAILURE.code;
  }

  private boolean verify(PrintWriter out, Path feed, Path output, Path state) throws IOException {
    List<String> inputs = DemoJob.listFeed(feed);
    long outputs;
    try (Stream<Path> s = Files.list(output)) {
      outputs = s.filter(p -> p.getFileName().toString().endsWith(".out")).count();
    }
    CheckpointReader reader = FileCheckpointStore.reader(state, DemoJob.JOB);
    Checkpoint last = reader.read().orElseThrow();
    String lastName = inputs.get(inputs.size() - 1);
    boolean atEnd =
        last.cursor().string("file").orElse("").equals(lastName)
            && last.cursor().number("files").orElse(-1) == inputs.size();
    out.printf("%nResult:%n");
    out.printf("  input files            %,d%n", inputs.size());
    out.printf(
        "  output files           %,d (one per input file, none missing, none twice)%n", outputs);
    out.printf("  final checkpoint       sequence %d, %s%n", last.sequence(), last.cursor());
    out.printf(
        "  checkpoint file        %s%n", state.resolve(DemoJob.JOB + "/partitions/0/checkpoint"));
    boolean ok = outputs == inputs.size() && atEnd;
    out.printf(
        "%s%n",
        ok
            ? "Converged: the rerun resumed at the first file whose checkpoint was missing and"
                + " finished the feed."
            : "NOT converged: see the figures above.");
    out.printf("Inspect it: ./waymark checkpoint status --state %s%n", state);
    return ok;
  }

  private static int runJob(PrintWriter out, Path feed, Path output, Path state, int crashAfter)
      throws IOException, InterruptedException {
    String java = ProcessHandle.current().info().command().orElse("java");
    List<String> cmd = new ArrayList<>();
    cmd.add(java);
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(DemoJob.class.getName());
    cmd.add(feed.toString());
    cmd.add(output.toString());
    cmd.add(state.toString());
    cmd.add(Integer.toString(crashAfter));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    try (BufferedReader r =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        out.println("  | " + line);
        out.flush();
      }
    }
    return p.waitFor();
  }

  private static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder())
          .forEach(
              p -> {
                try {
                  Files.delete(p);
                } catch (IOException e) {
                  throw new UncheckedIOException(e);
                }
              });
    }
  }
}
