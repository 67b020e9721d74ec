package dev.waymark.ingest.sink;

import java.util.List;

/**
 * One row for the staging table.
 *
 * @param dedupKey the record's dedup key (the primary key)
 * @param payload the record as JSON text
 * @param sourceFile the input file's name
 * @param columns the values of the table's extracted columns, in {@link TableSpec#columns()} order
 *     ({@code null} where the record has no such value)
 */
public record Row(String dedupKey, String payload, String sourceFile, List<String> columns) {}
