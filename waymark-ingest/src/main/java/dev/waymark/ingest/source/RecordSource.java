package dev.waymark.ingest.source;

import dev.waymark.ingest.BadInputException;
import java.io.ByteArrayInputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Path;
import java.util.Map;

/**
 * One input file read as a stream of records, one record in memory at a time: memory does not grow
 * with the file's size. Not thread-safe: one thread reads a source, then closes it.
 *
 * <pre>{@code
 * try (RecordSource source = RecordSource.open(path, Format.JSON_ARRAY)) {
 *   for (SourceRecord r; (r = source.next()) != null; ) {
 *     String key = dedupKey.keyOf(r);
 *     ...
 *   }
 * }
 * }</pre>
 *
 * <p>Sources are strict: any malformation throws {@link BadInputException} naming the file, the
 * line, column and byte offset, the record and the reason, and the source is then unusable. A file
 * that is refused may have yielded records before the bad spot, so a caller commits nothing from a
 * file until {@link #next()} has returned {@code null}: the end of the file is checked (trailing
 * data after a JSON array, an unterminated CSV quote) before that {@code null}.
 *
 * <p>Rules shared by all formats: the file is UTF-8 (a UTF-8 byte-order mark at offset 0 is
 * skipped, so Excel's CSV exports work; UTF-16 and UTF-32 are refused with the {@code iconv}
 * command that converts them); invalid UTF-8 and raw NUL bytes are refused; positions count bytes
 * from the start of the file, BOM included. JSON formats also refuse duplicate keys in one object,
 * nesting deeper than {@value #MAX_DEPTH} levels (the record itself is level 1), numbers longer
 * than 1,000 characters, strings longer than 20,000,000 characters, and {@code \}{@code u} escapes
 * that leave half a surrogate pair. Numbers are kept exactly (see {@link SourceRecord}).
 */
public interface RecordSource extends Closeable {

  /** The deepest nesting of objects and arrays in a JSON record; the record itself is level 1. */
  int MAX_DEPTH = 64;

  /** The longest CSV field, in bytes, and (in characters) the longest JSON string. */
  int MAX_VALUE_LENGTH = 20_000_000;

  /**
   * Opens {@code file} for reading in {@code format}. Opening reads nothing but the first bytes;
   * problems at the very start (a UTF-16 mark, a 0-byte JSON-array or CSV file, a JSON-array file
   * whose top-level value is not an array, a bad CSV header) are reported here.
   *
   * @throws BadInputException if the start of the file is malformed
   * @throws UncheckedIOException if the file cannot be opened or read
   */
  static RecordSource open(Path file, Format format) {
    InputStream in;
    try {
      in = ShrinkGuard.open(file);
    } catch (IOException e) {
      String why = e instanceof AccessDeniedException ? "Permission denied" : e.getMessage();
      throw new UncheckedIOException("cannot open input file " + file + ": " + why, e);
    }
    try {
      return switch (format) {
        case JSON_ARRAY, NDJSON -> new JsonRecordSource(file, in, format);
        case CSV -> new CsvRecordSource(file, in);
      };
    } catch (RuntimeException e) {
      try {
        in.close();
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  /**
   * Reads one JSON object from text (a payload stored earlier, say) exactly as a record of an
   * NDJSON file is read, so that its fields are the values a dedup key of the original record saw.
   *
   * @param origin what the text is, for messages in place of a file name
   * @throws BadInputException if the text is not one JSON object, or breaks a rule above
   */
  static Map<String, Object> readObject(String origin, String json) {
    byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
    try (RecordSource source =
        new JsonRecordSource(Path.of(origin), new ByteArrayInputStream(bytes), Format.NDJSON)) {
      SourceRecord record = source.next();
      if (record == null || source.next() != null) {
        throw new IllegalArgumentException(origin + " is not one JSON object: " + json);
      }
      return record.fields();
    }
  }

  /**
   * Returns the next record, or {@code null} once the whole file has been read and found
   * well-formed to its last byte.
   *
   * @throws BadInputException if the file is malformed at or before the next record (or, when
   *     {@code null} would be returned, anywhere after the last record)
   * @throws UncheckedIOException if reading fails: a transient condition, worth a retry
   * @throws IllegalStateException if the source is closed or has already thrown
   */
  SourceRecord next();

  /** The file being read. */
  Path file();

  /** The format being read. */
  Format format();

  /** The number of records {@link #next()} has returned so far. */
  long recordsRead();

  /**
   * Closes the file. Idempotent.
   *
   * @throws UncheckedIOException if closing fails
   */
  @Override
  void close();
}
