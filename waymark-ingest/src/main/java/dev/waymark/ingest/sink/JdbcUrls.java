package dev.waymark.ingest.sink;

/** JDBC URL helpers. */
public final class JdbcUrls {
  private JdbcUrls() {}

  /**
   * Returns the URL with any password removed, for messages and logs: {@code password=...}
   * parameters and {@code user:password@} credentials.
   */
  public static String redact(String url) {
    if (url == null) {
      return null;
    }
    return url.replaceAll("(?i)(password=)[^&;]*", "$1***")
        .replaceAll("//([^/@:]+):[^/@]*@", "//$1:***@");
  }
}
