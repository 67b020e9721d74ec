/**
 * Input files as streams of records: {@link dev.waymark.ingest.source.RecordSource#open} with a
 * {@link dev.waymark.ingest.source.Format} (JSON array, NDJSON, CSV). The front door is {@code
 * RecordSource.open}; the parsers behind it are package-private.
 */
package dev.waymark.ingest.source;
