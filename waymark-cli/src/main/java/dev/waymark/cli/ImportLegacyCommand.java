package dev.waymark.cli;

import dev.waymark.WaymarkException;
import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.CheckpointInvalidException;
import dev.waymark.checkpoint.PartitionLayout;
import dev.waymark.checkpoint.file.FileCheckpointStore;
import dev.waymark.checkpoint.file.FileStoreInspector;
import dev.waymark.checkpoint.file.FileStoreInspector.KeptFile;
import dev.waymark.checkpoint.format.Migrations;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code waymark checkpoint import-legacy FILE}: adopts the chapter's checkpoint. */
@Command(
    name = "import-legacy",
    mixinStandardHelpOptions = true,
    header = "Import the chapter's {\"last_file\", \"last_file_idx\"} file.",
    description = {
      "Import the chapter's checkpoint file, {\"last_file\": NAME, \"last_file_idx\": N}, as the"
          + " partition's first Waymark checkpoint: cursor {\"file\": NAME, \"files\": N+1}. The"
          + " original bytes are kept in history; FILE itself is not changed. Creates the job if"
          + " needed. Exit code 5 if FILE is missing or not a legacy checkpoint."
    })
final class ImportLegacyCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "FILE", description = "The legacy checkpoint file.")
  Path file;

  @Mixin Options.State state;
  @Mixin Options.Job job;

  @Option(
      names = "--partition",
      converter = NameConverters.Partition.class,
      paramLabel = "P",
      description = "The partition to import into (may be left out when the job has at most one).")
  String partition;

  @Mixin Options.Json json;

  @Override
  public Integer call() {
    Output o = new Output(spec);
    Path source = file.toAbsolutePath().normalize();
    byte[] bytes = readInput(source);
    requireLegacy(bytes, source);
    FileStoreInspector inspector = FileStoreInspector.of(state.dir(), job.name);
    Checkpoint c;
    try (FileCheckpointStore store = FileCheckpointStore.open(state.dir(), job.name)) {
      String p =
          Options.onePartition(
              partition, store, m -> new CommandLine.ParameterException(spec.commandLine(), m));
      requireInLayout(store.layout(), p);
      try {
        c = store.importLegacy(p, bytes, source);
      } catch (CheckpointInvalidException e) {
        if (source.equals(e.path())) {
          // The input is at fault, not the state directory.
          throw new BadInputException(e.getMessage(), e);
        }
        throw e;
      }
    }
    KeptFile kept =
        inspector.historyFiles(c.partition()).stream()
            .filter(f -> f.isPreMigration() && f.sequence() == c.sequence())
            .findFirst()
            .orElse(null);
    if (json.enabled) {
      Map<String, Object> doc = Output.object();
      doc.put("job", c.job());
      doc.put("partition", c.partition());
      doc.put("imported_from", source.toString());
      doc.put("path", inspector.checkpointPath(c.partition()).toString());
      doc.putAll(Output.checkpointFields(c, Instant.now()));
      doc.put("original_kept_at", kept == null ? null : kept.path().toString());
      o.json(doc);
    } else {
      o.out.println(
          "Imported "
              + source
              + " into job '"
              + c.job()
              + "' partition '"
              + c.partition()
              + "' as sequence "
              + c.sequence()
              + ": cursor "
              + c.cursor()
              + " (last_file_idx is 0-based; the cursor counts the files done).");
      if (kept != null) {
        o.out.println("The original is kept at " + kept.path() + ".");
      }
    }
    o.flush();
    return ExitCode.OK.code;
  }

  /**
   * A job recorded with P partitions reads partitions {@code 0} to {@code P-1} only: a checkpoint
   * imported into another would be ignored by every run, and would stand in a global rollback's
   * way.
   */
  private void requireInLayout(Optional<PartitionLayout> layout, String p) {
    if (layout.isEmpty()) {
      return;
    }
    int count = layout.get().partitions();
    boolean inLayout;
    try {
      int n = Integer.parseInt(p);
      inLayout = n >= 0 && n < count && String.valueOf(n).equals(p);
    } catch (NumberFormatException e) {
      inLayout = false;
    }
    if (!inLayout) {
      throw new WaymarkException(
          "Job '"
              + job.name
              + "' was run with "
              + layout.get()
              + ", named 0 to "
              + (count - 1)
              + "; partition '"
              + p
              + "' is not one of them, and no run would read a checkpoint there. Choose one with"
              + " --partition. Nothing was imported.");
    }
  }

  private static void requireLegacy(byte[] bytes, Path source) {
    int version;
    try {
      version = Migrations.standard().inspect(bytes, source, null).version();
    } catch (CheckpointInvalidException e) {
      version = -1;
    }
    if (version != 0) {
      String text = new String(bytes, StandardCharsets.UTF_8).strip();
      throw new BadInputException(
          "Cannot import "
              + source
              + ": it is not the chapter's legacy checkpoint (expected {\"last_file\": NAME,"
              + " \"last_file_idx\": N}, found "
              + (version > 0
                  ? "a Waymark checkpoint of format version " + version
                  : text.isEmpty()
                      ? "an empty file"
                      : "'" + (text.length() > 80 ? text.substring(0, 80) + "..." : text) + "'")
              + "). Check the FILE argument"
              + (version > 0 ? "; a Waymark checkpoint is restored with `rollback`." : "."),
          null);
    }
  }

  private static byte[] readInput(Path source) {
    if (Files.isDirectory(source)) {
      throw new BadInputException(
          "Cannot import "
              + source
              + ": it is a directory; FILE is the legacy checkpoint file itself. Check the FILE"
              + " argument.",
          null);
    }
    try {
      if (Files.size(source) > 1 << 16) {
        throw new BadInputException(
            "Cannot import "
                + source
                + ": it is "
                + Files.size(source)
                + " bytes, far too large for a legacy checkpoint (one small JSON object). Check"
                + " the FILE argument.",
            null);
      }
      return Files.readAllBytes(source);
    } catch (NoSuchFileException e) {
      throw new BadInputException(
          "Cannot import " + source + ": no such file. Check the FILE argument.", e);
    } catch (IOException e) {
      throw new BadInputException(
          "Cannot read " + source + ": " + (e.getMessage() == null ? e : e.getMessage()), e);
    }
  }
}
