/**
 * Workers on many machines running one ingestion job together, coordinated through PostgreSQL:
 * partition leases with epochs ({@link dev.waymark.ingest.coord.Coordinator}), the claim loop
 * ({@link dev.waymark.ingest.coord.Worker}), and the fence every data commit passes.
 */
package dev.waymark.ingest.coord;
