/**
 * Workers on many machines running one ingestion job together, coordinated through PostgreSQL:
 * partition leases with epochs, a heartbeat, and the fence every data commit passes ({@link
 * dev.waymark.ingest.coord.Coordinator}). {@link dev.waymark.ingest.CoordinatedIngest} runs the
 * partitioned runner on it.
 */
package dev.waymark.ingest.coord;
