package dev.waymark.checkpoint.file;

import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.CheckpointInvalidException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A read-only view of one job's files in a state directory, for tools such as {@code waymark
 * checkpoint}: where each partition's checkpoint lives, and every file its history keeps, including
 * the records that a migration or a legacy import replaced (which {@link
 * dev.waymark.checkpoint.CheckpointReader#history} does not return, since they are not
 * checkpoints).
 *
 * <p>Takes no lock and writes nothing, so it may be used while a writer runs. Immutable and
 * thread-safe.
 */
public final class FileStoreInspector {
  private static final Pattern PRE_MIGRATION =
      Pattern.compile("([0-9]{20})\\.pre-migration-v([0-9]{1,9})");

  private final FileLayout layout;
  private final FileCheckpointReader reader;

  private FileStoreInspector(FileLayout layout) {
    this.layout = layout;
    this.reader = new FileCheckpointReader(layout, CheckpointFileSystem.system());
  }

  /**
   * Returns an inspector of {@code job}'s files under {@code stateDir}.
   *
   * @throws IllegalArgumentException if {@code job} is not a valid name
   */
  public static FileStoreInspector of(Path stateDir, String job) {
    return new FileStoreInspector(new FileLayout(stateDir.toAbsolutePath().normalize(), job));
  }

  /** One file kept in a partition's history folder. */
  public record KeptFile(Path path, long sequence, int preMigrationVersion) {
    /** {@link #preMigrationVersion()} of an ordinary history entry. */
    public static final int NOT_PRE_MIGRATION = -1;

    /**
     * Whether this is the original record that a migration or import replaced; its {@link
     * #sequence()} is that of the checkpoint that replaced it, and it is in format {@link
     * #preMigrationVersion()} (0 is the chapter's legacy format).
     */
    public boolean isPreMigration() {
      return preMigrationVersion != NOT_PRE_MIGRATION;
    }
  }

  /** The job's name. */
  public String job() {
    return layout.job;
  }

  /** The state directory, absolute and normalised. */
  public Path stateDirectory() {
    return layout.stateDir;
  }

  /** The job's folder, {@code STATE/JOB}. */
  public Path jobDirectory() {
    return layout.jobDir;
  }

  /** Whether the job's folder exists, that is, whether a store was ever opened for the job. */
  public boolean exists() {
    return reader.kindOf(layout.jobDir) == CheckpointFileSystem.Kind.DIRECTORY;
  }

  /**
   * The path of a partition's current checkpoint file (which may not exist).
   *
   * @throws IllegalArgumentException if {@code partition} is not a valid name
   */
  public Path checkpointPath(String partition) {
    return layout.checkpointFile(partition);
  }

  /**
   * Every file in the partition's history folder that Waymark wrote, ordered by sequence, a
   * pre-migration record before the checkpoint that replaced it. Orphans (entries above the current
   * sequence, left by a commit that crashed before its rename) are included; compare with the
   * current checkpoint's sequence to tell them apart.
   *
   * @throws IllegalArgumentException if {@code partition} is not a valid name
   * @throws dev.waymark.WaymarkException if the folder cannot be listed
   */
  public List<KeptFile> historyFiles(String partition) {
    List<KeptFile> files = new ArrayList<>();
    for (Path p : reader.listOrFail(layout.historyDir(partition))) {
      OptionalLong seq = FileLayout.historySequence(p);
      if (seq.isPresent()) {
        files.add(new KeptFile(p, seq.getAsLong(), KeptFile.NOT_PRE_MIGRATION));
        continue;
      }
      Matcher m = PRE_MIGRATION.matcher(p.getFileName().toString());
      if (m.matches()) {
        files.add(new KeptFile(p, Long.parseLong(m.group(1)), Integer.parseInt(m.group(2))));
      }
    }
    files.sort(
        Comparator.comparingLong(KeptFile::sequence)
            .thenComparing(KeptFile::isPreMigration, Comparator.reverseOrder()));
    return files;
  }

  /**
   * Decodes a kept checkpoint of {@code partition}.
   *
   * @throws CheckpointInvalidException if the file is damaged, unreadable or not of this partition
   * @throws IllegalArgumentException if {@code file} is a pre-migration record, which is not a
   *     checkpoint of the current format
   */
  public Checkpoint read(String partition, KeptFile file) {
    if (file.isPreMigration()) {
      throw new IllegalArgumentException(
          file.path()
              + " is a pre-migration record of format version "
              + file.preMigrationVersion());
    }
    return reader.decodeFile(file.path(), partition);
  }
}
