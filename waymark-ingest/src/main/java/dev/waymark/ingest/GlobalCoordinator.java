package dev.waymark.ingest;

import dev.waymark.WaymarkException;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.global.GlobalCheckpoint;
import dev.waymark.checkpoint.global.GlobalCheckpointStore;
import dev.waymark.checkpoint.global.PartitionMark;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * The coordinator of two-phase global checkpoints for one run: issues barrier N, collects one
 * marker per partition, then writes "N complete". Thread-safe.
 *
 * <h2>Design notes</h2>
 *
 * <ul>
 *   <li><b>Who marks.</b> A partition a worker is processing ({@link #claimed}) is marked by that
 *       worker at its next unit boundary after the barrier ({@link #unitCommitted}), with the
 *       cursor it has just committed. A partition no worker is processing has a stable cursor and
 *       is marked by the coordinator when it issues the barrier; one released mid-barrier is marked
 *       by its worker as it lets go ({@link #released}). The lock makes "active or not" and "marked
 *       or not" one decision, so no partition is marked twice or skipped.
 *   <li><b>Why any cursor will do.</b> Partitions share no input and no output rows, so the
 *       committed positions of all partitions taken after one barrier form a consistent cut: each
 *       is a real committed state, and none depends on another.
 *   <li><b>Known positions.</b> This run is the job's only writer (its lock or epoch), so the last
 *       position each partition committed is known here without reading the store.
 *   <li><b>A partition given up</b> ({@link PartitionLostException}, when another process took it
 *       over) stays active for this run's periodic barriers, which then never complete; the final
 *       one marks every partition at the position this run last committed.
 *   <li><b>Failures.</b> A marker write that fails in a worker fails that worker's run; one that
 *       fails in the coordinator's thread is kept and thrown by {@link #finish}.
 * </ul>
 */
final class GlobalCoordinator implements AutoCloseable {
  private final GlobalCheckpointStore store;
  private final List<String> partitions;
  private final Duration every;
  private final Faults faults;
  private final Map<String, PartitionMark> committed = new ConcurrentHashMap<>();

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition allMarked = lock.newCondition();
  private final Set<String> active = new HashSet<>(); // guarded by lock
  private final Set<String> marked = new HashSet<>(); // guarded by lock
  private volatile long pending; // the barrier awaiting markers, or 0
  private boolean closed; // guarded by lock
  private Thread timer;
  private volatile RuntimeException failure;

  /**
   * @param initial every partition's committed position when the run starts
   * @param every interval between barriers while the run goes on, or null for only the final one
   */
  GlobalCoordinator(
      GlobalCheckpointStore store,
      Map<String, PartitionMark> initial,
      Duration every,
      Faults faults) {
    this.store = store;
    this.partitions = List.copyOf(new java.util.TreeSet<>(initial.keySet()));
    this.committed.putAll(initial);
    this.every = every;
    this.faults = faults;
  }

  /** Starts issuing a barrier every interval, if there is one. */
  void start() {
    if (every == null) {
      return;
    }
    timer = new Thread(this::timerLoop, "waymark-global-checkpoints");
    timer.setDaemon(true);
    timer.start();
  }

  /**
   * The runner's hooks with this coordinator's around {@code outer}: a partition is active from the
   * moment a worker picks it until it finishes, and each committed unit is a boundary.
   */
  PartitionHooks around(PartitionHooks outer) {
    return new PartitionHooks() {
      @Override
      public String nextPartition(Supplier<String> unclaimed) {
        String partition = outer.nextPartition(unclaimed);
        if (partition != null) {
          claimed(partition);
        }
        return partition;
      }

      @Override
      public void beforeCommit(String partition, Connection tx, Cursor cursor) throws SQLException {
        outer.beforeCommit(partition, tx, cursor);
      }

      @Override
      public void beforeCommit(String partition, Connection tx, Cursor cursor, UnitCounts unit)
          throws SQLException {
        outer.beforeCommit(partition, tx, cursor, unit);
      }

      @Override
      public void partitionFailed(String partition) {
        outer.partitionFailed(partition);
      }

      @Override
      public void partitionFailed(String partition, RuntimeException error) {
        outer.partitionFailed(partition, error);
      }

      @Override
      public void unitCommitted(String partition, Cursor cursor) {
        outer.unitCommitted(partition, cursor);
        GlobalCoordinator.this.unitCommitted(partition, cursor);
      }

      @Override
      public void partitionFinished(String partition, Optional<Cursor> cursor) {
        outer.partitionFinished(partition, cursor);
        released(partition);
      }
    };
  }

  /** A worker starts processing {@code partition}. */
  void claimed(String partition) {
    lock.lock();
    try {
      active.add(partition);
    } finally {
      lock.unlock();
    }
  }

  /**
   * A worker has committed {@code cursor} for its partition: a unit boundary. Marks the partition
   * for the pending barrier, if it is not marked yet. Every commit adds one to a partition's
   * sequence, and this run is the partition's only writer, so the sequence is known here too.
   */
  void unitCommitted(String partition, Cursor cursor) {
    committed.compute(
        partition,
        (p, before) -> new PartitionMark(p, cursor, before == null ? 1 : before.sequence() + 1));
    if (pending == 0) {
      return; // no barrier: the common case costs one volatile read
    }
    lock.lock();
    try {
      markIfPending(partition);
    } finally {
      lock.unlock();
    }
  }

  /** A worker stops processing {@code partition}, its position now stable. */
  void released(String partition) {
    lock.lock();
    try {
      active.remove(partition);
      markIfPending(partition);
    } finally {
      lock.unlock();
    }
  }

  /**
   * The run's final global checkpoint, once every partition is released: stops the timer, then
   * issues one last barrier, which the coordinator marks for every partition.
   *
   * @throws WaymarkException if a global checkpoint of this run could not be written
   */
  GlobalCheckpoint finish() {
    stopTimer();
    if (failure != null) {
      throw failure;
    }
    try {
      return round(true).orElseThrow();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new WaymarkException("interrupted while writing the final global checkpoint", e);
    }
  }

  @Override
  public void close() {
    stopTimer();
  }

  // ---------------------------------------------------------------- the coordinator's side

  private void timerLoop() {
    try {
      while (true) {
        lock.lock();
        try {
          long deadline = System.nanoTime() + every.toNanos();
          for (long left = every.toNanos(); !closed && left > 0; ) {
            allMarked.await(left, TimeUnit.NANOSECONDS);
            left = deadline - System.nanoTime();
          }
          if (closed) {
            return;
          }
        } finally {
          lock.unlock();
        }
        round(false);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      failure = e;
    }
  }

  /**
   * Issues a barrier, marks the partitions nobody is processing (in the final round: all of them),
   * waits for the others, and writes the complete record. Returns empty if the run ended before
   * every partition acknowledged: that barrier stays partial.
   */
  private Optional<GlobalCheckpoint> round(boolean last) throws InterruptedException {
    long n;
    lock.lock();
    try {
      n = store.issueBarrier();
      pending = n;
      marked.clear();
      for (String p : partitions) {
        if (last || !active.contains(p)) {
          markIfPending(p);
        }
      }
      while (marked.size() < partitions.size()) {
        if (closed && !last) {
          return Optional.empty();
        }
        allMarked.await(100, TimeUnit.MILLISECONDS);
      }
      pending = 0;
    } finally {
      lock.unlock();
    }
    faults.maybeCrash(Faults.Point.BEFORE_GLOBAL_COMPLETE, n);
    return Optional.of(store.complete(n, partitions));
  }

  /** Records the partition's marker for the pending barrier. Call with the lock held. */
  private void markIfPending(String partition) {
    long n = pending;
    if (n == 0 || marked.contains(partition)) {
      return;
    }
    store.mark(n, committed.getOrDefault(partition, PartitionMark.of(partition, Optional.empty())));
    marked.add(partition);
    allMarked.signalAll();
  }

  private void stopTimer() {
    lock.lock();
    try {
      closed = true;
      allMarked.signalAll();
    } finally {
      lock.unlock();
    }
    if (timer != null) {
      try {
        timer.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      timer = null;
    }
  }
}
