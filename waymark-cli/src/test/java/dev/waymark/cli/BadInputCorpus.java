package dev.waymark.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Malformed (and a few legitimately odd) input files for {@code waymark ingest}, each placed as the
 * second of three files ({@code skus_00002.EXT} between two good ones), with the documented
 * outcome: refused at a position for a reason, or accepted with the rows it must give. The table in
 * RELIABILITY.md ("Bad input and hostile names") lists the same cases.
 */
final class BadInputCorpus {
  private BadInputCorpus() {}

  /** Writes the case's entry at {@code path}: a file, or a directory, link or FIFO. */
  interface Setup {
    void create(Path path) throws IOException;
  }

  /**
   * One case. {@code where} is the position as the message prints it, e.g. {@code "at line 1,
   * column 15 (byte 14), record 2"}, {@code ", before the first record"} for the whole file, or
   * {@code null} if the file is accepted; {@code reason} is a fragment of the reason that follows;
   * {@code rows} are the canonical payloads an accepted file gives, in order.
   */
  record Case(
      String id, String format, Setup setup, String where, String reason, List<String> rows) {
    boolean refused() {
      return where != null;
    }

    String ext() {
      return format.equals("json-array") ? "json" : format;
    }

    /** The position as the waymark_quarantine row records it. */
    String quarantinePosition() {
      return where.startsWith("at ")
          ? where.substring(3).replace(", before the first record", "")
          : "whole file";
    }

    /** The good file's content in this format, one record {@code {"a": n}}. */
    String goodFile(int n) {
      return switch (format) {
        case "json-array" -> "[{\"a\":" + n + "}]";
        case "ndjson" -> "{\"a\":" + n + "}\n";
        default -> "a\n" + n + "\n";
      };
    }

    /** The canonical payload of {@link #goodFile(int)}'s record. */
    String goodPayload(int n) {
      return format.equals("csv") ? "{\"a\":\"" + n + "\"}" : "{\"a\":" + n + "}";
    }

    @Override
    public String toString() {
      return id;
    }
  }

  static final List<Case> CASES = new ArrayList<>();

  private static void refused(String id, String format, byte[] content, String where, String why) {
    CASES.add(new Case(id, format, p -> Files.write(p, content), where, why, null));
  }

  private static void refused(String id, String format, Setup setup, String where, String why) {
    CASES.add(new Case(id, format, setup, where, why, null));
  }

  private static void accepted(String id, String format, byte[] content, String... rows) {
    CASES.add(new Case(id, format, p -> Files.write(p, content), null, null, List.of(rows)));
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] raw(int... bytes) {
    byte[] r = new byte[bytes.length];
    for (int i = 0; i < bytes.length; i++) {
      r[i] = (byte) bytes[i];
    }
    return r;
  }

  private static byte[] concat(byte[]... parts) {
    int n = 0;
    for (byte[] p : parts) {
      n += p.length;
    }
    byte[] r = new byte[n];
    int at = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, r, at, p.length);
      at += p.length;
    }
    return r;
  }

  private static final String JA = "json-array", ND = "ndjson", CSV = "csv";
  private static final String BEFORE = ", before the first record";
  private static final int HUGE = dev.waymark.ingest.source.RecordSource.MAX_VALUE_LENGTH + 1;

  static {
    // ---- JSON array
    refused(
        "truncated JSON",
        JA,
        b("[{\"a\":1},{\"a\":"),
        "at line 1, column 15 (byte 14), record 2",
        "the file ends in the middle of the array (truncated file?)");
    refused(
        "trailing garbage after the array",
        JA,
        b("[{\"a\":1}] x"),
        "at line 1, column 11 (byte 10), record 2",
        "data after the end of the array, which closed at line 1");
    refused(
        "top-level object",
        JA,
        b("{\"a\":1}"),
        "at line 1, column 1 (byte 0)" + BEFORE,
        "the top-level value is an object, but a JSON-array file must hold one array of records"
            + " (for one object per line use --format ndjson)");
    refused(
        "top-level string",
        JA,
        b("\"hello\""),
        "at line 1, column 1 (byte 0)" + BEFORE,
        "the top-level value is a string");
    refused(
        "a record that is a number",
        JA,
        b("[{\"a\":1}, 42]"),
        "at line 1, column 11 (byte 10), record 2",
        "the record is a number, not an object");
    refused(
        "an array of arrays 100,000 deep",
        JA,
        b("[" + "[".repeat(100_000) + "]".repeat(100_000) + "]"),
        "at line 1, column 2 (byte 1), record 1",
        "the record is an array, not an object");
    refused(
        "a record nested 100,000 deep",
        JA,
        b("[{\"a\":" + "[".repeat(100_000) + "]".repeat(100_000) + "}]"),
        "at line 1, column 70 (byte 69), record 1",
        "objects and arrays nested deeper than 64 levels");
    refused(
        "duplicate keys",
        JA,
        b("[{\"a\":1,\"b\":2,\"a\":3}]"),
        "at line 1, column 15 (byte 14), record 1",
        "duplicate key \"a\" in one object");
    refused(
        "overlong UTF-8 (C0 AF for '/')",
        JA,
        concat(b("[{\"a\":\""), raw(0xC0, 0xAF), b("\"}]")),
        "at line 1, column 8 (byte 7), record 1",
        "invalid UTF-8: byte 0xC0 cannot start a character");
    refused(
        "a UTF-16 surrogate encoded in UTF-8 (ED A0 80)",
        JA,
        concat(b("[{\"a\":\""), raw(0xED, 0xA0, 0x80), b("\"}]")),
        "at line 1, column 8 (byte 7), record 1",
        "invalid UTF-8: the sequence that starts with byte 0xED is broken by byte 0xA0");
    refused(
        "a lone surrogate escape",
        JA,
        b("[{\"a\":\"\\ud800\"}]"),
        "at line 1, column 7 (byte 6), record 1",
        "a string holds the escape \\ud800, half of a UTF-16 surrogate pair");
    refused(
        "a file cut inside a UTF-8 sequence",
        JA,
        concat(b("[{\"a\":\""), raw(0xE2, 0x82)),
        "at line 1, column 8 (byte 7), record 1",
        "the file ends inside a multi-byte UTF-8 sequence (truncated file?)");
    refused(
        "UTF-16 with a byte-order mark",
        JA,
        concat(raw(0xFF, 0xFE), "[{\"a\":1}]".getBytes(StandardCharsets.UTF_16LE)),
        "at line 1, column 1 (byte 0)" + BEFORE,
        "the file starts with a UTF-16 byte-order mark (FF FE); Waymark reads UTF-8 only: convert"
            + " it, e.g. iconv -f UTF-16 -t UTF-8");
    refused(
        "a NUL byte between records",
        JA,
        b("[{\"a\":1},\0{\"a\":2}]"),
        "at line 1, column 10 (byte 9), record 2",
        "a NUL byte (0x00)");
    refused(
        "a 0-byte file",
        JA,
        new byte[0],
        "at line 1, column 1 (byte 0)" + BEFORE,
        "the file is empty (0 bytes); a JSON-array file needs at least []");
    refused(
        "whitespace only",
        JA,
        b("  \n\t \n"),
        "at line 3, column 1 (byte 6)" + BEFORE,
        "the file holds no JSON value, only whitespace");
    refused(
        "a number of 1,001 digits",
        JA,
        b("[{\"a\":" + "9".repeat(1001) + "}]"),
        "at line 1, column 1008 (byte 1007), record 1",
        "a value exceeds a limit: Number value length (1001) exceeds the maximum allowed (1000).");
    refused(
        "a 20,000,001-character string on one line",
        JA,
        b("[{\"a\":\"" + "x".repeat(HUGE) + "\"}]"),
        "at line 1, column 20000010 (byte 20000009), record 1",
        "a value exceeds a limit: String value length (20000001) exceeds the maximum allowed"
            + " (20000000).");
    accepted(
        "a UTF-8 byte-order mark",
        JA,
        concat(raw(0xEF, 0xBB, 0xBF), b("[{\"a\":10}]")),
        "{\"a\":10}");
    accepted(
        "CRLF line ends",
        JA,
        b("[\r\n{\"a\":11},\r\n{\"a\":12}\r\n]\r\n"),
        "{\"a\":11}",
        "{\"a\":12}");
    accepted( // exact value, written in the canonical form's exponent notation
        "1e400 and a 400-digit integer, kept exactly",
        JA,
        b("[{\"a\":1e400,\"b\":" + "9".repeat(400) + "}]"),
        "{\"a\":1e+400,\"b\":9." + "9".repeat(399) + "e+399}");
    accepted("an empty array", JA, b("[]"));

    // ---- NDJSON
    refused(
        "NDJSON truncated in the last record",
        ND,
        b("{\"a\":1}\n{\"a\":"),
        "at line 2, column 6 (byte 13), record 2",
        "the file ends in the middle of a record (truncated file?)");
    refused(
        "two records on one line",
        ND,
        b("{\"a\":1} {\"a\":2}\n"),
        "at line 1, column 9 (byte 8), record 2",
        "a second JSON value on line 1; NDJSON holds one record per line");
    refused(
        "a JSON array in an NDJSON file",
        ND,
        b("[{\"a\":1}]\n"),
        "at line 1, column 1 (byte 0), record 1",
        "the record is an array, not an object (for a file holding one array of records use"
            + " --format json-array)");
    refused(
        "an NDJSON line that is a number",
        ND,
        b("{\"a\":1}\n42\n"),
        "at line 2, column 1 (byte 8), record 2",
        "the record is a number, not an object");
    refused(
        "a blank line between records",
        ND,
        b("{\"a\":1}\n\n{\"a\":2}\n"),
        "at line 2, record 2",
        "line 2 is blank; in NDJSON blank lines are allowed only at the end of the file");
    refused(
        "NDJSON of blank lines only",
        ND,
        b("   \n  \n"),
        "at line 3, column 1 (byte 7)" + BEFORE,
        "the file has no records, only blank lines");
    refused(
        "a record spanning lines",
        ND,
        b("{\"a\":\n1}\n"),
        "at line 2, column 2 (byte 7), record 1",
        "the record spans lines 1 to 2; NDJSON needs each record on one line");
    refused(
        "byte 0xFF in NDJSON",
        ND,
        concat(b("{\"a\":1}\n{\"a\":\""), raw(0xFF), b("\"}\n")),
        "at line 2, column 7 (byte 14), record 2",
        "invalid UTF-8: byte 0xFF cannot start a character");
    refused(
        "a NUL byte inside an NDJSON string",
        ND,
        b("{\"a\":1}\n{\"a\":\"x\0\"}\n"),
        "at line 2, column 8 (byte 15), record 2",
        "a NUL byte (0x00)");
    refused(
        "duplicate keys in NDJSON",
        ND,
        b("{\"a\":1}\n{\"a\":1,\"a\":2}\n"),
        "at line 2, column 8 (byte 15), record 2",
        "duplicate key \"a\" in one object");
    refused(
        "a 20,000,001-character NDJSON line",
        ND,
        b("{\"a\":\"" + "x".repeat(HUGE) + "\"}\n"),
        "at line 1, column 20000009 (byte 20000008), record 1",
        "a value exceeds a limit: String value length (20000001) exceeds the maximum allowed"
            + " (20000000).");
    accepted("CRLF NDJSON", ND, b("{\"a\":21}\r\n{\"a\":22}\r\n"), "{\"a\":21}", "{\"a\":22}");
    accepted(
        "a UTF-8 BOM before NDJSON",
        ND,
        concat(raw(0xEF, 0xBB, 0xBF), b("{\"a\":23}\n")),
        "{\"a\":23}");
    accepted("a 0-byte NDJSON file (no records)", ND, new byte[0]);

    // ---- CSV
    refused(
        "a CSV record with too few fields",
        CSV,
        b("a,b\n1,2\n3\n"),
        "at line 3, column 1 (byte 8), record 2",
        "the record has 1 field, but the header has 2");
    refused(
        "a CSV record with too many fields",
        CSV,
        b("a,b\n1,2\n3,4,5\n"),
        "at line 3, column 1 (byte 8), record 2",
        "the record has more than 2 fields, but the header has 2");
    refused(
        "an unterminated CSV quote",
        CSV,
        b("a,b\n1,\"2\n"),
        "at line 2, column 3 (byte 6), record 1",
        "a quoted field opened at line 2, column 3 is still open at the end of the file");
    refused(
        "a stray quote in an unquoted field",
        CSV,
        b("a,b\n1,x\"y\n"),
        "at line 2, column 4 (byte 7), record 1",
        "a double quote inside an unquoted field");
    refused(
        "a bare carriage return",
        CSV,
        b("a,b\n1,2\r3,4\n"),
        "at line 2, column 4 (byte 7), record 1",
        "a carriage return not followed by a line feed");
    refused(
        "an empty line between CSV records",
        CSV,
        b("a,b\n1,2\n\n3,4\n"),
        "at line 3, column 1 (byte 8), record 2",
        "line 3 is empty; in CSV empty lines are allowed only at the end of the file");
    refused(
        "a 0-byte CSV file",
        CSV,
        new byte[0],
        "at line 1, column 1 (byte 0)" + BEFORE,
        "the file is empty (0 bytes); a CSV file needs a header line");
    refused(
        "a CSV file of whitespace only",
        CSV,
        b("   \n"),
        "at line 1, column 1 (byte 0)" + BEFORE,
        "column 1 of the header has a blank name; every column needs a name");
    refused(
        "a duplicate CSV column",
        CSV,
        b("a,a\n1,2\n"),
        "at line 1, column 1 (byte 0)" + BEFORE,
        "the header names column \"a\" twice (columns 1 and 2)");
    refused(
        "an empty CSV column name",
        CSV,
        b("a,,b\n1,2,3\n"),
        "at line 1, column 1 (byte 0)" + BEFORE,
        "column 2 of the header has an empty name");
    refused(
        "a NUL byte in a CSV field",
        CSV,
        b("a,b\n1,\0\n"),
        "at line 2, column 3 (byte 6), record 1",
        "a NUL byte (0x00)");
    refused(
        "Latin-1 in a CSV file",
        CSV,
        concat(b("a,b\n1,"), raw(0xC3, 0x28), b("\n")),
        "at line 2, column 3 (byte 6), record 1",
        "invalid UTF-8: the sequence that starts with byte 0xC3 is broken by byte 0x28");
    refused(
        "UTF-16 big-endian CSV",
        CSV,
        concat(raw(0xFE, 0xFF), "a\n1\n".getBytes(StandardCharsets.UTF_16BE)),
        "at line 1, column 1 (byte 0)" + BEFORE,
        "the file starts with a UTF-16 byte-order mark (FE FF)");
    accepted("CRLF CSV", CSV, b("a,b\r\n31,32\r\n"), "{\"a\":\"31\",\"b\":\"32\"}");
    accepted(
        "a UTF-8 BOM before the CSV header (Excel)",
        CSV,
        concat(raw(0xEF, 0xBB, 0xBF), b("a,b\n33,34\n")),
        "{\"a\":\"33\",\"b\":\"34\"}");
    accepted("a CSV header without records", CSV, b("a,b\n"));

    // ---- entries that are not regular files (any format)
    refused(
        "a directory named like a file",
        JA,
        Files::createDirectory,
        BEFORE,
        "it is a directory, not a file");
    refused(
        "a symbolic link loop",
        JA,
        p -> Files.createSymbolicLink(p, p.getFileName()),
        BEFORE,
        "it is a symbolic link to skus_00002.json that cannot be followed");
    refused(
        "a dangling symbolic link",
        ND,
        p -> Files.createSymbolicLink(p, p.resolveSibling("gone.ndjson")),
        BEFORE,
        "which does not exist");
    refused(
        "a FIFO",
        CSV,
        BadInputCorpus::mkfifo,
        BEFORE,
        "it is not a regular file but a FIFO, socket or device");
  }

  private static void mkfifo(Path path) throws IOException {
    try {
      Process p = new ProcessBuilder("mkfifo", path.toString()).inheritIO().start();
      if (p.waitFor() != 0) {
        throw new IOException("mkfifo " + path + " failed");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }
}
