package dev.waymark.ingest.source;

import static dev.waymark.ingest.source.Inputs.bytes;
import static dev.waymark.ingest.source.Inputs.raw;
import static dev.waymark.ingest.source.Inputs.readAll;
import static dev.waymark.ingest.source.Inputs.refusal;
import static dev.waymark.ingest.source.Inputs.write;
import static org.assertj.core.api.Assertions.assertThat;

import dev.waymark.ingest.BadInputException;
import dev.waymark.ingest.BadInputException.Reason;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NdjsonSourceTest {
  private static final Format F = Format.NDJSON;

  @TempDir Path dir;

  @Test
  void readsOneRecordPerLine() throws IOException {
    Path file =
        write(dir, "a.ndjson", "{\"a\":1}\n  {\"a\":2.50, \"b\": [1, {\"c\": null}]}\n{}\n");

    List<SourceRecord> records = readAll(file, F);

    assertThat(records).extracting(SourceRecord::line).containsExactly(1L, 2L, 3L);
    assertThat(records).extracting(SourceRecord::number).containsExactly(1L, 2L, 3L);
    assertThat(records.get(1).column()).isEqualTo(3);
    assertThat(records.get(1).byteOffset()).isEqualTo(10);
    assertThat(records.get(1).fields().get("a")).isEqualTo(new BigDecimal("2.50"));
  }

  @Test
  void acceptsCrlfAndAMissingFinalNewline() throws IOException {
    Path file = write(dir, "crlf.ndjson", "{\"a\":1}\r\n{\"a\":2}\r\n{\"a\":3}");
    assertThat(readAll(file, F)).extracting(SourceRecord::line).containsExactly(1L, 2L, 3L);
  }

  @Test
  void acceptsBlankLinesAtTheEnd() throws IOException {
    Path file = write(dir, "tail.ndjson", "{\"a\":1}\n{\"a\":2}\n\n  \n\t\n");
    assertThat(readAll(file, F)).hasSize(2);
  }

  @Test
  void readsAnEmptyFileAsNoRecords() throws IOException {
    assertThat(readAll(write(dir, "empty.ndjson", ""), F)).isEmpty();
  }

  @Test
  void skipsAUtf8ByteOrderMark() throws IOException {
    Path file = write(dir, "bom.ndjson", bytes(raw(0xEF, 0xBB, 0xBF), "{\"a\":1}\n{\"a\":2}\n"));
    List<SourceRecord> records = readAll(file, F);
    assertThat(records).hasSize(2);
    assertThat(records.get(0).byteOffset()).isEqualTo(3);
    assertThat(records.get(1).byteOffset()).isEqualTo(11);
  }

  @Test
  void refusesAFileOfOnlyBlankLines() throws IOException {
    BadInputException e = refusal(write(dir, "blank.ndjson", "\n\n"), F);
    assertThat(e.reason()).isEqualTo(Reason.BLANK_LINE);
    assertThat(e.getMessage()).contains("no records, only blank lines");
  }

  @Test
  void refusesABlankLineBetweenRecords() throws IOException {
    BadInputException e =
        refusal(write(dir, "gap.ndjson", "{\"a\":1}\n{\"a\":2}\n   \n{\"a\":3}\n"), F);
    assertThat(e.reason()).isEqualTo(Reason.BLANK_LINE);
    assertThat(e.line()).isEqualTo(3);
    assertThat(e.recordNumber()).isEqualTo(3);
    assertThat(e.getMessage())
        .contains("gap.ndjson at line 3, record 3: line 3 is blank")
        .contains("only at the end of the file");
  }

  @Test
  void refusesABlankLineBeforeTheFirstRecord() throws IOException {
    BadInputException e = refusal(write(dir, "lead.ndjson", "\n{\"a\":1}\n"), F);
    assertThat(e.reason()).isEqualTo(Reason.BLANK_LINE);
    assertThat(e.line()).isEqualTo(1);
  }

  @Test
  void refusesTwoRecordsOnOneLine() throws IOException {
    BadInputException e = refusal(write(dir, "two.ndjson", "{\"a\":1}\n{\"a\":2} {\"a\":3}\n"), F);
    assertThat(e.reason()).isEqualTo(Reason.NOT_ONE_RECORD_PER_LINE);
    assertThat(e.line()).isEqualTo(2);
    assertThat(e.column()).isEqualTo(9);
    assertThat(e.recordNumber()).isEqualTo(3);
    assertThat(e.getMessage()).contains("a second JSON value on line 2");
  }

  @Test
  void refusesARecordSpanningLines() throws IOException {
    BadInputException e = refusal(write(dir, "pretty.ndjson", "{\"a\":1}\n{\n  \"a\": 2\n}\n"), F);
    assertThat(e.reason()).isEqualTo(Reason.NOT_ONE_RECORD_PER_LINE);
    assertThat(e.recordNumber()).isEqualTo(2);
    assertThat(e.getMessage()).contains("spans lines 2 to 4").contains("pretty-printed");
  }

  @Test
  void refusesALineThatIsNotAnObject() throws IOException {
    BadInputException e = refusal(write(dir, "arr.ndjson", "{\"a\":1}\n[1,2]\n"), F);
    assertThat(e.reason()).isEqualTo(Reason.NOT_AN_OBJECT);
    assertThat(e.line()).isEqualTo(2);
    assertThat(e.recordNumber()).isEqualTo(2);
    assertThat(e.getMessage()).contains("the record is an array, not an object");
  }

  @Test
  void suggestsJsonArrayForAnArrayFile() throws IOException {
    BadInputException e = refusal(write(dir, "array.ndjson", "[{\"a\":1}]"), F);
    assertThat(e.reason()).isEqualTo(Reason.NOT_AN_OBJECT);
    assertThat(e.getMessage()).contains("--format json-array");
  }

  @Test
  void refusesInvalidJsonOnALine() throws IOException {
    BadInputException e = refusal(write(dir, "bad.ndjson", "{\"a\":1}\n{\"a\":2}\n{\"a\" 3}\n"), F);
    assertThat(e.reason()).isEqualTo(Reason.INVALID_JSON);
    assertThat(e.line()).isEqualTo(3);
    assertThat(e.column()).isEqualTo(6);
    assertThat(e.byteOffset()).isEqualTo(21);
    assertThat(e.recordNumber()).isEqualTo(3);
  }

  @Test
  void refusesATruncatedLastRecord() throws IOException {
    BadInputException e = refusal(write(dir, "cut.ndjson", "{\"a\":1}\n{\"a\":[1,"), F);
    assertThat(e.reason()).isEqualTo(Reason.TRUNCATED);
    assertThat(e.recordNumber()).isEqualTo(2);
    assertThat(e.getMessage()).contains("ends in the middle of a record");
  }

  @Test
  void refusesDuplicateKeys() throws IOException {
    BadInputException e = refusal(write(dir, "dup.ndjson", "{\"a\":1,\"a\":1}\n"), F);
    assertThat(e.reason()).isEqualTo(Reason.DUPLICATE_KEY);
    assertThat(e.column()).isEqualTo(8);
  }

  @Test
  void refusesInvalidUtf8() throws IOException {
    BadInputException e =
        refusal(write(dir, "u.ndjson", bytes("{\"a\":1}\n{\"a\":\"", raw(0xFF), "\"}\n")), F);
    assertThat(e.reason()).isEqualTo(Reason.INVALID_UTF8);
    assertThat(e.line()).isEqualTo(2);
    assertThat(e.column()).isEqualTo(7);
    assertThat(e.byteOffset()).isEqualTo(14);
    assertThat(e.recordNumber()).isEqualTo(2);
  }

  @Test
  void refusesANulByteBetweenRecords() throws IOException {
    BadInputException e = refusal(write(dir, "nul.ndjson", bytes("{\"a\":1}\n", raw(0), "\n")), F);
    assertThat(e.reason()).isEqualTo(Reason.NUL_BYTE);
    assertThat(e.line()).isEqualTo(2);
    assertThat(e.byteOffset()).isEqualTo(8);
  }

  @Test
  void refusesAUtf32ByteOrderMark() throws IOException {
    BadInputException e = refusal(write(dir, "u32.ndjson", raw(0, 0, 0xFE, 0xFF, 0, 0, 0, '{')), F);
    assertThat(e.reason()).isEqualTo(Reason.UNSUPPORTED_ENCODING);
    assertThat(e.getMessage()).contains("UTF-32");
  }
}
