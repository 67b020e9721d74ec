package dev.waymark.checkpoint.file;

import dev.waymark.checkpoint.CheckpointInvalidException;
import dev.waymark.checkpoint.CheckpointInvalidException.Reason;
import dev.waymark.checkpoint.internal.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.zip.CRC32C;

/**
 * The job's persisted epoch: {@code {"crc32c":"...","epoch":N,"format":"waymark-epoch","job":J}},
 * one canonical line. The epoch grows by one each time a writer takes the job's lock; a writer
 * whose epoch is lower than the file's has been superseded and may not commit.
 */
final class EpochFile {
  static final String FORMAT = "waymark-epoch";

  private EpochFile() {}

  static byte[] encode(String job, long epoch) {
    Map<String, Object> record = new TreeMap<>();
    record.put("format", FORMAT);
    record.put("job", job);
    record.put("epoch", epoch);
    record.put("crc32c", crc(Json.encode(record)));
    byte[] json = Json.encode(record);
    byte[] line = Arrays.copyOf(json, json.length + 1);
    line[json.length] = '\n';
    return line;
  }

  /** Returns the recorded epoch, or empty if there is no epoch file. */
  static OptionalLong read(CheckpointFileSystem fs, Path file, String job) {
    byte[] bytes;
    try {
      if (fs.kind(file) == CheckpointFileSystem.Kind.MISSING) {
        return OptionalLong.empty();
      }
      bytes = fs.read(file);
    } catch (IOException e) {
      throw invalid(file, Reason.UNREADABLE, e.toString(), e);
    }
    String text = new String(bytes, StandardCharsets.UTF_8).trim();
    String shown = text.length() > 80 ? text.substring(0, 80) + "..." : text;
    Object parsed = null;
    if (bytes.length > 0 && bytes[bytes.length - 1] == '\n') {
      try {
        parsed = Json.parse(Arrays.copyOf(bytes, bytes.length - 1));
      } catch (Json.ParseException e) {
        throw invalid(file, Reason.NOT_THE_FORMAT, e.getMessage() + " in '" + shown + "'", e);
      }
    }
    if (parsed instanceof Map<?, ?> m
        && m.get("epoch") instanceof Long epoch
        && Arrays.equals(encode(job, epoch), bytes)) {
      return OptionalLong.of(epoch);
    }
    throw invalid(file, Reason.NOT_THE_FORMAT, "'" + shown + "'", null);
  }

  private static CheckpointInvalidException invalid(
      Path file, Reason reason, String found, Exception cause) {
    if (reason == Reason.UNREADABLE) {
      // An I/O error says nothing about the content: deleting a good epoch file is not the fix.
      return new CheckpointInvalidException(
          reason,
          file,
          "the job's epoch file cannot be read",
          "a readable file",
          found,
          "Check the file's permissions and the disk, then run again.",
          cause);
    }
    return new CheckpointInvalidException(
        reason,
        file,
        "the job's epoch file is damaged",
        "{\"epoch\":N,\"format\":\"" + FORMAT + "\",...} with a valid checksum",
        found,
        "Delete "
            + file
            + "; the next writer recomputes the epoch from the partitions' checkpoints.",
        cause);
  }

  private static String crc(byte[] bytes) {
    CRC32C crc = new CRC32C();
    crc.update(bytes);
    return String.format("%08x", crc.getValue());
  }
}
