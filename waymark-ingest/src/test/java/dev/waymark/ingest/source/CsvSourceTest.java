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
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CsvSourceTest {
  private static final Format F = Format.CSV;

  @TempDir Path dir;

  @Test
  void readsRecordsAsObjectsOfStrings() throws IOException {
    Path file = write(dir, "a.csv", "sku,price,qty\nA-1,19.90,3\nB-2,,0042\n");

    List<SourceRecord> records = readAll(file, F);

    assertThat(records).hasSize(2);
    assertThat(records.get(0).fields())
        .containsExactly(
            Map.entry("sku", "A-1"), Map.entry("price", "19.90"), Map.entry("qty", "3"));
    assertThat(records.get(1).fields()).containsEntry("price", "").containsEntry("qty", "0042");
    assertThat(records.get(1).number()).isEqualTo(2);
    assertThat(records.get(1).line()).isEqualTo(3);
    assertThat(records.get(1).byteOffset()).isEqualTo(26);
  }

  @Test
  void readsRfc4180Quoting() throws IOException {
    Path file =
        write(
            dir,
            "q.csv",
            "id,text,note\r\n1,\"a, b\",\"say \"\"hi\"\"\"\r\n2,\"two\r\nlines\",\"\"\r\n3, x ,caf\u00e9\r\n");

    List<SourceRecord> records = readAll(file, F);

    assertThat(records)
        .extracting(r -> r.fields().get("text"))
        .containsExactly("a, b", "two\r\nlines", " x ");
    assertThat(records.get(0).fields().get("note")).isEqualTo("say \"hi\"");
    assertThat(records.get(1).fields().get("note")).isEqualTo("");
    assertThat(records.get(2).fields().get("note")).isEqualTo("café");
    assertThat(records).extracting(SourceRecord::line).containsExactly(2L, 3L, 5L);
  }

  @Test
  void acceptsAMissingFinalNewlineAndTrailingEmptyLines() throws IOException {
    assertThat(readAll(write(dir, "n.csv", "a,b\n1,2"), F)).hasSize(1);
    assertThat(readAll(write(dir, "t.csv", "a,b\n1,2\n\n\r\n\n"), F)).hasSize(1);
  }

  @Test
  void readsAHeaderAloneAsNoRecords() throws IOException {
    assertThat(readAll(write(dir, "h.csv", "a,b\n"), F)).isEmpty();
  }

  @Test
  void skipsAUtf8ByteOrderMarkSoTheFirstColumnKeepsItsName() throws IOException {
    Path file = write(dir, "excel.csv", bytes(raw(0xEF, 0xBB, 0xBF), "sku,qty\r\nA,1\r\n"));
    List<SourceRecord> records = readAll(file, F);
    assertThat(records.get(0).fields()).containsOnlyKeys("sku", "qty");
    assertThat(records.get(0).byteOffset()).isEqualTo(12);
  }

  @Test
  void readsAOneColumnFileWithQuotedEmptyValues() throws IOException {
    assertThat(readAll(write(dir, "one.csv", "a\nx\n\"\"\ny\n"), F))
        .extracting(r -> r.fields().get("a"))
        .containsExactly("x", "", "y");
  }

  // ---------------------------------------------------------------- malformed input

  @Test
  void refusesAnEmptyFile() throws IOException {
    BadInputException e = refusal(write(dir, "empty.csv", ""), F);
    assertThat(e.reason()).isEqualTo(Reason.EMPTY_FILE);
    assertThat(e.getMessage()).contains("empty.csv").contains("empty (0 bytes)").contains("header");
  }

  @Test
  void refusesARecordWithTooFewFields() throws IOException {
    BadInputException e = refusal(write(dir, "few.csv", "a,b,c\n1,2,3\n4,5\n"), F);
    assertThat(e.reason()).isEqualTo(Reason.CSV_FIELD_COUNT);
    assertThat(e.line()).isEqualTo(3);
    assertThat(e.column()).isEqualTo(1);
    assertThat(e.byteOffset()).isEqualTo(12);
    assertThat(e.recordNumber()).isEqualTo(2);
    assertThat(e.getMessage())
        .contains(
            "few.csv at line 3, column 1 (byte 12), record 2: the record has 2 fields, but the header has 3");
  }

  @Test
  void refusesARecordWithTooManyFields() throws IOException {
    BadInputException e = refusal(write(dir, "many.csv", "a,b\n1,2,3,4,5\n"), F);
    assertThat(e.reason()).isEqualTo(Reason.CSV_FIELD_COUNT);
    assertThat(e.recordNumber()).isEqualTo(1);
    assertThat(e.getMessage()).contains("the record has more than 2 fields, but the header has 2");
  }

  @Test
  void refusesAnUnterminatedQuote() throws IOException {
    BadInputException e = refusal(write(dir, "open.csv", "a,b\n1,2\n3,\"four\n5,6\n"), F);
    assertThat(e.reason()).isEqualTo(Reason.CSV_UNTERMINATED_QUOTE);
    assertThat(e.line()).isEqualTo(3);
    assertThat(e.column()).isEqualTo(3);
    assertThat(e.byteOffset()).isEqualTo(10);
    assertThat(e.recordNumber()).isEqualTo(2);
    assertThat(e.getMessage())
        .contains("opened at line 3, column 3 is still open at the end of the file");
  }

  @Test
  void refusesAQuoteInsideAnUnquotedField() throws IOException {
    BadInputException e = refusal(write(dir, "stray.csv", "a,b\n1,ab\"c\n"), F);
    assertThat(e.reason()).isEqualTo(Reason.CSV_SYNTAX);
    assertThat(e.line()).isEqualTo(2);
    assertThat(e.column()).isEqualTo(5);
    assertThat(e.getMessage()).contains("a double quote inside an unquoted field");
  }

  @Test
  void refusesTextAfterAClosingQuote() throws IOException {
    BadInputException e = refusal(write(dir, "after.csv", "a,b\n1,\"x\"y\n"), F);
    assertThat(e.reason()).isEqualTo(Reason.CSV_SYNTAX);
    assertThat(e.column()).isEqualTo(6);
    assertThat(e.getMessage()).contains("unexpected 'y' after the closing quote");
  }

  @Test
  void refusesABareCarriageReturn() throws IOException {
    BadInputException e = refusal(write(dir, "cr.csv", "a,b\r1,2\r"), F);
    assertThat(e.reason()).isEqualTo(Reason.CSV_SYNTAX);
    assertThat(e.byteOffset()).isEqualTo(3);
    assertThat(e.getMessage()).contains("carriage return not followed by a line feed");
  }

  @Test
  void refusesAnEmptyLineBetweenRecords() throws IOException {
    BadInputException e = refusal(write(dir, "gap.csv", "a,b\n1,2\n\n3,4\n"), F);
    assertThat(e.reason()).isEqualTo(Reason.BLANK_LINE);
    assertThat(e.line()).isEqualTo(3);
    assertThat(e.recordNumber()).isEqualTo(2);
    assertThat(e.getMessage()).contains("line 3 is empty");
  }

  @Test
  void refusesADuplicateColumnName() throws IOException {
    BadInputException e = refusal(write(dir, "dup.csv", "sku,qty,sku\n1,2,3\n"), F);
    assertThat(e.reason()).isEqualTo(Reason.DUPLICATE_KEY);
    assertThat(e.recordNumber()).isZero();
    assertThat(e.getMessage())
        .contains("before the first record")
        .contains("column \"sku\" twice (columns 1 and 3)");
  }

  @Test
  void refusesAnEmptyColumnName() throws IOException {
    BadInputException e = refusal(write(dir, "noname.csv", "a,,c\n1,2,3\n"), F);
    assertThat(e.reason()).isEqualTo(Reason.CSV_HEADER);
    assertThat(e.getMessage()).contains("column 2 of the header has an empty name");
  }

  @Test
  void refusesABlankColumnNameSoAFileOfSpacesIsNotAOneColumnTable() throws IOException {
    BadInputException e = refusal(write(dir, "spaces.csv", "   \n"), F);
    assertThat(e.reason()).isEqualTo(Reason.CSV_HEADER);
    assertThat(e.getMessage()).contains("column 1 of the header has a blank name");
  }

  @Test
  void refusesInvalidUtf8() throws IOException {
    BadInputException e =
        refusal(write(dir, "latin1.csv", bytes("name\nok\ncaf", raw(0xE9), "\n")), F);
    assertThat(e.reason()).isEqualTo(Reason.INVALID_UTF8);
    assertThat(e.line()).isEqualTo(3);
    assertThat(e.column()).isEqualTo(4);
    assertThat(e.byteOffset()).isEqualTo(11);
    assertThat(e.recordNumber()).isEqualTo(2);
  }

  @Test
  void refusesANulByte() throws IOException {
    BadInputException e = refusal(write(dir, "nul.csv", bytes("a,b\n1,", raw(0), "\n")), F);
    assertThat(e.reason()).isEqualTo(Reason.NUL_BYTE);
    assertThat(e.line()).isEqualTo(2);
    assertThat(e.column()).isEqualTo(3);
    assertThat(e.byteOffset()).isEqualTo(6);
    assertThat(e.recordNumber()).isEqualTo(1);
  }

  @Test
  void refusesAUtf16File() throws IOException {
    BadInputException e = refusal(write(dir, "u16.csv", raw(0xFE, 0xFF, 0, 'a', 0, '\n')), F);
    assertThat(e.reason()).isEqualTo(Reason.UNSUPPORTED_ENCODING);
    assertThat(e.getMessage()).contains("UTF-16").contains("(FE FF)");
  }

  @Test
  void refusesAFieldLongerThanTheLimit() throws IOException {
    String huge = "x".repeat(RecordSource.MAX_VALUE_LENGTH + 1);
    BadInputException e = refusal(write(dir, "huge.csv", "a\n\"" + huge + "\"\n"), F);
    assertThat(e.reason()).isEqualTo(Reason.VALUE_TOO_LONG);
    assertThat(e.line()).isEqualTo(2);
    assertThat(e.getMessage()).contains("a field longer than 20000000 bytes");
  }
}
