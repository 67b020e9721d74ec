package dev.waymark.bench.ingest;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The SQLite baseline: the rows exported by {@link ExportRows} (keys precomputed) inserted with a
 * plain JDBC batch ({@code addBatch}/{@code executeBatch}, 10,000 rows per batch) in one
 * transaction, with the sink's pragmas (WAL, {@code synchronous = FULL}, {@code cache_size} 64 MiB)
 * and table layout, and no generated-key fetching.
 *
 * <pre>java -cp ... dev.waymark.bench.ingest.SqliteBaseline ROWS_FILE DB_FILE</pre>
 */
public final class SqliteBaseline {
  private SqliteBaseline() {}

  public static void main(String[] args) throws IOException, SQLException {
    Path db = Path.of(args[1]);
    SqliteWritePaths.delete(db);
    long t0 = System.nanoTime();
    long rows = 0;
    try (Connection c = SqliteWritePaths.open(db, false, 64 * 1024);
        BufferedReader in = Files.newBufferedReader(Path.of(args[0]), StandardCharsets.UTF_8)) {
      c.setAutoCommit(false);
      try (PreparedStatement ps =
          c.prepareStatement(
              "INSERT INTO bench_write_path (dedup_key, payload, source_file, ingested_at)"
                  + " VALUES (?, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"
                  + " ON CONFLICT (dedup_key) DO NOTHING")) {
        for (String line; (line = in.readLine()) != null; ) {
          String[] f = line.split("\t", -1);
          ps.setString(1, unescape(f[0]));
          ps.setString(2, unescape(f[1]));
          ps.setString(3, unescape(f[2]));
          ps.addBatch();
          if (++rows % 10_000 == 0) {
            ps.executeBatch();
          }
        }
        ps.executeBatch();
      }
      c.commit();
      long ms = (System.nanoTime() - t0) / 1_000_000;
      try (Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT count(*) FROM bench_write_path")) {
        rs.next();
        System.out.printf(
            "sqlite baseline: %d rows read, %d in table, %d ms%n", rows, rs.getLong(1), ms);
      }
    }
  }

  static String unescape(String s) {
    if (s.indexOf('\\') < 0) {
      return s;
    }
    StringBuilder sb = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char ch = s.charAt(i);
      if (ch == '\\' && i + 1 < s.length()) {
        char n = s.charAt(++i);
        sb.append(
            switch (n) {
              case 't' -> '\t';
              case 'n' -> '\n';
              case 'r' -> '\r';
              default -> n;
            });
      } else {
        sb.append(ch);
      }
    }
    return sb.toString();
  }
}
