package dev.waymark.checkpoint.global;

import dev.waymark.checkpoint.Names;
import java.time.Instant;
import java.util.Collections;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * How a job's last run ended: the success marker (the chapter's {@code _SUCCESS}, but carrying the
 * final cut and the totals) or the failure marker. Downstream consumers wait for one of them
 * ({@code waymark wait}). Immutable.
 *
 * @param job the job
 * @param succeeded true for the success marker
 * @param at when the run ended
 * @param checkpoint the final complete global checkpoint's number (success), or 0
 * @param cut the final cut (success), or empty
 * @param totals the run's totals (success), or null
 * @param errorKind the failure's kind, e.g. {@code BAD_INPUT} (failure), or null
 * @param error the failure's message (failure), or null
 */
public record JobOutcome(
    String job,
    boolean succeeded,
    Instant at,
    long checkpoint,
    SortedMap<String, PartitionMark> cut,
    Totals totals,
    String errorKind,
    String error) {

  /** What the run did, summed over its partitions. */
  public record Totals(long files, long rowsRead, long newRows, long duplicates) {}

  public JobOutcome {
    Names.requireValid("job", job);
    Objects.requireNonNull(at, "at");
    cut = Collections.unmodifiableSortedMap(new TreeMap<>(cut));
    if (succeeded) {
      Objects.requireNonNull(totals, "totals");
    } else {
      Objects.requireNonNull(errorKind, "errorKind");
      Objects.requireNonNull(error, "error");
    }
  }

  /** The success marker: every partition finished, at {@code last}'s cut. */
  public static JobOutcome succeeded(GlobalCheckpoint last, Instant at, Totals totals) {
    return new JobOutcome(last.job(), true, at, last.number(), last.cut(), totals, null, null);
  }

  /** The failure marker. */
  public static JobOutcome failed(String job, Instant at, String errorKind, String error) {
    return new JobOutcome(job, false, at, 0, new TreeMap<>(), null, errorKind, error);
  }
}
