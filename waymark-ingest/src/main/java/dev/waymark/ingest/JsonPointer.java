package dev.waymark.ingest;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** RFC 6901 JSON Pointers into records, for {@code --column NAME=/json/pointer}. Immutable. */
final class JsonPointer {
  private final List<String> tokens;

  private JsonPointer(List<String> tokens) {
    this.tokens = tokens;
  }

  /**
   * Parses a pointer such as {@code /attributes/color} or {@code /tags/0}.
   *
   * @throws IllegalArgumentException if it does not start with {@code /} or has a bad escape
   */
  static JsonPointer parse(String pointer) {
    if (pointer == null || !pointer.startsWith("/")) {
      throw new IllegalArgumentException(
          "JSON pointer '" + pointer + "' must start with '/', e.g. /sku_id or /attributes/color");
    }
    List<String> tokens = new ArrayList<>();
    for (String raw : pointer.substring(1).split("/", -1)) {
      if (raw.matches(".*~[^01].*|.*~$")) {
        throw new IllegalArgumentException(
            "JSON pointer '"
                + pointer
                + "' has a '~' not followed by 0 or 1 (write ~0 for ~, ~1 for /)");
      }
      tokens.add(raw.replace("~1", "/").replace("~0", "~"));
    }
    return new JsonPointer(tokens);
  }

  /** The value at this pointer in {@code record}, or {@code null} if there is none. */
  Object find(Map<String, ?> record) {
    Object current = record;
    for (String token : tokens) {
      if (current instanceof Map<?, ?> map) {
        current = map.get(token);
      } else if (current instanceof List<?> list && token.matches("0|[1-9][0-9]{0,8}")) {
        int i = Integer.parseInt(token);
        current = i < list.size() ? list.get(i) : null;
      } else {
        return null;
      }
      if (current == null) {
        return null;
      }
    }
    return current;
  }
}
