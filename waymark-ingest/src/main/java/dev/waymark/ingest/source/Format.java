package dev.waymark.ingest.source;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The layouts of an input file that {@link RecordSource} reads. Every format is UTF-8 text (a UTF-8
 * byte-order mark at the start is skipped; UTF-16 and UTF-32 are refused), contains no NUL byte,
 * and yields records that are JSON objects.
 */
public enum Format {
  /**
   * One JSON array of objects: {@code [{...}, {...}]}. The file must hold the array and nothing
   * after it but whitespace; {@code []} is a valid file of no records, a 0-byte file is not.
   */
  JSON_ARRAY("json-array"),

  /**
   * Newline-delimited JSON: one object per line, each object entirely on its line. Blank (empty or
   * whitespace-only) lines are allowed only at the end of the file, after the last record, where
   * editors and {@code echo} leave them; a blank line anywhere else is refused, because it usually
   * means a record was lost. A 0-byte file is a valid file of no records; a file of only blank
   * lines is not.
   */
  NDJSON("ndjson"),

  /**
   * Comma-separated values with a header line, RFC 4180: fields separated by {@code ,}, records by
   * CRLF or LF, fields that contain {@code ,}, {@code "} or line breaks enclosed in double quotes,
   * a quote inside them written twice. Each record becomes an object whose keys are the header's
   * column names and whose values are strings, exactly as written (no trimming, no type guessing).
   * Every record must have as many fields as the header. Empty lines are allowed only at the end of
   * the file (write {@code ""} for an empty value in a one-column file). A 0-byte file is refused:
   * the header is required; a header alone is a valid file of no records.
   */
  CSV("csv");

  private final String cliName;

  Format(String cliName) {
    this.cliName = cliName;
  }

  /** The name used on the command line: {@code json-array}, {@code ndjson} or {@code csv}. */
  public String cliName() {
    return cliName;
  }

  /**
   * Returns the format with the given command-line name, ignoring case.
   *
   * @throws IllegalArgumentException if no format has that name; the message lists the choices
   */
  public static Format fromCliName(String name) {
    for (Format f : values()) {
      if (f.cliName.equals(name.toLowerCase(Locale.ROOT))) {
        return f;
      }
    }
    throw new IllegalArgumentException(
        "unknown input format '"
            + name
            + "'; choose one of "
            + Arrays.stream(values()).map(Format::cliName).collect(Collectors.joining(", ")));
  }
}
