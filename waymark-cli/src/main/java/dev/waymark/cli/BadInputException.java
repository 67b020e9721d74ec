package dev.waymark.cli;

import dev.waymark.WaymarkException;

/** A file named on the command line is missing or malformed: exit code 5. */
final class BadInputException extends WaymarkException {
  BadInputException(String message, Throwable cause) {
    super(Kind.BAD_INPUT, message, cause);
  }
}
