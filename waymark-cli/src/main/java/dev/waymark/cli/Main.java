package dev.waymark.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the {@code waymark} command. */
@Command(
    name = "waymark",
    mixinStandardHelpOptions = true,
    subcommands = {DemoCommand.class})
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    System.exit(new CommandLine(new Main()).execute(args));
  }
}
