package dev.waymark.ingest.source;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Reads a synthetic file of the given format and size, generated on the fly (never held whole), and
 * prints the number of records. {@link StreamingMemoryTest} runs it in a child JVM whose heap is a
 * fraction of the file.
 */
public final class StreamingProbe {
  private StreamingProbe() {}

  public static void main(String[] args) {
    Format format = Format.fromCliName(args[0]);
    long bytes = Long.parseLong(args[1]) << 20;
    InputStream in = new Synthetic(format, bytes);
    Path name = Path.of("synthetic." + format.cliName());
    long n = 0;
    try (RecordSource source =
        format == Format.CSV
            ? new CsvRecordSource(name, in)
            : new JsonRecordSource(name, in, format)) {
      while (source.next() != null) {
        n++;
      }
    }
    System.out.println("records=" + n);
  }

  /** An input stream that writes records until it has produced about {@code size} bytes. */
  static final class Synthetic extends InputStream {
    private final Format format;
    private final long size;
    private long produced;
    private long record;
    private byte[] chunk = new byte[0];
    private int pos;
    private boolean finished;

    Synthetic(Format format, long size) {
      this.format = format;
      this.size = size;
      this.chunk =
          (switch (format) {
                case JSON_ARRAY -> "[\n";
                case NDJSON -> "";
                case CSV -> "sku_id,qty,title\r\n";
              })
              .getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public int read() {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
    }

    @Override
    public int read(byte[] b, int off, int len) {
      while (pos == chunk.length) {
        if (finished) {
          return -1;
        }
        next();
      }
      int n = Math.min(len, chunk.length - pos);
      System.arraycopy(chunk, pos, b, off, n);
      pos += n;
      return n;
    }

    private void next() {
      pos = 0;
      String text;
      if (produced >= size) {
        finished = true;
        text = format == Format.JSON_ARRAY ? "\n]\n" : "";
      } else {
        record++;
        String title = "Caf\u00e9 \"mug\" n\u00b0" + record + " " + "x".repeat((int) (record % 80));
        text =
            switch (format) {
              case JSON_ARRAY ->
                  (record > 1 ? ",\n" : "")
                      + "{\"sku_id\":\"SKU-"
                      + record
                      + "\",\"qty\":"
                      + record % 500
                      + ",\"title\":\""
                      + title.replace("\"", "\\\"")
                      + "\",\"attributes\":{\"price\":19.99,\"tags\":[\"a\",\"b\"]}}";
              case NDJSON ->
                  "{\"sku_id\":\"SKU-"
                      + record
                      + "\",\"qty\":"
                      + record % 500
                      + ",\"title\":\""
                      + title.replace("\"", "\\\"")
                      + "\"}\n";
              case CSV ->
                  "SKU-"
                      + record
                      + ","
                      + record % 500
                      + ",\""
                      + title.replace("\"", "\"\"")
                      + "\"\r\n";
            };
      }
      chunk = text.getBytes(StandardCharsets.UTF_8);
      produced += chunk.length;
    }
  }
}
