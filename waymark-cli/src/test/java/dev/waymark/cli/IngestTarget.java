package dev.waymark.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.CheckpointReader;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.file.FileCheckpointStore;
import dev.waymark.checkpoint.jdbc.ConnectionSource;
import dev.waymark.checkpoint.jdbc.JdbcCheckpointStore;
import dev.waymark.checkpoint.jdbc.TestDatabases;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.UUID;

/**
 * A fresh target database for one ingest (an SQLite file, or a PostgreSQL schema dropped on close),
 * and what tests read back from it: the table's content, counts, the checkpoint of either store.
 */
final class IngestTarget implements AutoCloseable {
  static final String TABLE = "skus_staging";
  static final String JOB = "it";

  /** The two databases the runner writes to. */
  enum Db {
    SQLITE,
    POSTGRES
  }

  final Db db;
  final String url;
  final Path state;
  private final TestDatabases.PgSchema schema;

  private IngestTarget(Db db, String url, Path state, TestDatabases.PgSchema schema) {
    this.db = db;
    this.url = url;
    this.state = state;
    this.schema = schema;
  }

  /**
   * A new, empty database of kind {@code db} with its own state directory under {@code dir}; a
   * PostgreSQL one is skipped (or fails under WAYMARK_REQUIRE_PG=1) without a server.
   */
  static IngestTarget fresh(Db db, Path dir) {
    String id = UUID.randomUUID().toString().substring(0, 8);
    Path state = dir.resolve("state-" + id);
    if (db == Db.SQLITE) {
      return new IngestTarget(db, "jdbc:sqlite:" + dir.resolve("w-" + id + ".db"), state, null);
    }
    TestDatabases.PgSchema schema = TestDatabases.freshPostgresSchema();
    return new IngestTarget(db, schema.url, state, schema);
  }

  /**
   * The database at {@code url} (which the caller created and drops), with its own state directory
   * under {@code dir}.
   */
  static IngestTarget at(Db db, String url, Path dir) {
    return new IngestTarget(
        db, url, dir.resolve("state-" + UUID.randomUUID().toString().substring(0, 8)), null);
  }

  /** The arguments of {@code waymark ingest} into this target from {@code feed}. */
  List<String> ingestArgs(Path feed, String store, String commitEvery, String... more) {
    List<String> args = new ArrayList<>();
    args.addAll(
        List.of(
            "ingest",
            "--input",
            feed.toString(),
            "--db",
            url,
            "--table",
            TABLE,
            "--job",
            JOB,
            "--state",
            state.toString(),
            "--checkpoint-store",
            store,
            "--commit-every",
            commitEvery));
    args.addAll(List.of(more));
    return args;
  }

  /** Runs {@code waymark <args>} in this JVM; returns the exit code and what it printed. */
  static CliRun runInProcess(List<String> args) {
    StringWriter out = new StringWriter(), err = new StringWriter();
    int code =
        Main.run(
            new PrintWriter(out, true), new PrintWriter(err, true), args.toArray(String[]::new));
    return new CliRun(code, out.toString(), err.toString());
  }

  /**
   * The table's content, sorted by dedup key: each row's payload (as text) and source file. Fails
   * if a record (its payload) is in the table twice under different keys.
   */
  SortedMap<String, String> content() throws SQLException {
    SortedMap<String, String> rows = new TreeMap<>();
    String payload = db == Db.POSTGRES ? "payload::text" : "payload";
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery("SELECT dedup_key, " + payload + ", source_file FROM " + TABLE)) {
      while (rs.next()) {
        String previous = rows.put(rs.getString(1), rs.getString(2) + " @ " + rs.getString(3));
        assertThat(previous).as("dedup key %s twice", rs.getString(1)).isNull();
      }
    }
    assertThat(count("SELECT COUNT(DISTINCT payload) FROM " + TABLE))
        .as("distinct payloads: no record loaded twice under two keys")
        .isEqualTo(rows.size());
    return rows;
  }

  /** Whether the staging table exists. */
  boolean tableExists() throws SQLException {
    try (Connection c = DriverManager.getConnection(url);
        ResultSet rs = c.getMetaData().getTables(null, schemaName(), TABLE, null)) {
      return rs.next();
    }
  }

  private String schemaName() {
    return schema == null ? null : schema.name;
  }

  long count(String sql) throws SQLException {
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /** The job's checkpoint in the file store under {@link #state}. */
  /**
   * A directory cursor's position, its file and count, without the digest of the names ({@link
   * Cursor#NAMES}), to compare with {@code Cursor.ofFile(name, count)}; the digest itself is
   * checked by the ingest module's tests.
   */
  static Cursor position(Cursor c) {
    return Cursor.ofFile(c.string(Cursor.FILE).orElseThrow(), c.number(Cursor.FILES).orElseThrow());
  }

  Optional<Checkpoint> fileCheckpoint() {
    return FileCheckpointStore.reader(state, JOB).read();
  }

  /** The job's checkpoint in the database store ({@code waymark_checkpoint}). */
  Optional<Checkpoint> dbCheckpoint() {
    try (JdbcCheckpointStore store = JdbcCheckpointStore.open(ConnectionSource.of(url), JOB)) {
      return store.read(CheckpointReader.DEFAULT_PARTITION);
    }
  }

  Optional<Checkpoint> checkpoint(String store) {
    return store.equals("db") ? dbCheckpoint() : fileCheckpoint();
  }

  @Override
  public void close() throws SQLException {
    if (schema != null) {
      schema.close();
    }
  }

  @Override
  public String toString() {
    return db.name().toLowerCase(java.util.Locale.ROOT);
  }
}
