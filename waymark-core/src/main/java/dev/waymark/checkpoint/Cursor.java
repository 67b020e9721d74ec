package dev.waymark.checkpoint;

import dev.waymark.checkpoint.internal.Json;
import java.util.Collections;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.TreeMap;

/**
 * A source position: a small JSON object of string, integer and boolean fields that tells a job
 * where its committed work ends. Immutable and thread-safe.
 *
 * <p>A cursor names a position in the source (a file name and count, an offset, a key), never a
 * wall-clock time: resuming by time skips late data and repeats early data. {@code waymark
 * checkpoint audit} flags fields that look like times.
 *
 * <p>The directory source uses {@link #ofFile}: {@code
 * {"file":"skus_08216.json","files":8217,"names":"3c5e0f9a81d2b477"}}, the last committed file's
 * name, the number of files at or before it in the sorted listing, and a digest of their names (see
 * {@link #NAMES}).
 */
public final class Cursor {
  /** Largest canonical encoding accepted, in bytes. A cursor is a position, not a payload. */
  public static final int MAX_ENCODED_BYTES = 4096;

  /** Field names used by {@link #ofFile}. */
  public static final String FILE = "file", FILES = "files";

  /**
   * The directory cursor's digest of the names at or before its file: the first 16 hex digits of
   * the SHA-256 of those names in listing order, each in UTF-8 followed by a newline. With it a
   * resumed run tells a file deleted and another arrived late (as many files, not the same ones)
   * from an unchanged folder, which {@link #FILES} alone cannot. Cursors written before it have
   * none, and are checked by count only.
   */
  public static final String NAMES = "names";

  private final Map<String, Object> fields;

  private Cursor(Map<String, Object> fields) {
    this.fields = fields;
  }

  /**
   * Returns a cursor with the given fields.
   *
   * @throws IllegalArgumentException if a value is not a {@code String}, {@code Integer}, {@code
   *     Long} or {@code Boolean}, if there are no fields, or if the encoding exceeds {@value
   *     #MAX_ENCODED_BYTES} bytes
   */
  public static Cursor of(Map<String, ?> fields) {
    if (fields.isEmpty()) {
      throw new IllegalArgumentException("a cursor needs at least one field");
    }
    TreeMap<String, Object> copy = new TreeMap<>();
    for (Map.Entry<String, ?> e : fields.entrySet()) {
      Object v = e.getValue();
      if (v instanceof Integer i) {
        v = i.longValue();
      }
      if (!(v instanceof String || v instanceof Long || v instanceof Boolean)) {
        throw new IllegalArgumentException(
            "cursor field '"
                + e.getKey()
                + "' must be a string, an integer or a boolean, found "
                + (v == null ? "null" : v.getClass().getSimpleName()));
      }
      copy.put(e.getKey(), v);
    }
    Cursor cursor = new Cursor(Collections.unmodifiableMap(copy));
    int size = Json.encode(cursor.fields).length;
    if (size > MAX_ENCODED_BYTES) {
      throw new IllegalArgumentException(
          "cursor is " + size + " bytes encoded; the limit is " + MAX_ENCODED_BYTES);
    }
    return cursor;
  }

  /**
   * The directory source's cursor: the last committed file and how many files of the sorted listing
   * are at or before it.
   */
  public static Cursor ofFile(String lastFile, long filesAtOrBefore) {
    return of(Map.of(FILE, lastFile, FILES, requireAFile(filesAtOrBefore)));
  }

  /**
   * The directory source's cursor with the digest of the names at or before {@code lastFile} (see
   * {@link #NAMES}).
   */
  public static Cursor ofFile(String lastFile, long filesAtOrBefore, String namesDigest) {
    return of(Map.of(FILE, lastFile, FILES, requireAFile(filesAtOrBefore), NAMES, namesDigest));
  }

  private static long requireAFile(long filesAtOrBefore) {
    if (filesAtOrBefore < 1) {
      throw new IllegalArgumentException("filesAtOrBefore must be at least 1: " + filesAtOrBefore);
    }
    return filesAtOrBefore;
  }

  /** A cursor for sources addressed by a numeric offset (a byte offset, a log offset). */
  public static Cursor ofOffset(long offset) {
    return of(Map.of("offset", offset));
  }

  /** A cursor for sources addressed by a key (the last committed primary key, say). */
  public static Cursor ofKey(String key) {
    return of(Map.of("key", key));
  }

  /** The fields, sorted by name. */
  public Map<String, Object> fields() {
    return fields;
  }

  /** The string field {@code name}, if present and a string. */
  public Optional<String> string(String name) {
    return fields.get(name) instanceof String s ? Optional.of(s) : Optional.empty();
  }

  /** The integer field {@code name}, if present and an integer. */
  public OptionalLong number(String name) {
    return fields.get(name) instanceof Long l ? OptionalLong.of(l) : OptionalLong.empty();
  }

  /** The canonical JSON form, e.g. {@code {"file":"skus_08216.json","files":8217}}. */
  public String toJson() {
    return Json.write(fields);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Cursor other && fields.equals(other.fields);
  }

  @Override
  public int hashCode() {
    return fields.hashCode();
  }

  @Override
  public String toString() {
    return toJson();
  }
}
