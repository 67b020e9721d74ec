package dev.waymark.cli;

import dev.waymark.ingest.CanonicalJson;
import dev.waymark.ingest.CanonicalJson.NumberMode;
import dev.waymark.ingest.DedupKey;
import dev.waymark.ingest.sink.Row;
import dev.waymark.ingest.sink.Sink;
import dev.waymark.ingest.sink.TableSpec;
import dev.waymark.ingest.source.Format;
import dev.waymark.ingest.source.RecordSource;
import dev.waymark.ingest.source.SourceRecord;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * Test code only: loads one JSON-array file into a staging table through the public sink API, for
 * the deliberately broken runners ({@link CheckpointBeforeCommitIngest}, the wall-clock resume in
 * {@link WallClockKeyingTest}) that show the checks can fail. Rows are keyed and encoded the way
 * Waymark keys them; what is broken is only where each runner resumes.
 */
final class NaiveLoader implements AutoCloseable {
  private final Sink sink;

  NaiveLoader(String db, String table) throws SQLException {
    this.sink = Sink.open(db, new TableSpec(table, List.of()));
    sink.createTables();
  }

  /** Inserts the file's records and commits; returns {rows read, rows new}. */
  long[] load(Path file) throws SQLException {
    List<Row> rows = new ArrayList<>();
    try (RecordSource source = RecordSource.open(file, Format.JSON_ARRAY)) {
      for (SourceRecord r; (r = source.next()) != null; ) {
        rows.add(
            new Row(
                DedupKey.wholeRecord().keyOf(r),
                CanonicalJson.toString(r.fields(), NumberMode.EXACT),
                file.getFileName().toString(),
                List.of()));
      }
    }
    long inserted = sink.insert(rows);
    sink.commit();
    return new long[] {rows.size(), inserted};
  }

  @Override
  public void close() throws SQLException {
    sink.close();
  }
}
