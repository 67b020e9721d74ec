package dev.waymark.ingest.sink;

import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Properties;

/**
 * The staging table in SQLite, the embedded default. One prepared {@code INSERT ... ON CONFLICT
 * (dedup_key) DO NOTHING} per row inside the unit's transaction (SQLite runs in-process, so a
 * statement costs no round trip), with the driver's generated-key fetching off. Unless the URL
 * chooses a journal mode, the database is put in WAL mode with {@code synchronous = FULL}: each
 * commit is one {@code fsync} of the WAL, and durable. Unless the URL sets {@code cache_size}, the
 * page cache may grow to 64 MiB. A busy database is waited for up to 10 s per statement ({@code
 * busy_timeout}). The statement and settings were chosen by measurement (BENCHMARKS.md).
 */
final class SqliteSink extends JdbcSink {
  private static final String GENERATED_KEYS = "jdbc.get_generated_keys";
  private static final int CACHE_KIB = 64 * 1024;
  private final String url;
  private final String insertSql;
  private PreparedStatement insert;

  SqliteSink(String url, TableSpec spec) throws SQLException {
    super(DriverManager.getConnection(url, connectionProperties(url)), spec);
    this.url = url;
    StringBuilder params = new StringBuilder("?, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')");
    for (int i = 0; i < spec.columns().size(); i++) {
      params.append(", ?");
    }
    this.insertSql =
        "INSERT INTO "
            + table
            + " (dedup_key, payload, source_file, ingested_at"
            + extraColumnsList()
            + ") VALUES ("
            + params
            + ") ON CONFLICT (dedup_key) DO NOTHING";
    configure();
  }

  /**
   * No generated keys: since 3.45 the driver otherwise runs {@code SELECT last_insert_rowid()}
   * after every insert (xerial/sqlite-jdbc#1135), which measured about a third of the insert time
   * (BENCHMARKS.md). The sink never reads generated keys.
   */
  private static Properties connectionProperties(String url) {
    Properties p = new Properties();
    if (!url.toLowerCase(Locale.ROOT).contains(GENERATED_KEYS)) {
      p.setProperty(GENERATED_KEYS, "false");
    }
    return p;
  }

  private void configure() throws SQLException {
    connection.setAutoCommit(true);
    try (Statement s = connection.createStatement()) {
      s.execute("PRAGMA busy_timeout = 10000");
      String lower = url.toLowerCase(Locale.ROOT);
      if (!lower.contains("journal_mode")) {
        s.execute("PRAGMA journal_mode = WAL");
      }
      if (!lower.contains("synchronous")) {
        s.execute("PRAGMA synchronous = FULL");
      }
      if (!lower.contains("cache_size")) {
        // Random 64-hex primary keys touch the whole key index; SQLite's default 2 MB page cache
        // then rereads its pages on every insert (about a fifth of the insert CPU, BENCHMARKS.md).
        s.execute("PRAGMA cache_size = -" + CACHE_KIB);
      }
    } finally {
      connection.setAutoCommit(false);
    }
  }

  @Override
  String createTableSql() {
    return "CREATE TABLE IF NOT EXISTS "
        + table
        + " (dedup_key TEXT PRIMARY KEY, payload TEXT NOT NULL, source_file TEXT NOT NULL,"
        + " ingested_at TEXT NOT NULL"
        + extraColumnsDdl("TEXT")
        + ")";
  }

  @Override
  String createQuarantineSql() {
    return "CREATE TABLE IF NOT EXISTS "
        + QUARANTINE_TABLE
        + " (job TEXT NOT NULL, source_file TEXT NOT NULL, position TEXT NOT NULL,"
        + " error TEXT NOT NULL, quarantined_at TEXT NOT NULL DEFAULT"
        + " (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))";
  }

  @Override
  public int insert(List<Row> rows) throws SQLException {
    if (insert == null) {
      insert = connection.prepareStatement(insertSql);
    }
    int inserted = 0, extra = spec.columns().size();
    for (Row r : rows) {
      insert.setString(1, r.dedupKey());
      insert.setString(2, r.payload());
      insert.setString(3, r.sourceFile());
      for (int c = 0; c < extra; c++) {
        insert.setString(4 + c, r.columns().get(c));
      }
      inserted += insert.executeUpdate();
    }
    return inserted;
  }

  @Override
  public Optional<String> durabilityProblem() throws SQLException {
    String journal = pragma("journal_mode");
    int synchronous = Integer.parseInt(pragma("synchronous"));
    connection.commit();
    boolean wal = "wal".equalsIgnoreCase(journal);
    if (synchronous == 0 || (wal && synchronous < 2)) {
      return Optional.of(
          "SQLite runs with journal_mode = "
              + journal
              + " and synchronous = "
              + synchronous
              + ", so a transaction it reported committed can be lost in a power cut while the"
              + " checkpoint file that followed it survives: those rows would never be loaded"
              + " again. Remove the synchronous setting from the --db URL (Waymark then uses"
              + " synchronous = FULL), or use --checkpoint-store db, which commits the checkpoint"
              + " in the same transaction as the rows.");
    }
    return Optional.empty();
  }

  private String pragma(String name) throws SQLException {
    try (Statement s = connection.createStatement();
        ResultSet rs = s.executeQuery("PRAGMA " + name)) {
      rs.next();
      return rs.getString(1);
    }
  }

  @Override
  public void close() throws SQLException {
    try {
      if (insert != null) {
        insert.close();
      }
    } finally {
      super.close();
    }
  }
}
