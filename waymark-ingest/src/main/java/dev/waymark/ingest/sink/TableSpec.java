package dev.waymark.ingest.sink;

import java.util.List;
import java.util.Set;

/**
 * The staging table: its name and the extracted columns beyond the fixed ones ({@code dedup_key}
 * primary key, {@code payload}, {@code source_file}, {@code ingested_at}).
 */
public record TableSpec(String table, List<String> columns) {
  static final Set<String> FIXED = Set.of("dedup_key", "payload", "source_file", "ingested_at");

  public TableSpec {
    Identifiers.require("table", table);
    columns = List.copyOf(columns);
    for (String c : columns) {
      Identifiers.require("column", c);
      if (FIXED.contains(c)) {
        throw new IllegalArgumentException(
            "column name '"
                + c
                + "' is one of the table's own columns "
                + FIXED
                + "; choose another");
      }
    }
    if (Set.copyOf(columns).size() != columns.size()) {
      throw new IllegalArgumentException("column names repeat: " + columns);
    }
  }
}
