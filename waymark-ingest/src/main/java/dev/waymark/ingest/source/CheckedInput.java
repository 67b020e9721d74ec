package dev.waymark.ingest.source;

import dev.waymark.ingest.BadInputException.Reason;
import java.io.IOException;
import java.io.InputStream;

/**
 * The bytes of one input file, checked on the way through: well-formed UTF-8 (RFC 3629: no overlong
 * forms, no encoded surrogates, nothing above U+10FFFF), no NUL byte, and a UTF-8 byte-order mark
 * at the very start skipped; a UTF-16 or UTF-32 mark is refused. Both parsers read through it, so
 * the rules hold for every format.
 *
 * <p>Design notes. Parsers read ahead, so a bad byte found in a chunk must not fail the records
 * before it: {@link #read(byte[], int, int)} hands out the good bytes before the bad one and throws
 * {@link Malformed} on the next call, which comes exactly when the parser needs the bad byte. The
 * record being parsed at that moment is the one that contains it. Lines are counted on {@code \n}
 * and columns in bytes, both from the start of the file, BOM included.
 */
final class CheckedInput extends InputStream {

  /** A byte-level problem and where it is. Never escapes the source package. */
  static class Malformed extends IOException {
    final Reason reason;
    final long offset;
    final long line;
    final long column;
    final String detail;

    Malformed(Reason reason, long offset, long line, long column, String detail) {
      super(detail + " at byte " + offset);
      this.reason = reason;
      this.offset = offset;
      this.line = line;
      this.column = column;
      this.detail = detail;
    }

    /** Whether the file changed under the reader rather than being malformed. */
    boolean changedWhileRead() {
      return false;
    }
  }

  private static final int BUFFER = 1 << 16;

  private final InputStream in;
  private final byte[] buf = new byte[BUFFER];
  private int pos;
  private int limit;
  private boolean eof;
  private boolean started;
  private int bomLength;

  /** File offset of {@code buf[pos]}. */
  private long offset;

  private long line = 1;
  private long lineStart;

  // UTF-8 decoder state: continuation bytes still expected, and the range the next one must lie in.
  private int need;
  private int lo = 0x80;
  private int hi = 0xBF;
  private long sequenceStart;
  private int sequenceLead;

  private Malformed pending;

  CheckedInput(InputStream in) {
    this.in = in;
  }

  /** 3 if the file starts with a UTF-8 byte-order mark (which is skipped), else 0. */
  int bomLength() throws IOException {
    start();
    return bomLength;
  }

  /** Bytes of the file handed out so far, BOM included. */
  long consumed() {
    return offset;
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n < 0 ? -1 : one[0] & 0xFF;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    if (len == 0) {
      return 0;
    }
    start();
    if (pending != null) {
      throw pending;
    }
    if (pos == limit && !fill()) {
      if (need > 0) {
        throw malformed(
            Reason.INVALID_UTF8,
            sequenceStart,
            "the file ends inside a multi-byte UTF-8 sequence (truncated file?)");
      }
      return -1;
    }
    int n = Math.min(len, limit - pos);
    for (int i = 0; i < n; i++) {
      byte raw = buf[pos + i];
      if (raw > 0 && raw != '\n' && need == 0) {
        continue; // plain ASCII, the bulk of most files: nothing to check or count
      }
      int c = raw & 0xFF;
      long at = offset + i;
      Malformed bad = need == 0 ? lead(c, at) : continuation(c, at);
      if (bad != null) {
        // Hand out nothing of a broken sequence, so that the parser stops where it starts.
        int cut = (int) Math.max(0, Math.min(i, bad.offset - offset));
        if (cut == 0) {
          throw bad;
        }
        pending = bad;
        n = cut;
        break;
      }
    }
    System.arraycopy(buf, pos, b, off, n);
    pos += n;
    offset += n;
    return n;
  }

  private Malformed lead(int c, long at) {
    if (c < 0x80) {
      if (c == '\n') {
        line++;
        lineStart = at + 1;
      } else if (c == 0) {
        return malformed(
            Reason.NUL_BYTE,
            at,
            at - bomLength < 2
                ? "a NUL byte (0x00) near the start of the file: it looks like UTF-16 or UTF-32"
                    + " text; Waymark reads UTF-8 only, so convert it (e.g. iconv -t UTF-8)"
                : "a NUL byte (0x00); JSON and CSV text never contains one (write \\u0000 inside"
                    + " a JSON string to mean the character)");
      }
      return null;
    }
    sequenceStart = at;
    sequenceLead = c;
    lo = 0x80;
    hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      need = 2;
      if (c == 0xE0) {
        lo = 0xA0; // shorter forms are overlong
      } else if (c == 0xED) {
        hi = 0x9F; // U+D800..U+DFFF are surrogates, not characters
      }
    } else if (c >= 0xF0 && c <= 0xF4) {
      need = 3;
      if (c == 0xF0) {
        lo = 0x90;
      } else if (c == 0xF4) {
        hi = 0x8F; // nothing above U+10FFFF
      }
    } else {
      return malformed(
          Reason.INVALID_UTF8,
          at,
          String.format(
              "invalid UTF-8: byte 0x%02X cannot start a character (is the file in Latin-1 or"
                  + " Windows-1252? convert it to UTF-8)",
              c));
    }
    return null;
  }

  private Malformed continuation(int c, long at) {
    if (c < lo || c > hi) {
      return malformed(
          Reason.INVALID_UTF8,
          sequenceStart,
          String.format(
              "invalid UTF-8: the sequence that starts with byte 0x%02X is broken by byte 0x%02X at"
                  + " byte %d, where a continuation byte in 0x%02X..0x%02X must be (is the file in"
                  + " Latin-1 or Windows-1252? convert it to UTF-8)",
              sequenceLead, c, at, lo, hi));
    }
    lo = 0x80;
    hi = 0xBF;
    need--;
    return null;
  }

  private Malformed malformed(Reason reason, long at, String detail) {
    // A sequence that started on an earlier line cannot contain a newline, so `line` is right.
    return new Malformed(reason, at, line, at - lineStart + 1, detail);
  }

  private void start() throws IOException {
    if (started) {
      return;
    }
    started = true;
    while (limit < 4 && !eof) {
      int n = in.read(buf, limit, buf.length - limit);
      if (n < 0) {
        eof = true;
      } else {
        limit += n;
      }
    }
    int b0 = limit > 0 ? buf[0] & 0xFF : -1;
    int b1 = limit > 1 ? buf[1] & 0xFF : -1;
    int b2 = limit > 2 ? buf[2] & 0xFF : -1;
    int b3 = limit > 3 ? buf[3] & 0xFF : -1;
    if (b0 == 0xEF && b1 == 0xBB && b2 == 0xBF) {
      bomLength = 3;
      pos = 3;
      offset = 3;
    } else if ((b0 == 0xFE && b1 == 0xFF) || (b0 == 0xFF && b1 == 0xFE)) {
      pending =
          malformed(
              Reason.UNSUPPORTED_ENCODING,
              0,
              String.format(
                  "the file starts with a UTF-%1$s byte-order mark (%2$02X %3$02X); Waymark reads"
                      + " UTF-8 only: convert it, e.g. iconv -f UTF-%1$s -t UTF-8",
                  b0 == 0xFF && b2 == 0 && b3 == 0 ? "32" : "16", b0, b1));
    } else if (b0 == 0 && b1 == 0 && b2 == 0xFE && b3 == 0xFF) {
      pending =
          malformed(
              Reason.UNSUPPORTED_ENCODING,
              0,
              "the file starts with a UTF-32 byte-order mark (00 00 FE FF); Waymark reads UTF-8"
                  + " only: convert it, e.g. iconv -f UTF-32 -t UTF-8");
    }
  }

  private boolean fill() throws IOException {
    if (eof) {
      return false;
    }
    pos = 0;
    limit = 0;
    while (limit == 0) {
      int n = in.read(buf, 0, buf.length);
      if (n < 0) {
        eof = true;
        return false;
      }
      limit = n;
    }
    return true;
  }

  @Override
  public void close() throws IOException {
    in.close();
  }
}
