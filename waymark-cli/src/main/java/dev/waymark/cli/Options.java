package dev.waymark.cli;

import dev.waymark.WaymarkException;
import dev.waymark.checkpoint.CheckpointReader;
import dev.waymark.checkpoint.Names;
import dev.waymark.checkpoint.file.FileCheckpointStore;
import dev.waymark.checkpoint.file.FileStoreInspector;
import dev.waymark.checkpoint.jdbc.ConnectionSource;
import dev.waymark.checkpoint.jdbc.JdbcCheckpointStore;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

/** The options every checkpoint verb shares, as picocli mixins. */
final class Options {
  private Options() {}

  /** {@code --state DIR}. */
  static final class State {
    @Option(
        names = "--state",
        paramLabel = "DIR",
        defaultValue = "./state",
        description = "State directory, one folder per job (default: ${DEFAULT-VALUE}).")
    Path dir;

    Path dir() {
      return dir.toAbsolutePath().normalize();
    }

    /** Returns the state directory, or fails if it does not exist. */
    Path requireDirectory() {
      Path state = dir();
      if (!Files.isDirectory(state)) {
        throw new WaymarkException(
            "State directory "
                + state
                + (Files.exists(state) ? " is not a directory" : " does not exist")
                + ". Point --state at the directory your jobs write to.");
      }
      Path jobDir = Files.isDirectory(state.resolve("partitions")) ? state : null;
      if (jobDir == null
          && state.getFileName() != null
          && state.getFileName().toString().equals("partitions")
          && state.getParent() != null
          && Files.isRegularFile(state.getParent().resolve("epoch"))) {
        jobDir = state.getParent();
      }
      if (jobDir != null && Files.isRegularFile(jobDir.resolve("epoch"))) {
        // Read as a state directory, a job's folder shows its own parts as jobs, and a write
        // verb would create a job inside it.
        throw new WaymarkException(
            state
                + " is "
                + (jobDir.equals(state) ? "the folder" : "inside the folder")
                + " of job '"
                + jobDir.getFileName()
                + "', not a state directory. Pass --state "
                + jobDir.getParent()
                + " --job "
                + jobDir.getFileName()
                + ".");
      }
      return state;
    }

    /**
     * Fails with a message naming the jobs that do exist, so that a typo never creates or reads an
     * empty job.
     */
    FileStoreInspector requireJob(String job) {
      Names.requireValid("job", job);
      Path state = requireDirectory();
      FileStoreInspector inspector = FileStoreInspector.of(state, job);
      Path jobDir = state.resolve(job);
      if (Files.exists(jobDir, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(jobDir)) {
        throw new WaymarkException(
            jobDir
                + " is a file where the directory of job '"
                + job
                + "' belongs. Move it out of the way, or check --job and --state.");
      }
      if (!inspector.exists()) {
        throw new WaymarkException(
            "No job '"
                + job
                + "' in state directory "
                + state
                + "; the jobs there are "
                + FileCheckpointStore.jobs(state)
                + ". Check --job and --state.");
      }
      return inspector;
    }
  }

  /**
   * Returns {@code job} if the db store at {@code where} knows it (a checkpoint, a kept version or
   * an epoch), else refuses naming the jobs it does know, as a state directory's job is checked.
   */
  static String requireDbJob(ConnectionSource connections, String job, String where) {
    Names.requireValid("job", job);
    List<String> jobs = JdbcCheckpointStore.jobs(connections);
    if (!jobs.contains(job)) {
      throw new WaymarkException(
          "No job '"
              + job
              + "' in the db store at "
              + where
              + "; the jobs there are "
              + jobs
              + ". Check --job and --db.");
    }
    return job;
  }

  /**
   * Refuses {@code --state} given beside {@code --db}: the verb reads the db store, and the
   * directory would be ignored without a word, though the user meant one of the two.
   */
  static void refuseStateBesideDb(CommandSpec spec, String db) {
    if (db != null && spec.commandLine().getParseResult().hasMatchedOption("--state")) {
      throw new CommandLine.ParameterException(
          spec.commandLine(),
          "--state and --db each say where the checkpoints are: --state the file store's"
              + " directory, --db the db store's database. Give one of them.");
    }
  }

  /** {@code --json}. */
  static final class Json {
    @Option(names = "--json", description = "Print one line of JSON for scripts instead of text.")
    boolean enabled;
  }

  /** A required {@code --job NAME}. */
  static final class Job {
    @Option(
        names = "--job",
        converter = NameConverters.Job.class,
        paramLabel = "NAME",
        required = true,
        description = "The job.")
    String name;
  }

  /** An optional {@code --job NAME}: without it the verb covers every job. */
  static final class AnyJob {
    @Option(
        names = "--job",
        converter = NameConverters.Job.class,
        paramLabel = "NAME",
        description = "Only this job (default: every job in the state directory).")
    String name;
  }

  /**
   * The partitions a verb that covers many acts on: all of {@code existing}, or just {@code given}
   * if set, which must be one of them ({@code verbPast}, e.g. "migrated", ends the message).
   */
  static List<String> someOrAllPartitions(
      String job, List<String> existing, String given, String verbPast) {
    if (given == null) {
      return existing;
    }
    Names.requireValid("partition", given);
    if (!existing.contains(given)) {
      throw new WaymarkException(
          "Job '"
              + job
              + "' has no partition '"
              + given
              + "'; its partitions are "
              + existing
              + ". Nothing was "
              + verbPast
              + ".");
    }
    return List.of(given);
  }

  /**
   * The one partition a write verb changes: {@code --partition P}, which may be left out when the
   * job has at most one partition (then that one, or {@value CheckpointReader#DEFAULT_PARTITION}
   * for a job with none).
   *
   * @throws picocli.CommandLine.ParameterException via {@code usage} if the choice is ambiguous
   */
  static String onePartition(
      String given, CheckpointReader reader, Function<String, RuntimeException> usage) {
    if (given != null) {
      return Names.requireValid("partition", given);
    }
    List<String> partitions = reader.partitions();
    if (partitions.isEmpty()) {
      return CheckpointReader.DEFAULT_PARTITION;
    }
    if (partitions.size() == 1) {
      return partitions.get(0);
    }
    throw usage.apply(
        "job '"
            + reader.job()
            + "' has partitions "
            + partitions
            + "; choose one with --partition P.");
  }
}
