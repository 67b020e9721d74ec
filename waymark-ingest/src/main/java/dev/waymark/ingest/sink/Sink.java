package dev.waymark.ingest.sink;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The staging table in one database, written through one connection with manual transactions.
 * Inserts are idempotent: a row whose dedup key is already present is skipped ({@code ON CONFLICT
 * (dedup_key) DO NOTHING}). Not thread-safe: one worker owns a sink.
 */
public interface Sink extends AutoCloseable {

  /**
   * Opens a sink for {@code jdbcUrl}: PostgreSQL ({@code jdbc:postgresql:}) or SQLite ({@code
   * jdbc:sqlite:}).
   *
   * @throws SQLException if the database cannot be reached
   * @throws IllegalArgumentException for any other kind of URL
   */
  static Sink open(String jdbcUrl, TableSpec table) throws SQLException {
    if (jdbcUrl.startsWith("jdbc:postgresql:")) {
      return new PostgresSink(jdbcUrl, table);
    }
    if (jdbcUrl.startsWith("jdbc:sqlite:")) {
      return new SqliteSink(jdbcUrl, table);
    }
    throw new IllegalArgumentException(
        "--db must be a jdbc:postgresql: or jdbc:sqlite: URL, found '"
            + JdbcUrls.redact(jdbcUrl)
            + "'");
  }

  /** The connection holding the current transaction; the checkpoint may join it. */
  Connection connection();

  /**
   * Creates the staging and quarantine tables if absent, and checks an existing table's columns.
   */
  void createTables() throws SQLException;

  /**
   * Inserts {@code rows} in the current transaction, skipping dedup keys already present.
   *
   * @return how many rows were really inserted
   */
  int insert(List<Row> rows) throws SQLException;

  /**
   * Inserts the rows of several whole input files in the current transaction, skipping dedup keys
   * already present. The files' rows go in in the order given, so a key held by more than one of
   * them goes to the first, as if each file were inserted on its own in that order.
   *
   * @param files each file's rows, in load order; all rows of one file carry the same {@link
   *     Row#sourceFile()}, and no two files the same (empty files are allowed)
   * @return how many rows of each file were really inserted, in the order of {@code files}
   */
  default long[] insertFiles(List<List<Row>> files) throws SQLException {
    long[] inserted = new long[files.size()];
    for (int i = 0; i < inserted.length; i++) {
      inserted[i] = insert(files.get(i));
    }
    return inserted;
  }

  /**
   * Readies the statement of {@link #insertFiles} for these files without touching the database, so
   * that a caller can do it while the database still runs the statement before ({@link
   * #startFiles}). The rows are copied out of {@code files}, which the caller may then reuse.
   */
  default FilesStatement prepareFiles(List<List<Row>> files) {
    List<List<Row>> copy = List.copyOf(files);
    return () -> insertFiles(copy);
  }

  /**
   * Starts a statement that {@link #prepareFiles} readied, in the current transaction, and may
   * return before the database has run it. Until its {@link PendingFiles#await} has returned or
   * thrown, the sink takes no other call but {@link #close} (which waits for the statement and
   * ignores its outcome). The default runs it at once.
   */
  default PendingFiles startFiles(FilesStatement statement) throws SQLException {
    long[] inserted = statement.run();
    return () -> inserted;
  }

  /** A statement of {@link #prepareFiles}, run through {@link #startFiles}. */
  @FunctionalInterface
  interface FilesStatement {
    /** Runs it on the sink's connection; returns what {@link #insertFiles} returns. */
    long[] run() throws SQLException;
  }

  /** A statement started by {@link #startFiles}. */
  @FunctionalInterface
  interface PendingFiles {
    /**
     * Waits until the database has run it.
     *
     * @return how many rows of each file were really inserted, as {@link #insertFiles} says
     * @throws SQLException as {@link #insertFiles} would have
     */
    long[] await() throws SQLException;
  }

  /**
   * Records a refused input file in {@code waymark_quarantine}, in the current transaction, in
   * place of any row the job had for that file (a rescan that finds it bad again).
   */
  void quarantine(String job, String file, String position, String error) throws SQLException;

  /**
   * Deletes the job's {@code waymark_quarantine} row for a file that has now loaded, in the current
   * transaction.
   */
  void unquarantine(String job, String file) throws SQLException;

  /**
   * The files the job has in {@code waymark_quarantine}, in no order. Ends its read transaction.
   */
  Set<String> quarantined(String job) throws SQLException;

  /** Commits the current transaction. */
  void commit() throws SQLException;

  /** Rolls the current transaction back. */
  void rollback() throws SQLException;

  /**
   * Says why a committed transaction could be lost in a power cut with this database's settings, or
   * empty if commits are durable.
   */
  Optional<String> durabilityProblem() throws SQLException;

  /**
   * Returns one row of the staging table (its dedup key, payload and source file; no extracted
   * columns), or empty if the table has none; for checking that the table's rows were keyed as this
   * run keys them. Ends its read transaction.
   */
  Optional<Row> anyRow() throws SQLException;

  /** Counts the rows in the staging table (for summaries and tests). */
  long countRows() throws SQLException;

  @Override
  void close() throws SQLException;
}
