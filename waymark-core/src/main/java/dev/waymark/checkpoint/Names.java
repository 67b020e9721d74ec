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
    String shown = name.length() > 60 ? name.substring(0, 60) + "..." : name;
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
}
