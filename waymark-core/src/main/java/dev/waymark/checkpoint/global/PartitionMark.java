package dev.waymark.checkpoint.global;

import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.Names;
import java.util.Optional;

/**
 * One partition's marker for a barrier: its committed position at the instant it acknowledged the
 * barrier. Immutable.
 *
 * @param partition the partition's id
 * @param cursor its committed cursor, or null if the partition had never committed
 * @param sequence the committed checkpoint's sequence number, 0 if it had never committed
 */
public record PartitionMark(String partition, Cursor cursor, long sequence) {

  public PartitionMark {
    Names.requireValid("partition", partition);
    if (sequence < 0 || (cursor == null) != (sequence == 0)) {
      throw new IllegalArgumentException(
          "a mark has a cursor and a sequence of at least 1, or neither: "
              + cursor
              + ", sequence "
              + sequence);
    }
  }

  /** The mark of {@code partition} whose committed checkpoint is {@code committed}, if any. */
  public static PartitionMark of(String partition, Optional<Checkpoint> committed) {
    return committed
        .map(c -> new PartitionMark(partition, c.cursor(), c.sequence()))
        .orElseGet(() -> new PartitionMark(partition, null, 0));
  }

  /** The cursor, or empty if the partition had never committed. */
  public Optional<Cursor> position() {
    return Optional.ofNullable(cursor);
  }
}
