package dev.waymark.checkpoint.file;

import dev.waymark.checkpoint.Names;
import java.nio.file.Path;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where a job's files live under the state directory.
 *
 * <pre>
 * STATE/JOB/
 *   waymark.lock                        the writer's OS lock; records pid, host, started_at
 *   epoch                               the last writer's fencing token (checksummed JSON line)
 *   layout                              the job's partition layout, if recorded (checksummed line)
 *   partitions/P/checkpoint             partition P's current checkpoint (format version 1)
 *   partitions/P/committed              empty marker, written once P's first checkpoint is durable
 *   partitions/P/history/SEQ.ckpt       every kept version; SEQ is 20 digits, never overwritten
 *   partitions/P/history/SEQ.pre-migration-vN   the record a migration or import replaced
 *   global/...                          two-phase global checkpoints ({@link FileGlobalCheckpointStore})
 *   _SUCCESS, _FAILURE                  how the last run ended ({@link FileGlobalCheckpointStore})
 * </pre>
 */
final class FileLayout {
  static final String PARTITIONS = "partitions",
      CHECKPOINT = "checkpoint",
      MARKER = "committed",
      HISTORY = "history",
      EPOCH = "epoch",
      LAYOUT = "layout";

  private static final Pattern HISTORY_ENTRY = Pattern.compile("([0-9]{20})\\.ckpt");

  final Path stateDir;
  final String job;
  final Path jobDir;

  FileLayout(Path stateDir, String job) {
    this.stateDir = stateDir;
    this.job = Names.requireValid("job", job);
    this.jobDir = stateDir.resolve(job);
  }

  Path lockFile() {
    return jobDir.resolve(JobLock.FILE_NAME);
  }

  Path epochFile() {
    return jobDir.resolve(EPOCH);
  }

  Path globalDir() {
    return jobDir.resolve("global");
  }

  Path successFile() {
    return jobDir.resolve("_SUCCESS");
  }

  Path failureFile() {
    return jobDir.resolve("_FAILURE");
  }

  Path layoutFile() {
    return jobDir.resolve(LAYOUT);
  }

  Path partitionsDir() {
    return jobDir.resolve(PARTITIONS);
  }

  Path partitionDir(String partition) {
    return partitionsDir().resolve(Names.requireValid("partition", partition));
  }

  Path checkpointFile(String partition) {
    return partitionDir(partition).resolve(CHECKPOINT);
  }

  Path markerFile(String partition) {
    return partitionDir(partition).resolve(MARKER);
  }

  Path historyDir(String partition) {
    return partitionDir(partition).resolve(HISTORY);
  }

  Path historyFile(String partition, long sequence) {
    return historyDir(partition).resolve(String.format("%020d.ckpt", sequence));
  }

  Path preMigrationFile(String partition, long newSequence, int oldVersion) {
    return historyDir(partition)
        .resolve(String.format("%020d.pre-migration-v%d", newSequence, oldVersion));
  }

  /** The sequence a history file name stands for, if it is one. */
  static OptionalLong historySequence(Path file) {
    Matcher m = HISTORY_ENTRY.matcher(file.getFileName().toString());
    return m.matches() ? OptionalLong.of(Long.parseLong(m.group(1))) : OptionalLong.empty();
  }

  /** The CLI arguments that point at a partition, for messages. */
  String locationArgs(String partition) {
    return "--state " + stateDir + " --job " + job + " --partition " + partition;
  }

  /**
   * The message for something other than a directory where the layout needs one (a state, job,
   * partitions or history directory): it names the path and what to do.
   */
  static String notADirectory(Path dir, CheckpointFileSystem.Kind found) {
    return dir
        + " is "
        + (found == CheckpointFileSystem.Kind.FILE ? "a file" : "a link or special file")
        + " where Waymark keeps a directory of its state. Nothing was changed. Move it out of the"
        + " way (if it holds checkpoints, restore them as a directory), or point --state at"
        + " another directory.";
  }
}
