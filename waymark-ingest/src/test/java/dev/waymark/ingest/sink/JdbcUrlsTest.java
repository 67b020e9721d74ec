package dev.waymark.ingest.sink;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class JdbcUrlsTest {
  @Test
  void redactsPasswordParametersAndUserInfo() {
    assertThat(JdbcUrls.redact("jdbc:postgresql://h:5432/db?user=u&password=pw1&ssl=true"))
        .isEqualTo("jdbc:postgresql://h:5432/db?user=u&password=***&ssl=true");
    assertThat(JdbcUrls.redact("jdbc:postgresql://u:pw1@h/db"))
        .isEqualTo("jdbc:postgresql://u:***@h/db");
    assertThat(JdbcUrls.redact("database \"db;password=pw1\" does not exist"))
        .isEqualTo("database \"db;password=***\" does not exist");
    assertThat(JdbcUrls.redact("jdbc:postgresql://h/db?password=")).endsWith("password=***");
  }

  @Test
  void removesTheUrlsPasswordWhereverADriverEchoesIt() {
    String url = "jdbc:postgresql://postgres:S3cr%26t@127.0.0.1/test";
    assertThat(JdbcUrls.redact("UnknownHostException: postgres:S3cr%26t@127.0.0.1", url))
        .isEqualTo("UnknownHostException: postgres:***@127.0.0.1");
    assertThat(JdbcUrls.redact("auth failed for S3cr&t", url)).isEqualTo("auth failed for ***");
    assertThat(JdbcUrls.redact("nothing secret here", "jdbc:sqlite:w.db"))
        .isEqualTo("nothing secret here");
  }
}
