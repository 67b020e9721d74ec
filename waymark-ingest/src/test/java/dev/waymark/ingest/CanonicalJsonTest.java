package dev.waymark.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.waymark.ingest.CanonicalJson.NumberMode;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CanonicalJsonTest {

  private static String jcs(Object value) {
    return CanonicalJson.toString(value, NumberMode.EXACT);
  }

  private static Map<String, Object> obj(Object... kv) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put((String) kv[i], kv[i + 1]);
    }
    return m;
  }

  /** RFC 8785 §3.2.3: the worked example, numbers as doubles (strict mode). */
  @Test
  void encodesTheRfc8785Example() {
    Map<String, Object> input =
        obj(
            "numbers",
            List.of(
                new BigDecimal("333333333.33333329"),
                new BigDecimal("1E30"),
                new BigDecimal("4.50"),
                new BigDecimal("2e-3"),
                new BigDecimal("0.000000000000000000000000001")),
            "string",
            "\u20ac$\u000F\nA'B\"\\\\\"/",
            "literals",
            Arrays.asList(null, true, false));

    assertThat(CanonicalJson.toString(input, NumberMode.IEEE_DOUBLE))
        .isEqualTo(
            "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],"
                + "\"string\":\"\u20ac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
  }

  /** RFC 8785 §3.2.3: sorting by UTF-16 code units, not code points or UTF-8 bytes. */
  @Test
  void sortsKeysByUtf16CodeUnits() {
    Map<String, Object> input =
        obj(
            "\u20ac", "Euro Sign",
            "\r", "Carriage Return",
            "\ufb33", "Hebrew Letter Dalet With Dagesh",
            "1", "One",
            "\ud83d\ude00", "Emoji: Grinning Face",
            "\u0080", "Control",
            "\u00f6", "Latin Small Letter O With Diaeresis");

    assertThat(jcs(input))
        .isEqualTo(
            "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\",\"\u00f6\":\"Latin"
                + " Small Letter O With Diaeresis\",\"\u20ac\":\"Euro Sign\",\"\ud83d\ude00\":"
                + "\"Emoji: Grinning Face\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}");
  }

  @Test
  void sortsNestedObjectsAndKeepsArrayOrder() {
    Object input = obj("b", List.of(obj("y", 1L, "x", 2L), 3L), "a", obj("d", null, "c", true));
    assertThat(jcs(input)).isEqualTo("{\"a\":{\"c\":true,\"d\":null},\"b\":[{\"x\":2,\"y\":1},3]}");
  }

  @Test
  void escapesStringsAsTheRfcSays() {
    StringBuilder controls = new StringBuilder();
    for (char c = 0; c < 0x20; c++) {
      controls.append(c);
    }
    assertThat(jcs(controls.toString()))
        .isEqualTo(
            "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r"
                + "\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018"
                + "\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\"");
    assertThat(jcs("/\u007f\"\\é😀")).isEqualTo("\"/\u007f\\\"\\\\é😀\"");
    assertThat(CanonicalJson.encode("é😀")).isEqualTo("\"é😀\"".getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void refusesALoneSurrogateNamingThePath() {
    Object input = obj("a", obj("b", List.of("ok", "x\ud800")));
    assertThatThrownBy(() -> jcs(input))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("at a.b[1]: a string holds a lone UTF-16 surrogate (\\ud800)");
  }

  @Test
  void refusesValuesJsonCannotHold() {
    assertThatThrownBy(() -> jcs(obj("t", new Object())))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("at t: a java.lang.Object has no JSON form");
    Map<Object, Object> intKey = new LinkedHashMap<>();
    intKey.put(1, "x");
    assertThatThrownBy(() -> jcs(intKey)).hasMessageContaining("not a string");
    assertThatThrownBy(() -> jcs(List.of(Double.NaN))).hasMessageContaining("no JSON form");
    List<Object> deep = new ArrayList<>();
    List<Object> cur = deep;
    for (int i = 0; i < CanonicalJson.MAX_DEPTH + 1; i++) {
      List<Object> next = new ArrayList<>();
      cur.add(next);
      cur = next;
    }
    assertThatThrownBy(() -> jcs(deep)).hasMessageContaining("nesting deeper than 1000");
  }

  @Test
  void writesMinusZeroAsZeroInEveryMode() {
    for (NumberMode mode : NumberMode.values()) {
      assertThat(CanonicalJson.number(new BigDecimal("-0.0"), mode)).isEqualTo("0");
      assertThat(CanonicalJson.number(-0.0, mode)).isEqualTo("0");
      assertThat(CanonicalJson.number(0L, mode)).isEqualTo("0");
    }
  }

  @Test
  void exactModeKeepsBigIntegersApart() {
    BigInteger a = BigInteger.TWO.pow(53).add(BigInteger.ONE);
    BigInteger b = BigInteger.TWO.pow(53);
    assertThat(CanonicalJson.number(a, NumberMode.EXACT)).isEqualTo("9007199254740993");
    assertThat(CanonicalJson.number(b, NumberMode.EXACT)).isEqualTo("9007199254740992");
    assertThat(CanonicalJson.number(9007199254740993L, NumberMode.EXACT))
        .isEqualTo("9007199254740993");
    // Strict RFC 8785 reads both as the same double.
    assertThat(CanonicalJson.number(a, NumberMode.IEEE_DOUBLE)).isEqualTo("9007199254740992");
    assertThat(CanonicalJson.number(9007199254740993L, NumberMode.IEEE_DOUBLE))
        .isEqualTo("9007199254740992");
  }

  @Test
  void exactModeAgreesWithTheRfcWhenTheRfcKeepsTheValue() {
    for (String literal :
        List.of(
            "0",
            "1",
            "-1",
            "19.99",
            "0.1",
            "1e21",
            "1e-7",
            "0.000001",
            "123456.789",
            "9007199254740992",
            "-9007199254740992",
            "1.7976931348623157e308",
            "5e-324",
            "295147905179352830000",
            "1e23",
            "4.50",
            "2e-3",
            "1E30")) {
      BigDecimal v = new BigDecimal(literal);
      assertThat(CanonicalJson.number(v, NumberMode.EXACT))
          .as(literal)
          .isEqualTo(CanonicalJson.number(v, NumberMode.IEEE_DOUBLE))
          .isEqualTo(CanonicalJson.number(v, NumberMode.REFUSE_INEXACT));
    }
  }

  @Test
  void exactModeWritesWhatTheRfcWouldRound() {
    assertThat(CanonicalJson.number(new BigDecimal("333333333.33333329"), NumberMode.EXACT))
        .isEqualTo("333333333.33333329");
    assertThat(CanonicalJson.number(new BigDecimal("1152921504606846976"), NumberMode.EXACT))
        .isEqualTo("1152921504606846976");
    assertThat(CanonicalJson.number(new BigDecimal("1152921504606846976"), NumberMode.IEEE_DOUBLE))
        .isEqualTo("1152921504606847000");
    assertThat(CanonicalJson.number(new BigDecimal("1e400"), NumberMode.EXACT)).isEqualTo("1e+400");
    assertThat(CanonicalJson.number(new BigInteger("1" + "0".repeat(30)), NumberMode.EXACT))
        .isEqualTo("1e+30");
  }

  @Test
  void strictModeRefusesNumbersBeyondTheDoubleRange() {
    assertThatThrownBy(() -> CanonicalJson.number(new BigDecimal("1e400"), NumberMode.IEEE_DOUBLE))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("beyond the IEEE-754 double range");
    assertThat(CanonicalJson.number(new BigDecimal("1e-400"), NumberMode.IEEE_DOUBLE))
        .isEqualTo("0");
  }

  @Test
  void refuseInexactModeRefusesWhatTheRfcWouldRound() {
    assertThatThrownBy(
            () ->
                CanonicalJson.number(new BigInteger("9007199254740993"), NumberMode.REFUSE_INEXACT))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("9007199254740993 is not exactly representable")
        .hasMessageContaining("would write it as 9007199254740992");
    assertThatThrownBy(
            () ->
                CanonicalJson.number(
                    new BigDecimal("333333333.33333329"), NumberMode.REFUSE_INEXACT))
        .hasMessageContaining("333333333.3333333");
    assertThat(CanonicalJson.number(new BigDecimal("19.99"), NumberMode.REFUSE_INEXACT))
        .isEqualTo("19.99");
  }

  @Test
  void formatsBinaryFloatingPointAsItsShortestDecimal() {
    assertThat(CanonicalJson.number(0.1, NumberMode.EXACT)).isEqualTo("0.1");
    assertThat(CanonicalJson.number(0.1f, NumberMode.EXACT)).isEqualTo("0.10000000149011612");
    assertThat(CanonicalJson.number(1e21, NumberMode.EXACT)).isEqualTo("1e+21");
    assertThat(CanonicalJson.number(42, NumberMode.EXACT)).isEqualTo("42");
  }
}
