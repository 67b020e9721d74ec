package dev.waymark.checkpoint.global;

import dev.waymark.WaymarkException;
import dev.waymark.checkpoint.CheckpointInvalidException;
import dev.waymark.checkpoint.CheckpointStore;
import java.util.ArrayList;
import java.util.List;

/**
 * Moves every partition of a job back to a complete global checkpoint: the operation behind {@code
 * waymark checkpoint rollback --global [N]}.
 *
 * <p>Each partition's cursor from the cut is committed as a new checkpoint (a partition that had
 * never committed at N is reset), so history keeps what came after, as with a one-partition
 * rollback. A damaged current checkpoint falls back to the kept history version of the cut's
 * sequence. The success marker is removed first, and the restored positions are recorded as a new
 * global checkpoint, so that the newest complete one always describes the job as it now stands.
 */
public final class GlobalRollback {
  private GlobalRollback() {}

  /**
   * What was done.
   *
   * @param target the global checkpoint rolled back to
   * @param recorded the new global checkpoint recording the restored positions
   */
  public record Result(GlobalCheckpoint target, GlobalCheckpoint recorded) {}

  /**
   * Rolls every partition back to global checkpoint {@code n}, or to the last complete one if null.
   * The caller holds the job's writer ({@code store}) and opened {@code globals} for writing.
   *
   * @throws WaymarkException if {@code n} is not complete or no longer kept (the message lists the
   *     available ones), if there is none, or if the job has partitions the cut does not cover
   */
  public static Result run(CheckpointStore store, GlobalCheckpointStore globals, Long n) {
    GlobalCheckpoint target =
        n != null
            ? globals.read(n)
            : globals
                .lastComplete()
                .orElseThrow(
                    () ->
                        new WaymarkException(
                            "Job '"
                                + store.job()
                                + "' has no complete global checkpoint yet: a run writes one at"
                                + " its end, and every --global-checkpoint-every interval. Roll"
                                + " back one partition with --to SEQ instead."));
    List<String> outside = new ArrayList<>(store.partitions());
    outside.removeAll(target.cut().keySet());
    // A partition outside the cut that holds nothing (reset, or never committed) has nothing to
    // roll back; asking to reset it again, which leaves it as it is, would loop for ever.
    outside.removeIf(p -> holdsNothing(store, p));
    if (!outside.isEmpty()) {
      throw new WaymarkException(
          "Cannot roll job '"
              + store.job()
              + "' back to global checkpoint "
              + target.number()
              + ": partitions "
              + outside
              + " are not in its cut "
              + target.cut().keySet()
              + " (the partition layout changed since). Reset those partitions first with"
              + " `waymark checkpoint reset --job "
              + store.job()
              + " --partition P --yes` (and this command's --state or --db), or choose a later"
              + " global checkpoint.");
    }
    globals.clearOutcome();
    for (PartitionMark m : target.cut().values()) {
      if (m.cursor() == null) {
        if (store.partitions().contains(m.partition())) {
          store.reset(m.partition());
        }
      } else {
        try {
          store.commit(m.partition(), m.cursor());
        } catch (CheckpointInvalidException e) {
          store.rollback(m.partition(), m.sequence()); // works on a damaged current checkpoint
        }
      }
    }
    long next = globals.issueBarrier();
    for (String p : target.cut().keySet()) {
      globals.mark(next, PartitionMark.of(p, store.read(p)));
    }
    return new Result(target, globals.complete(next, target.cut().keySet()));
  }

  private static boolean holdsNothing(CheckpointStore store, String partition) {
    try {
      return store.read(partition).isEmpty() && store.history(partition).isEmpty();
    } catch (CheckpointInvalidException damaged) {
      return false;
    }
  }
}
