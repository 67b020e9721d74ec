package dev.waymark.checkpoint.format;

import dev.waymark.checkpoint.Cursor;
import java.util.Map;
import java.util.TreeMap;

/**
 * Format version 0: the chapter's own checkpoint, {@code {"last_file": "skus_08216.json",
 * "last_file_idx": 8216}}, where {@code last_file_idx} is the 0-based index of the last committed
 * file in the sorted listing. It carries no job, partition, sequence, epoch or checksum.
 *
 * <p>Upgrading it to version 1 yields the directory cursor {@code {"file": last_file, "files":
 * last_file_idx + 1}}: the count of files at or before the last committed one.
 */
final class LegacyCheckpoint implements Migration {
  static final String LAST_FILE = "last_file", LAST_FILE_IDX = "last_file_idx";

  static boolean looksLegacy(Map<String, Object> record) {
    return record.containsKey(LAST_FILE) && record.containsKey(LAST_FILE_IDX);
  }

  @Override
  public int fromVersion() {
    return 0;
  }

  @Override
  public Map<String, Object> apply(Map<String, Object> record, Context ctx) {
    if (!(record.get(LAST_FILE) instanceof String lastFile)) {
      throw new IllegalArgumentException("\"last_file\" must be a string");
    }
    if (!(record.get(LAST_FILE_IDX) instanceof Long idx)) {
      throw new IllegalArgumentException("\"last_file_idx\" must be an integer");
    }
    if (record.size() != 2) {
      throw new IllegalArgumentException(
          "a legacy checkpoint has exactly \"last_file\" and \"last_file_idx\", found "
              + record.keySet());
    }
    if (idx < 0 && lastFile.isEmpty()) {
      // {"last_file": "", "last_file_idx": -1} is the chapter's "nothing done yet".
      throw new IllegalArgumentException(
          "it records no committed file (last_file \"\", last_file_idx "
              + idx
              + "); there is nothing to import");
    }
    if (idx < 0) {
      throw new IllegalArgumentException(
          "\"last_file_idx\" is " + idx + " although \"last_file\" names a file; it counts from 0");
    }
    if (lastFile.isEmpty()) {
      throw new IllegalArgumentException(
          "\"last_file\" is empty although \"last_file_idx\" is " + idx + "; it must name a file");
    }
    Map<String, Object> v1 = new TreeMap<>();
    v1.put(CheckpointCodec.F_FORMAT, CheckpointCodec.FORMAT);
    v1.put(CheckpointCodec.F_VERSION, 1L);
    v1.put(CheckpointCodec.F_JOB, ctx.job());
    v1.put(CheckpointCodec.F_PARTITION, ctx.partition());
    v1.put(CheckpointCodec.F_CURSOR, Cursor.ofFile(lastFile, idx + 1).fields());
    v1.put(CheckpointCodec.F_SEQUENCE, ctx.sequence());
    v1.put(CheckpointCodec.F_EPOCH, ctx.epoch());
    v1.put(CheckpointCodec.F_COMMITTED_AT, ctx.now().toString());
    return v1;
  }
}
