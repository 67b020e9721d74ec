package dev.waymark.ingest.source;

import static dev.waymark.ingest.source.Inputs.bytes;
import static dev.waymark.ingest.source.Inputs.raw;
import static dev.waymark.ingest.source.Inputs.readAll;
import static dev.waymark.ingest.source.Inputs.refusal;
import static dev.waymark.ingest.source.Inputs.write;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.waymark.ingest.BadInputException;
import dev.waymark.ingest.BadInputException.Reason;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JsonArraySourceTest {
  private static final Format F = Format.JSON_ARRAY;

  @TempDir Path dir;

  // ---------------------------------------------------------------- well-formed input

  @Test
  void readsEachRecordWithItsPosition() throws IOException {
    Path file =
        write(
            dir,
            "a.json",
            "[\n  {\"sku\": \"A-1\", \"qty\": 3},\n  {\"sku\": \"B-2\", \"tags\": []}\n]\n");

    List<SourceRecord> records = readAll(file, F);

    assertThat(records).hasSize(2);
    SourceRecord first = records.get(0);
    assertThat(first.fields()).containsExactly(Map.entry("sku", "A-1"), Map.entry("qty", 3L));
    assertThat(first.number()).isEqualTo(1);
    assertThat(first.line()).isEqualTo(2);
    assertThat(first.column()).isEqualTo(3);
    assertThat(first.byteOffset()).isEqualTo(4);
    assertThat(first.file()).isEqualTo(file);
    SourceRecord second = records.get(1);
    assertThat(second.number()).isEqualTo(2);
    assertThat(second.line()).isEqualTo(3);
    assertThat(second.fields().get("tags")).isEqualTo(List.of());
  }

  @Test
  void readsAnEmptyArrayAsNoRecords() throws IOException {
    assertThat(readAll(write(dir, "e.json", "[]"), F)).isEmpty();
    assertThat(readAll(write(dir, "e2.json", " \n[ ]\n\n"), F)).isEmpty();
  }

  @Test
  void keepsEveryValueTypeAndKeyOrder() throws IOException {
    Path file =
        write(
            dir,
            "t.json",
            "[{\"z\":null,\"s\":\"\\u00e9\\n\\u0000\",\"t\":true,\"f\":false,"
                + "\"o\":{\"b\":1,\"a\":[1,\"x\",null]},\"emoji\":\"\\ud83d\\ude00\"}]");

    Map<String, Object> r = readAll(file, F).get(0).fields();

    assertThat(r.keySet()).containsExactly("z", "s", "t", "f", "o", "emoji");
    assertThat(r).containsEntry("z", null).containsKey("z");
    assertThat(r.get("s")).isEqualTo("é\n\u0000");
    assertThat(r.get("t")).isEqualTo(true);
    assertThat(r.get("f")).isEqualTo(false);
    assertThat(r.get("o")).isEqualTo(Map.of("b", 1L, "a", Arrays.asList(1L, "x", null)));
    assertThat(r.get("emoji")).isEqualTo("😀");
    assertThatThrownBy(() -> r.put("x", 1)).isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void keepsHugeNumbersExactly() throws IOException {
    String bigInt = "123456789012345678901234567890";
    String bigDec = "0.12345678901234567890123456789";
    Path file =
        write(
            dir,
            "n.json",
            "[{\"a\":9007199254740993,\"b\":"
                + bigInt
                + ",\"c\":"
                + bigDec
                + ",\"d\":1.10,\"e\":1e400,\"f\":-0,\"g\":9223372036854775807,"
                + "\"h\":9223372036854775808}]");

    Map<String, Object> r = readAll(file, F).get(0).fields();

    assertThat(r.get("a")).isEqualTo(9007199254740993L);
    assertThat(r.get("b")).isEqualTo(new BigInteger(bigInt));
    assertThat(r.get("c")).isEqualTo(new BigDecimal(bigDec));
    assertThat(r.get("d")).isEqualTo(new BigDecimal("1.10"));
    assertThat(r.get("e")).isEqualTo(new BigDecimal("1e400"));
    assertThat(r.get("f")).isEqualTo(0L);
    assertThat(r.get("g")).isEqualTo(Long.MAX_VALUE);
    assertThat(r.get("h")).isEqualTo(new BigInteger("9223372036854775808"));
  }

  @Test
  void skipsAUtf8ByteOrderMarkAndCountsItInPositions() throws IOException {
    Path file = write(dir, "bom.json", bytes(raw(0xEF, 0xBB, 0xBF), "[{\"a\":1}]"));

    List<SourceRecord> records = readAll(file, F);

    assertThat(records).hasSize(1);
    assertThat(records.get(0).fields()).containsEntry("a", 1L);
    assertThat(records.get(0).byteOffset()).isEqualTo(4);
    assertThat(records.get(0).column()).isEqualTo(5);
  }

  @Test
  void acceptsNestingUpToTheLimit() throws IOException {
    String deep = "[" + "{\"a\":".repeat(RecordSource.MAX_DEPTH - 1) + "{}" + "}".repeat(63) + "]";
    assertThat(readAll(write(dir, "deep.json", deep), F)).hasSize(1);
  }

  @Test
  void failsOnAMissingFileWithAnIoError() {
    assertThatThrownBy(() -> RecordSource.open(dir.resolve("absent.json"), F))
        .isInstanceOf(UncheckedIOException.class)
        .hasMessageContaining("absent.json");
  }

  @Test
  void refusesUseAfterClose() throws IOException {
    RecordSource source = RecordSource.open(write(dir, "c.json", "[{}]"), F);
    source.close();
    source.close();
    assertThatThrownBy(source::next).isInstanceOf(IllegalStateException.class);
  }

  // ---------------------------------------------------------------- malformed input

  @Test
  void refusesAnEmptyFile() throws IOException {
    BadInputException e = refusal(write(dir, "empty.json", ""), F);
    assertThat(e.reason()).isEqualTo(Reason.EMPTY_FILE);
    assertThat(e.recordNumber()).isZero();
    assertThat(e.getMessage()).contains("empty.json").contains("empty (0 bytes)").contains("[]");
  }

  @Test
  void refusesAFileOfOnlyWhitespace() throws IOException {
    BadInputException e = refusal(write(dir, "ws.json", "  \n\n"), F);
    assertThat(e.reason()).isEqualTo(Reason.EMPTY_FILE);
    assertThat(e.getMessage()).contains("only whitespace");
  }

  @Test
  void refusesInvalidJson() throws IOException {
    BadInputException e = refusal(write(dir, "bad.json", "[\n{\"a\":1},\n{\"a\":2,}\n]"), F);
    assertThat(e.reason()).isEqualTo(Reason.INVALID_JSON);
    assertThat(e.line()).isEqualTo(3);
    assertThat(e.column()).isEqualTo(8);
    assertThat(e.recordNumber()).isEqualTo(2);
    assertThat(e.getMessage())
        .contains("bad.json at line 3, column 8 (byte 18), record 2: invalid JSON:");
  }

  @Test
  void refusesATopLevelObject() throws IOException {
    BadInputException e = refusal(write(dir, "obj.json", "{\"a\":1}"), F);
    assertThat(e.reason()).isEqualTo(Reason.WRONG_TOP_LEVEL);
    assertThat(e.getMessage())
        .contains("at line 1, column 1 (byte 0), before the first record")
        .contains("the top-level value is an object")
        .contains("--format ndjson");
  }

  @Test
  void refusesATopLevelScalar() throws IOException {
    BadInputException e = refusal(write(dir, "s.json", "\"hello\""), F);
    assertThat(e.reason()).isEqualTo(Reason.WRONG_TOP_LEVEL);
    assertThat(e.getMessage()).contains("the top-level value is a string");
  }

  @Test
  void refusesARecordThatIsNotAnObject() throws IOException {
    BadInputException e = refusal(write(dir, "n.json", "[{\"a\":1}, 42]"), F);
    assertThat(e.reason()).isEqualTo(Reason.NOT_AN_OBJECT);
    assertThat(e.recordNumber()).isEqualTo(2);
    assertThat(e.getMessage())
        .contains("line 1, column 11 (byte 10), record 2: the record is a number, not an object");
  }

  @Test
  void refusesInvalidUtf8() throws IOException {
    Path file =
        write(dir, "latin1.json", bytes("[{\"a\":\"x\"},\n{\"name\":\"caf", raw(0xE9), "\"}]"));
    BadInputException e = refusal(file, F);
    assertThat(e.reason()).isEqualTo(Reason.INVALID_UTF8);
    assertThat(e.line()).isEqualTo(2);
    assertThat(e.column()).isEqualTo(13);
    assertThat(e.byteOffset()).isEqualTo(24);
    assertThat(e.recordNumber()).isEqualTo(2);
    assertThat(e.getMessage())
        .contains("line 2, column 13 (byte 24), record 2: invalid UTF-8")
        .contains("0xE9")
        .contains("Latin-1");
  }

  @Test
  void refusesOverlongUtf8() throws IOException {
    BadInputException e =
        refusal(write(dir, "o.json", bytes("[{\"a\":\"", raw(0xC0, 0xAF), "\"}]")), F);
    assertThat(e.reason()).isEqualTo(Reason.INVALID_UTF8);
    assertThat(e.byteOffset()).isEqualTo(7);
    assertThat(e.getMessage()).contains("0xC0 cannot start a character");
  }

  @Test
  void refusesAnEncodedSurrogate() throws IOException {
    BadInputException e =
        refusal(write(dir, "sur.json", bytes("[{\"a\":\"", raw(0xED, 0xA0, 0x80), "\"}]")), F);
    assertThat(e.reason()).isEqualTo(Reason.INVALID_UTF8);
    assertThat(e.byteOffset()).isEqualTo(7);
    assertThat(e.getMessage()).contains("0xED").contains("byte 0xA0").contains("0x80..0x9F");
  }

  @Test
  void refusesUtf8CutOffAtTheEndOfTheFile() throws IOException {
    BadInputException e = refusal(write(dir, "cut.json", bytes("[{\"a\":1}]", raw(0xE2, 0x82))), F);
    assertThat(e.reason()).isEqualTo(Reason.INVALID_UTF8);
    assertThat(e.byteOffset()).isEqualTo(9);
    assertThat(e.getMessage()).contains("ends inside a multi-byte UTF-8 sequence");
  }

  @Test
  void refusesAUtf16ByteOrderMark() throws IOException {
    BadInputException e =
        refusal(write(dir, "u16.json", bytes(raw(0xFF, 0xFE), raw('[', 0, ']', 0))), F);
    assertThat(e.reason()).isEqualTo(Reason.UNSUPPORTED_ENCODING);
    assertThat(e.byteOffset()).isZero();
    assertThat(e.recordNumber()).isZero();
    assertThat(e.getMessage())
        .contains("UTF-16 byte-order mark (FF FE)")
        .contains("iconv -f UTF-16 -t UTF-8");
  }

  @Test
  void refusesUtf16WithoutAByteOrderMark() throws IOException {
    BadInputException e = refusal(write(dir, "u16.json", raw('[', 0, ']', 0)), F);
    assertThat(e.reason()).isEqualTo(Reason.NUL_BYTE);
    assertThat(e.byteOffset()).isEqualTo(1);
    assertThat(e.getMessage()).contains("looks like UTF-16");
  }

  @Test
  void refusesANulByte() throws IOException {
    Path file = write(dir, "nul.json", bytes("[{\"a\":1},\n {\"a\":\"x", raw(0), "\"}]"));
    BadInputException e = refusal(file, F);
    assertThat(e.reason()).isEqualTo(Reason.NUL_BYTE);
    assertThat(e.line()).isEqualTo(2);
    assertThat(e.column()).isEqualTo(9);
    assertThat(e.byteOffset()).isEqualTo(18);
    assertThat(e.recordNumber()).isEqualTo(2);
    assertThat(e.getMessage()).contains("a NUL byte (0x00)");
  }

  @Test
  void refusesDuplicateKeys() throws IOException {
    BadInputException e =
        refusal(write(dir, "dup.json", "[{\"a\":1},\n{\"price\":1,\"x\":{},\"price\":2}]"), F);
    assertThat(e.reason()).isEqualTo(Reason.DUPLICATE_KEY);
    assertThat(e.line()).isEqualTo(2);
    assertThat(e.column()).isEqualTo(19);
    assertThat(e.recordNumber()).isEqualTo(2);
    assertThat(e.getMessage()).contains("duplicate key \"price\" in one object");
  }

  @Test
  void aKeyQuotedInTheMessageHasItsControlCharactersEscaped() throws IOException {
    String key = "a\\nFAKE: all good\\u001b[31m"; // JSON escapes: a newline and an ESC
    BadInputException e =
        refusal(write(dir, "ctl.json", "[{\"" + key + "\":1,\"" + key + "\":2}]"), F);
    String backslash = "\\";
    assertThat(e.getMessage())
        .contains(
            "duplicate key \"a"
                + backslash
                + "u000aFAKE: all good"
                + backslash
                + "u001b[31m\" in one object")
        .doesNotContain("\n")
        .doesNotContain(String.valueOf((char) 27));
  }

  @Test
  void refusesDuplicateKeysInNestedObjects() throws IOException {
    BadInputException e = refusal(write(dir, "dup2.json", "[{\"o\":{\"k\":1,\"k\":1}}]"), F);
    assertThat(e.reason()).isEqualTo(Reason.DUPLICATE_KEY);
    assertThat(e.getMessage()).contains("duplicate key \"k\"");
  }

  @Test
  void refusesNestingBeyondTheLimit() throws IOException {
    String deep = "[" + "{\"a\":".repeat(RecordSource.MAX_DEPTH) + "{}" + "}".repeat(64) + "]";
    BadInputException e = refusal(write(dir, "deep.json", deep), F);
    assertThat(e.reason()).isEqualTo(Reason.TOO_DEEP);
    assertThat(e.recordNumber()).isEqualTo(1);
    assertThat(e.getMessage()).contains("nested deeper than 64 levels");
  }

  @Test
  void refusesTrailingGarbageAfterTheArray() throws IOException {
    BadInputException e = refusal(write(dir, "tr.json", "[{\"a\":1}]\nxyz"), F);
    assertThat(e.reason()).isEqualTo(Reason.TRAILING_DATA);
    assertThat(e.line()).isEqualTo(2);
    assertThat(e.getMessage()).contains("data after the end of the array, which closed at line 1");
  }

  @Test
  void refusesASecondValueAfterTheArray() throws IOException {
    BadInputException e = refusal(write(dir, "two.json", "[{\"a\":1}] [{\"a\":2}]"), F);
    assertThat(e.reason()).isEqualTo(Reason.TRAILING_DATA);
    assertThat(e.column()).isEqualTo(11);
    assertThat(e.getMessage()).contains("an array; a JSON-array file holds exactly one array");
  }

  @Test
  void refusesATruncatedFile() throws IOException {
    BadInputException e = refusal(write(dir, "cut.json", "[{\"a\":1},{\"a\":"), F);
    assertThat(e.reason()).isEqualTo(Reason.TRUNCATED);
    assertThat(e.recordNumber()).isEqualTo(2);
    assertThat(e.getMessage())
        .contains("the file ends in the middle of the array (truncated file?)");
  }

  @Test
  void refusesALoneSurrogateEscape() throws IOException {
    BadInputException e = refusal(write(dir, "ls.json", "[{\"a\":\"x\\ud800y\"}]"), F);
    assertThat(e.reason()).isEqualTo(Reason.LONE_SURROGATE);
    assertThat(e.getMessage()).contains("\\ud800");
  }

  @Test
  void refusesALoneSurrogateEscapeInAKey() throws IOException {
    BadInputException e = refusal(write(dir, "lk.json", "[{\"\\udc00\":1}]"), F);
    assertThat(e.reason()).isEqualTo(Reason.LONE_SURROGATE);
    assertThat(e.getMessage()).contains("surrogate").contains("0xdc00");
    BadInputException high = refusal(write(dir, "hk.json", "[{\"a\\ud800b\":1}]"), F);
    assertThat(high.reason()).isEqualTo(Reason.LONE_SURROGATE);
  }

  @Test
  void refusesANumberLongerThanTheLimit() throws IOException {
    BadInputException e = refusal(write(dir, "long.json", "[{\"n\":" + "9".repeat(1001) + "}]"), F);
    assertThat(e.reason()).isEqualTo(Reason.NUMBER_OUT_OF_RANGE);
    assertThat(e.recordNumber()).isEqualTo(1);
    assertThat(e.getMessage()).contains("exceeds").contains("1000");
  }

  @Test
  void refusesANumberWithAnExponentBeyondRange() throws IOException {
    BadInputException e = refusal(write(dir, "exp.json", "[{\"n\":1e99999999999}]"), F);
    assertThat(e.reason()).isIn(Reason.NUMBER_OUT_OF_RANGE, Reason.INVALID_JSON);
    assertThat(e.recordNumber()).isEqualTo(1);
  }

  @Test
  void refusesNonStandardJson() throws IOException {
    for (String bad :
        List.of("[{'a':1}]", "[{\"a\":NaN}]", "[{\"a\":01}]", "[{a:1}]", "[{\"a\":1} // c\n]")) {
      BadInputException e = refusal(write(dir, "ns.json", bad), F);
      assertThat(e.reason()).as(bad).isEqualTo(Reason.INVALID_JSON);
    }
  }

  @Test
  void refusesAControlCharacterInAString() throws IOException {
    BadInputException e = refusal(write(dir, "ctl.json", "[{\"a\":\"x\ty\"}]"), F);
    assertThat(e.reason()).isEqualTo(Reason.INVALID_JSON);
    assertThat(e.getMessage()).contains("CTRL-CHAR, code 9").contains("column 9");
  }
}
