package dev.waymark.cli;

import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.internal.Json;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Model.CommandSpec;

/** Where a verb writes, and the small formatting helpers the verbs share. */
final class Output {
  final PrintWriter out;
  final PrintWriter err;

  Output(CommandSpec spec) {
    this.out = spec.commandLine().getOut();
    this.err = spec.commandLine().getErr();
  }

  /** Prints {@code value} as one line of canonical JSON (sorted keys). */
  void json(Object value) {
    out.println(Json.write(value));
    out.flush();
  }

  /** Reports a problem that does not stop the verb: {@code waymark: <message>} on stderr. */
  void problem(Throwable t) {
    err.println("waymark: " + ErrorHandler.message(t));
    err.flush();
  }

  void flush() {
    out.flush();
    err.flush();
  }

  /** A JSON object that keeps null values, so that every entry of a list has the same keys. */
  static Map<String, Object> object() {
    return new LinkedHashMap<>();
  }

  /** The fields of a checkpoint as {@code status --json} and friends print them. */
  static Map<String, Object> checkpointFields(Checkpoint c, Instant now) {
    Map<String, Object> m = object();
    m.put("sequence", c.sequence());
    m.put("epoch", c.epoch());
    m.put("cursor", c.cursor().fields());
    m.put("committed_at", c.committedAt().toString());
    m.put("age_seconds", Math.max(0, Duration.between(c.committedAt(), now).getSeconds()));
    return m;
  }

  static String path(Path p) {
    return p.toString();
  }

  /** An instant to the second, for tables; JSON and {@code show} keep the full precision. */
  static Instant seconds(Instant instant) {
    return instant.truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
  }

  /** {@code 45s}, {@code 12m05s}, {@code 3h07m}, {@code 2d04h}. */
  static String age(Instant then, Instant now) {
    long s = Math.max(0, Duration.between(then, now).getSeconds());
    if (s < 60) {
      return s + "s";
    }
    if (s < 3600) {
      return String.format("%dm%02ds", s / 60, s % 60);
    }
    if (s < 86400) {
      return String.format("%dh%02dm", s / 3600, s % 3600 / 60);
    }
    return String.format("%dd%02dh", s / 86400, s % 86400 / 3600);
  }

  /** A text table: columns padded to their widest cell, the last column not padded. */
  static final class Table {
    private final List<String[]> rows = new ArrayList<>();

    Table(String... header) {
      rows.add(header);
    }

    Table row(Object... cells) {
      String[] row = new String[cells.length];
      for (int i = 0; i < cells.length; i++) {
        row[i] = cells[i] == null ? "-" : cells[i].toString();
      }
      rows.add(row);
      return this;
    }

    void print(PrintWriter out, String indent) {
      int columns = rows.get(0).length;
      int[] width = new int[columns];
      for (String[] row : rows) {
        for (int i = 0; i < columns; i++) {
          width[i] = Math.max(width[i], row[i].length());
        }
      }
      for (String[] row : rows) {
        StringBuilder line = new StringBuilder(indent);
        for (int i = 0; i < columns; i++) {
          line.append(row[i]);
          if (i < columns - 1) {
            line.append(" ".repeat(width[i] - row[i].length() + 2));
          }
        }
        out.println(line.toString().stripTrailing());
      }
    }
  }
}
