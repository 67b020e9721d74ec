package dev.waymark.ingest;

import dev.waymark.WaymarkException;
import dev.waymark.ingest.sink.Futures;
import dev.waymark.ingest.sink.Sink;
import dev.waymark.ingest.sink.TableSpec;
import java.sql.SQLException;
import java.util.concurrent.CompletableFuture;

/**
 * A sink opened on a thread of its own from the moment a run is set up, so that connecting (the
 * driver's classes, the server's start-up, the session's settings: about 80 ms of a resumed night
 * run's start) overlaps listing the files and opening the checkpoint store instead of following
 * them. Measured, the first commit came 391 instead of 411 ms after launch (medians of 7;
 * BENCHMARKS.md, "Session 7"): less than the whole 80 ms, as both threads share two cores with the
 * JIT compilers. Used for PostgreSQL only: opening a SQLite file can create it, and a run refused
 * before it reaches the database must leave the database as it was.
 *
 * <p>The first {@link #take} hands over the sink or throws what opening it threw, as opening it
 * there would have; then the caller owns it. {@link #discard} closes a sink nobody took once it is
 * open, without waiting for it.
 */
final class EarlySink {
  private final CompletableFuture<Sink> opened = new CompletableFuture<>();
  private boolean taken; // guarded by this

  private EarlySink() {}

  /** Starts opening a sink for {@code db}. */
  static EarlySink open(String db, TableSpec spec) {
    EarlySink early = new EarlySink();
    Thread t =
        new Thread(
            () -> {
              try {
                early.opened.complete(Sink.open(db, spec));
              } catch (SQLException | RuntimeException | Error e) {
                early.opened.completeExceptionally(e);
              }
            },
            "waymark connect");
    t.setDaemon(true);
    t.start();
    return early;
  }

  /**
   * Waits for the sink and hands it over, or throws what opening it threw; null if it was taken or
   * discarded before.
   */
  synchronized Sink take() throws SQLException {
    if (taken) {
      return null;
    }
    taken = true;
    try {
      return Futures.get(opened);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      closeWhenOpen();
      throw new WaymarkException("interrupted while connecting to the database", e);
    }
  }

  /** Closes the sink once it is open, unless it was taken; returns at once. */
  synchronized void discard() {
    if (!taken) {
      taken = true;
      closeWhenOpen();
    }
  }

  private void closeWhenOpen() {
    opened.whenComplete(
        (sink, failure) -> {
          if (sink != null) {
            try {
              sink.close();
            } catch (SQLException | RuntimeException e) {
              // Never used: no transaction of it holds anything.
            }
          }
        });
  }
}
