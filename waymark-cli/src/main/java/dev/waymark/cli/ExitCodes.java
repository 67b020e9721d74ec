package dev.waymark.cli;

/** Placeholder until the CLI's ExitCode enum lands. */
final class ExitCodes {
  static final int OK = 0, FAILURE = 1;

  private ExitCodes() {}
}
