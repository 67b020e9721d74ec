package dev.waymark.checkpoint.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Examples of the canonical JSON subset; the properties are in {@code
 * CheckpointCodecPropertiesTest}.
 */
class JsonTest {

  @Test
  void writesKeysSortedWithoutWhitespaceAndEscapesMinimally() {
    Map<String, Object> value =
        Map.of("b", List.of(1L, true, Json.NULL), "a", "q\"b\\s/\b\f\n\r\t\u0001é😀", "B", -5L);
    assertThat(Json.write(value))
        .isEqualTo(
            "{\"B\":-5,\"a\":\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0001é😀\",\"b\":[1,true,null]}");
  }

  @Test
  void keepsLoneSurrogatesApartAndIntactThroughTheRoundTrip() throws Exception {
    // Regression: both keys were written as '?', so a committed cursor could never be read back.
    Map<String, Object> value = Map.of("\ud800", 1L, "\udc00", 2L, "x\ud83d", "\ude00y");
    byte[] encoded = Json.encode(value);

    assertThat(new String(encoded, StandardCharsets.US_ASCII))
        .isEqualTo("{\"x\\ud83d\":\"\\ude00y\",\"\\ud800\":1,\"\\udc00\":2}");
    assertThat(Json.parse(encoded)).isEqualTo(value);
    assertThat(Json.write("😀")).isEqualTo("\"😀\""); // a proper pair stays as it is
  }

  @Test
  void refusesAUnicodeEscapeThatIsNotFourHexDigits() {
    // Regression: Integer.parseInt accepted a sign, so backslash-u+041 read as "A".
    for (String bad : List.of("\"\\u+041\"", "\"\\u-041\"", "\"\\u00g1\"", "\"\\u٠٠٤١\"")) {
      assertThatThrownBy(() -> Json.parse(bad.getBytes(StandardCharsets.UTF_8)))
          .as(bad)
          .isInstanceOf(Json.ParseException.class)
          .hasMessage("bad \\u escape at byte 3");
    }
  }

  @Test
  void reportsTheByteOffsetOfAnError() {
    assertThatThrownBy(() -> Json.parse("{\"é\":01}".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(Json.ParseException.class)
        .hasMessage("leading zero in a number at byte 6");
    assertThatThrownBy(() -> Json.parse(new byte[] {'"', (byte) 0xC3, '"'}))
        .isInstanceOf(Json.ParseException.class)
        .hasMessageStartingWith("invalid UTF-8");
  }

  @Test
  void refusesWhatTheSubsetLeavesOut() {
    for (String bad :
        List.of("1.5", "1e3", "{\"a\":1,\"a\":2}", " 1", "[1,]", "9223372036854775808", "\"\t\"")) {
      assertThatThrownBy(() -> Json.parse(bad.getBytes(StandardCharsets.UTF_8)))
          .as(bad)
          .isInstanceOf(Json.ParseException.class);
    }
    String deep = "[".repeat(Json.MAX_DEPTH + 2) + "]".repeat(Json.MAX_DEPTH + 2);
    assertThatThrownBy(() -> Json.parse(deep.getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(Json.ParseException.class)
        .hasMessageContaining("nesting deeper than " + Json.MAX_DEPTH);
  }
}
