/**
 * Resumable ingestion: the pieces that read a directory of vendor files into a table.
 *
 * <ul>
 *   <li>{@link dev.waymark.ingest.source.RecordSource}: one input file as a stream of records (JSON
 *       array, NDJSON, CSV), one record in memory at a time, strict about malformed input.
 *   <li>{@link dev.waymark.ingest.DedupKey}: the idempotency key of a record, SHA-256 over its RFC
 *       8785 canonical JSON ({@link dev.waymark.ingest.CanonicalJson}).
 *   <li>{@link dev.waymark.ingest.FeedGenerator}: a deterministic synthetic vendor feed for demos,
 *       tests and benchmarks.
 *   <li>{@link dev.waymark.ingest.BadInputException}: every malformed-input failure, naming the
 *       file, the position, the record and the reason.
 * </ul>
 */
package dev.waymark.ingest;
