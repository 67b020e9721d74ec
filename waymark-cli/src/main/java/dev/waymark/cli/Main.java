package dev.waymark.cli;

import java.io.PrintWriter;
import java.util.List;
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
 *
 * <p>A command line that names a verb gets a {@link CommandLine} with only that verb: picocli reads
 * every option of every command it is given, by reflection, before it parses anything, and for all
 * of them that took longer than the rest of a resumed run's start-up (BENCHMARKS.md, "Session 3:
 * time to first commit"). Help, a mistyped verb and anything else get them all.
 */
@Command(
    name = "waymark",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "Crash-safe checkpoints for long batch jobs.")
public final class Main {
  /** The verbs, in the order help lists them; a new top-level verb registers here. */
  static final List<Class<?>> VERBS =
      List.of(
          IngestCommand.class,
          WorkerCommand.class,
          DemoCommand.class,
          GenerateCommand.class,
          TortureCommand.class,
          CheckpointCommand.class,
          WaitCommand.class,
          CommandLine.HelpCommand.class);

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
    return commandLine(verbOf(args)).execute(args);
  }

  /** The configured command line, writing to the given streams; for tests. */
  static int run(PrintWriter out, PrintWriter err, String... args) {
    CommandLine cmd = commandLine(verbOf(args));
    cmd.setOut(out);
    cmd.setErr(err);
    return cmd.execute(args);
  }

  /** The command line with every verb. */
  static CommandLine commandLine() {
    return commandLine(null);
  }

  /** The command line with only {@code verb}, or with every verb if it is null. */
  static CommandLine commandLine(Class<?> verb) {
    CommandLine cmd = new CommandLine(new Main());
    for (Class<?> v : verb == null ? VERBS : List.of(verb)) {
      cmd.addSubcommand(v);
    }
    ErrorHandler errors = new ErrorHandler();
    cmd.setExecutionExceptionHandler(errors);
    cmd.setParameterExceptionHandler(errors);
    cmd.setExitCodeExceptionMapper(ExitCode.MAPPER);
    listExitCodes(cmd);
    return cmd;
  }

  /**
   * The verb that {@code args} run, if they name one plainly: the first argument, after any {@code
   * --debug}, is a verb's name or alias (never {@code help}, which needs the others). Null for
   * anything else (options such as {@code --help}, an {@code @file}, a mistyped verb), which then
   * gets every verb, and so picocli's own messages.
   */
  static Class<?> verbOf(String... args) {
    int i = 0;
    while (i < args.length && args[i].equals(ErrorHandler.DEBUG)) {
      i++;
    }
    if (i == args.length) {
      return null;
    }
    for (Class<?> v : VERBS) {
      Command c = v.getAnnotation(Command.class);
      if (v != CommandLine.HelpCommand.class
          && (c.name().equals(args[i]) || List.of(c.aliases()).contains(args[i]))) {
        return v;
      }
    }
    return null;
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
