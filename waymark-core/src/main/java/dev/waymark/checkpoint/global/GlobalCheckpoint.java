package dev.waymark.checkpoint.global;

import dev.waymark.checkpoint.Names;
import java.time.Instant;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * A complete global checkpoint: the consistent cut of a partitioned job, one committed position per
 * partition, all recorded after barrier {@code number} was issued. Immutable.
 *
 * <p>Recovering to it means moving every partition back to its mark (see {@code waymark checkpoint
 * rollback --global}); a downstream consumer that reads each partition's output up to its mark sees
 * one consistent state of the whole job.
 *
 * @param job the job's name
 * @param number N: grows by at least one per barrier, across runs, starting at 1
 * @param completedAt when the "complete" record was written, for people only
 * @param cut every partition's mark, by partition id
 */
public record GlobalCheckpoint(
    String job, long number, Instant completedAt, SortedMap<String, PartitionMark> cut) {

  public GlobalCheckpoint {
    Names.requireValid("job", job);
    Objects.requireNonNull(completedAt, "completedAt");
    if (number < 1) {
      throw new IllegalArgumentException("global checkpoint number must be at least 1: " + number);
    }
    if (cut.isEmpty()) {
      throw new IllegalArgumentException("a global checkpoint needs at least one partition");
    }
    for (Map.Entry<String, PartitionMark> e : cut.entrySet()) {
      if (!e.getKey().equals(e.getValue().partition())) {
        throw new IllegalArgumentException(
            "cut entry '" + e.getKey() + "' holds partition '" + e.getValue().partition() + "'");
      }
    }
    cut = Collections.unmodifiableSortedMap(new TreeMap<>(cut));
  }

  /** Builds the cut map from marks. */
  public static SortedMap<String, PartitionMark> cutOf(Iterable<PartitionMark> marks) {
    TreeMap<String, PartitionMark> cut = new TreeMap<>();
    for (PartitionMark m : marks) {
      if (cut.put(m.partition(), m) != null) {
        throw new IllegalArgumentException("partition '" + m.partition() + "' is marked twice");
      }
    }
    return cut;
  }
}
