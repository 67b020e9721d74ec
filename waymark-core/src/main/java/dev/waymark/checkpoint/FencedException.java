package dev.waymark.checkpoint;

import dev.waymark.WaymarkException;

/**
 * Thrown when a commit is refused because a newer writer (a higher epoch) has taken over the job or
 * partition. The writer that receives it has lost ownership and must stop without retrying.
 */
public final class FencedException extends WaymarkException {
  private final long ownEpoch;
  private final long newerEpoch;

  public FencedException(String where, long ownEpoch, long newerEpoch) {
    super(
        Kind.LOCK_HELD,
        "Commit refused for "
            + where
            + ": this writer holds epoch "
            + ownEpoch
            + " but epoch "
            + newerEpoch
            + " is recorded, so another writer has taken over. Stop this process; the newer"
            + " writer owns the job now.",
        null);
    this.ownEpoch = ownEpoch;
    this.newerEpoch = newerEpoch;
  }

  public long ownEpoch() {
    return ownEpoch;
  }

  public long newerEpoch() {
    return newerEpoch;
  }
}
