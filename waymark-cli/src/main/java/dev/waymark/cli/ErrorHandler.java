package dev.waymark.cli;

import dev.waymark.WaymarkException;
import java.io.PrintWriter;
import java.util.Arrays;
import picocli.CommandLine;
import picocli.CommandLine.ParseResult;

/**
 * Prints errors as one line, {@code waymark: <message>}, and returns the exit code from {@link
 * ExitCode}. The stack trace follows only with {@code --debug}: an operator at 04:10 needs the
 * message (which names the file and the fix), not the frames.
 */
final class ErrorHandler
    implements CommandLine.IExecutionExceptionHandler, CommandLine.IParameterExceptionHandler {

  static final String DEBUG = "--debug";

  @Override
  public int handleExecutionException(Exception ex, CommandLine cmd, ParseResult parseResult) {
    PrintWriter err = cmd.getErr();
    err.println("waymark: " + message(ex));
    if (debug(parseResult)) {
      ex.printStackTrace(err);
    } else if (ExitCode.of(ex) == ExitCode.FAILURE && !(ex instanceof WaymarkException)) {
      err.println("waymark: this looks like a bug; run again with --debug for the stack trace.");
    }
    err.flush();
    return ExitCode.MAPPER.getExitCode(ex);
  }

  @Override
  public int handleParseException(CommandLine.ParameterException ex, String[] args) {
    CommandLine cmd = ex.getCommandLine();
    PrintWriter err = cmd.getErr();
    err.println("waymark: " + ex.getMessage());
    if (Arrays.asList(args).contains(DEBUG)) {
      ex.printStackTrace(err);
    }
    CommandLine.UnmatchedArgumentException.printSuggestions(ex, err);
    err.println("Try '" + cmd.getCommandSpec().qualifiedName() + " --help' for more information.");
    err.flush();
    return ExitCode.MAPPER.getExitCode(ex);
  }

  static String message(Throwable t) {
    return t.getMessage() == null ? t.toString() : t.getMessage();
  }

  private static boolean debug(ParseResult result) {
    for (ParseResult r = result; r != null; r = r.subcommand()) {
      if (r.hasMatchedOption(DEBUG)) {
        return true;
      }
    }
    return false;
  }
}
