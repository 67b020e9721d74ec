package dev.waymark.cli;

import dev.waymark.WaymarkException;
import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.CheckpointReader;
import dev.waymark.checkpoint.CheckpointStore;
import dev.waymark.checkpoint.file.FileCheckpointStore;
import dev.waymark.checkpoint.jdbc.ConnectionSource;
import dev.waymark.checkpoint.jdbc.JdbcCheckpointStore;
import dev.waymark.ingest.sink.Identifiers;
import dev.waymark.ingest.sink.JdbcUrls;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What {@code waymark torture} asks the target database and the checkpoint stores: whether a table
 * holds rows, dropping the tables and forgetting the checkpoints it owns, and the comparison of the
 * tortured table with the reference table (both in the same database, so the comparison runs there,
 * whatever their size).
 */
final class TortureTables {
  private final String db;

  TortureTables(String db) {
    this.db = db;
  }

  /**
   * How {@code table} compares with {@code reference}; see the fields. {@code moved} counts the
   * rows kept from another source file than in the reference; {@code filesMayDiffer} says that such
   * moves are no divergence: with partitions, a record repeated in files of two partitions is kept
   * from whichever partition commits it first, which depends on timing, in the reference run as in
   * the attacked one (the rows themselves must still be the same).
   */
  record Comparison(
      long expected,
      long found,
      long missing,
      long duplicated,
      long unexpected,
      List<String> filesDiffering,
      long moved,
      boolean filesMayDiffer) {
    boolean same() {
      return expected == found
          && missing == 0
          && duplicated == 0
          && unexpected == 0
          && (filesMayDiffer || filesDiffering.isEmpty());
    }
  }

  /** The number of rows in {@code table}, or -1 if there is no such table. */
  long rows(String table) {
    try (Connection c = connect();
        Statement s = c.createStatement()) {
      try (ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM " + quote(table))) {
        rs.next();
        return rs.getLong(1);
      } catch (SQLException e) {
        if (isUndefinedTable(e)) {
          return -1;
        }
        throw e;
      }
    } catch (SQLException e) {
      throw failure("count the rows of " + table, e);
    }
  }

  void drop(String table) {
    try (Connection c = connect();
        Statement s = c.createStatement()) {
      s.execute("DROP TABLE IF EXISTS " + quote(table));
    } catch (SQLException e) {
      throw failure("drop " + table, e);
    }
  }

  /**
   * Compares the rows of {@code table} with {@code reference}: a row matches when its dedup key and
   * payload are equal; rows per source file must be equal too, unless {@code partitioned} (see
   * {@link Comparison}).
   */
  Comparison compare(String table, String reference, boolean partitioned) {
    String t = quote(table), r = quote(reference);
    try (Connection c = connect()) {
      long expected = count(c, "SELECT COUNT(*) FROM " + r);
      long found = count(c, "SELECT COUNT(*) FROM " + t);
      long missing =
          count(
              c,
              "SELECT COUNT(*) FROM "
                  + r
                  + " r WHERE NOT EXISTS (SELECT 1 FROM "
                  + t
                  + " t WHERE t.dedup_key = r.dedup_key AND t.payload = r.payload)");
      long unexpected =
          count(
              c,
              "SELECT COUNT(*) FROM "
                  + t
                  + " t WHERE NOT EXISTS (SELECT 1 FROM "
                  + r
                  + " r WHERE r.dedup_key = t.dedup_key AND r.payload = t.payload)");
      long duplicated = count(c, "SELECT COUNT(*) - COUNT(DISTINCT dedup_key) FROM " + t);
      Map<String, Long> perFile = perFile(c, t), referencePerFile = perFile(c, r);
      List<String> differing = new ArrayList<>();
      for (String file : new TreeSet<>(union(perFile, referencePerFile))) {
        long a = perFile.getOrDefault(file, 0L), b = referencePerFile.getOrDefault(file, 0L);
        if (a != b) {
          differing.add(file + " (" + a + " rows, reference " + b + ")");
        }
      }
      long moved =
          count(
              c,
              "SELECT COUNT(*) FROM "
                  + t
                  + " t JOIN "
                  + r
                  + " r ON r.dedup_key = t.dedup_key WHERE r.source_file <> t.source_file");
      return new Comparison(
          expected, found, missing, duplicated, unexpected, differing, moved, partitioned);
    } catch (SQLException e) {
      throw failure("compare " + table + " with " + reference, e);
    }
  }

  private static List<String> union(Map<String, Long> a, Map<String, Long> b) {
    List<String> all = new ArrayList<>(a.keySet());
    all.addAll(b.keySet());
    return all;
  }

  private static Map<String, Long> perFile(Connection c, String table) throws SQLException {
    Map<String, Long> counts = new TreeMap<>();
    try (Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT source_file, COUNT(*) FROM " + table + " GROUP BY source_file")) {
      while (rs.next()) {
        counts.put(rs.getString(1), rs.getLong(2));
      }
    }
    return counts;
  }

  /**
   * The job's checkpoints, partition to checkpoint (or to the error that reading it raised), in the
   * file store under {@code state} or in the database's {@code waymark_checkpoint}.
   */
  Map<String, Object> checkpoints(boolean dbStore, Path state, String job) {
    Map<String, Object> all = new LinkedHashMap<>();
    if (dbStore) {
      try (JdbcCheckpointStore store = JdbcCheckpointStore.open(ConnectionSource.of(db), job)) {
        read(store, all);
      }
    } else {
      read(FileCheckpointStore.reader(state, job), all);
    }
    return all;
  }

  /**
   * The most files one commit added to a partition of the job, by the kept history of its
   * checkpoints (each version's {@code files}, less the version before; the first commit's, less
   * 0); 0 if no two of them tell.
   */
  long largestUnit(boolean dbStore, Path state, String job) {
    if (dbStore) {
      try (JdbcCheckpointStore store = JdbcCheckpointStore.open(ConnectionSource.of(db), job)) {
        return largestUnit(store);
      }
    }
    return largestUnit(FileCheckpointStore.reader(state, job));
  }

  private static long largestUnit(CheckpointReader reader) {
    long largest = 0;
    for (String p : reader.partitions()) {
      try {
        long previousFiles = 0, previousSequence = 0; // before the first commit: no file
        for (Checkpoint c : reader.history(p)) {
          OptionalLong files = c.cursor().number("files");
          if (files.isPresent() && c.sequence() == previousSequence + 1) {
            largest = Math.max(largest, files.getAsLong() - previousFiles);
          }
          previousFiles = files.orElse(0);
          previousSequence = files.isPresent() ? c.sequence() : -1; // no file count: no unit
        }
      } catch (WaymarkException e) {
        // A damaged history tells nothing here; the comparison reports the damage.
      }
    }
    return largest;
  }

  private static void read(CheckpointReader reader, Map<String, Object> into) {
    for (String p : reader.partitions()) {
      try {
        Optional<Checkpoint> c = reader.read(p);
        into.put(p, c.isPresent() ? c.get() : "never committed");
      } catch (WaymarkException e) {
        into.put(p, e.getMessage());
      }
    }
  }

  /** Forgets every checkpoint of {@code job} in the chosen store (and its epoch row in the db). */
  void forget(boolean dbStore, Path state, String job) {
    if (dbStore) {
      try (JdbcCheckpointStore store = JdbcCheckpointStore.open(ConnectionSource.of(db), job)) {
        resetAll(store);
      }
      try (Connection c = connect();
          PreparedStatement ps =
              c.prepareStatement(
                  "DELETE FROM " + JdbcCheckpointStore.JOB_TABLE + " WHERE job = ?")) {
        ps.setString(1, job);
        ps.executeUpdate();
      } catch (SQLException e) {
        throw failure("forget job " + job, e);
      }
    } else if (!FileCheckpointStore.reader(state, job).partitions().isEmpty()) {
      try (FileCheckpointStore store = FileCheckpointStore.open(state, job)) {
        resetAll(store);
      }
    }
  }

  private static void resetAll(CheckpointStore store) {
    for (String p : store.partitions()) {
      store.reset(p);
    }
  }

  private Connection connect() throws SQLException {
    return DriverManager.getConnection(db);
  }

  private static long count(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static String quote(String table) {
    return "\"" + Identifiers.require("table", table) + "\"";
  }

  private static boolean isUndefinedTable(SQLException e) {
    return "42P01".equals(e.getSQLState())
        || String.valueOf(e.getMessage()).contains("no such table");
  }

  private WaymarkException failure(String what, SQLException e) {
    return new WaymarkException(
        "torture could not "
            + what
            + " in "
            + JdbcUrls.redact(db)
            + ": "
            + JdbcUrls.redact(String.valueOf(e.getMessage())),
        e);
  }
}
