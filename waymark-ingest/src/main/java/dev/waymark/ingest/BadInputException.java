package dev.waymark.ingest;

import dev.waymark.WaymarkException;
import dev.waymark.checkpoint.Names;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Thrown when an input file is malformed: the file is at fault, not Waymark and not the database,
 * so retrying cannot help. Maps to {@link WaymarkException.Kind#BAD_INPUT} (exit code 5).
 *
 * <p>The message names the file, the position (line, column and byte offset, each counted from the
 * start of the file, BOM included; lines and columns from 1, columns in bytes, byte offsets from
 * 0), the record (counted from 1; {@code 0} means the problem lies before the first record, e.g. in
 * a CSV header or the top-level value) and the reason, then says what to do. For example:
 *
 * <pre>
 * Bad input in /feed/skus_00017.json at line 3, column 14 (byte 52), record 2: duplicate key
 * "price" in one object. Fix or replace the file; with --on-bad-file quarantine the job records
 * it and moves on.
 * </pre>
 *
 * <p>Immutable and thread-safe.
 */
public final class BadInputException extends WaymarkException {

  /** What is wrong with the input. Stable: tools may switch on it. */
  public enum Reason {
    /** The file has no bytes, but its format needs some (a JSON array, a CSV header). */
    EMPTY_FILE,
    /** The file ends in the middle of a value. */
    TRUNCATED,
    /** The bytes are not JSON. */
    INVALID_JSON,
    /** The top-level value is not what the format needs (e.g. an object where an array goes). */
    WRONG_TOP_LEVEL,
    /** A record is a JSON value other than an object. */
    NOT_AN_OBJECT,
    /** Bytes follow the end of a JSON-array file's array. */
    TRAILING_DATA,
    /** A byte sequence that is not well-formed UTF-8 (including overlong forms and surrogates). */
    INVALID_UTF8,
    /** The file is in another encoding (a UTF-16 or UTF-32 byte-order mark). */
    UNSUPPORTED_ENCODING,
    /**
     * A raw NUL byte; or, into PostgreSQL, whose text and jsonb cannot hold U+0000, an escaped
     * {@code \u0000} in a string (which SQLite stores).
     */
    NUL_BYTE,
    /** An escaped UTF-16 surrogate without its other half, which no UTF-8 text can hold. */
    LONE_SURROGATE,
    /** The same key twice in one JSON object, or the same column name twice in a CSV header. */
    DUPLICATE_KEY,
    /** A record nested deeper than the limit. */
    TOO_DEEP,
    /** A number too long, or with an exponent too large, to hold exactly. */
    NUMBER_OUT_OF_RANGE,
    /** A blank line where the format does not allow one (anywhere but the end of the file). */
    BLANK_LINE,
    /** An NDJSON line holding more or less than one whole record. */
    NOT_ONE_RECORD_PER_LINE,
    /** A CSV record with more or fewer fields than the header. */
    CSV_FIELD_COUNT,
    /** A CSV quoted field still open at the end of the file. */
    CSV_UNTERMINATED_QUOTE,
    /** A CSV syntax error other than the above: a stray quote, a bare carriage return. */
    CSV_SYNTAX,
    /** A CSV header with an empty column name or too many columns. */
    CSV_HEADER,
    /** A single value (string, CSV field) larger than the limit. */
    VALUE_TOO_LONG,
    /** A record lacks a field that the dedup key needs, or holds a value it cannot hash. */
    DEDUP_KEY,
    /**
     * The name matches the input glob but is not a regular file: a directory, a broken link, a link
     * loop, a FIFO, socket or device.
     */
    NOT_A_FILE,
    /**
     * The database refused a value of the file (PostgreSQL cannot store {@code \u0000} in jsonb).
     */
    NOT_STORABLE
  }

  private static final String FIX =
      " Fix or replace the file; with --on-bad-file quarantine the job records it and moves on.";

  private static final String QUARANTINED =
      " Quarantined: the job moved past it. Fix or replace the file, then run again with --rescan"
          + " to load it (rows already loaded are skipped by their dedup key).";

  private final Path file;
  private final long line;
  private final long column;
  private final long byteOffset;
  private final long recordNumber;
  private final Reason reason;
  private final String detail;
  private final boolean changedWhileRead;

  /**
   * Creates the exception.
   *
   * @param file the input file
   * @param line the line of the problem, from 1; {@code 0} if unknown
   * @param column the column of the problem in bytes, from 1; {@code 0} if unknown
   * @param byteOffset the byte offset of the problem, from 0; {@code -1} if unknown
   * @param recordNumber the record being read, from 1; {@code 0} before the first record
   * @param reason the category
   * @param detail what is wrong, in a phrase that completes "record 2: ..."
   * @param cause the parser's exception, if any
   */
  public BadInputException(
      Path file,
      long line,
      long column,
      long byteOffset,
      long recordNumber,
      Reason reason,
      String detail,
      Throwable cause) {
    this(file, line, column, byteOffset, recordNumber, reason, detail, cause, false);
  }

  /**
   * Creates the exception for a file that may have been changed while it was read ({@code
   * changedWhileRead}: it shrank under the reader). Such a file is not malformed: it is never
   * quarantined, whatever {@code --on-bad-file} says, since restored it loads.
   */
  public BadInputException(
      Path file,
      long line,
      long column,
      long byteOffset,
      long recordNumber,
      Reason reason,
      String detail,
      Throwable cause,
      boolean changedWhileRead) {
    super(
        Kind.BAD_INPUT, problem(file, line, column, byteOffset, recordNumber, detail) + FIX, cause);
    this.changedWhileRead = changedWhileRead;
    this.file = Objects.requireNonNull(file, "file");
    this.line = line;
    this.column = column;
    this.byteOffset = byteOffset;
    this.recordNumber = recordNumber;
    this.reason = Objects.requireNonNull(reason, "reason");
    this.detail = Names.printable(Objects.requireNonNull(detail, "detail"));
  }

  /**
   * The message for a file that {@code --on-bad-file quarantine} recorded and passed: what is wrong
   * and where, then how to load it once fixed (the cursor has moved past it, so only a rescan reads
   * it again).
   */
  public String quarantinedMessage() {
    return problem(file, line, column, byteOffset, recordNumber, detail) + QUARANTINED;
  }

  private static String problem(
      Path file, long line, long column, long byteOffset, long recordNumber, String detail) {
    StringBuilder m = new StringBuilder("Bad input in ").append(Names.printable(file.toString()));
    if (line > 0) {
      m.append(" at line ").append(line);
      if (column > 0) {
        m.append(", column ").append(column);
      }
      if (byteOffset >= 0) {
        m.append(" (byte ").append(byteOffset).append(')');
      }
    } else if (byteOffset >= 0) {
      m.append(" at byte ").append(byteOffset);
    }
    m.append(recordNumber > 0 ? ", record " + recordNumber : ", before the first record");
    // A key or header name quoted from the file must not move the cursor or color the terminal.
    m.append(": ").append(Names.printable(detail));
    if (!detail.endsWith(".")) {
      m.append('.');
    }
    return m.toString();
  }

  /** The malformed file. */
  public Path file() {
    return file;
  }

  /** The line of the problem, counted from 1; {@code 0} if unknown. */
  public long line() {
    return line;
  }

  /** The column of the problem in bytes, counted from 1; {@code 0} if unknown. */
  public long column() {
    return column;
  }

  /** The byte offset of the problem from the start of the file; {@code -1} if unknown. */
  public long byteOffset() {
    return byteOffset;
  }

  /** The record being read, counted from 1; {@code 0} if the problem precedes the first record. */
  public long recordNumber() {
    return recordNumber;
  }

  /** The category of the problem. */
  /** Whether the file changed (shrank) while it was read, rather than being malformed. */
  public boolean changedWhileRead() {
    return changedWhileRead;
  }

  public Reason reason() {
    return reason;
  }

  /**
   * The reason in words, without the position and the advice; control and invisible characters (of
   * a key or header name quoted from the file) written as {@code \}{@code uXXXX}.
   */
  public String detail() {
    return detail;
  }
}
