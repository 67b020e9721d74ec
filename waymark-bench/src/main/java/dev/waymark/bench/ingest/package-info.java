/**
 * Ingestion benchmarks: the write path of each sink, candidate against candidate, and the helpers
 * of the end-to-end comparison ({@code waymark-bench/scripts/ingest-e2e.sh}). Run by hand; see
 * BENCHMARKS.md, section Ingestion.
 */
package dev.waymark.bench.ingest;
