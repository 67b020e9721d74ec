package dev.waymark.ingest;

import dev.waymark.checkpoint.Names;
import dev.waymark.ingest.BadInputException.Reason;
import dev.waymark.ingest.CanonicalJson.NumberMode;
import dev.waymark.ingest.CanonicalJson.Sink;
import dev.waymark.ingest.CanonicalJson.Unencodable;
import dev.waymark.ingest.source.SourceRecord;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The idempotency key of a record: lowercase hex SHA-256 of its RFC 8785 (JCS) canonical JSON
 * ({@link CanonicalJson}), 64 characters. Two records get the same key exactly when they are the
 * same JSON value, however their keys were ordered or their whitespace laid out; the sink inserts
 * each key once ({@code ON CONFLICT (dedup_key) DO NOTHING}). Immutable and thread-safe.
 *
 * <pre>{@code
 * DedupKey key = DedupKey.parse("hash");              // the whole record
 * DedupKey byId = DedupKey.parse("fields:sku_id,vendor");
 * String k = key.keyOf(record);
 * }</pre>
 *
 * <p><b>Whole record</b> ({@code hash}, the default): the key covers every field.
 *
 * <p><b>Listed fields</b> ({@code fields:a,b}): the key is the hash of the canonical object made of
 * just those top-level fields, {@code {"a":...,"b":...}}, so the order of the list does not matter
 * and the field names take part. A record that lacks a listed field is refused ({@link
 * IllegalArgumentException}, or {@link BadInputException} with the record's position): mapping it
 * to null would give every such record one shared key, and all but the first would be dropped
 * silently as duplicates. A field present with the value {@code null} is hashed as null.
 *
 * <p><b>Numbers</b> follow {@link NumberMode#EXACT} unless {@link #withNumbers} says otherwise: two
 * different big integers never share a key, and the key equals strict JCS's for every number that
 * JCS preserves.
 *
 * <p><b>Not the reference pipeline's key.</b> The chapter's Python pipeline hashes {@code
 * json.dumps(record, sort_keys=True)}, which puts a space after {@code :} and {@code ,}, escapes
 * non-ASCII as {@code \}{@code uXXXX}, sorts keys by code point and formats floats with Python's
 * {@code repr}; its keys therefore differ from Waymark's for every record. Waymark's key is JCS by
 * design, so that any language with an RFC 8785 library can compute it.
 */
public final class DedupKey {

  private static final String WHOLE = "hash";
  private static final String FIELDS = "fields:";
  private static final int FIELDS_SHOWN = 10; // of a record that lacks a key field, in its message

  private static final ThreadLocal<MessageDigest> SHA256 =
      ThreadLocal.withInitial(
          () -> {
            try {
              return MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
              throw new IllegalStateException("every Java platform has SHA-256", e);
            }
          });
  private static final ThreadLocal<Sink> SINK = ThreadLocal.withInitial(() -> new Sink(1024));

  private final List<String> fields;
  private final NumberMode numbers;

  private DedupKey(List<String> fields, NumberMode numbers) {
    this.fields = fields;
    this.numbers = numbers;
  }

  /** The key over the whole record ({@code --dedup-key hash}). */
  public static DedupKey wholeRecord() {
    return new DedupKey(List.of(), NumberMode.EXACT);
  }

  /**
   * The key over the listed top-level fields only ({@code --dedup-key fields:a,b}).
   *
   * @throws IllegalArgumentException if the list is empty, or a name is empty or repeated
   */
  public static DedupKey ofFields(List<String> names) {
    if (names.isEmpty()) {
      throw new IllegalArgumentException(
          "a fields: dedup key needs at least one field name, e.g. fields:sku_id");
    }
    LinkedHashSet<String> unique = new LinkedHashSet<>();
    for (String name : names) {
      Objects.requireNonNull(name, "field name");
      if (name.isEmpty()) {
        throw new IllegalArgumentException("a dedup key field name is empty in " + names);
      }
      if (!unique.add(name)) {
        throw new IllegalArgumentException(
            "the dedup key lists field '" + name + "' twice in " + names);
      }
    }
    return new DedupKey(List.copyOf(unique), NumberMode.EXACT);
  }

  /**
   * Parses the command-line form: {@code hash}, or {@code fields:} followed by comma-separated
   * top-level field names (taken exactly, spaces included).
   *
   * @throws IllegalArgumentException for any other text; the message shows both forms
   */
  public static DedupKey parse(String spec) {
    if (spec.equals(WHOLE)) {
      return wholeRecord();
    }
    if (spec.startsWith(FIELDS)) {
      return ofFields(List.of(spec.substring(FIELDS.length()).split(",", -1)));
    }
    throw new IllegalArgumentException(
        "unknown dedup key '"
            + spec
            + "'; use 'hash' (the whole record) or 'fields:a,b' (only fields a and b)");
  }

  /** Returns a key that treats numbers per {@code mode}; see {@link NumberMode}. */
  public DedupKey withNumbers(NumberMode mode) {
    return new DedupKey(fields, Objects.requireNonNull(mode, "mode"));
  }

  /** The command-line form: {@code hash} or {@code fields:a,b}. */
  public String spec() {
    return fields.isEmpty() ? WHOLE : FIELDS + String.join(",", fields);
  }

  /** The listed fields, or an empty list for the whole record. */
  public List<String> fields() {
    return fields;
  }

  /** How numbers are canonicalized. */
  public NumberMode numbers() {
    return numbers;
  }

  /**
   * Returns the key of {@code record}: 64 lowercase hex digits.
   *
   * @throws IllegalArgumentException if a listed field is missing, or the record holds a value
   *     {@link CanonicalJson} cannot encode (or, per the {@link NumberMode}, a number it refuses);
   *     the message names the field
   */
  public String keyOf(Map<String, ?> record) {
    Object subject = subject(record);
    Sink sink = SINK.get();
    sink.reset();
    CanonicalJson.write(subject, numbers, sink);
    MessageDigest sha = SHA256.get();
    sha.update(sink.array(), 0, sink.size());
    return HexFormat.of().formatHex(sha.digest());
  }

  /**
   * Returns the key of a record read from a file.
   *
   * @throws BadInputException with reason {@link Reason#DEDUP_KEY}, positioned at the record, for
   *     the cases where {@link #keyOf(Map)} throws {@link IllegalArgumentException}
   */
  public String keyOf(SourceRecord record) {
    try {
      return keyOf(record.fields());
    } catch (IllegalArgumentException e) {
      throw record.refuse(Reason.DEDUP_KEY, e.getMessage() + " (dedup key " + spec() + ")");
    }
  }

  /**
   * A record's key together with the canonical JSON it hashes, and whether a string in it holds
   * U+0000 (which PostgreSQL cannot store), noticed during the same encoding.
   */
  record Keyed(String key, String canonical, boolean nul) {}

  /**
   * Returns the key of a record read from a file together with its canonical JSON in {@link
   * NumberMode#EXACT} (the runner's payload), from one encoding, when this key covers the whole
   * record with exact numbers; otherwise {@code null}, and the caller encodes the payload apart.
   *
   * @throws BadInputException as {@link #keyOf(SourceRecord)}
   */
  Keyed keyAndPayload(SourceRecord record) {
    if (!fields.isEmpty() || numbers != NumberMode.EXACT) {
      return null;
    }
    Sink sink = SINK.get();
    sink.reset();
    try {
      CanonicalJson.write(record.fields(), numbers, sink);
    } catch (IllegalArgumentException e) {
      throw record.refuse(Reason.DEDUP_KEY, e.getMessage() + " (dedup key " + spec() + ")");
    }
    MessageDigest sha = SHA256.get();
    sha.update(sink.array(), 0, sink.size());
    return new Keyed(
        HexFormat.of().formatHex(sha.digest()),
        new String(sink.array(), 0, sink.size(), StandardCharsets.UTF_8),
        sink.nul);
  }

  /** The canonical JSON that {@link #keyOf(Map)} hashes, for inspection and tests. */
  public String canonicalForm(Map<String, ?> record) {
    return CanonicalJson.toString(subject(record), numbers);
  }

  private Object subject(Map<String, ?> record) {
    if (fields.isEmpty()) {
      return record;
    }
    Map<String, Object> picked = new LinkedHashMap<>(fields.size() * 2);
    List<String> missing = null;
    for (String f : fields) {
      if (record.containsKey(f)) {
        picked.put(f, record.get(f));
      } else {
        if (missing == null) {
          missing = new ArrayList<>();
        }
        missing.add(f);
      }
    }
    if (missing != null) {
      List<String> has = record.keySet().stream().sorted().limit(FIELDS_SHOWN).toList();
      throw new Unencodable(
          "the record has no field "
              + quoted(missing)
              + ", which the dedup key needs; "
              + (has.isEmpty()
                  ? "it has no fields"
                  : "its fields are " + quoted(has) + (record.size() > FIELDS_SHOWN ? ", ..." : ""))
              + ". Every record must have each key field (a JSON null counts as present); if a"
              + " name in --dedup-key is mistyped, correct it");
    }
    return picked;
  }

  private static String quoted(List<String> names) {
    return String.join(", ", names.stream().map(n -> "'" + Names.printable(n) + "'").toList());
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof DedupKey k
        && k.numbers == numbers
        && new LinkedHashSet<>(k.fields).equals(new LinkedHashSet<>(fields));
  }

  @Override
  public int hashCode() {
    return Objects.hash(new LinkedHashSet<>(fields), numbers);
  }

  @Override
  public String toString() {
    return spec() + (numbers == NumberMode.EXACT ? "" : " (numbers " + numbers + ")");
  }
}
