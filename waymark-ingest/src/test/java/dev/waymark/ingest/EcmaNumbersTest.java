package dev.waymark.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class EcmaNumbersTest {

  /** RFC 8785 Appendix B: IEEE-754 bits and their canonical form. */
  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource({
    "0000000000000000, 0",
    "8000000000000000, 0",
    "0000000000000001, 5e-324",
    "8000000000000001, -5e-324",
    "7fefffffffffffff, 1.7976931348623157e+308",
    "ffefffffffffffff, -1.7976931348623157e+308",
    "4340000000000000, 9007199254740992",
    "c340000000000000, -9007199254740992",
    "4430000000000000, 295147905179352830000",
    "44b52d02c7e14af5, 9.999999999999997e+22",
    "44b52d02c7e14af6, 1e+23",
    "44b52d02c7e14af7, 1.0000000000000001e+23",
    "444b1ae4d6e2ef4e, 999999999999999700000",
    "444b1ae4d6e2ef4f, 999999999999999900000",
    "444b1ae4d6e2ef50, 1e+21",
    "3eb0c6f7a0b5ed8c, 9.999999999999997e-7",
    "3eb0c6f7a0b5ed8d, 0.000001",
    "41b3de4355555553, 333333333.3333332",
    "41b3de4355555554, 333333333.33333325",
    "41b3de4355555555, 333333333.3333333",
    "41b3de4355555556, 333333333.3333334",
    "41b3de4355555557, 333333333.33333343",
    "becbf647612f3696, -0.0000033333333333333333",
    "43143ff3c1cb0959, 1424953923781206.2"
  })
  void formatsTheRfc8785AppendixBNumbers(String bits, String expected) {
    assertThat(EcmaNumbers.format(Double.longBitsToDouble(Long.parseUnsignedLong(bits, 16))))
        .isEqualTo(expected);
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource({
    "1e21, 1e+21",
    "1e20, 100000000000000000000",
    "0.000001, 0.000001",
    "1e-7, 1e-7",
    "-0.0, 0",
    "333333333.33333329, 333333333.3333333",
    "1E30, 1e+30",
    "4.50, 4.5",
    "2e-3, 0.002",
    "0.000000000000000000000000001, 1e-27",
    "0.1, 0.1",
    "100, 100",
    "123456789012, 123456789012",
    "1.5e-7, 1.5e-7",
    "-1.25e300, -1.25e+300"
  })
  void formatsLiteralsAsJavaScriptDoes(String literal, String expected) {
    assertThat(EcmaNumbers.format(Double.parseDouble(literal))).isEqualTo(expected);
  }

  @Test
  void refusesNanAndTheInfinities() {
    for (double d : new double[] {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}) {
      assertThatThrownBy(() -> EcmaNumbers.format(d))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("no JSON form");
    }
  }

  /**
   * 5,197 doubles (arbitrary bit patterns, money amounts, integers past 2^53, values at the layout
   * boundaries 1e-7 and 1e21, subnormals, every power of two) formatted by node's {@code
   * String(x)}, the ECMAScript reference.
   */
  @Test
  void agreesWithNodeOnFiveThousandDoubles() throws IOException {
    int checked = 0;
    try (BufferedReader in =
        new BufferedReader(
            new InputStreamReader(
                Objects.requireNonNull(getClass().getResourceAsStream("es-numbers.txt")),
                StandardCharsets.US_ASCII))) {
      for (String line; (line = in.readLine()) != null; ) {
        if (line.startsWith("#")) {
          continue;
        }
        String[] parts = line.split(" ");
        double d = Double.longBitsToDouble(Long.parseUnsignedLong(parts[0], 16));
        assertThat(EcmaNumbers.format(d)).as("bits %s", parts[0]).isEqualTo(parts[1]);
        checked++;
      }
    }
    assertThat(checked).isGreaterThan(5000);
  }

  @Property(tries = 2000)
  void readsBackAsTheSameDoubleAndIsNoLongerThanJava(@ForAll double d) {
    if (Double.isNaN(d) || Double.isInfinite(d)) {
      return;
    }
    String s = EcmaNumbers.format(d);
    assertThat(Double.parseDouble(s)).isEqualTo(d == 0 ? 0.0 : d);
    if (d != 0) {
      // Java 17's Double.toString round-trips but is sometimes one digit longer than needed.
      BigDecimal java = new BigDecimal(Double.toString(Math.abs(d))).stripTrailingZeros();
      assertThat(EcmaNumbers.shortest(Math.abs(d)).precision())
          .isLessThanOrEqualTo(java.precision());
    }
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource({
    "9007199254740993, 9007199254740993",
    "123456789012345678901234567890, 1.2345678901234567890123456789e+29",
    "0.12345678901234567890, 0.1234567890123456789",
    "1.10, 1.1",
    "1e400, 1e+400",
    "1e-400, 1e-400",
    "12e2, 1200",
    "0.0000010, 0.000001",
    "0.00000012, 1.2e-7"
  })
  void laysOutExactDecimalsByTheSameRules(String literal, String expected) {
    assertThat(EcmaNumbers.layout(false, new BigDecimal(literal))).isEqualTo(expected);
  }
}
