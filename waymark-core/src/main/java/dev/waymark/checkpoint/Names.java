package dev.waymark.checkpoint;

import java.util.regex.Pattern;

/**
 * Validates job and partition names. Names become folder and file names under the state directory,
 * so they are restricted to letters, digits, {@code .}, {@code _} and {@code -}, may not contain
 * {@code ..}, and are at most {@value #MAX_LENGTH} characters: no name can escape the state
 * directory or collide with Waymark's own hidden temp files.
 */
public final class Names {
  public static final int MAX_LENGTH = 100;
  private static final Pattern ALLOWED = Pattern.compile("[A-Za-z0-9._-]+");

  private Names() {}

  /**
   * Returns {@code name} if valid.
   *
   * @param what "job" or "partition", used in the message
   * @throws IllegalArgumentException naming the offending value and the rule it breaks
   */
  public static String requireValid(String what, String name) {
    if (name == null || name.isEmpty()) {
      throw new IllegalArgumentException(what + " name must not be empty");
    }
    String shown = shown(name);
    if (name.length() > MAX_LENGTH) {
      throw new IllegalArgumentException(
          what
              + " name '"
              + shown
              + "' is "
              + name.length()
              + " characters; at most "
              + MAX_LENGTH);
    }
    if (!ALLOWED.matcher(name).matches() || name.contains("..") || name.startsWith(".")) {
      throw new IllegalArgumentException(
          what
              + " name '"
              + shown
              + "' is not allowed: use letters, digits, '.', '_' and '-', not starting with '.'"
              + " and without '..'");
    }
    return name;
  }

  /**
   * A user-supplied name as a message shows it: at most 60 characters, then "...", escaped as by
   * {@link #printable}.
   */
  public static String shown(String name) {
    if (name == null) {
      return "null";
    }
    return name.length() > 60 ? printable(name.substring(0, 60)) + "..." : printable(name);
  }

  /**
   * {@code text} with control, format (zero-width, right-to-left override) and other invisible
   * characters written as {@code \}{@code uXXXX}, so that a hostile name (a job, a table, an input
   * file's name) cannot hide, forge or rewrite text on the operator's terminal or in a log.
   */
  public static String printable(String text) {
    StringBuilder sb = null;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      boolean escape =
          switch (Character.getType(c)) {
            case Character.CONTROL,
                Character.FORMAT,
                Character.LINE_SEPARATOR,
                Character.PARAGRAPH_SEPARATOR,
                Character.PRIVATE_USE,
                Character.SURROGATE,
                Character.UNASSIGNED ->
                true;
            default -> false;
          };
      if (escape && sb == null) {
        sb = new StringBuilder(text.length() + 8).append(text, 0, i);
      }
      if (sb != null) {
        if (escape) {
          sb.append(String.format("\\u%04x", (int) c));
        } else {
          sb.append(c);
        }
      }
    }
    return sb == null ? text : sb.toString();
  }
}
