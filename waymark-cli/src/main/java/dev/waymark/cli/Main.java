package dev.waymark.cli;

/** Entry point of the {@code waymark} command. */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    System.out.println("waymark: the CLI is being built");
  }
}
