package dev.waymark.ingest;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The RFC 8785 JSON Canonicalization Scheme (JCS): one byte string per JSON value, so that equal
 * records hash equal however they were written. Stateless and thread-safe.
 *
 * <p>What the encoding does, per RFC 8785 §3.2:
 *
 * <ul>
 *   <li>no whitespace; object members sorted by key, comparing keys as sequences of UTF-16 code
 *       units ({@link String#compareTo}), recursively; array order kept;
 *   <li>strings: {@code "} and {@code \} escaped, the control characters U+0000..U+001F written as
 *       {@code \b \t \n \f \r} where those exist and as {@code \}{@code u00xx} (lowercase hex)
 *       otherwise; every other character as itself in UTF-8, including {@code /}, non-ASCII and
 *       U+007F; a lone UTF-16 surrogate is refused, since no UTF-8 can carry it;
 *   <li>{@code true}, {@code false}, {@code null} as such;
 *   <li>numbers as ECMAScript's {@code Number.prototype.toString} writes them ({@code 1e+21},
 *       {@code 0.000001}, {@code 1e-7}, {@code -0} as {@code 0}); what happens to numbers that an
 *       IEEE-754 double cannot hold is the {@link NumberMode}.
 * </ul>
 *
 * <p>Accepted Java values are those of a {@link dev.waymark.ingest.source.SourceRecord}: {@code
 * Map} with {@code String} keys, {@code List}, {@code String}, {@code Boolean}, {@code null}, and
 * the numbers {@code Long}, {@code Integer}, {@code Short}, {@code Byte}, {@link BigInteger},
 * {@link BigDecimal}, {@code Double} and {@code Float} (a binary floating-point value is formatted
 * as the shortest decimal that reads back as it, in every mode). Nesting is limited to {@value
 * #MAX_DEPTH} levels.
 */
public final class CanonicalJson {

  /** The deepest nesting encoded; far above what a source lets through. */
  public static final int MAX_DEPTH = 1000;

  /**
   * What to do with a number whose exact value an IEEE-754 double cannot hold, such as the integer
   * 2<sup>53</sup>+1 or the decimal 0.12345678901234567890.
   *
   * <p>RFC 8785 reads every number as a double, so in strict JCS two different large integers (say
   * two 19-digit order IDs) can canonicalize to the same text and their records to the same dedup
   * key: the second record would then be dropped as a "duplicate". Waymark therefore keeps the
   * exact value by default ({@link #EXACT}); {@link #IEEE_DOUBLE} is strict RFC 8785 for
   * interoperating with other JCS implementations, and {@link #REFUSE_INEXACT} insists on numbers
   * for which both agree.
   */
  public enum NumberMode {
    /**
     * The default. A number is written with ECMAScript's layout rules applied to its exact decimal
     * digits: the same text as RFC 8785 whenever RFC 8785 preserves the value (all integers up to
     * 2<sup>53</sup> in magnitude, every decimal of at most 15 significant digits in the normal
     * double range, every value written as its shortest round-trip form), and otherwise the exact
     * value, e.g. {@code 9007199254740993} where RFC 8785 writes {@code 9007199254740992}. Numbers
     * outside the double range are written too ({@code 1e+400}). Different numeric values never
     * share a form; equal values written differently ({@code 1}, {@code 1.0}, {@code 1e0}) do, as
     * in RFC 8785.
     */
    EXACT,
    /**
     * Strict RFC 8785: each number is first rounded to the nearest double (ties to even), then
     * formatted. Different values that round to the same double get the same form. A number beyond
     * the double range is refused with {@link IllegalArgumentException}.
     */
    IEEE_DOUBLE,
    /**
     * RFC 8785 output, but a number that the double rounding would change is refused with {@link
     * IllegalArgumentException} rather than rounded.
     */
    REFUSE_INEXACT
  }

  private static final BigInteger TEN_POW_21 = BigInteger.TEN.pow(21);
  private static final long MAX_SAFE_INTEGER = (1L << 53);

  private CanonicalJson() {}

  /**
   * Returns the canonical UTF-8 encoding of {@code value}, numbers in {@link NumberMode#EXACT}.
   *
   * @throws IllegalArgumentException if the value holds something JSON cannot express (a key that
   *     is not a string, another Java type, a lone surrogate, NaN or an infinity) or nests deeper
   *     than {@value #MAX_DEPTH}; the message names the path to the offending value
   */
  public static byte[] encode(Object value) {
    return encode(value, NumberMode.EXACT);
  }

  /**
   * Returns the canonical UTF-8 encoding of {@code value}, numbers per {@code mode}.
   *
   * @throws IllegalArgumentException as {@link #encode(Object)}, and for a number {@code mode}
   *     refuses
   */
  public static byte[] encode(Object value, NumberMode mode) {
    Sink out = new Sink(256);
    write(value, mode, out);
    return out.toByteArray();
  }

  /** Returns the canonical form as a string; see {@link #encode(Object, NumberMode)}. */
  public static String toString(Object value, NumberMode mode) {
    return new String(encode(value, mode), StandardCharsets.UTF_8);
  }

  /** Appends the canonical encoding of {@code value} to {@code out}. */
  static void write(Object value, NumberMode mode, Sink out) {
    write(value, mode, out, 0);
  }

  // ---------------------------------------------------------------- encoding

  private static void write(Object value, NumberMode mode, Sink out, int depth) {
    if (value == null) {
      out.ascii("null");
    } else if (value instanceof String s) {
      writeString(s, out);
    } else if (value instanceof Boolean b) {
      out.ascii(b ? "true" : "false");
    } else if (value instanceof Long l && mode == NumberMode.EXACT) {
      out.decimal(l); // below 10^21 the layout is plain digits
    } else if (value instanceof Number n) {
      out.ascii(number(n, mode));
    } else if (value instanceof Map<?, ?> map) {
      checkDepth(depth);
      writeObject(map, mode, out, depth);
    } else if (value instanceof List<?> list) {
      checkDepth(depth);
      out.put('[');
      for (int i = 0; i < list.size(); i++) {
        if (i > 0) {
          out.put(',');
        }
        try {
          write(list.get(i), mode, out, depth + 1);
        } catch (Unencodable e) {
          throw e.at("[" + i + "]");
        }
      }
      out.put(']');
    } else {
      throw new Unencodable("a " + value.getClass().getName() + " has no JSON form");
    }
  }

  /**
   * Writes an object with its members sorted by key. Keys and values are taken in one pass in the
   * map's order; the sorted order is a permutation of it, which the {@link Sink} remembers for the
   * last key lists it saw: records of one feed repeat a few key lists (Jackson hands out the same
   * key strings), so most objects are neither sorted nor looked up by key.
   */
  private static void writeObject(Map<?, ?> map, NumberMode mode, Sink out, int depth) {
    int n = map.size();
    Object[] keys = new Object[n];
    Object[] values = new Object[n];
    Iterator<?> k = map.keySet().iterator();
    Iterator<?> v = map.values().iterator();
    for (int i = 0; i < n; i++) {
      Object key = k.next();
      if (!(key instanceof String)) {
        throw new Unencodable("an object key is a " + typeOf(key) + ", not a string");
      }
      keys[i] = key;
      values[i] = v.next();
    }
    int[] order = out.sortedOrder(keys);
    out.put('{');
    for (int i = 0; i < n; i++) {
      if (i > 0) {
        out.put(',');
      }
      String key = (String) keys[order[i]];
      try {
        writeString(key, out);
        out.put(':');
        write(values[order[i]], mode, out, depth + 1);
      } catch (Unencodable e) {
        throw e.at(key);
      }
    }
    out.put('}');
  }

  private static void checkDepth(int depth) {
    if (depth >= MAX_DEPTH) {
      throw new Unencodable("nesting deeper than " + MAX_DEPTH + " levels");
    }
  }

  private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

  private static void writeString(String s, Sink out) {
    out.reserve(s.length() * 3 + 2); // at most 3 bytes per UTF-16 unit, plus the quotes
    out.put('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        switch (c) {
          case '"' -> out.ascii("\\\"");
          case '\\' -> out.ascii("\\\\");
          case '\b' -> out.ascii("\\b");
          case '\t' -> out.ascii("\\t");
          case '\n' -> out.ascii("\\n");
          case '\f' -> out.ascii("\\f");
          case '\r' -> out.ascii("\\r");
          default -> {
            if (c < 0x20) {
              out.nul |= c == 0;
              out.ascii("\\u00");
              out.put(HEX[c >> 4]);
              out.put(HEX[c & 0xF]);
            } else {
              out.put(c);
            }
          }
        }
      } else if (c < 0x800) {
        out.put(0xC0 | (c >> 6));
        out.put(0x80 | (c & 0x3F));
      } else if (Character.isSurrogate(c)) {
        if (!Character.isHighSurrogate(c)
            || i + 1 == s.length()
            || !Character.isLowSurrogate(s.charAt(i + 1))) {
          throw new Unencodable(
              String.format(
                  "a string holds a lone UTF-16 surrogate (\\u%04x) at index %d, which no UTF-8"
                      + " text can carry",
                  (int) c, i));
        }
        int cp = Character.toCodePoint(c, s.charAt(++i));
        out.put(0xF0 | (cp >> 18));
        out.put(0x80 | ((cp >> 12) & 0x3F));
        out.put(0x80 | ((cp >> 6) & 0x3F));
        out.put(0x80 | (cp & 0x3F));
      } else {
        out.put(0xE0 | (c >> 12));
        out.put(0x80 | ((c >> 6) & 0x3F));
        out.put(0x80 | (c & 0x3F));
      }
    }
    out.put('"');
  }

  // ---------------------------------------------------------------- numbers

  /** The canonical text of a number; package-private for the tests. */
  static String number(Number n, NumberMode mode) {
    if (n instanceof Double || n instanceof Float) {
      double d = n.doubleValue();
      if (Double.isNaN(d) || Double.isInfinite(d)) {
        throw new Unencodable("the number " + d + " has no JSON form");
      }
      return EcmaNumbers.format(d);
    }
    BigDecimal exact;
    if (n instanceof Long || n instanceof Integer || n instanceof Short || n instanceof Byte) {
      long v = n.longValue();
      if (mode == NumberMode.EXACT || (v <= MAX_SAFE_INTEGER && v >= -MAX_SAFE_INTEGER)) {
        return Long.toString(v); // below 10^21 the layout is plain digits
      }
      exact = BigDecimal.valueOf(v);
    } else if (n instanceof BigInteger b) {
      if (mode == NumberMode.EXACT && b.abs().compareTo(TEN_POW_21) < 0) {
        return b.toString();
      }
      exact = new BigDecimal(b);
    } else if (n instanceof BigDecimal d) {
      exact = d;
    } else {
      throw new Unencodable("a " + n.getClass().getName() + " is not a supported number type");
    }
    if (exact.signum() == 0) {
      return "0";
    }
    if (mode == NumberMode.EXACT) {
      return EcmaNumbers.layout(exact.signum() < 0, exact.abs());
    }
    double d = exact.doubleValue();
    if (Double.isInfinite(d)) {
      throw new Unencodable(
          "the number "
              + abbreviate(exact)
              + " is beyond the IEEE-754 double range, which RFC 8785 requires");
    }
    String ieee = EcmaNumbers.format(d);
    if (mode == NumberMode.REFUSE_INEXACT && new BigDecimal(ieee).compareTo(exact) != 0) {
      throw new Unencodable(
          "the number "
              + abbreviate(exact)
              + " is not exactly representable as an IEEE-754 double (RFC 8785 would write it as "
              + ieee
              + ")");
    }
    return ieee;
  }

  private static String abbreviate(BigDecimal v) {
    String s = v.toString();
    return s.length() <= 40 ? s : s.substring(0, 30) + "...(" + s.length() + " characters)";
  }

  private static String typeOf(Object o) {
    return o == null ? "null" : o.getClass().getName();
  }

  // ---------------------------------------------------------------- plumbing

  /** Unencodable value; carries the path to it as the stack unwinds. */
  static final class Unencodable extends IllegalArgumentException {
    private final String problem;
    private final List<String> path = new ArrayList<>();

    Unencodable(String problem) {
      super(problem);
      this.problem = problem;
    }

    Unencodable at(String segment) {
      path.add(segment);
      return this;
    }

    /** The path from the root, like {@code attributes.sizes[2]}; empty for the root. */
    String path() {
      StringBuilder p = new StringBuilder();
      for (int i = path.size() - 1; i >= 0; i--) {
        String s = path.get(i);
        if (!s.startsWith("[") && p.length() > 0) {
          p.append('.');
        }
        p.append(s);
      }
      return p.toString();
    }

    String problem() {
      return problem;
    }

    @Override
    public String getMessage() {
      String p = path();
      return p.isEmpty() ? problem : "at " + p + ": " + problem;
    }
  }

  /** A growable byte buffer; cheaper than a stream for the many one-byte writes. */
  static final class Sink {
    private static final int SHAPES = 8;

    private byte[] bytes;
    private int size;

    /** Whether a string written since {@link #reset()} held U+0000. */
    boolean nul;

    // The last key lists seen (in map order) and their sorted order, replaced round robin.
    private final Object[][] shapeKeys = new Object[SHAPES][];
    private final int[][] shapeOrder = new int[SHAPES][];
    private int nextShape;

    Sink(int capacity) {
      bytes = new byte[capacity];
    }

    void put(int b) {
      if (size == bytes.length) {
        bytes = Arrays.copyOf(bytes, size * 2);
      }
      bytes[size++] = (byte) b;
    }

    void ascii(String s) {
      reserve(s.length());
      for (int i = 0; i < s.length(); i++) {
        bytes[size++] = (byte) s.charAt(i);
      }
    }

    /** Writes {@code v} in plain decimal digits, without a {@code String} in between. */
    void decimal(long v) {
      if (v == Long.MIN_VALUE) {
        ascii(Long.toString(v));
        return;
      }
      reserve(20);
      if (v < 0) {
        bytes[size++] = '-';
        v = -v;
      }
      int digits = 1;
      for (long t = v; t >= 10; t /= 10) {
        digits++;
      }
      for (int i = size + digits - 1; i >= size; i--) {
        bytes[i] = (byte) ('0' + v % 10);
        v /= 10;
      }
      size += digits;
    }

    /** Makes room for {@code n} more bytes, so that a caller's writes need not check one by one. */
    void reserve(int n) {
      if (size + n > bytes.length) {
        bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + n));
      }
    }

    void reset() {
      size = 0;
      nul = false;
    }

    /**
     * The indexes of {@code keys} (strings) in sorted order: by UTF-16 code units, as RFC 8785
     * requires ({@link String#compareTo}). The caller must not change the returned array.
     */
    int[] sortedOrder(Object[] keys) {
      for (int s = 0; s < SHAPES; s++) {
        if (sameKeys(shapeKeys[s], keys)) {
          return shapeOrder[s];
        }
      }
      int n = keys.length;
      int[] order = new int[n];
      for (int i = 0; i < n; i++) { // insertion sort: objects have few keys
        int j = i;
        while (j > 0 && ((String) keys[order[j - 1]]).compareTo((String) keys[i]) > 0) {
          order[j] = order[j - 1];
          j--;
        }
        order[j] = i;
      }
      if (n <= 64) { // a huge object is not worth remembering
        shapeKeys[nextShape] = keys;
        shapeOrder[nextShape] = order;
        nextShape = (nextShape + 1) % SHAPES;
      }
      return order;
    }

    private static boolean sameKeys(Object[] known, Object[] keys) {
      if (known == null || known.length != keys.length) {
        return false;
      }
      for (int i = 0; i < keys.length; i++) {
        if (known[i] != keys[i] && !known[i].equals(keys[i])) {
          return false;
        }
      }
      return true;
    }

    byte[] array() {
      return bytes;
    }

    int size() {
      return size;
    }

    byte[] toByteArray() {
      return Arrays.copyOf(bytes, size);
    }
  }
}
