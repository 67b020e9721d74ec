package dev.waymark.checkpoint.format;

import dev.waymark.checkpoint.CheckpointInvalidException;
import dev.waymark.checkpoint.CheckpointInvalidException.Reason;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.global.GlobalCheckpoint;
import dev.waymark.checkpoint.global.JobOutcome;
import dev.waymark.checkpoint.global.PartitionMark;
import dev.waymark.checkpoint.internal.Json;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Encodes and decodes the records of two-phase global checkpoints and of the job's success and
 * failure markers. Stateless and thread-safe.
 *
 * <h2>Format version 1</h2>
 *
 * Like a checkpoint ({@link CheckpointCodec}): one line of canonical JSON (keys sorted, no
 * insignificant whitespace, UTF-8) ending in {@code \n}, with a CRC-32C over the canonical encoding
 * of the other fields. Every record has {@code "format":"waymark-global"}, {@code "version":1},
 * {@code job}, {@code kind} and {@code crc32c}; the rest depends on the kind (shown on several
 * lines here, one on disk):
 *
 * <pre>
 * {"crc32c":"…","format":"waymark-global","issued_at":"2026-11-26T03:42:07.118Z","job":"nightly",
 *  "kind":"barrier","n":12,"version":1}
 * {"crc32c":"…","cursor":{"file":"skus_08216.json","files":2054},"format":"waymark-global",
 *  "job":"nightly","kind":"marker","marked_at":"…","n":12,"partition":"3","sequence":2054,"version":1}
 * {"completed_at":"…","crc32c":"…","cut":{"0":{"cursor":{…},"sequence":2050},"1":{"cursor":null,
 *  "sequence":0}},"format":"waymark-global","job":"nightly","kind":"complete","n":12,"version":1}
 * {"at":"…","checkpoint":13,"crc32c":"…","cut":{…},"format":"waymark-global","job":"nightly",
 *  "kind":"success","totals":{"duplicates":0,"files":14200,"new":2840000,"rows_read":2840000},
 *  "version":1}
 * {"at":"…","crc32c":"…","error":"…","error_kind":"BAD_INPUT","format":"waymark-global",
 *  "job":"nightly","kind":"failure","version":1}
 *
 *  field         kinds            meaning
 *  n             barrier, marker, the global checkpoint's number N
 *                complete
 *  partition     marker           the partition the marker is for
 *  cursor        marker, cut      the partition's committed cursor, null if it never committed
 *  sequence      marker, cut      that checkpoint's sequence, 0 if it never committed
 *  cut           complete,        every partition's {"cursor","sequence"}, by partition id
 *                success
 *  checkpoint    success          N of the final complete global checkpoint
 *  totals        success          files, rows_read, new, duplicates of the run
 *  error_kind    failure          WaymarkException kind: FAILURE, BAD_INPUT, ...
 *  error         failure          the run's error message
 *  issued_at, marked_at, completed_at, at   ISO-8601 UTC instants, for people only
 * </pre>
 *
 * <p>Decoding is as strict as a checkpoint's: any change to the bytes is detected and reported as a
 * {@link CheckpointInvalidException} naming the file (or row), what was expected and found, and the
 * fix.
 */
public final class GlobalRecordCodec {
  public static final int CURRENT_VERSION = 1;
  public static final String FORMAT = "waymark-global";

  /** The record kinds. */
  public static final String BARRIER = "barrier",
      MARKER = "marker",
      COMPLETE = "complete",
      SUCCESS = "success",
      FAILURE = "failure";

  private static final Set<String> COMMON =
      Set.of("format", "version", "job", "kind", CheckpointCodec.F_CRC);
  private static final Map<String, Set<String>> FIELDS =
      Map.of(
          BARRIER, Set.of("n", "issued_at"),
          MARKER, Set.of("n", "partition", "cursor", "sequence", "marked_at"),
          COMPLETE, Set.of("n", "cut", "completed_at"),
          SUCCESS, Set.of("checkpoint", "cut", "totals", "at"),
          FAILURE, Set.of("error_kind", "error", "at"));

  private GlobalRecordCodec() {}

  // ---------------------------------------------------------------- encoding

  public static byte[] encodeBarrier(String job, long n, Instant issuedAt) {
    Map<String, Object> r = header(job, BARRIER);
    r.put("n", n);
    r.put("issued_at", issuedAt.toString());
    return CheckpointCodec.encodeRecord(r);
  }

  public static byte[] encodeMarker(String job, long n, PartitionMark mark, Instant markedAt) {
    Map<String, Object> r = header(job, MARKER);
    r.put("n", n);
    r.put("partition", mark.partition());
    r.put("cursor", mark.cursor() == null ? Json.NULL : mark.cursor().fields());
    r.put("sequence", mark.sequence());
    r.put("marked_at", markedAt.toString());
    return CheckpointCodec.encodeRecord(r);
  }

  public static byte[] encode(GlobalCheckpoint g) {
    Map<String, Object> r = header(g.job(), COMPLETE);
    r.put("n", g.number());
    r.put("cut", cutFields(g.cut()));
    r.put("completed_at", g.completedAt().toString());
    return CheckpointCodec.encodeRecord(r);
  }

  public static byte[] encode(JobOutcome o) {
    Map<String, Object> r = header(o.job(), o.succeeded() ? SUCCESS : FAILURE);
    r.put("at", o.at().toString());
    if (o.succeeded()) {
      r.put("checkpoint", o.checkpoint());
      r.put("cut", cutFields(o.cut()));
      Map<String, Object> t = new TreeMap<>();
      t.put("files", o.totals().files());
      t.put("rows_read", o.totals().rowsRead());
      t.put("new", o.totals().newRows());
      t.put("duplicates", o.totals().duplicates());
      r.put("totals", t);
    } else {
      r.put("error_kind", o.errorKind());
      r.put("error", o.error());
    }
    return CheckpointCodec.encodeRecord(r);
  }

  /** The cut as canonical JSON fields: partition to {"cursor","sequence"}. */
  public static Map<String, Object> cutFields(Map<String, PartitionMark> cut) {
    Map<String, Object> fields = new TreeMap<>();
    for (PartitionMark m : cut.values()) {
      Map<String, Object> e = new TreeMap<>();
      e.put("cursor", m.cursor() == null ? Json.NULL : m.cursor().fields());
      e.put("sequence", m.sequence());
      fields.put(m.partition(), e);
    }
    return fields;
  }

  private static Map<String, Object> header(String job, String kind) {
    Map<String, Object> r = new TreeMap<>();
    r.put("format", FORMAT);
    r.put("version", (long) CURRENT_VERSION);
    r.put("job", job);
    r.put("kind", kind);
    return r;
  }

  // ---------------------------------------------------------------- decoding

  /**
   * Decodes a barrier record and returns its N.
   *
   * @param fix what the operator should do if the record is damaged, ending the message
   */
  public static long decodeBarrier(byte[] bytes, Path where, String job, String fix) {
    Decoder d = new Decoder(bytes, where, job, BARRIER, fix);
    d.instant("issued_at");
    return d.number("n");
  }

  /** Decodes partition marker {@code n}. */
  public static PartitionMark decodeMarker(
      byte[] bytes, Path where, String job, long n, String fix) {
    Decoder d = new Decoder(bytes, where, job, MARKER, fix);
    d.instant("marked_at");
    long found = d.number("n");
    if (found != n) {
      throw d.invalid("the marker is for another barrier", "n " + n, "n " + found);
    }
    return d.mark(d.string("partition"), d.record);
  }

  /** Decodes a "global checkpoint N complete" record. */
  public static GlobalCheckpoint decodeComplete(byte[] bytes, Path where, String job, String fix) {
    Decoder d = new Decoder(bytes, where, job, COMPLETE, fix);
    Instant at = d.instant("completed_at");
    long n = d.number("n");
    return d.build(() -> new GlobalCheckpoint(job, n, at, d.cut()));
  }

  /** Decodes a success or failure marker. */
  public static JobOutcome decodeOutcome(byte[] bytes, Path where, String job, String fix) {
    Decoder d = new Decoder(bytes, where, job, null, fix);
    Instant at = d.instant("at");
    if (d.kind.equals(FAILURE)) {
      String kind = d.string("error_kind");
      String error = d.string("error");
      return d.build(() -> JobOutcome.failed(job, at, kind, error));
    }
    if (!d.kind.equals(SUCCESS)) {
      throw d.invalid("not a success or failure marker", "kind success or failure", d.kind);
    }
    long checkpoint = d.number("checkpoint");
    Map<String, Object> t = d.object(d.record, "totals");
    JobOutcome.Totals totals =
        new JobOutcome.Totals(
            d.number(t, "files"),
            d.number(t, "rows_read"),
            d.number(t, "new"),
            d.number(t, "duplicates"));
    return d.build(() -> new JobOutcome(job, true, at, checkpoint, d.cut(), totals, null, null));
  }

  /** One record being checked: the common part in the constructor, fields on demand. */
  private static final class Decoder {
    final Path where;
    final String fix;
    final Map<String, Object> record;
    final String kind;

    Decoder(byte[] bytes, Path where, String job, String expectedKind, String fix) {
      this.where = where;
      this.fix = fix;
      this.record = parse(bytes);
      if (!FORMAT.equals(record.get("format"))) {
        throw invalid(
            "not a Waymark global checkpoint record",
            "\"format\":\"" + FORMAT + "\"",
            record.containsKey("format")
                ? "\"format\":" + Json.write(record.get("format"))
                : "no \"format\" field");
      }
      if (!(record.get("version") instanceof Long v) || v < 1) {
        throw invalid(
            "the format version is missing or not a positive integer",
            "\"version\":" + CURRENT_VERSION,
            "\"version\":" + Json.write(record.get("version")));
      }
      if (v > CURRENT_VERSION) {
        throw new CheckpointInvalidException(
            Reason.NEWER_VERSION,
            where,
            "written by a newer Waymark",
            "format version " + CURRENT_VERSION + " or older",
            "format version " + v,
            "Run this job with the Waymark release that wrote it, or a later one.");
      }
      checkCrcAndCanonical(bytes);
      this.kind = string("kind");
      Set<String> allowed = FIELDS.get(kind);
      if (allowed == null || (expectedKind != null && !expectedKind.equals(kind))) {
        throw invalid(
            "a record of another kind",
            "kind " + (expectedKind == null ? "success or failure" : expectedKind),
            "kind " + Json.write(kind));
      }
      for (String field : record.keySet()) {
        if (!COMMON.contains(field) && !allowed.contains(field)) {
          throw invalid(
              "unknown field \"" + field + "\"",
              "only the fields of a version-1 " + kind + " record",
              "\"" + field + "\"");
        }
      }
      String recordJob = string("job");
      if (!recordJob.equals(job)) {
        throw new CheckpointInvalidException(
            Reason.WRONG_JOB,
            where,
            "this is another job's record; it was copied or moved here",
            "job '" + job + "'",
            "job '" + recordJob + "'",
            fix);
      }
    }

    private Map<String, Object> parse(byte[] bytes) {
      if (bytes.length == 0) {
        throw new CheckpointInvalidException(
            Reason.EMPTY, where, "the record is empty", "one line of JSON", "0 bytes", fix);
      }
      int newline = -1;
      for (int i = 0; i < bytes.length; i++) {
        if (bytes[i] == '\n') {
          newline = i;
          break;
        }
      }
      if (newline < 0) {
        throw new CheckpointInvalidException(
            Reason.TRUNCATED,
            where,
            "the record has no final newline, so it was cut short",
            "a line ending in a newline",
            bytes.length + " bytes without one",
            fix);
      }
      if (newline != bytes.length - 1) {
        throw invalid(
            "there is data after the record's line",
            "exactly one line",
            (bytes.length - newline - 1) + " more bytes after byte " + newline);
      }
      Object parsed;
      try {
        parsed = Json.parse(Arrays.copyOf(bytes, newline));
      } catch (Json.ParseException e) {
        throw invalid("not valid JSON", "a JSON object", e.getMessage());
      }
      if (!(parsed instanceof Map<?, ?> map)) {
        throw invalid("the JSON value is not an object", "a JSON object", Json.write(parsed));
      }
      @SuppressWarnings("unchecked")
      Map<String, Object> r = (Map<String, Object>) map;
      return r;
    }

    private void checkCrcAndCanonical(byte[] bytes) {
      if (!(record.get(CheckpointCodec.F_CRC) instanceof String recorded)) {
        throw invalid("the checksum is missing", "a \"crc32c\" field", "none");
      }
      Map<String, Object> rest = new HashMap<>(record);
      rest.remove(CheckpointCodec.F_CRC);
      String actual = CheckpointCodec.crc32c(Json.encode(rest));
      if (!actual.equals(recorded)) {
        throw new CheckpointInvalidException(
            Reason.CHECKSUM_MISMATCH,
            where,
            "checksum mismatch: the record changed after it was written",
            "crc32c " + recorded + " as recorded",
            "content that hashes to " + actual,
            fix);
      }
      if (!Arrays.equals(CheckpointCodec.encodeRecord(rest), bytes)) {
        throw invalid(
            "the record is not in canonical form",
            "sorted keys without whitespace",
            "other bytes with the same content");
      }
    }

    CheckpointInvalidException invalid(String problem, String expected, String found) {
      return new CheckpointInvalidException(
          Reason.NOT_THE_FORMAT, where, problem, expected, found, fix);
    }

    String string(String name) {
      if (record.get(name) instanceof String s) {
        return s;
      }
      throw invalid(
          "field \"" + name + "\" is missing or not a string",
          "a string",
          Json.write(record.get(name)));
    }

    long number(String name) {
      return number(record, name);
    }

    long number(Map<String, Object> in, String name) {
      if (in.get(name) instanceof Long l && l >= 0) {
        return l;
      }
      throw invalid(
          "field \"" + name + "\" is missing or not a non-negative integer",
          "an integer",
          Json.write(in.get(name)));
    }

    Instant instant(String name) {
      try {
        return Instant.parse(string(name));
      } catch (DateTimeParseException e) {
        throw invalid(
            name + " is not an ISO-8601 instant",
            "e.g. 2026-11-26T03:42:07Z",
            Json.write(record.get(name)));
      }
    }

    @SuppressWarnings("unchecked")
    Map<String, Object> object(Map<String, Object> in, String name) {
      if (in.get(name) instanceof Map<?, ?> m) {
        return (Map<String, Object>) m;
      }
      throw invalid(
          "field \"" + name + "\" is missing or not an object",
          "an object",
          Json.write(in.get(name)));
    }

    PartitionMark mark(String partition, Map<String, Object> fields) {
      Object cursor = fields.get("cursor");
      long sequence = number(fields, "sequence");
      Set<String> keys = fields.keySet();
      if (fields != record && !keys.equals(Set.of("cursor", "sequence"))) {
        throw invalid(
            "the cut entry of partition '" + partition + "' has other fields",
            "{\"cursor\",\"sequence\"}",
            keys.toString());
      }
      return build(
          () -> {
            Cursor c = null;
            if (cursor instanceof Map<?, ?> m) {
              @SuppressWarnings("unchecked")
              Map<String, ?> cursorFields = (Map<String, ?>) m;
              c = Cursor.of(cursorFields);
            } else if (cursor != Json.NULL) {
              throw new IllegalArgumentException("cursor must be an object or null");
            }
            return new PartitionMark(partition, c, sequence);
          });
    }

    java.util.SortedMap<String, PartitionMark> cut() {
      Map<String, Object> cut = object(record, "cut");
      List<PartitionMark> marks = new ArrayList<>();
      for (Map.Entry<String, Object> e : cut.entrySet()) {
        marks.add(mark(e.getKey(), object(cut, e.getKey())));
      }
      return build(() -> GlobalCheckpoint.cutOf(marks));
    }

    <T> T build(java.util.function.Supplier<T> constructor) {
      try {
        return constructor.get();
      } catch (IllegalArgumentException | NullPointerException e) {
        throw invalid(
            "a field is out of range: " + e.getMessage(),
            "a valid version-1 " + kind + " record",
            Json.write(record));
      }
    }
  }
}
