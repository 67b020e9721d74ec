package dev.waymark.ingest.sink;

import java.sql.SQLException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

/** Waiting for database work run on a thread of its own. */
public final class Futures {
  private Futures() {}

  /**
   * Waits for {@code future} and returns its value, or throws what its task threw, as the caller
   * would have seen it running the task itself: an {@link SQLException}, {@link RuntimeException}
   * or {@link Error} as it is, anything else wrapped in an {@link IllegalStateException}.
   */
  public static <T> T get(Future<T> future) throws SQLException, InterruptedException {
    try {
      return future.get();
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof SQLException sql) {
        throw sql;
      } else if (cause instanceof RuntimeException runtime) {
        throw runtime;
      } else if (cause instanceof Error error) {
        throw error;
      }
      throw new IllegalStateException(cause);
    }
  }
}
