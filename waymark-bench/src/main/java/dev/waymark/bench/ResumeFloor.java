package dev.waymark.bench;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.util.HexFormat;

/**
 * The least a resumed run must do before its first commit, as a JVM process of its own: connect,
 * read one JSON-array file (Jackson's streaming parser, as Waymark), key each record by the SHA-256
 * of its JSON as read, insert the rows with {@code ON CONFLICT (dedup_key) DO NOTHING}, commit, and
 * print one line. No checkpoint, no listing, no command line, no checks: a floor for {@code
 * first-commit.py --floor}, which times it beside Waymark's resumed runs on the same machine, in
 * the same rounds.
 *
 * <pre>
 * java -cp waymark.jar:BENCH_CLASSES dev.waymark.bench.ResumeFloor JDBC_URL TABLE FILE
 * </pre>
 *
 * <p>The rows go into Waymark's own table (the keys are not Waymark's, so they are all new), with
 * {@code source_file} set to the file's name, so that the script's reset removes them.
 */
public final class ResumeFloor {
  private ResumeFloor() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      throw new IllegalArgumentException("usage: ResumeFloor JDBC_URL TABLE FILE");
    }
    String url = args[0];
    String table = args[1];
    Path file = Path.of(args[2]);
    String name = file.getFileName().toString();
    String payload = url.startsWith("jdbc:postgresql:") ? "?::jsonb" : "?";
    JsonFactory json = new JsonFactory();
    MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
    int inserted = 0;
    try (Connection c = DriverManager.getConnection(url)) {
      c.setAutoCommit(false);
      try (JsonParser in = json.createParser(file.toFile());
          PreparedStatement insert =
              c.prepareStatement(
                  "INSERT INTO "
                      + table
                      + " (dedup_key, payload, source_file, ingested_at) VALUES (?, "
                      + payload
                      + ", ?, CURRENT_TIMESTAMP) ON CONFLICT (dedup_key) DO NOTHING")) {
        if (in.nextToken() != JsonToken.START_ARRAY) {
          throw new IllegalArgumentException(file + " does not hold a JSON array");
        }
        while (in.nextToken() == JsonToken.START_OBJECT) {
          ByteArrayOutputStream record = new ByteArrayOutputStream();
          try (JsonGenerator out = json.createGenerator(record)) {
            out.copyCurrentStructure(in);
          }
          byte[] bytes = record.toByteArray();
          insert.setString(1, HexFormat.of().formatHex(sha256.digest(bytes)));
          insert.setString(2, new String(bytes, StandardCharsets.UTF_8));
          insert.setString(3, name);
          insert.addBatch();
        }
        for (int n : insert.executeBatch()) {
          inserted += Math.max(n, 0);
        }
      }
      c.commit();
    }
    System.out.println("[floor] " + name + ": " + inserted + " new");
  }
}
