package dev.waymark.cli;

import dev.waymark.WaymarkException;
import dev.waymark.checkpoint.internal.Json;
import dev.waymark.ingest.sink.JdbcUrls;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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

  private static final String JSON = "--json";

  /** The options whose value is a JDBC URL that may hold a password. */
  private static final List<String> URL_OPTIONS = List.of("--db", "--coordinator");

  @Override
  public int handleExecutionException(Exception ex, CommandLine cmd, ParseResult parseResult) {
    PrintWriter err = cmd.getErr();
    List<String> args = parseResult.originalArgs();
    err.println("waymark: " + redact(message(ex), args));
    if (args.contains(JSON)) {
      printJson(cmd.getOut(), ExitCode.of(ex), redact(message(ex), args));
    }
    if (debug(parseResult)) {
      err.print(redact(stackTrace(ex), args));
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
    err.println("waymark: " + redact(ex.getMessage(), Arrays.asList(args)));
    if (Arrays.asList(args).contains(JSON)) {
      printJson(cmd.getOut(), ExitCode.of(ex), redact(ex.getMessage(), Arrays.asList(args)));
    }
    if (Arrays.asList(args).contains(DEBUG)) {
      err.print(redact(stackTrace(ex), Arrays.asList(args)));
    }
    CommandLine.UnmatchedArgumentException.printSuggestions(ex, err);
    err.println("Try '" + cmd.getCommandSpec().qualifiedName() + " --help' for more information.");
    err.flush();
    return ExitCode.MAPPER.getExitCode(ex);
  }

  /**
   * Removes passwords from what is printed: any {@code password=} or {@code user:password@} in the
   * text, and the password of each {@code --db} and {@code --coordinator} URL on the command line
   * wherever it appears (a driver may echo part of the URL in its exception).
   */
  static String redact(String text, List<String> args) {
    String redacted = JdbcUrls.redact(text);
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      for (String option : URL_OPTIONS) {
        if (a.equals(option) && i + 1 < args.size()) {
          redacted = JdbcUrls.redact(redacted, args.get(i + 1));
        } else if (a.startsWith(option + "=")) {
          redacted = JdbcUrls.redact(redacted, a.substring(option.length() + 1));
        }
      }
    }
    return redacted;
  }

  /**
   * With {@code --json}, a script reads stdout: the error goes there too, as one JSON object, so
   * that stdout is never empty where a document was promised.
   */
  private static void printJson(PrintWriter out, ExitCode code, String message) {
    Map<String, Object> error = Output.object();
    error.put("exit_code", (long) code.code);
    error.put("kind", code.name().toLowerCase(Locale.ROOT));
    error.put("message", message);
    Map<String, Object> doc = Output.object();
    doc.put("error", error);
    out.println(Json.write(doc));
    out.flush();
  }

  private static String stackTrace(Throwable t) {
    StringWriter trace = new StringWriter();
    t.printStackTrace(new PrintWriter(trace, true));
    return trace.toString();
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
