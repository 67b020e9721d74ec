package dev.waymark.checkpoint;

import java.time.Instant;
import java.util.Objects;

/**
 * One committed checkpoint: the whole of what Waymark records, and nothing else. No host names,
 * configuration, counters or errors belong here; they change without the position changing.
 *
 * @param job the job's name
 * @param partition the partition's id within the job
 * @param cursor the last committed source position
 * @param sequence grows by exactly one per commit of this partition, starting at 1
 * @param epoch the writer's fencing token; grows each time a writer takes the job's lock
 * @param committedAt when it was committed, for people only: never used to decide where to resume
 */
public record Checkpoint(
    String job, String partition, Cursor cursor, long sequence, long epoch, Instant committedAt) {

  public Checkpoint {
    Names.requireValid("job", job);
    Names.requireValid("partition", partition);
    Objects.requireNonNull(cursor, "cursor");
    Objects.requireNonNull(committedAt, "committedAt");
    if (sequence < 1) {
      throw new IllegalArgumentException("sequence must be at least 1: " + sequence);
    }
    if (epoch < 1) {
      throw new IllegalArgumentException("epoch must be at least 1: " + epoch);
    }
  }
}
