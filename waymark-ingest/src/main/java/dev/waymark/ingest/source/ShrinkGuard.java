package dev.waymark.ingest.source;

import dev.waymark.ingest.BadInputException.Reason;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * An input file's bytes, refusing to end before the length the file had when it was opened. A file
 * truncated by another process while it is read would otherwise end early and, cut at a line
 * boundary, still parse: an NDJSON or CSV file would be loaded in part and reported as whole. The
 * check throws {@link CheckedInput.Malformed} (reason {@link Reason#TRUNCATED}) where the bytes
 * stop, so the file is refused like any malformed one and nothing from it is committed.
 *
 * <p>A file deleted while it is read is not an error here: on POSIX systems the open descriptor
 * keeps reading the whole, unchanged content.
 */
final class ShrinkGuard extends FilterInputStream {
  private final long lengthAtOpen;
  private long read;

  private ShrinkGuard(InputStream in, long lengthAtOpen) {
    super(in);
    this.lengthAtOpen = lengthAtOpen;
  }

  /** Opens {@code file}, remembering its length at that moment. */
  static InputStream open(Path file) throws IOException {
    FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
    try {
      return new ShrinkGuard(Channels.newInputStream(channel), channel.size());
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n < 0 ? -1 : one[0] & 0xFF;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    int n = in.read(b, off, len);
    if (n > 0) {
      read += n;
    } else if (n < 0 && read < lengthAtOpen) {
      throw new Shrunk(
          Reason.TRUNCATED,
          read,
          0,
          0,
          "the file ends at byte "
              + read
              + " but was "
              + lengthAtOpen
              + " bytes long when it was opened: it was truncated while being read (by another"
              + " process?); nothing from it is committed. Restore the file and run again");
    }
    return n;
  }

  @Override
  public long skip(long n) throws IOException {
    long skipped = in.skip(n);
    read += Math.max(0, skipped);
    return skipped;
  }

  /** The refusal of a file that shrank while read: it changed, it is not malformed. */
  static final class Shrunk extends CheckedInput.Malformed {
    private static final long serialVersionUID = 1L;

    Shrunk(Reason reason, long offset, long line, long column, String detail) {
      super(reason, offset, line, column, detail);
    }

    @Override
    boolean changedWhileRead() {
      return true;
    }
  }
}
