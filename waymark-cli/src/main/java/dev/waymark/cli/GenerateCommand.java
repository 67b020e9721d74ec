package dev.waymark.cli;

import dev.waymark.ingest.FeedGenerator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code waymark generate}: a deterministic vendor feed for demos, tests and benchmarks. */
@Command(
    name = "generate",
    header = "Write a deterministic feed of SKU records (for demos and tests).",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = {
      "Writes a deterministic feed of SKU records, skus_00000.json ..., each a JSON array; about",
      FeedGenerator.DUPLICATE_PERCENT + "%% of the records repeat earlier ones exactly."
    })
final class GenerateCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--files", required = true, paramLabel = "N", description = "Number of files.")
  int files;

  @Option(
      names = "--rows",
      defaultValue = "100",
      paramLabel = "R",
      description = "Records per file (default: ${DEFAULT-VALUE}).")
  int rows;

  @Option(
      names = "--seed",
      defaultValue = "1",
      paramLabel = "S",
      description = "Seed; the same seed gives the same bytes (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output folder.")
  Path out;

  @Override
  public Integer call() {
    if (files < 1 || files > FeedGenerator.MAX_FILES) {
      throw usage("--files must be between 1 and " + FeedGenerator.MAX_FILES + ", found " + files);
    }
    if (rows < 0 || (long) files * rows > FeedGenerator.MAX_RECORDS) {
      throw usage(
          "--rows must be between 0 and "
              + FeedGenerator.MAX_RECORDS / files
              + " for --files "
              + files
              + " (at most "
              + FeedGenerator.MAX_RECORDS
              + " records in a feed), found "
              + rows);
    }
    if (Files.exists(out) && !Files.isDirectory(out)) {
      throw usage(
          "--out "
              + out
              + " is a file, not a folder; name a folder (it is created if absent) for the feed.");
    }
    FeedGenerator.Summary s = FeedGenerator.generate(out, files, rows, seed);
    spec.commandLine()
        .getOut()
        .printf(
            "wrote %,d files, %,d records (%,d distinct, %,d repeats) to %s%n",
            s.files(), s.records(), s.distinctRecords(), s.duplicates(), out);
    return ExitCode.OK.code;
  }

  private CommandLine.ParameterException usage(String message) {
    return new CommandLine.ParameterException(spec.commandLine(), message);
  }
}
