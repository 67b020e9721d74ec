package dev.waymark.ingest.source;

import dev.waymark.ingest.BadInputException;
import java.nio.file.Path;
import java.util.Map;

/**
 * One record read from an input file, with where it starts. Immutable and thread-safe.
 *
 * <p>{@link #fields()} is an unmodifiable map in the order the file wrote the keys. Its values are
 * JSON values as plain Java objects:
 *
 * <ul>
 *   <li>{@code null} for JSON null (use {@link Map#containsKey} to tell it from a missing key);
 *   <li>{@link String};
 *   <li>{@link Boolean};
 *   <li>{@link Long} for an integer literal (no fraction, no exponent) that fits, {@link
 *       java.math.BigInteger} for a larger one;
 *   <li>{@link java.math.BigDecimal} for a literal with a fraction or an exponent, holding exactly
 *       the digits written ({@code 1.10} keeps its scale; no digit is ever lost to a double);
 *   <li>an unmodifiable {@code List<Object>} for an array, an unmodifiable {@code Map<String,
 *       Object>} for an object.
 * </ul>
 *
 * CSV records hold only strings.
 *
 * @param file the input file
 * @param number the record's number in the file, counted from 1
 * @param line the line where the record starts, counted from 1
 * @param column the column (in bytes, from 1) where the record starts
 * @param byteOffset the offset of the record's first byte in the file
 * @param fields the record itself
 */
public record SourceRecord(
    Path file, long number, long line, long column, long byteOffset, Map<String, Object> fields) {

  /**
   * Returns an exception that refuses this record for {@code reason}, positioned at its start; for
   * the runner to throw when a record parses but cannot be used (a missing dedup-key field).
   */
  public BadInputException refuse(BadInputException.Reason reason, String detail) {
    return new BadInputException(file, line, column, byteOffset, number, reason, detail, null);
  }
}
