package dev.waymark.ingest;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;

/**
 * Number serialization as ECMAScript's {@code Number.prototype.toString} (ECMA-262,
 * Number::toString with radix 10), which RFC 8785 §3.2.2.3 adopts.
 *
 * <p>Design notes. ECMAScript picks the fewest significant digits {@code s} (k of them) that still
 * read back as the same double, the closest such to the exact value, then lays them out by the
 * decimal exponent {@code n} (value = 0.s × 10^n): plain digits while {@code n <= 21}, a leading
 * {@code 0.} while {@code n > -6}, exponent form ({@code 1e+21}, {@code 1.5e-7}) otherwise. {@link
 * #shortest} finds {@code s} with {@link BigDecimal} arithmetic (Java 17's {@code Double.toString}
 * is not always shortest): for each precision {@code p} from 1 up, the exact value rounded to
 * {@code p} digits, half-even, is the closest candidate; if it does not read back, the candidate on
 * the other side of the exact value may (the rounding interval is lopsided at powers of two). At 17
 * digits one always does. {@link #layout} is shared with the exact formatting of decimals, which
 * applies the same layout to the digits of a {@code BigDecimal} as written.
 */
final class EcmaNumbers {
  private EcmaNumbers() {}

  /**
   * Formats a double as ECMAScript does; {@code -0} becomes {@code 0}.
   *
   * @throws IllegalArgumentException for NaN and the infinities, which JSON cannot hold
   */
  static String format(double d) {
    if (Double.isNaN(d) || Double.isInfinite(d)) {
      throw new IllegalArgumentException(
          "the number " + d + " has no JSON form (RFC 8785 refuses NaN and Infinity)");
    }
    if (d == 0) {
      return "0";
    }
    return layout(d < 0, shortest(Math.abs(d)));
  }

  /** The shortest decimal that reads back as {@code d}, which is positive and finite. */
  static BigDecimal shortest(double d) {
    BigDecimal exact = new BigDecimal(d);
    for (int p = 1; p <= 17; p++) {
      BigDecimal nearest = exact.round(new MathContext(p, RoundingMode.HALF_EVEN));
      if (nearest.doubleValue() == d) {
        return nearest.stripTrailingZeros();
      }
      int side = nearest.compareTo(exact);
      if (side != 0) {
        BigDecimal other =
            exact.round(new MathContext(p, side > 0 ? RoundingMode.FLOOR : RoundingMode.CEILING));
        if (other.doubleValue() == d) {
          return other.stripTrailingZeros();
        }
      }
    }
    throw new AssertionError("no 17-digit decimal reads back as " + d);
  }

  /**
   * Lays out a decimal value by ECMAScript's rules, using all of its significant digits.
   *
   * @param negative whether to write a minus sign
   * @param magnitude a positive value; trailing zeros of its unscaled value are ignored
   */
  static String layout(boolean negative, BigDecimal magnitude) {
    String s;
    long scale;
    if (magnitude.signum() > 0 && magnitude.precision() <= 18) {
      // The common case (prices and the like): strip the zeros in a long, not in BigDecimals.
      long u = magnitude.unscaledValue().longValue();
      scale = magnitude.scale();
      while (u % 10 == 0) {
        u /= 10;
        scale--;
      }
      s = Long.toString(u);
    } else {
      BigDecimal v = magnitude.stripTrailingZeros();
      s = v.unscaledValue().toString();
      scale = v.scale();
    }
    int k = s.length();
    long n = k - scale;
    StringBuilder out = new StringBuilder(k + 8);
    if (negative) {
      out.append('-');
    }
    if (k <= n && n <= 21) {
      out.append(s);
      for (long i = k; i < n; i++) {
        out.append('0');
      }
    } else if (0 < n && n <= 21) {
      out.append(s, 0, (int) n).append('.').append(s, (int) n, k);
    } else if (-6 < n && n <= 0) {
      out.append("0.");
      for (long i = n; i < 0; i++) {
        out.append('0');
      }
      out.append(s);
    } else {
      out.append(s.charAt(0));
      if (k > 1) {
        out.append('.').append(s, 1, k);
      }
      out.append('e').append(n - 1 >= 0 ? '+' : '-').append(Math.abs(n - 1));
    }
    return out.toString();
  }
}
