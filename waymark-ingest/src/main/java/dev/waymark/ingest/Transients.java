package dev.waymark.ingest;

import dev.waymark.checkpoint.FencedException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.SQLException;
import java.sql.SQLTransientException;
import java.util.Set;

/** Tells failures worth retrying (the world may be better in a moment) from the rest. */
final class Transients {
  /** SQLState classes and codes of failures that a retry can outlive. */
  private static final Set<String> STATES =
      Set.of(
          "40001", // serialization failure
          "40P01", // deadlock detected
          "53300", // too many connections
          "25P03", // idle-in-transaction timeout: the server ended the session (a paused worker)
          "55P03", // lock not available
          "57P01", // admin shutdown (a restart)
          "57P02", // crash shutdown
          "57P03"); // cannot connect now (starting up)

  private Transients() {}

  static boolean isTransient(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      // A malformed file stays malformed, however its parser's exception is typed.
      if (c instanceof FencedException
          || c instanceof BadInputException
          || c instanceof com.fasterxml.jackson.core.JacksonException) {
        return false;
      }
      if (c instanceof SQLTransientException) {
        return true;
      }
      if (c instanceof SQLException sql) {
        String state = sql.getSQLState();
        if (state != null && (state.startsWith("08") || STATES.contains(state))) {
          return true;
        }
        String message = String.valueOf(sql.getMessage());
        if (message.contains("SQLITE_BUSY") || message.contains("SQLITE_LOCKED")) {
          return true;
        }
      }
      if (c instanceof UncheckedIOException || c instanceof IOException) {
        return true;
      }
    }
    return false;
  }
}
