package dev.waymark.cli;

import dev.waymark.WaymarkException;
import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.CheckpointInvalidException;
import dev.waymark.checkpoint.CheckpointReader;
import dev.waymark.checkpoint.Names;
import dev.waymark.checkpoint.PartitionLayout;
import dev.waymark.checkpoint.file.FileCheckpointStore;
import dev.waymark.checkpoint.file.FileStoreInspector;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

/** The current state of each partition, as the read verbs see it without taking the lock. */
final class Partitions {
  private Partitions() {}

  /** One partition's current checkpoint, or why it could not be read. */
  record State(
      String job,
      String partition,
      Path path,
      Optional<Checkpoint> checkpoint,
      CheckpointInvalidException error) {

    String status() {
      return error != null ? "invalid" : checkpoint.isPresent() ? "ok" : "never_committed";
    }
  }

  /**
   * Reads {@code partition} (or, if null, every partition) of the job.
   *
   * @throws WaymarkException if the job has no such partition
   */
  static List<State> read(FileStoreInspector inspector, String partition) {
    return read(
        FileCheckpointStore.reader(inspector.stateDirectory(), inspector.job()),
        partition,
        inspector::checkpointPath);
  }

  /**
   * Reads {@code partition} (or, if null, every partition) through any reader; {@code location}
   * names where a partition's checkpoint is kept. With a recorded layout, its partitions are listed
   * whether or not they have state (one without is "never committed": never run, or its state was
   * removed, and the next run starts it over), and a partition outside it that holds nothing (left
   * by a reset before a run in fewer partitions) is left out.
   *
   * @throws WaymarkException if the job has no such partition
   */
  static List<State> read(
      CheckpointReader reader, String partition, Function<String, Path> location) {
    Optional<PartitionLayout> layout = layoutIfReadable(reader);
    Set<String> inLayout = new TreeSet<>(layout.map(PartitionLayout::ids).orElse(List.of()));
    Set<String> all = new TreeSet<>(reader.partitions());
    all.addAll(inLayout);
    List<String> names = List.copyOf(all);
    if (partition != null) {
      Names.requireValid("partition", partition);
      if (!names.contains(partition)) {
        throw new WaymarkException(
            "Job '"
                + reader.job()
                + "' has no partition '"
                + partition
                + "'; its partitions are "
                + names
                + ". Check --partition.");
      }
      names = List.of(partition);
    }
    List<State> states = new ArrayList<>();
    for (String p : names) {
      Path path = location.apply(p);
      State s;
      try {
        s = new State(reader.job(), p, path, reader.read(p), null);
      } catch (CheckpointInvalidException e) {
        s = new State(reader.job(), p, path, Optional.empty(), e);
      }
      boolean empty = s.checkpoint().isEmpty() && s.error() == null;
      if (partition != null || !empty || layout.isEmpty() || inLayout.contains(p)) {
        states.add(s);
      }
    }
    return states;
  }

  /**
   * The job's recorded layout, or empty if none is recorded or its record is damaged: the audit
   * reports that, and the partitions are then listed as they are.
   */
  private static Optional<PartitionLayout> layoutIfReadable(CheckpointReader reader) {
    try {
      return reader.layout();
    } catch (CheckpointInvalidException damaged) {
      return Optional.empty();
    }
  }
}
