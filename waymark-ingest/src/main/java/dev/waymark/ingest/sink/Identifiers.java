package dev.waymark.ingest.sink;

import dev.waymark.checkpoint.Names;
import java.util.regex.Pattern;

/**
 * Validates table and column names. Names are never spliced raw into SQL: they must be lowercase
 * letters, digits and underscores, start with a letter or underscore, and be at most 63 characters
 * (PostgreSQL's limit), and they are always double-quoted in statements. A table may not take a
 * name of Waymark's own tables ({@code waymark_...}) or of SQLite's ({@code sqlite_...}).
 */
public final class Identifiers {
  private static final Pattern ALLOWED = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

  private Identifiers() {}

  /**
   * Returns {@code name} if valid.
   *
   * @param what "table" or "column", for the message
   * @throws IllegalArgumentException naming the value and the rule
   */
  public static String require(String what, String name) {
    if (name == null || !ALLOWED.matcher(name).matches()) {
      throw new IllegalArgumentException(
          what
              + " name '"
              + Names.shown(name)
              + "' is not allowed: use 1 to 63 lowercase letters, digits and '_', starting with a"
              + " letter or '_'");
    }
    if (what.equals("table") && (name.startsWith("waymark_") || name.startsWith("sqlite_"))) {
      throw new IllegalArgumentException(
          "table name '"
              + name
              + "' is not allowed: names starting with 'waymark_' are Waymark's own tables (its"
              + " checkpoints, quarantine and coordination) and names starting with 'sqlite_' are"
              + " SQLite's; choose another name for the staging table");
    }
    return name;
  }

  /** The name double-quoted for SQL; only for names that passed {@link #require}. */
  static String quote(String name) {
    return "\"" + name + "\"";
  }
}
