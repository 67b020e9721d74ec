package dev.waymark.checkpoint.internal;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A strict, canonical JSON subset for checkpoint records: objects, arrays, strings, integers that
 * fit in a {@code long}, booleans and null. Not public API.
 *
 * <p>Design notes. The checkpoint checksum is computed over the canonical encoding, so encoding
 * must be a pure function of the value: keys sorted by UTF-16 code units (as RFC 8785), no
 * whitespace, strings escaped minimally ({@code \"}, {@code \\}, the two-character escapes for
 * {@code \b \f \n \r \t}, {@code \}{@code u00XX} for other control characters and {@code \}{@code
 * uXXXX} for unpaired surrogates, which have no UTF-8 form), everything else written as UTF-8.
 * Fractions and exponents are refused rather than canonicalised: a cursor is a position, and
 * positions are integers or strings. The parser refuses duplicate keys, nesting deeper than {@value
 * #MAX_DEPTH}, and invalid UTF-8, and reports byte offsets.
 *
 * <p>Values are {@code Map<String, Object>} (sorted, unmodifiable), {@code List<Object>}, {@code
 * String}, {@code Long}, {@code Boolean} and {@code null} ({@link #NULL} inside collections).
 */
public final class Json {
  /** Deepest nesting the parser accepts. */
  public static final int MAX_DEPTH = 16;

  /**
   * Stands for JSON null inside maps and lists, which cannot hold Java null in our immutable
   * copies.
   */
  public static final Object NULL =
      new Object() {
        @Override
        public String toString() {
          return "null";
        }
      };

  private Json() {}

  /** Thrown for input that is not in the subset; {@link #offset()} is a byte offset. */
  public static final class ParseException extends Exception {
    private final long offset;

    ParseException(String message, long offset) {
      super(message + " at byte " + offset);
      this.offset = offset;
    }

    public long offset() {
      return offset;
    }
  }

  // ---------------------------------------------------------------- encoding

  /** Returns the canonical UTF-8 encoding of {@code value}. */
  public static byte[] encode(Object value) {
    return write(value).getBytes(StandardCharsets.UTF_8);
  }

  /** Returns the canonical encoding of {@code value} as a string. */
  public static String write(Object value) {
    StringBuilder out = new StringBuilder(128);
    write(value, out, 0);
    return out.toString();
  }

  private static void write(Object value, StringBuilder out, int depth) {
    if (depth > MAX_DEPTH) {
      throw new IllegalArgumentException("nesting deeper than " + MAX_DEPTH);
    }
    if (value == null || value == NULL) {
      out.append("null");
    } else if (value instanceof String s) {
      writeString(s, out);
    } else if (value instanceof Long || value instanceof Integer) {
      out.append(((Number) value).longValue());
    } else if (value instanceof Boolean b) {
      out.append(b.booleanValue());
    } else if (value instanceof Map<?, ?> map) {
      out.append('{');
      boolean first = true;
      for (Map.Entry<String, Object> e : sorted(map).entrySet()) {
        if (!first) {
          out.append(',');
        }
        first = false;
        writeString(e.getKey(), out);
        out.append(':');
        write(e.getValue(), out, depth + 1);
      }
      out.append('}');
    } else if (value instanceof List<?> list) {
      out.append('[');
      for (int i = 0; i < list.size(); i++) {
        if (i > 0) {
          out.append(',');
        }
        write(list.get(i), out, depth + 1);
      }
      out.append(']');
    } else {
      throw new IllegalArgumentException(
          "not representable in a checkpoint: " + value.getClass().getName());
    }
  }

  private static TreeMap<String, Object> sorted(Map<?, ?> map) {
    TreeMap<String, Object> sorted = new TreeMap<>();
    for (Map.Entry<?, ?> e : map.entrySet()) {
      if (!(e.getKey() instanceof String key)) {
        throw new IllegalArgumentException("object keys must be strings, found " + e.getKey());
      }
      sorted.put(key, e.getValue());
    }
    return sorted;
  }

  private static void writeString(String s, StringBuilder out) {
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\b' -> out.append("\\b");
        case '\f' -> out.append("\\f");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20 || isLoneSurrogate(s, i)) {
            // A lone surrogate has no UTF-8 form (getBytes would turn it into '?', and two
            // distinct keys into one); escaped, it parses back to the same string.
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }

  private static boolean isLoneSurrogate(String s, int i) {
    char c = s.charAt(i);
    if (Character.isHighSurrogate(c)) {
      return i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1));
    }
    return Character.isLowSurrogate(c) && (i == 0 || !Character.isHighSurrogate(s.charAt(i - 1)));
  }

  // ---------------------------------------------------------------- parsing

  /**
   * Parses exactly one JSON value from {@code bytes} (no surrounding whitespace allowed).
   *
   * @throws ParseException if the bytes are not valid UTF-8 or not one value of the subset
   */
  public static Object parse(byte[] bytes) throws ParseException {
    return parse(bytes, false);
  }

  /**
   * Like {@link #parse(byte[])}, but allows insignificant whitespace around and between tokens, as
   * other JSON writers produce.
   */
  public static Object parseLenient(byte[] bytes) throws ParseException {
    return parse(bytes, true);
  }

  private static Object parse(byte[] bytes, boolean lenient) throws ParseException {
    String text = decodeUtf8(bytes);
    Parser p = new Parser(text, lenient);
    p.skipWhitespace();
    Object value = p.value(0);
    p.skipWhitespace();
    if (p.pos != text.length()) {
      throw new ParseException("unexpected data after the JSON value", p.byteOffset(p.pos));
    }
    return value;
  }

  private static String decodeUtf8(byte[] bytes) throws ParseException {
    CharsetDecoder decoder =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    ByteBuffer in = ByteBuffer.wrap(bytes);
    // UTF-8 never yields more UTF-16 units than it has bytes, so one buffer always suffices.
    CharBuffer out = CharBuffer.allocate(bytes.length);
    if (decoder.decode(in, out, true).isError() || decoder.flush(out).isError()) {
      throw new ParseException("invalid UTF-8", in.position());
    }
    out.flip();
    return out.toString();
  }

  private static final class Parser {
    private final String text;
    private final boolean lenient;
    private int pos;

    Parser(String text, boolean lenient) {
      this.text = text;
      this.lenient = lenient;
    }

    void skipWhitespace() {
      while (lenient && pos < text.length() && " \t\r\n".indexOf(text.charAt(pos)) >= 0) {
        pos++;
      }
    }

    long byteOffset(int charPos) {
      return text.substring(0, Math.min(charPos, text.length()))
          .getBytes(StandardCharsets.UTF_8)
          .length;
    }

    ParseException error(String message) {
      return new ParseException(message, byteOffset(pos));
    }

    Object value(int depth) throws ParseException {
      if (depth > MAX_DEPTH) {
        throw error("nesting deeper than " + MAX_DEPTH);
      }
      skipWhitespace();
      if (pos >= text.length()) {
        throw error("unexpected end of input");
      }
      char c = text.charAt(pos);
      return switch (c) {
        case '{' -> object(depth);
        case '[' -> array(depth);
        case '"' -> string();
        case 't' -> literal("true", Boolean.TRUE);
        case 'f' -> literal("false", Boolean.FALSE);
        case 'n' -> literal("null", NULL);
        default -> {
          if (c == '-' || (c >= '0' && c <= '9')) {
            yield number();
          }
          throw error("unexpected character '" + printable(c) + "'");
        }
      };
    }

    private Object literal(String word, Object value) throws ParseException {
      if (!text.startsWith(word, pos)) {
        throw error("expected '" + word + "'");
      }
      pos += word.length();
      return value;
    }

    private Map<String, Object> object(int depth) throws ParseException {
      pos++; // '{'
      TreeMap<String, Object> map = new TreeMap<>();
      if (peek() == '}') {
        pos++;
        return Collections.unmodifiableMap(map);
      }
      while (true) {
        if (peek() != '"') {
          throw error("expected a string key");
        }
        int keyPos = pos;
        String key = string();
        expect(':');
        Object v = value(depth + 1);
        if (map.put(key, v) != null) {
          pos = keyPos;
          throw error("duplicate key \"" + key + "\"");
        }
        char c = next();
        if (c == '}') {
          return Collections.unmodifiableMap(map);
        }
        if (c != ',') {
          pos--;
          throw error("expected ',' or '}'");
        }
      }
    }

    private List<Object> array(int depth) throws ParseException {
      pos++; // '['
      List<Object> list = new ArrayList<>();
      if (peek() == ']') {
        pos++;
        return Collections.unmodifiableList(list);
      }
      while (true) {
        list.add(value(depth + 1));
        char c = next();
        if (c == ']') {
          return Collections.unmodifiableList(list);
        }
        if (c != ',') {
          pos--;
          throw error("expected ',' or ']'");
        }
      }
    }

    private String string() throws ParseException {
      pos++; // opening quote
      StringBuilder sb = new StringBuilder();
      while (true) {
        if (pos >= text.length()) {
          throw error("unterminated string");
        }
        char c = text.charAt(pos++);
        if (c == '"') {
          return sb.toString();
        }
        if (c < 0x20) {
          pos--;
          throw error("control character in string");
        }
        if (c != '\\') {
          sb.append(c);
          continue;
        }
        if (pos >= text.length()) {
          throw error("unterminated escape");
        }
        char e = text.charAt(pos++);
        switch (e) {
          case '"' -> sb.append('"');
          case '\\' -> sb.append('\\');
          case '/' -> sb.append('/');
          case 'b' -> sb.append('\b');
          case 'f' -> sb.append('\f');
          case 'n' -> sb.append('\n');
          case 'r' -> sb.append('\r');
          case 't' -> sb.append('\t');
          case 'u' -> {
            if (pos + 4 > text.length()) {
              throw error("truncated \\u escape");
            }
            String hex = text.substring(pos, pos + 4);
            // parseInt alone would also take a sign: "\\u+041" is not JSON.
            if (!hex.chars().allMatch(h -> Character.digit(h, 16) >= 0 && h < 0x80)) {
              throw error("bad \\u escape");
            }
            sb.append((char) Integer.parseInt(hex, 16));
            pos += 4;
          }
          default -> {
            pos--;
            throw error("bad escape '\\" + printable(e) + "'");
          }
        }
      }
    }

    private Long number() throws ParseException {
      int start = pos;
      if (peek() == '-') {
        pos++;
      }
      int digits = pos;
      while (pos < text.length() && Character.isDigit(text.charAt(pos))) {
        pos++;
      }
      if (pos == digits) {
        throw error("expected a digit");
      }
      if (text.charAt(digits) == '0' && pos - digits > 1) {
        pos = digits;
        throw error("leading zero in a number");
      }
      if (pos < text.length() && ".eE".indexOf(text.charAt(pos)) >= 0) {
        throw error("only integers are allowed, found a fraction or exponent");
      }
      try {
        return Long.parseLong(text.substring(start, pos));
      } catch (NumberFormatException e) {
        pos = start;
        throw error("integer out of range");
      }
    }

    private char peek() throws ParseException {
      skipWhitespace();
      if (pos >= text.length()) {
        throw error("unexpected end of input");
      }
      return text.charAt(pos);
    }

    private char next() throws ParseException {
      char c = peek();
      pos++;
      return c;
    }

    private void expect(char c) throws ParseException {
      if (next() != c) {
        pos--;
        throw error("expected '" + c + "'");
      }
    }

    private static String printable(char c) {
      return c < 0x20 || c > 0x7e ? String.format("\\u%04x", (int) c) : String.valueOf(c);
    }
  }
}
