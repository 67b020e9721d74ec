package dev.waymark.ingest.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.waymark.WaymarkException;
import dev.waymark.ingest.BadInputException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Test helpers: write an input file, read it whole, read it expecting a failure. */
final class Inputs {
  private Inputs() {}

  static Path write(Path dir, String name, String text) throws IOException {
    return write(dir, name, text.getBytes(StandardCharsets.UTF_8));
  }

  static Path write(Path dir, String name, byte[] bytes) throws IOException {
    Path file = dir.resolve(name);
    Files.write(file, bytes);
    return file;
  }

  /** Concatenates strings (UTF-8) and byte arrays. */
  static byte[] bytes(Object... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (Object p : parts) {
      byte[] b = p instanceof byte[] raw ? raw : ((String) p).getBytes(StandardCharsets.UTF_8);
      out.write(b, 0, b.length);
    }
    return out.toByteArray();
  }

  static byte[] raw(int... values) {
    byte[] b = new byte[values.length];
    for (int i = 0; i < values.length; i++) {
      b[i] = (byte) values[i];
    }
    return b;
  }

  static List<SourceRecord> readAll(Path file, Format format) {
    List<SourceRecord> out = new ArrayList<>();
    try (RecordSource source = RecordSource.open(file, format)) {
      for (SourceRecord r; (r = source.next()) != null; ) {
        out.add(r);
      }
      assertThat(source.next()).as("next() after the end").isNull();
      assertThat(source.recordsRead()).isEqualTo(out.size());
    }
    return out;
  }

  /**
   * Reads the file to its end expecting a {@link BadInputException}; checks that it names the file,
   * is a BAD_INPUT, and that its message carries the position it reports.
   */
  static BadInputException refusal(Path file, Format format) {
    BadInputException e =
        catchThrowableOfType(BadInputException.class, () -> readAll(file, format));
    assertThat(e).as("expected %s to be refused", file.getFileName()).isNotNull();
    assertThat(e.kind()).isEqualTo(WaymarkException.Kind.BAD_INPUT);
    assertThat(e.file()).isEqualTo(file);
    assertThat(e.getMessage())
        .startsWith("Bad input in " + file)
        .contains(e.detail())
        .contains("--on-bad-file quarantine");
    if (e.line() > 0) {
      assertThat(e.getMessage()).contains("line " + e.line());
    }
    if (e.column() > 0) {
      assertThat(e.getMessage()).contains("column " + e.column());
    }
    if (e.byteOffset() >= 0) {
      assertThat(e.getMessage()).contains("byte " + e.byteOffset());
    }
    assertThat(e.getMessage())
        .contains(e.recordNumber() > 0 ? "record " + e.recordNumber() : "before the first record");
    return e;
  }
}
