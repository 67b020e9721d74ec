package dev.waymark.ingest.coord;

import dev.waymark.checkpoint.FencedException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The loop of a worker process: claim a partition, run it to its end, record it done, claim the
 * next; when none is claimable, wait and look again (a partition whose owner died becomes claimable
 * when its lease expires); stop when every partition of the job is done. A partition this worker is
 * fenced out of is given up, not retried: its new owner finishes it.
 */
public final class Worker {
  /** Runs one claimed partition to its end. */
  @FunctionalInterface
  public interface PartitionTask {
    /**
     * Processes {@code lease}'s partition from its checkpoint to its end, each commit fenced by the
     * coordinator.
     *
     * @throws FencedException if another worker took the partition over
     */
    void run(Lease lease);
  }

  /** What this worker did. */
  public record Result(List<String> finished, List<String> lost) {}

  private Worker() {}

  /**
   * Runs partitions on {@code threads} threads until the job is done.
   *
   * @throws RuntimeException the first failure of a task other than being fenced, after the other
   *     threads have stopped and this worker's unfinished partitions have been released
   */
  public static Result run(Coordinator coordinator, int threads, PartitionTask task) {
    List<String> finished = new ArrayList<>(), lost = new ArrayList<>();
    AtomicReference<RuntimeException> failure = new AtomicReference<>();
    Duration poll = coordinator.lease().dividedBy(3);
    Runnable loop =
        () -> {
          while (failure.get() == null) {
            Lease lease;
            try {
              var claimed = coordinator.claim();
              if (claimed.isEmpty()) {
                if (coordinator.status().jobDone()) {
                  return;
                }
                Thread.sleep(poll.toMillis());
                continue;
              }
              lease = claimed.get();
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
              return;
            } catch (RuntimeException e) {
              failure.compareAndSet(null, e);
              return;
            }
            try {
              task.run(lease);
              boolean done = coordinator.finish(lease);
              synchronized (finished) {
                (done ? finished : lost).add(lease.partition());
              }
            } catch (FencedException e) {
              coordinator.forget(lease);
              synchronized (finished) {
                lost.add(lease.partition());
              }
            } catch (RuntimeException e) {
              coordinator.release(lease);
              failure.compareAndSet(null, e);
              return;
            }
          }
        };
    List<Thread> running = new ArrayList<>();
    for (int i = 0; i < threads; i++) {
      Thread t = new Thread(loop, "waymark-worker-" + i);
      t.start();
      running.add(t);
    }
    for (Thread t : running) {
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        failure.compareAndSet(null, new IllegalStateException("interrupted", e));
      }
    }
    if (failure.get() != null) {
      throw failure.get();
    }
    return new Result(List.copyOf(finished), List.copyOf(lost));
  }
}
