package dev.waymark.ingest;

/**
 * A run asked for another partition layout than the one the job's checkpoints were written in. A
 * usage error (exit 2): the fix is a flag, {@code --partitions} with the recorded count, or {@code
 * --rescan} to reprocess into the new layout.
 */
public final class LayoutMismatchException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public LayoutMismatchException(String message) {
    super(message);
  }
}
