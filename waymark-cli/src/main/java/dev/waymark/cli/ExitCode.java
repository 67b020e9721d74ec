package dev.waymark.cli;

import dev.waymark.WaymarkException;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine;

/**
 * The {@code waymark} command's exit codes: the one place they are defined. Picocli reaches them
 * through {@link #MAPPER}; {@code --help} lists them from {@link #helpList()}.
 */
enum ExitCode {
  OK(0, "Success; for audit, nothing but warnings found."),
  FAILURE(
      1,
      "Failure: an operation failed, audit found a problem other than an invalid file, or"
          + " torture found a divergence (FAIL)."),
  USAGE(2, "Usage error: unknown option, missing argument, invalid name, reset without --yes."),
  LOCK_HELD(3, "Another process holds the job's lock, or a newer writer has fenced this one."),
  CHECKPOINT_INVALID(
      4, "A checkpoint cannot be trusted: empty, torn, damaged, misplaced, unmigrated."),
  BAD_INPUT(
      5,
      "Bad input: a malformed input file (the message names its file, line, column, byte and"
          + " record), one truncated while read, a file name that is not UTF-8, or a bad"
          + " import-legacy FILE."),
  JOB_FAILED(
      6,
      "wait: the job failed; its failure marker is printed. worker: another worker failed the"
          + " job, and this one stopped."),
  TRANSIENT_EXHAUSTED(75, "A transient failure outlived its retries; running again may succeed."),
  WAIT_TIMEOUT(124, "wait: --timeout passed before the job succeeded or failed (as timeout(1)).");

  /** Maps whatever a verb throws to its exit code. */
  static final CommandLine.IExitCodeExceptionMapper MAPPER = t -> of(t).code;

  final int code;
  final String meaning;

  ExitCode(int code, String meaning) {
    this.code = code;
    this.meaning = meaning;
  }

  static ExitCode of(Throwable t) {
    if (t instanceof CommandLine.ParameterException || t instanceof IllegalArgumentException) {
      return USAGE;
    }
    if (t instanceof WaymarkException w) {
      return switch (w.kind()) {
        case FAILURE -> FAILURE;
        case LOCK_HELD -> LOCK_HELD;
        case CHECKPOINT_INVALID -> CHECKPOINT_INVALID;
        case BAD_INPUT -> BAD_INPUT;
        case TRANSIENT_EXHAUSTED -> TRANSIENT_EXHAUSTED;
        case JOB_FAILED -> JOB_FAILED;
      };
    }
    return FAILURE;
  }

  /** The list shown under "Exit codes:" in {@code --help}. */
  static Map<String, String> helpList() {
    Map<String, String> list = new LinkedHashMap<>();
    for (ExitCode c : values()) {
      list.put(String.format("%3d", c.code), c.meaning);
    }
    return list;
  }
}
