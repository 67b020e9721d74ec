package dev.waymark.checkpoint.file;

import dev.waymark.WaymarkException;
import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.CheckpointInvalidException;
import dev.waymark.checkpoint.CheckpointInvalidException.Reason;
import dev.waymark.checkpoint.CheckpointReader;
import dev.waymark.checkpoint.Names;
import dev.waymark.checkpoint.PartitionLayout;
import dev.waymark.checkpoint.format.CheckpointCodec;
import java.io.IOException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/** Reads a job's checkpoints from the file layout, without taking the lock. Thread-safe. */
final class FileCheckpointReader implements CheckpointReader {
  final FileLayout layout;
  final CheckpointFileSystem fs;

  FileCheckpointReader(FileLayout layout, CheckpointFileSystem fs) {
    this.layout = layout;
    this.fs = fs;
  }

  @Override
  public String job() {
    return layout.job;
  }

  CheckpointCodec.Expectation expectation(String partition) {
    return new CheckpointCodec.Expectation(layout.job, partition, layout.locationArgs(partition));
  }

  @Override
  public Optional<PartitionLayout> layout() {
    return LayoutFile.read(fs, layout.layoutFile(), layout.job);
  }

  @Override
  public Optional<Checkpoint> read(String partition) {
    Path file = layout.checkpointFile(partition);
    CheckpointFileSystem.Kind kind = kindOf(file);
    switch (kind) {
      case MISSING -> {
        if (hasCommittedBefore(partition)) {
          // A first commit may have landed since the look above: it writes the marker only once
          // its checkpoint is in place, so the checkpoint is there now unless it was lost.
          if (kindOf(file) == CheckpointFileSystem.Kind.FILE) {
            return Optional.of(decodeFile(file, partition));
          }
          throw new CheckpointInvalidException(
              Reason.MISSING,
              file,
              "the partition committed before but its checkpoint file is gone",
              "a checkpoint file, because "
                  + (kindOf(layout.markerFile(partition)) != CheckpointFileSystem.Kind.MISSING
                      ? layout.markerFile(partition) + " exists"
                      : layout.historyDir(partition) + " holds versions after the first"),
              "no file",
              "Restore it from history: `waymark checkpoint history "
                  + layout.locationArgs(partition)
                  + "`, then `waymark checkpoint rollback "
                  + layout.locationArgs(partition)
                  + " --to SEQUENCE`; or start over with `waymark checkpoint reset "
                  + layout.locationArgs(partition)
                  + " --yes`.");
        }
        return Optional.empty();
      }
      case FILE -> {
        return Optional.of(decodeFile(file, partition));
      }
      default ->
          throw new CheckpointInvalidException(
              Reason.NOT_A_FILE,
              file,
              "something other than a regular file stands where the checkpoint belongs",
              "a regular file",
              kind == CheckpointFileSystem.Kind.DIRECTORY
                  ? "a directory"
                  : "a link or special file",
              "Move it out of the way, then restore the checkpoint with `waymark checkpoint"
                  + " rollback "
                  + layout.locationArgs(partition)
                  + " --to SEQUENCE` (see `waymark checkpoint history`).");
    }
  }

  /**
   * Whether the partition is known to have committed: its marker exists, or history holds an entry
   * that only a second commit could have written.
   */
  boolean hasCommittedBefore(String partition) {
    if (kindOf(layout.markerFile(partition)) != CheckpointFileSystem.Kind.MISSING) {
      return true;
    }
    return historySequences(partition).stream().anyMatch(seq -> seq > 1);
  }

  Checkpoint decodeFile(Path file, String partition) {
    byte[] bytes;
    try {
      bytes = fs.read(file);
    } catch (IOException e) {
      throw new CheckpointInvalidException(
          Reason.UNREADABLE,
          file,
          "the file cannot be read",
          "a readable file",
          e.toString(),
          "Check the file's permissions and the disk, then run again.",
          e);
    }
    return CheckpointCodec.decode(bytes, file, expectation(partition));
  }

  @Override
  public List<String> partitions() {
    List<String> names = new ArrayList<>();
    for (Path p : listOrFail(layout.partitionsDir())) {
      String name = p.getFileName().toString();
      if (isValidName(name) && kindOf(p) == CheckpointFileSystem.Kind.DIRECTORY) {
        names.add(name);
      }
    }
    names.sort(null);
    return names;
  }

  @Override
  public List<Checkpoint> history(String partition) {
    long limit = Long.MAX_VALUE;
    try {
      // Entries above the current sequence (all of them, if nothing was ever committed) are orphans
      // of a commit that crashed between its history link and its rename.
      limit = read(partition).map(Checkpoint::sequence).orElse(0L);
    } catch (CheckpointInvalidException e) {
      // History is how a damaged checkpoint is repaired, so it stays readable without one.
    }
    List<Checkpoint> entries = new ArrayList<>();
    for (long seq : historySequences(partition)) {
      if (seq <= limit) {
        entries.add(decodeFile(layout.historyFile(partition, seq), partition));
      }
    }
    return entries;
  }

  /** The sequences of the partition's history files, ascending, orphans included. */
  List<Long> historySequences(String partition) {
    List<Long> seqs = new ArrayList<>();
    for (Path p : listOrFail(layout.historyDir(partition))) {
      OptionalLong seq = FileLayout.historySequence(p);
      if (seq.isPresent()) {
        seqs.add(seq.getAsLong());
      }
    }
    seqs.sort(null);
    return seqs;
  }

  List<Path> listOrFail(Path dir) {
    try {
      return fs.list(dir);
    } catch (NotDirectoryException e) {
      throw new WaymarkException(FileLayout.notADirectory(dir, kindOf(dir)), e);
    } catch (IOException e) {
      throw new WaymarkException(
          "Cannot list " + dir + ": " + e + ". Check the directory's permissions.", e);
    }
  }

  CheckpointFileSystem.Kind kindOf(Path path) {
    try {
      return fs.kind(path);
    } catch (IOException e) {
      throw new WaymarkException("Cannot inspect " + path + ": " + e, e);
    }
  }

  private static boolean isValidName(String name) {
    try {
      Names.requireValid("partition", name);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }
}
