package dev.waymark.ingest.source;

import dev.waymark.ingest.BadInputException;
import dev.waymark.ingest.BadInputException.Reason;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The CSV source: an RFC 4180 parser over the bytes of {@link CheckedInput}.
 *
 * <p>Design notes. It parses bytes, not characters: in UTF-8 the four bytes that matter ({@code ,}
 * {@code "} CR LF) never occur inside a multi-byte character, so fields are cut on bytes and
 * decoded once (the input has already been checked to be UTF-8), and every position is an exact
 * byte offset. A quoted field may span lines; positions name physical lines. Memory is bounded by
 * the largest field ({@value RecordSource#MAX_VALUE_LENGTH} bytes) and the header's width ({@value
 * #MAX_COLUMNS} columns), so an unterminated quote in a 1 GB file fails fast instead of filling the
 * heap.
 */
final class CsvRecordSource implements RecordSource {

  /** The widest header accepted. */
  static final int MAX_COLUMNS = 10_000;

  private static final int EOF = -1;

  private final Path file;
  private final CheckedInput input;
  private final byte[] buf = new byte[1 << 16];
  private int pos;
  private int limit;

  /** File offset of {@code buf[0]}. */
  private long bufStart;

  private long line = 1;
  private long lineStart;
  private byte[] field = new byte[256];
  private int fieldLength;

  private final String[] header;
  private long records;
  private boolean done;
  private boolean failed;
  private boolean closed;

  // Where the row being read starts.
  private long rowLine;
  private long rowColumn;
  private long rowOffset;

  CsvRecordSource(Path file, InputStream in) {
    this.file = file;
    this.input = new CheckedInput(in);
    try {
      bufStart = input.bomLength();
      List<String> names = readRow(0);
      if (names == null) {
        throw new BadInputException(
            file,
            1,
            1,
            bufStart,
            0,
            Reason.EMPTY_FILE,
            input.consumed() == 0
                ? "the file is empty (0 bytes); a CSV file needs a header line"
                : "the file has no header line, only blank lines",
            null);
      }
      this.header = checkHeader(names);
    } catch (CheckedInput.Malformed e) {
      throw malformed(e);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read input file " + file + ": " + e.getMessage(), e);
    }
  }

  @Override
  public SourceRecord next() {
    if (done) {
      return null;
    }
    if (closed || failed) {
      throw new IllegalStateException("source " + file + " is " + (closed ? "closed" : "failed"));
    }
    try {
      List<String> row = readRow(header.length);
      if (row == null) {
        done = true;
        return null;
      }
      if (row.size() != header.length) {
        throw new BadInputException(
            file,
            rowLine,
            rowColumn,
            rowOffset,
            records + 1,
            Reason.CSV_FIELD_COUNT,
            "the record has "
                + (row.size() > header.length ? "more than " + header.length : row.size())
                + " field"
                + (row.size() == 1 ? "" : "s")
                + ", but the header has "
                + header.length
                + " (a comma inside a value needs the value in double quotes)",
            null);
      }
      LinkedHashMap<String, Object> fields = new LinkedHashMap<>(header.length * 2);
      for (int i = 0; i < header.length; i++) {
        fields.put(header[i], row.get(i));
      }
      records++;
      return new SourceRecord(
          file, records, rowLine, rowColumn, rowOffset, Collections.unmodifiableMap(fields));
    } catch (BadInputException e) {
      failed = true;
      throw e;
    } catch (CheckedInput.Malformed e) {
      throw malformed(e);
    } catch (IOException e) {
      failed = true;
      throw new UncheckedIOException("cannot read input file " + file + ": " + e.getMessage(), e);
    }
  }

  @Override
  public Path file() {
    return file;
  }

  @Override
  public Format format() {
    return Format.CSV;
  }

  @Override
  public long recordsRead() {
    return records;
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      input.close();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot close input file " + file, e);
    }
  }

  // ---------------------------------------------------------------- parsing

  private String[] checkHeader(List<String> names) {
    if (names.size() > MAX_COLUMNS) {
      throw bad(
          Reason.CSV_HEADER,
          rowLine,
          rowColumn,
          rowOffset,
          0,
          "the header has more than " + MAX_COLUMNS + " columns");
    }
    Map<String, Integer> seen = new HashMap<>();
    for (int i = 0; i < names.size(); i++) {
      String name = names.get(i);
      if (name.isBlank()) {
        throw bad(
            Reason.CSV_HEADER,
            rowLine,
            rowColumn,
            rowOffset,
            0,
            "column "
                + (i + 1)
                + " of the header has "
                + (name.isEmpty() ? "an empty" : "a blank")
                + " name; every column needs a name");
      }
      Integer before = seen.putIfAbsent(name, i + 1);
      if (before != null) {
        throw bad(
            Reason.DUPLICATE_KEY,
            rowLine,
            rowColumn,
            rowOffset,
            0,
            "the header names column \""
                + name
                + "\" twice (columns "
                + before
                + " and "
                + (i + 1)
                + ")");
      }
    }
    return names.toArray(new String[0]);
  }

  /**
   * Reads one row, or returns null at the end of the file. {@code expected} is the header's width
   * (0 while reading the header); a row is cut short once it is clearly too wide.
   */
  private List<String> readRow(int expected) throws IOException {
    markRow();
    int c = peek();
    if (c == EOF) {
      return null;
    }
    if (c == '\n' || c == '\r') {
      long blankLine = line;
      long blankOffset = offset();
      while (c == '\n' || c == '\r') {
        lineBreak();
        c = peek();
      }
      if (c == EOF) {
        return null;
      }
      throw bad(
          Reason.BLANK_LINE,
          blankLine,
          1,
          blankOffset,
          expected == 0 ? 0 : records + 1,
          "line "
              + blankLine
              + " is empty; in CSV empty lines are allowed only at the end of the file (write \"\""
              + " for an empty value in a one-column file)");
    }
    int cap = expected == 0 ? MAX_COLUMNS + 1 : expected + 1;
    List<String> fields = new ArrayList<>(expected == 0 ? 16 : expected);
    while (true) {
      String value = readField(expected);
      if (fields.size() < cap) {
        fields.add(value);
      }
      c = peek();
      if (c == ',') {
        read();
        continue;
      }
      if (c != EOF) {
        lineBreak();
      }
      return fields;
    }
  }

  private String readField(int expected) throws IOException {
    fieldLength = 0;
    if (peek() == '"') {
      long openLine = line;
      long openColumn = column();
      long openOffset = offset();
      read();
      while (true) {
        int c = read();
        if (c == EOF) {
          throw bad(
              Reason.CSV_UNTERMINATED_QUOTE,
              openLine,
              openColumn,
              openOffset,
              recordFor(expected),
              "a quoted field opened at line "
                  + openLine
                  + ", column "
                  + openColumn
                  + " is still open at the end of the file (unterminated quote)");
        }
        if (c == '"') {
          if (peek() != '"') {
            break;
          }
          read();
        }
        append(c, openLine, openColumn, openOffset, expected);
      }
      int after = peek();
      if (after != ',' && after != '\n' && after != '\r' && after != EOF) {
        throw bad(
            Reason.CSV_SYNTAX,
            line,
            column(),
            offset(),
            recordFor(expected),
            "unexpected "
                + printable(after)
                + " after the closing quote of a field; a quote inside a quoted field is written"
                + " twice (\"\")");
      }
    } else {
      long startLine = line;
      long startColumn = column();
      long startOffset = offset();
      while (true) {
        int c = peek();
        if (c == ',' || c == '\n' || c == '\r' || c == EOF) {
          break;
        }
        if (c == '"') {
          throw bad(
              Reason.CSV_SYNTAX,
              line,
              column(),
              offset(),
              recordFor(expected),
              "a double quote inside an unquoted field; enclose the whole field in double quotes"
                  + " and write the quote twice (\"\")");
        }
        append(read(), startLine, startColumn, startOffset, expected);
      }
    }
    return new String(field, 0, fieldLength, StandardCharsets.UTF_8);
  }

  private void append(int c, long line, long column, long offset, int expected) {
    if (fieldLength == field.length) {
      if (fieldLength >= MAX_VALUE_LENGTH) {
        throw bad(
            Reason.VALUE_TOO_LONG,
            line,
            column,
            offset,
            recordFor(expected),
            "a field longer than "
                + MAX_VALUE_LENGTH
                + " bytes (an unterminated quote makes the rest of the file one field)");
      }
      field = Arrays.copyOf(field, (int) Math.min((long) field.length * 2, MAX_VALUE_LENGTH));
    }
    field[fieldLength++] = (byte) c;
  }

  /** Consumes a line break: LF or CRLF. A bare CR is refused. */
  private void lineBreak() throws IOException {
    int c = read();
    if (c == '\r') {
      if (peek() != '\n') {
        throw bad(
            Reason.CSV_SYNTAX,
            line,
            column() - 1,
            offset() - 1,
            records + 1,
            "a carriage return not followed by a line feed; lines end with LF or CRLF");
      }
      read();
    }
  }

  private long recordFor(int expected) {
    return expected == 0 ? 0 : records + 1;
  }

  // ---------------------------------------------------------------- bytes and positions

  private int peek() throws IOException {
    if (pos == limit && !fill()) {
      return EOF;
    }
    return buf[pos] & 0xFF;
  }

  private int read() throws IOException {
    if (pos == limit && !fill()) {
      return EOF;
    }
    int c = buf[pos++] & 0xFF;
    if (c == '\n') {
      line++;
      lineStart = bufStart + pos;
    }
    return c;
  }

  private boolean fill() throws IOException {
    bufStart += limit;
    pos = 0;
    limit = 0;
    int n = input.read(buf, 0, buf.length);
    if (n <= 0) {
      return false;
    }
    limit = n;
    return true;
  }

  private long offset() {
    return bufStart + pos;
  }

  private long column() {
    return offset() - lineStart + 1;
  }

  private void markRow() {
    rowLine = line;
    rowColumn = column();
    rowOffset = offset();
  }

  private static String printable(int c) {
    return c >= 0x20 && c < 0x7F ? "'" + (char) c + "'" : String.format("byte 0x%02X", c);
  }

  private BadInputException bad(
      Reason reason, long line, long column, long offset, long record, String detail) {
    failed = true;
    return new BadInputException(file, line, column, offset, record, reason, detail, null);
  }

  private BadInputException malformed(CheckedInput.Malformed e) {
    failed = true;
    return new BadInputException(
        file,
        e.line,
        e.column,
        e.offset,
        header == null ? 0 : records + 1,
        e.reason,
        e.detail,
        e,
        e.changedWhileRead());
  }
}
