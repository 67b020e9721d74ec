package dev.waymark.ingest.coord;

/**
 * Hears what happens to a worker's leases, for its output. Called from the worker's threads and
 * from its heartbeat thread: implementations must be thread-safe. Every method does nothing by
 * default.
 */
public interface CoordinatorListener {

  /** This worker created the job (it was the first). */
  default void jobCreated(JobSpec spec) {}

  /** This worker claimed a free partition, or took over one whose owner's lease had expired. */
  default void claimed(Lease lease) {}

  /** A heartbeat could not reach the coordinator; leases run out unless a later one does. */
  default void renewFailed(Exception error) {}

  /**
   * The coordinator's connection was lost (the server restarted, or ended the session) while a
   * claim, finish, release or status ran; it is run again on a new connection after {@code delay}.
   * {@code attempt} counts from 1 within one such statement.
   */
  default void reconnecting(Exception error, int attempt, java.time.Duration delay) {}

  /**
   * This worker no longer owns the partition: another worker holds it at {@code newerEpoch}. Told
   * once per lease, by whichever notices first (a heartbeat, a refused commit, the finish).
   */
  default void lost(Lease lease, long newerEpoch, String newOwner, String how) {}

  /**
   * The fence refused a commit of the partition: another worker holds it at {@code newerEpoch}. The
   * unit's rows and checkpoint are rolled back. Told for every refused commit.
   */
  default void commitRefused(Lease lease, long newerEpoch, String newOwner) {}

  /** The partition is complete and recorded done. */
  default void finished(Lease lease) {}

  /**
   * This worker joined a job that had failed: the failure and its marker are cleared, and the job
   * resumes from its partitions' checkpoints.
   */
  default void jobResumed(JobSpec spec, Coordinator.Failure failure) {}

  /**
   * This worker recorded the job failed (and its failure marker): no worker claims its partitions
   * any more, and the others stop at their next unit boundary.
   */
  default void jobFailed(JobSpec spec, Coordinator.Failure failure) {}
}
