package dev.waymark.checkpoint.file;

import dev.waymark.checkpoint.CheckpointInvalidException;
import dev.waymark.checkpoint.CheckpointInvalidException.Reason;
import dev.waymark.checkpoint.PartitionLayout;
import dev.waymark.checkpoint.internal.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.zip.CRC32C;

/**
 * The job's recorded partition layout, {@code STATE/JOB/layout}: one canonical line, {@code
 * {"crc32c":"...","format":"waymark-layout","hash":H,"job":J,"partitions":P}}, checksummed like the
 * epoch file and written with {@link AtomicFileWriter}.
 */
final class LayoutFile {
  static final String FORMAT = "waymark-layout";

  private LayoutFile() {}

  static byte[] encode(String job, PartitionLayout layout) {
    Map<String, Object> record = new TreeMap<>();
    record.put("format", FORMAT);
    record.put("job", job);
    record.put("partitions", (long) layout.partitions());
    record.put("hash", layout.hash());
    record.put("crc32c", crc(Json.encode(record)));
    byte[] json = Json.encode(record);
    byte[] line = Arrays.copyOf(json, json.length + 1);
    line[json.length] = '\n';
    return line;
  }

  /** Returns the recorded layout, or empty if there is no layout file. */
  static Optional<PartitionLayout> read(CheckpointFileSystem fs, Path file, String job) {
    byte[] bytes;
    try {
      if (fs.kind(file) == CheckpointFileSystem.Kind.MISSING) {
        return Optional.empty();
      }
      bytes = fs.read(file);
    } catch (IOException e) {
      throw new CheckpointInvalidException(
          Reason.UNREADABLE,
          file,
          "the job's partition layout cannot be read",
          "a readable file",
          e.toString(),
          "Check the file's permissions and the disk, then run again.",
          e);
    }
    String text = new String(bytes, StandardCharsets.UTF_8).trim();
    String shown = text.length() > 120 ? text.substring(0, 120) + "..." : text;
    if (bytes.length > 0 && bytes[bytes.length - 1] == '\n') {
      try {
        Object parsed = Json.parse(Arrays.copyOf(bytes, bytes.length - 1));
        if (parsed instanceof Map<?, ?> m
            && m.get("partitions") instanceof Long p
            && p >= 1
            && p <= Integer.MAX_VALUE
            && m.get("hash") instanceof String hash) {
          PartitionLayout layout = new PartitionLayout(p.intValue(), hash);
          if (Arrays.equals(encode(job, layout), bytes)) {
            return Optional.of(layout);
          }
        }
      } catch (Json.ParseException | IllegalArgumentException e) {
        // reported below, as any other damage
      }
    }
    throw new CheckpointInvalidException(
        Reason.NOT_THE_FORMAT,
        file,
        "the job's partition layout is damaged",
        "{\"format\":\"" + FORMAT + "\",\"hash\":...,\"partitions\":P,...} with a valid checksum",
        "'" + shown + "'",
        "Delete "
            + file
            + " and run the job with --rescan: every partition is then reprocessed into the layout"
            + " of that run (safe: rows already loaded are skipped by their dedup key).",
        null);
  }

  private static String crc(byte[] bytes) {
    CRC32C crc = new CRC32C();
    crc.update(bytes);
    return String.format("%08x", crc.getValue());
  }
}
