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
   * A user-supplied name as a message shows it: at most 60 characters, then "...", with control,
   * format (zero-width, right-to-left override) and other invisible characters written as {@code
   * \}{@code uXXXX}, so that a hostile name cannot hide or rewrite text on the operator's terminal.
   */
  public static String shown(String name) {
    if (name == null) {
      return "null";
    }
    String cut = name.length() > 60 ? name.substring(0, 60) : name;
    StringBuilder sb = new StringBuilder(cut.length());
    for (int i = 0; i < cut.length(); i++) {
      char c = cut.charAt(i);
      switch (Character.getType(c)) {
        case Character.CONTROL,
            Character.FORMAT,
            Character.LINE_SEPARATOR,
            Character.PARAGRAPH_SEPARATOR,
            Character.PRIVATE_USE,
            Character.SURROGATE,
            Character.UNASSIGNED ->
            sb.append(String.format("\\u%04x", (int) c));
        default -> sb.append(c);
      }
    }
    return cut.length() < name.length() ? sb + "..." : sb.toString();
  }
}
