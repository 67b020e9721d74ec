package dev.waymark.checkpoint.format;

import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.CheckpointInvalidException;
import dev.waymark.checkpoint.CheckpointInvalidException.Reason;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.internal.Json;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.zip.CRC32C;

/**
 * Encodes and decodes the on-disk checkpoint record. Stateless and thread-safe.
 *
 * <h2>Format version 1</h2>
 *
 * One line of canonical JSON (keys sorted, no insignificant whitespace, UTF-8) ending in {@code
 * \n}:
 *
 * <pre>
 * {"committed_at":"2026-11-26T03:42:07.118Z","crc32c":"6d1f0a3c","cursor":{"file":"skus_08216.json","files":8217},
 *  "epoch":3,"format":"waymark-checkpoint","job":"nightly","partition":"0","sequence":8217,"version":1}\n
 * (shown on two lines here; on disk it is one)
 *
 *  field         type     meaning
 *  format        string   always "waymark-checkpoint": tells a checkpoint from any other JSON
 *  version       integer  format version, 1
 *  job           string   the job the record belongs to
 *  partition     string   the partition the record belongs to
 *  cursor        object   the last committed source position (string, integer, boolean fields)
 *  sequence      integer  1 for the first commit, +1 for each later one
 *  epoch         integer  the writer's fencing token
 *  committed_at  string   ISO-8601 UTC instant; for people, never used to resume
 *  crc32c        string   CRC-32C (Castagnoli) of the canonical encoding of all the other fields,
 *                         8 lowercase hex digits
 * </pre>
 *
 * <p>Decoding is strict: the bytes must be exactly the canonical encoding of the record they parse
 * to, so any change to the file (a flipped bit, a truncation, added whitespace) is detected.
 * Version 0 is the chapter's legacy {@code {"last_file":...,"last_file_idx":...}} record; see
 * {@link Migrations}.
 */
public final class CheckpointCodec {
  public static final int CURRENT_VERSION = 1;
  public static final String FORMAT = "waymark-checkpoint";

  static final String F_FORMAT = "format",
      F_VERSION = "version",
      F_JOB = "job",
      F_PARTITION = "partition",
      F_CURSOR = "cursor",
      F_SEQUENCE = "sequence",
      F_EPOCH = "epoch",
      F_COMMITTED_AT = "committed_at",
      F_CRC = "crc32c";

  private static final Set<String> V1_FIELDS =
      Set.of(
          F_FORMAT,
          F_VERSION,
          F_JOB,
          F_PARTITION,
          F_CURSOR,
          F_SEQUENCE,
          F_EPOCH,
          F_COMMITTED_AT,
          F_CRC);

  private CheckpointCodec() {}

  /**
   * What the reader expects, and the command-line arguments that locate the checkpoint in messages
   * (e.g. {@code --state /var/lib/waymark --job nightly --partition 0}).
   */
  public record Expectation(String job, String partition, String locationArgs) {}

  /** Returns the version-1 encoding of {@code checkpoint}: one line, newline-terminated. */
  public static byte[] encode(Checkpoint checkpoint) {
    return encodeRecord(toRecord(checkpoint));
  }

  /** Returns the record's fields (without the checksum) as a sorted map. */
  static Map<String, Object> toRecord(Checkpoint c) {
    Map<String, Object> record = new TreeMap<>();
    record.put(F_FORMAT, FORMAT);
    record.put(F_VERSION, (long) CURRENT_VERSION);
    record.put(F_JOB, c.job());
    record.put(F_PARTITION, c.partition());
    record.put(F_CURSOR, c.cursor().fields());
    record.put(F_SEQUENCE, c.sequence());
    record.put(F_EPOCH, c.epoch());
    record.put(F_COMMITTED_AT, c.committedAt().toString());
    return record;
  }

  /** Adds the checksum over {@code record} (which must not hold one) and encodes the line. */
  static byte[] encodeRecord(Map<String, Object> record) {
    Map<String, Object> withCrc = new TreeMap<>(record);
    withCrc.put(F_CRC, crc32c(Json.encode(record)));
    byte[] json = Json.encode(withCrc);
    byte[] line = Arrays.copyOf(json, json.length + 1);
    line[json.length] = '\n';
    return line;
  }

  static String crc32c(byte[] bytes) {
    CRC32C crc = new CRC32C();
    crc.update(bytes);
    return String.format("%08x", crc.getValue());
  }

  /**
   * Decodes a checkpoint file's bytes.
   *
   * @param path the file the bytes came from, for messages
   * @throws CheckpointInvalidException for anything but a valid version-1 record of the expected
   *     job and partition
   */
  public static Checkpoint decode(byte[] bytes, Path path, Expectation expect) {
    Map<String, Object> record;
    try {
      record = parseRecord(bytes, path, expect);
    } catch (CheckpointInvalidException e) {
      // The chapter's writer (Python's json.dump) leaves no newline and adds spaces: that is a
      // legacy record to import, not a torn file to restore.
      if (Migrations.parseLegacy(bytes) != null) {
        throw notMigrated(path, expect, 0);
      }
      throw e;
    }
    int version = versionOf(record, path, expect);
    if (version > CURRENT_VERSION) {
      throw invalid(
          Reason.NEWER_VERSION,
          path,
          "written by a newer Waymark",
          "format version " + CURRENT_VERSION + " or older",
          "format version " + version,
          "Run this job with the Waymark release that wrote it, or a later one; this build reads"
              + " versions up to "
              + CURRENT_VERSION
              + ".");
    }
    if (version < CURRENT_VERSION) {
      throw notMigrated(path, expect, version);
    }
    return fromV1(record, bytes, path, expect);
  }

  /**
   * Parses the bytes as one JSON object, without judging its version. Used by decoding and
   * migration.
   */
  static Map<String, Object> parseRecord(byte[] bytes, Path path, Expectation expect) {
    String fix = rollbackFix(expect);
    if (bytes.length == 0) {
      throw invalid(Reason.EMPTY, path, "the file is empty", "one line of JSON", "0 bytes", fix);
    }
    int newline = indexOf(bytes, (byte) '\n');
    if (newline < 0) {
      throw invalid(
          Reason.TRUNCATED,
          path,
          "the record has no final newline, so the file was cut short",
          "a line ending in a newline",
          bytes.length + " bytes without one",
          fix);
    }
    if (newline != bytes.length - 1) {
      throw invalid(
          Reason.NOT_THE_FORMAT,
          path,
          "there is data after the record's line",
          "exactly one line",
          (bytes.length - newline - 1) + " more bytes after byte " + newline,
          fix);
    }
    Object parsed;
    try {
      parsed = Json.parse(Arrays.copyOf(bytes, newline));
    } catch (Json.ParseException e) {
      throw invalid(
          Reason.NOT_THE_FORMAT, path, "not valid JSON", "a JSON object", e.getMessage(), fix, e);
    }
    if (!(parsed instanceof Map<?, ?> map)) {
      throw invalid(
          Reason.NOT_THE_FORMAT,
          path,
          "the JSON value is not an object",
          "a JSON object",
          Json.write(parsed),
          fix);
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> record = (Map<String, Object>) map;
    return record;
  }

  /**
   * Returns the record's format version: 0 for the chapter's legacy record, else its {@code
   * version} field.
   */
  static int versionOf(Map<String, Object> record, Path path, Expectation expect) {
    if (!record.containsKey(F_FORMAT) && LegacyCheckpoint.looksLegacy(record)) {
      return 0;
    }
    if (!FORMAT.equals(record.get(F_FORMAT))) {
      throw invalid(
          Reason.NOT_THE_FORMAT,
          path,
          "not a Waymark checkpoint",
          "\"format\":\"" + FORMAT + "\"",
          record.containsKey(F_FORMAT)
              ? "\"format\":" + Json.write(record.get(F_FORMAT))
              : "no \"format\" field",
          rollbackFix(expect));
    }
    if (!(record.get(F_VERSION) instanceof Long v) || v < 1 || v > Integer.MAX_VALUE) {
      throw invalid(
          Reason.NOT_THE_FORMAT,
          path,
          "the format version is missing or not a positive integer",
          "\"version\":" + CURRENT_VERSION,
          "\"version\":" + Json.write(record.get(F_VERSION)),
          rollbackFix(expect));
    }
    return (int) (long) v;
  }

  private static Checkpoint fromV1(
      Map<String, Object> record, byte[] bytes, Path path, Expectation expect) {
    String fix = rollbackFix(expect);
    if (!(record.get(F_CRC) instanceof String recorded)) {
      throw invalid(
          Reason.NOT_THE_FORMAT,
          path,
          "the checksum is missing",
          "a \"crc32c\" field",
          "none",
          fix);
    }
    Map<String, Object> rest = new HashMap<>(record);
    rest.remove(F_CRC);
    String actual = crc32c(Json.encode(rest));
    if (!actual.equals(recorded)) {
      throw invalid(
          Reason.CHECKSUM_MISMATCH,
          path,
          "checksum mismatch: the file changed after it was written",
          "crc32c " + recorded + " as recorded",
          "content that hashes to " + actual,
          fix);
    }
    if (!Arrays.equals(encodeRecord(rest), bytes)) {
      throw invalid(
          Reason.NOT_THE_FORMAT,
          path,
          "the record is not in canonical form",
          "sorted keys without whitespace",
          "other bytes with the same content",
          fix);
    }
    for (String field : record.keySet()) {
      if (!V1_FIELDS.contains(field)) {
        throw invalid(
            Reason.NOT_THE_FORMAT,
            path,
            "unknown field \"" + field + "\"",
            "only the fields of format version 1",
            "\"" + field + "\"",
            fix);
      }
    }
    String job = stringField(record, F_JOB, path, fix);
    String partition = stringField(record, F_PARTITION, path, fix);
    if (expect != null && !job.equals(expect.job())) {
      throw invalid(
          Reason.WRONG_JOB,
          path,
          "this is another job's checkpoint; it was copied or moved here",
          "job '" + expect.job() + "'",
          "job '" + job + "' partition '" + partition + "'",
          "Put the file back under its own job's folder, then restore this job's checkpoint from"
              + " history: "
              + rollbackCommands(expect));
    }
    if (expect != null && !partition.equals(expect.partition())) {
      throw invalid(
          Reason.WRONG_PARTITION,
          path,
          "this is another partition's checkpoint; it was copied or moved here",
          "partition '" + expect.partition() + "'",
          "partition '" + partition + "'",
          "Put the file back in its own partition's folder, then restore this partition's"
              + " checkpoint from history: "
              + rollbackCommands(expect));
    }
    long sequence = longField(record, F_SEQUENCE, path, fix);
    long epoch = longField(record, F_EPOCH, path, fix);
    Instant committedAt;
    try {
      committedAt = Instant.parse(stringField(record, F_COMMITTED_AT, path, fix));
    } catch (DateTimeParseException e) {
      throw invalid(
          Reason.NOT_THE_FORMAT,
          path,
          "committed_at is not an ISO-8601 instant",
          "e.g. 2026-11-26T03:42:07Z",
          Json.write(record.get(F_COMMITTED_AT)),
          fix,
          e);
    }
    if (!(record.get(F_CURSOR) instanceof Map<?, ?> cursorFields)) {
      throw invalid(
          Reason.NOT_THE_FORMAT,
          path,
          "the cursor is missing or not an object",
          "\"cursor\":{...}",
          Json.write(record.get(F_CURSOR)),
          fix);
    }
    try {
      @SuppressWarnings("unchecked")
      Map<String, ?> fields = (Map<String, ?>) cursorFields;
      return new Checkpoint(job, partition, Cursor.of(fields), sequence, epoch, committedAt);
    } catch (IllegalArgumentException e) {
      throw invalid(
          Reason.NOT_THE_FORMAT,
          path,
          "a field is out of range: " + e.getMessage(),
          "a valid version-1 record",
          Json.write(record),
          fix,
          e);
    }
  }

  private static String stringField(
      Map<String, Object> record, String name, Path path, String fix) {
    if (record.get(name) instanceof String s) {
      return s;
    }
    throw invalid(
        Reason.NOT_THE_FORMAT,
        path,
        "field \"" + name + "\" is missing or not a string",
        "a string",
        Json.write(record.get(name)),
        fix);
  }

  private static long longField(Map<String, Object> record, String name, Path path, String fix) {
    if (record.get(name) instanceof Long l) {
      return l;
    }
    throw invalid(
        Reason.NOT_THE_FORMAT,
        path,
        "field \"" + name + "\" is missing or not an integer",
        "an integer",
        Json.write(record.get(name)),
        fix);
  }

  static CheckpointInvalidException notMigrated(Path path, Expectation expect, int version) {
    String args = expect == null ? "--state DIR --job NAME" : expect.locationArgs();
    if (version == 0) {
      return invalid(
          Reason.NOT_MIGRATED,
          path,
          "this is the chapter's legacy checkpoint, which must be converted first",
          "format version " + CURRENT_VERSION,
          "a legacy {\"last_file\",\"last_file_idx\"} record (version 0)",
          "Convert it in place: waymark checkpoint migrate "
              + args
              + " (the legacy record is kept in history).");
    }
    return invalid(
        Reason.NOT_MIGRATED,
        path,
        "an older format version that has not been migrated",
        "format version " + CURRENT_VERSION,
        "format version " + version,
        "Migrate it: waymark checkpoint migrate " + args + ".");
  }

  private static String rollbackFix(Expectation expect) {
    return "Restore a good version: " + rollbackCommands(expect);
  }

  private static String rollbackCommands(Expectation expect) {
    String args = expect == null ? "--state DIR --job NAME" : expect.locationArgs();
    return "list the kept versions with `waymark checkpoint history "
        + args
        + "`, then `waymark checkpoint rollback "
        + args
        + " --to SEQUENCE`; or start over with `waymark checkpoint reset "
        + args
        + " --yes`.";
  }

  static CheckpointInvalidException invalid(
      Reason reason, Path path, String problem, String expected, String found, String fix) {
    return new CheckpointInvalidException(reason, path, problem, expected, found, fix);
  }

  static CheckpointInvalidException invalid(
      Reason reason,
      Path path,
      String problem,
      String expected,
      String found,
      String fix,
      Throwable cause) {
    return new CheckpointInvalidException(reason, path, problem, expected, found, fix, cause);
  }

  private static int indexOf(byte[] bytes, byte b) {
    for (int i = 0; i < bytes.length; i++) {
      if (bytes[i] == b) {
        return i;
      }
    }
    return -1;
  }
}
