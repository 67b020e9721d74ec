package dev.waymark.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * Entry point of the {@code waymark} command.
 *
 * <pre>
 * waymark checkpoint status|show|history|rollback|reset|migrate|import-legacy|audit ...
 * </pre>
 *
 * <p>Every verb is one package-private class; errors become one line on stderr and an exit code
 * from {@link ExitCode} (the stack trace only with {@code --debug}).
 */
@Command(
    name = "waymark",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "Crash-safe checkpoints for long batch jobs.",
    // Later top-level verbs (ingest, demo, generate, torture, worker, wait) register here.
    subcommands = {
      IngestCommand.class,
      WorkerCommand.class,
      DemoCommand.class,
      GenerateCommand.class,
      TortureCommand.class,
      CheckpointCommand.class,
      WaitCommand.class,
      CommandLine.HelpCommand.class
    })
public final class Main {

  @Option(
      names = ErrorHandler.DEBUG,
      scope = ScopeType.INHERIT,
      description = "On error, print the stack trace too.")
  boolean debug;

  private Main() {}

  /** Runs the command and exits the JVM with its exit code. */
  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the command and returns its exit code, without exiting. */
  static int run(String... args) {
    return commandLine().execute(args);
  }

  /** The configured command line, writing to the given streams; for tests. */
  static int run(PrintWriter out, PrintWriter err, String... args) {
    CommandLine cmd = commandLine();
    cmd.setOut(out);
    cmd.setErr(err);
    return cmd.execute(args);
  }

  static CommandLine commandLine() {
    CommandLine cmd = new CommandLine(new Main());
    ErrorHandler errors = new ErrorHandler();
    cmd.setExecutionExceptionHandler(errors);
    cmd.setParameterExceptionHandler(errors);
    cmd.setExitCodeExceptionMapper(ExitCode.MAPPER);
    listExitCodes(cmd);
    return cmd;
  }

  private static void listExitCodes(CommandLine cmd) {
    cmd.getCommandSpec().usageMessage().exitCodeListHeading("%nExit codes:%n");
    cmd.getCommandSpec().usageMessage().exitCodeList(ExitCode.helpList());
    for (CommandLine sub : cmd.getSubcommands().values()) {
      if (!(sub.getCommand() instanceof CommandLine.HelpCommand)) {
        listExitCodes(sub);
      }
    }
  }

  /** The version recorded in the jar's manifest, if running from the jar. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {"waymark " + (v == null ? "(development build)" : v)};
    }
  }
}
