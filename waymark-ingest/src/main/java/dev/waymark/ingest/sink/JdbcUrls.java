package dev.waymark.ingest.sink;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Keeps passwords out of messages and logs. A JDBC URL may carry one as a {@code password=}
 * parameter (after {@code ?}, {@code &} or {@code ;}) or as {@code //user:password@host}; drivers
 * echo parts of the URL in their own exceptions (an unknown host {@code user:password@host}, a
 * database named {@code test;password=...}), so redacting the URL alone is not enough: {@link
 * #redact(String, String)} also removes the password's value wherever it appears in a text.
 */
public final class JdbcUrls {
  private static final Pattern PASSWORD_PARAM = Pattern.compile("(?i)(password=)([^&;\\s\"']*)");
  private static final Pattern USER_INFO = Pattern.compile("//([^/@:\\s]+):([^/@\\s]*)@");
  private static final String MASK = "***";

  private JdbcUrls() {}

  /**
   * Returns {@code text} (a URL, a message, a stack trace) with {@code password=...} values and
   * {@code user:password@} credentials replaced by {@code ***}.
   */
  public static String redact(String text) {
    if (text == null) {
      return null;
    }
    return USER_INFO
        .matcher(PASSWORD_PARAM.matcher(text).replaceAll("$1" + MASK))
        .replaceAll("//$1:" + MASK + "@");
  }

  /**
   * Returns {@code text} as {@link #redact(String)} does, and with every password that {@code url}
   * carries replaced by {@code ***} wherever it appears, raw or percent-decoded.
   */
  public static String redact(String text, String url) {
    String redacted = redact(text);
    if (redacted == null || url == null) {
      return redacted;
    }
    for (String secret : secrets(url)) {
      redacted = redacted.replace(secret, MASK);
    }
    return redacted;
  }

  /** The non-empty passwords in {@code url}, raw and percent-decoded. */
  static Set<String> secrets(String url) {
    Set<String> secrets = new LinkedHashSet<>();
    for (Matcher m = PASSWORD_PARAM.matcher(url); m.find(); ) {
      add(secrets, m.group(2));
    }
    for (Matcher m = USER_INFO.matcher(url); m.find(); ) {
      add(secrets, m.group(2));
    }
    return secrets;
  }

  private static void add(Set<String> secrets, String raw) {
    if (raw.isEmpty()) {
      return;
    }
    secrets.add(raw);
    try {
      String decoded = URLDecoder.decode(raw, StandardCharsets.UTF_8);
      if (!decoded.isEmpty()) {
        secrets.add(decoded);
      }
    } catch (IllegalArgumentException notEncoded) {
      // a '%' that is not an escape: the raw value is the password
    }
  }
}
