package dev.waymark.ingest.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.waymark.ingest.BadInputException;
import dev.waymark.ingest.BadInputException.Reason;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A file truncated by another process while a source reads it. Cut at a line boundary, an NDJSON or
 * CSV file still parses: without the length check it would be loaded in part and reported whole.
 */
class TruncatedWhileReadTest {
  private static final int LINES = 20_000; // about 600 KB: far more than the read-ahead buffers

  @TempDir Path tmp;

  @ParameterizedTest
  @EnumSource(Format.class)
  void aFileCutAtALineBoundaryWhileReadIsRefusedAsTruncated(Format format) throws Exception {
    Path file = tmp.resolve("f");
    Files.writeString(file, content(format), StandardCharsets.UTF_8);
    long size = Files.size(file);
    long cut = lineBoundaryNear(file, size / 2);

    BadInputException e;
    try (RecordSource source = RecordSource.open(file, format)) {
      assertThat(source.next()).isNotNull();
      try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
        f.setLength(cut);
      }
      e = catchThrowableOfType(BadInputException.class, () -> drain(source));
    }

    assertThat(e).as("refused").isNotNull();
    assertThat(e.reason()).isEqualTo(Reason.TRUNCATED);
    assertThat(e.changedWhileRead()).as("never quarantined: restored, the file loads").isTrue();
    assertThat(e.byteOffset()).isEqualTo(cut);
    assertThat(e.getMessage())
        .startsWith("Bad input in " + file + " at byte " + cut)
        .contains(
            "the file ends at byte "
                + cut
                + " but was "
                + size
                + " bytes long when it was opened: it was truncated while being read");
  }

  @Test
  void aFileThatGrowsWhileReadIsReadToItsNewEnd() throws Exception {
    Path file = tmp.resolve("f.ndjson");
    Files.writeString(file, content(Format.NDJSON), StandardCharsets.UTF_8);
    long records = 0;
    try (RecordSource source = RecordSource.open(file, Format.NDJSON)) {
      Files.writeString(
          file, "{\"i\":-1}\n", StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.APPEND);
      while (source.next() != null) {
        records++;
      }
    }
    assertThat(records).isEqualTo(LINES + 1);
  }

  private static String content(Format format) {
    StringBuilder sb = new StringBuilder(format == Format.CSV ? "i,name\n" : "");
    if (format == Format.JSON_ARRAY) {
      sb.append("[\n");
    }
    for (int i = 0; i < LINES; i++) {
      switch (format) {
        case CSV -> sb.append(i).append(",item-").append(i).append('\n');
        case NDJSON -> sb.append("{\"i\":").append(i).append(",\"name\":\"item\"}\n");
        case JSON_ARRAY -> sb.append(i == 0 ? "" : ",\n").append("{\"i\":").append(i).append('}');
      }
    }
    return format == Format.JSON_ARRAY ? sb.append("\n]\n").toString() : sb.toString();
  }

  private static long lineBoundaryNear(Path file, long at) throws Exception {
    byte[] bytes = Files.readAllBytes(file);
    long i = at;
    while (bytes[(int) i - 1] != '\n') {
      i++;
    }
    return i;
  }

  private static void drain(RecordSource source) {
    while (source.next() != null) {
      // read to the end
    }
  }
}
