package dev.waymark.checkpoint;

/**
 * A durable home for one job's checkpoints: the store SPI. Waymark's own stores (files, a JDBC
 * table) implement it, and so can yours; optional abilities are default methods.
 *
 * <h2>The protocol</h2>
 *
 * <pre>{@code
 * try (CheckpointStore store = FileCheckpointStore.open(stateDir, "nightly", FileStoreOptions.ofDefaults())) {
 *   Cursor from = store.read().map(Checkpoint::cursor).orElse(null);   // null: start at the beginning
 *   for (Unit unit : source.unitsAfter(from)) {
 *     unit.writeAndCommitData();             // 1. the data is durable ...
 *     store.commit(unit.endCursor());        // 2. ... and only then the checkpoint
 *   }
 * }
 * }</pre>
 *
 * <p>Committing the checkpoint after the data means a crash between the two redoes one unit, which
 * an idempotent sink absorbs; the reverse order would lose it. A store that can commit in the
 * data's own transaction (the JDBC store) removes even that window.
 *
 * <p>Implementations are thread-safe: commits to different partitions may run concurrently; commits
 * to one partition are serialised.
 */
public interface CheckpointStore extends CheckpointReader, AutoCloseable {

  /** The fencing token this writer holds; every checkpoint it commits carries it. */
  long epoch();

  /**
   * Durably records {@code cursor} as the partition's new position, with the next sequence number.
   * Returns only once the checkpoint survives a crash or power loss.
   *
   * @return the committed checkpoint
   * @throws FencedException if a newer writer has taken over the job; stop without retrying
   * @throws CheckpointInvalidException if the current checkpoint cannot be trusted (roll back or
   *     reset first)
   * @throws dev.waymark.WaymarkException if the write fails; the previous checkpoint is then still
   *     the current one, or, if the failure came after the atomic rename, the new one
   */
  Checkpoint commit(String partition, Cursor cursor);

  /** {@link #commit(String, Cursor)} to the {@linkplain #DEFAULT_PARTITION default partition}. */
  default Checkpoint commit(Cursor cursor) {
    return commit(DEFAULT_PARTITION, cursor);
  }

  /**
   * Makes the cursor of kept history entry {@code sequence} current again, as a new commit with a
   * new sequence number. Works even when the current checkpoint is damaged.
   *
   * @throws dev.waymark.WaymarkException if no such entry is kept; the message lists those that are
   */
  Checkpoint rollback(String partition, long sequence);

  /**
   * Forgets the partition: its checkpoint and history. The next run starts from the beginning.
   *
   * @throws UnsupportedOperationException if the store cannot reset
   */
  default void reset(String partition) {
    throw new UnsupportedOperationException(getClass().getSimpleName() + " cannot reset");
  }

  /**
   * Records the job's partition layout, replacing any earlier one, atomically and durably. Changing
   * the layout of a job whose partitions hold checkpoints of the old one is the caller's
   * responsibility: reset them first, so that no checkpoint outlives the layout it was written in.
   *
   * @throws FencedException if a newer writer has taken over the job
   * @throws UnsupportedOperationException if this store cannot record a layout
   */
  default void recordLayout(PartitionLayout layout) {
    throw new UnsupportedOperationException(getClass().getSimpleName() + " cannot record a layout");
  }

  /** Releases the job's lock. Idempotent. */
  @Override
  void close();
}
