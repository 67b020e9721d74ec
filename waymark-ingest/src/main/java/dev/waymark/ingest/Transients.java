package dev.waymark.ingest;

import dev.waymark.checkpoint.FencedException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.sql.SQLException;
import java.sql.SQLTransientException;
import java.util.Optional;
import java.util.Set;

/** Tells failures worth retrying (the world may be better in a moment) from the rest. */
final class Transients {
  /**
   * I/O errors that waiting does not cure: a person must free space, remount or grant access.
   * Retrying them for minutes would only delay the message that says so.
   */
  private static final String[][] PERMANENT_IO = {
    {"No space left on device", "free space on that file system"},
    {"Disk quota exceeded", "free space or raise the disk quota"},
    {"Read-only file system", "remount that file system read-write, or use another directory"},
    {"Permission denied", "give the user running waymark access to it"},
  };

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
    if (permanentIoProblem(t).isPresent()) {
      return false;
    }
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

  /**
   * If {@code t} was caused by an I/O error that only a person can fix (disk full, read-only file
   * system, permission denied, SQLite's disk full), the fix, in words.
   */
  static Optional<String> permanentIoProblem(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof SQLException && String.valueOf(c.getMessage()).contains("SQLITE_FULL")) {
        return Optional.of("free space on the file system holding the database and its -wal file");
      }
      if (c instanceof AccessDeniedException) {
        return Optional.of(PERMANENT_IO[3][1]);
      }
      if (c instanceof IOException) {
        String message = String.valueOf(c.getMessage());
        for (String[] known : PERMANENT_IO) {
          if (message.contains(known[0])) {
            return Optional.of(known[1]);
          }
        }
      }
    }
    return Optional.empty();
  }
}
