package dev.waymark.checkpoint.global;

import dev.waymark.WaymarkException;
import java.util.List;

/**
 * Thrown when a global checkpoint asked for by number cannot be used: it was never issued, never
 * completed, or was pruned. The message lists the complete ones that can.
 */
public final class GlobalCheckpointNotAvailableException extends WaymarkException {
  private final long number;
  private final List<Long> available;

  /**
   * @param lastIssued the last barrier issued, to tell "never issued" from "never completed"
   * @param keep how many complete global checkpoints the store keeps
   */
  public GlobalCheckpointNotAvailableException(
      long number, String job, List<Long> available, long lastIssued, int keep) {
    super(
        "Global checkpoint "
            + number
            + " of job '"
            + job
            + "' cannot be used: "
            + (number < 1
                ? "global checkpoints are numbered from 1"
                : number > lastIssued
                    ? "no barrier with that number was ever issued (the last was "
                        + lastIssued
                        + ")"
                    : "it never completed (a run stopped before every partition acknowledged it),"
                        + " or it was pruned ("
                        + (keep == Integer.MAX_VALUE
                            ? "a run keeps its --global-keep last complete ones"
                            : "the last " + keep + " complete ones are kept")
                        + ")")
            + ". Complete global checkpoints available: "
            + (available.isEmpty() ? "none" : available)
            + ". Choose one of those, or leave N out for the last.");
    this.number = number;
    this.available = List.copyOf(available);
  }

  /** The number asked for. */
  public long number() {
    return number;
  }

  /** The complete global checkpoints that are kept, ascending. */
  public List<Long> available() {
    return available;
  }
}
