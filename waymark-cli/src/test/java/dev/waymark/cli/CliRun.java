package dev.waymark.cli;

import dev.waymark.checkpoint.internal.Json;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/** Runs {@code waymark} in-process and captures what it prints. */
record CliRun(int exitCode, String out, String err) {

  static CliRun waymark(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
    return new CliRun(code, out.toString(), err.toString());
  }

  /** Stdout's lines, none if it printed nothing. */
  List<String> lines() {
    return out.isEmpty() ? List.of() : List.of(out.split("\n"));
  }

  /** Stdout parsed as the one JSON object that {@code --json} prints. */
  @SuppressWarnings("unchecked")
  Map<String, Object> json() {
    try {
      return (Map<String, Object>) Json.parse(out.strip().getBytes(StandardCharsets.UTF_8));
    } catch (Json.ParseException e) {
      throw new AssertionError("stdout is not one JSON object: " + out, e);
    }
  }

  @SuppressWarnings("unchecked")
  static List<Map<String, Object>> list(Object o) {
    return (List<Map<String, Object>>) o;
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> map(Object o) {
    return (Map<String, Object>) o;
  }

  @Override
  public String toString() {
    return "exit " + exitCode + "\n--- out\n" + out + "--- err\n" + err;
  }
}
