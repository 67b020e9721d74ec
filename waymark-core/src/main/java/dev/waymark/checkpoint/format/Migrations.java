package dev.waymark.checkpoint.format;

import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.CheckpointInvalidException;
import dev.waymark.checkpoint.CheckpointInvalidException.Reason;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The registry of format migrations: one {@link Migration} per step from version N to N+1, applied
 * in order until the record reaches the current version. Migrations are explicit: reading an old
 * record fails until {@code waymark checkpoint migrate} (or {@code import-legacy} for version 0)
 * has rewritten it. Immutable and thread-safe.
 */
public final class Migrations {
  private final Map<Integer, Migration> steps = new TreeMap<>();
  private final int targetVersion;

  Migrations(List<Migration> steps, int targetVersion) {
    for (Migration m : steps) {
      if (this.steps.put(m.fromVersion(), m) != null) {
        throw new IllegalArgumentException("two migrations from version " + m.fromVersion());
      }
    }
    this.targetVersion = targetVersion;
  }

  /** The steps this build ships: version 0 (the chapter's legacy record) to 1. */
  public static Migrations standard() {
    return new Migrations(List.of(new LegacyCheckpoint()), CheckpointCodec.CURRENT_VERSION);
  }

  /** The result of reading a file that may need migrating. */
  public record Inspection(int version, Map<String, Object> record) {
    public boolean needsMigration() {
      return version < CheckpointCodec.CURRENT_VERSION;
    }
  }

  /**
   * Reads a record's version without requiring it to be current.
   *
   * @throws CheckpointInvalidException if the bytes are not a checkpoint of any known version
   */
  public Inspection inspect(byte[] bytes, Path path, CheckpointCodec.Expectation expect) {
    Map<String, Object> record;
    try {
      record = CheckpointCodec.parseRecord(bytes, path, expect);
    } catch (CheckpointInvalidException e) {
      // The chapter's writer (Python's json.dump) ends without a newline and may add spaces.
      Map<String, Object> legacy = parseLegacy(bytes);
      if (legacy == null) {
        throw e;
      }
      return new Inspection(0, legacy);
    }
    int version = CheckpointCodec.versionOf(record, path, expect);
    if (version > targetVersion) {
      // Let the codec produce its standard message for a newer version.
      CheckpointCodec.decode(bytes, path, expect);
    }
    return new Inspection(version, record);
  }

  /** The bytes as a legacy record in any JSON layout, or null if they are not one. */
  static Map<String, Object> parseLegacy(byte[] bytes) {
    try {
      if (dev.waymark.checkpoint.internal.Json.parseLenient(bytes) instanceof Map<?, ?> map) {
        @SuppressWarnings("unchecked")
        Map<String, Object> record = (Map<String, Object>) map;
        return LegacyCheckpoint.looksLegacy(record) ? record : null;
      }
    } catch (dev.waymark.checkpoint.internal.Json.ParseException e) {
      // Not legacy either; the caller reports the strict parser's error.
    }
    return null;
  }

  /**
   * Upgrades {@code inspection}'s record to the current version and returns it as a checkpoint.
   *
   * @throws CheckpointInvalidException naming the file if a step is missing or refuses the record
   */
  public Checkpoint upgrade(Inspection inspection, Path path, Migration.Context ctx) {
    Map<String, Object> record = new TreeMap<>(upgradeRecord(inspection, path, ctx));
    record.remove(CheckpointCodec.F_CRC);
    byte[] encoded = CheckpointCodec.encodeRecord(record);
    return CheckpointCodec.decode(
        encoded, path, new CheckpointCodec.Expectation(ctx.job(), ctx.partition(), ""));
  }

  /** Applies the steps from the record's version up to the target version. */
  Map<String, Object> upgradeRecord(Inspection inspection, Path path, Migration.Context ctx) {
    Map<String, Object> record = inspection.record();
    int version = inspection.version();
    while (version < targetVersion) {
      Migration step = steps.get(version);
      if (step == null) {
        throw CheckpointCodec.invalid(
            Reason.NOT_MIGRATED,
            path,
            "no migration is known from format version " + version,
            "a migration " + version + " -> " + (version + 1),
            "none in this build",
            "Migrate it with the Waymark release that introduced version " + (version + 1) + ".");
      }
      try {
        record = step.apply(record, ctx);
      } catch (IllegalArgumentException e) {
        throw CheckpointCodec.invalid(
            Reason.NOT_MIGRATED,
            path,
            "the record cannot be migrated from version " + version + ": " + e.getMessage(),
            "a valid version-" + version + " record",
            shortened(dev.waymark.checkpoint.internal.Json.write(record)),
            "Fix or remove the file; nothing was changed.",
            e);
      }
      version++;
    }
    return record;
  }

  private static String shortened(String text) {
    return text.length() > 200 ? text.substring(0, 200) + "..." : text;
  }
}
