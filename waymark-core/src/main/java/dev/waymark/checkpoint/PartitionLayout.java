package dev.waymark.checkpoint;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * How a job's input is split into partitions: how many, and the name of the function that assigns
 * an item to one. A partition's cursor only means something under the layout that wrote it, so a
 * store records the layout once per job ({@link CheckpointStore#recordLayout}) and a runner refuses
 * to resume under another one. Immutable.
 *
 * @param partitions the number of partitions, named {@code "0"} to {@code partitions - 1}
 * @param hash the name of the assignment function, e.g. {@code crc32c-utf8-mod}: letters, digits
 *     and {@code -}, at most 64 characters
 */
public record PartitionLayout(int partitions, String hash) {
  public PartitionLayout {
    if (partitions < 1) {
      throw new IllegalArgumentException("partitions must be at least 1, found " + partitions);
    }
    Objects.requireNonNull(hash, "hash");
    if (!hash.matches("[A-Za-z0-9-]{1,64}")) {
      throw new IllegalArgumentException(
          "a layout's hash name is letters, digits and '-', found '" + hash + "'");
    }
  }

  /** The partitions' names, {@code "0"} to {@code partitions - 1}, in that order. */
  public List<String> ids() {
    List<String> ids = new ArrayList<>(partitions);
    for (int i = 0; i < partitions; i++) {
      ids.add(Integer.toString(i));
    }
    return List.copyOf(ids);
  }

  @Override
  public String toString() {
    return partitions + " partition" + (partitions == 1 ? "" : "s") + " (hash " + hash + ")";
  }
}
