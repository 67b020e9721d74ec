package dev.waymark.ingest;

/**
 * A run asked for another dedup key than the one the table's rows were keyed with. Its rows would
 * never match the table's, so every record already loaded would go in again; the message says how
 * to run with the table's key or load elsewhere.
 */
public final class DedupKeyMismatchException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public DedupKeyMismatchException(String message) {
    super(message);
  }
}
