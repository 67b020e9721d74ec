package dev.waymark.ingest.sink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What every sink must do; each database's test says how to get a fresh database URL. */
abstract class SinkContractTest {
  private final List<Sink> opened = new ArrayList<>();

  /** A URL of a fresh, empty database (the same one for the whole test). */
  abstract String url();

  Sink open(TableSpec spec) throws SQLException {
    Sink sink = Sink.open(url(), spec);
    opened.add(sink);
    sink.createTables();
    return sink;
  }

  @AfterEach
  void closeSinks() throws SQLException {
    for (Sink s : opened) {
      s.close();
    }
  }

  static Row row(String key) {
    return new Row(key, "{\"id\":\"" + key + "\"}", "skus_00001.json", List.of());
  }

  @Test
  void countsOnlyRowsReallyInserted() throws SQLException {
    Sink sink = open(new TableSpec("skus", List.of()));
    assertThat(sink.insert(List.of(row("a"), row("b"), row("a")))).isEqualTo(2);
    sink.commit();
    assertThat(sink.insert(List.of(row("b"), row("c")))).isEqualTo(1);
    sink.commit();
    assertThat(sink.countRows()).isEqualTo(3);
  }

  static Row row(String key, String file, String column) {
    return new Row(key, "{\"id\":\"" + key + "\"}", file, List.of(column));
  }

  @Test
  void insertsSeveralFilesInOrderAndCountsEachFilesNewRows() throws SQLException {
    Sink sink = open(new TableSpec("skus", List.of("col")));
    sink.insert(List.of(row("old", "f0.json", "0")));
    long[] inserted =
        sink.insertFiles(
            List.of(
                List.of(
                    row("a", "f1.json", "1"), row("b", "f1.json", "1"), row("a", "f1.json", "1")),
                List.of(),
                List.of(row("b", "f3.json", "3"), row("old", "f3.json", "3")),
                List.of(row("c", "f4.json", "4"), row("a", "f4.json", "4"))));
    sink.commit();
    assertThat(inserted).containsExactly(2, 0, 0, 1);
    try (var s = sink.connection().createStatement();
        var rs =
            s.executeQuery("SELECT dedup_key, source_file, col FROM skus ORDER BY dedup_key")) {
      List<String> rows = new ArrayList<>();
      while (rs.next()) {
        rows.add(rs.getString(1) + " " + rs.getString(2) + " " + rs.getString(3));
      }
      assertThat(rows)
          .as("each key with the first file holding it")
          .containsExactly("a f1.json 1", "b f1.json 1", "c f4.json 4", "old f0.json 0");
    }
  }

  @Test
  void aStartedStatementCountsEachFilesNewRowsWhenAwaitedAndLeavesTheCallersListFree()
      throws SQLException {
    Sink sink = open(new TableSpec("skus", List.of()));
    sink.insert(List.of(row("old")));
    List<List<Row>> files = new ArrayList<>();
    files.add(List.of(fileRow("a", "f1.json"), fileRow("old", "f1.json")));
    files.add(List.of(fileRow("a", "f2.json"), fileRow("b", "f2.json")));

    Sink.FilesStatement statement = sink.prepareFiles(files);
    files.clear(); // the statement holds its own copy of the rows
    long[] inserted = sink.startFiles(statement).await();
    sink.commit();

    assertThat(inserted).containsExactly(1, 1);
    assertThat(sink.countRows()).isEqualTo(3);
  }

  static Row fileRow(String key, String file) {
    return new Row(key, "{\"id\":\"" + key + "\"}", file, List.of());
  }

  @Test
  void rolledBackRowsAreNotThere() throws SQLException {
    Sink sink = open(new TableSpec("skus", List.of()));
    sink.insert(List.of(row("a")));
    sink.rollback();
    assertThat(sink.countRows()).isZero();
    assertThat(sink.insert(List.of(row("a")))).isEqualTo(1);
  }

  @Test
  void fillsExtractedColumns() throws SQLException {
    Sink sink = open(new TableSpec("skus", List.of("sku_id", "price")));
    sink.insert(
        List.of(
            new Row("k1", "{\"sku_id\":\"S1\"}", "f.json", java.util.Arrays.asList("S1", null))));
    sink.commit();
    try (var s = sink.connection().createStatement();
        var rs = s.executeQuery("SELECT sku_id, price, source_file FROM skus")) {
      assertThat(rs.next()).isTrue();
      assertThat(rs.getString(1)).isEqualTo("S1");
      assertThat(rs.getString(2)).isNull();
      assertThat(rs.getString(3)).isEqualTo("f.json");
    }
  }

  @Test
  void refusesAnExistingTableWithoutARequestedColumn() throws SQLException {
    open(new TableSpec("skus", List.of())).commit();
    assertThatThrownBy(() -> open(new TableSpec("skus", List.of("vendor"))))
        .isInstanceOf(SQLException.class)
        .hasMessageContaining("Table skus exists without column vendor");
  }

  @Test
  void recordsQuarantinedFilesInTheTransaction() throws SQLException {
    Sink sink = open(new TableSpec("skus", List.of()));
    sink.quarantine("nightly", "skus_00007.json", "line 3, column 9", "invalid JSON");
    sink.commit();
    try (var s = sink.connection().createStatement();
        var rs =
            s.executeQuery("SELECT job, source_file, position, error FROM waymark_quarantine")) {
      assertThat(rs.next()).isTrue();
      assertThat(rs.getString(2)).isEqualTo("skus_00007.json");
      assertThat(rs.getString(3)).isEqualTo("line 3, column 9");
    }
  }

  @Test
  void defaultSettingsAreDurable() throws SQLException {
    assertThat(open(new TableSpec("skus", List.of())).durabilityProblem()).isEmpty();
  }

  @Test
  void refusesHostileTableAndColumnNames() {
    for (String bad :
        List.of("skus; DROP TABLE x", "Skus", "a\"b", "", "1abc", "x".repeat(64), "tåble")) {
      assertThatThrownBy(() -> new TableSpec(bad, List.of()))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("table name");
      assertThatThrownBy(() -> new TableSpec("ok", List.of(bad)))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("column name");
    }
  }
}
