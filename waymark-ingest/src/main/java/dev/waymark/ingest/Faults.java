package dev.waymark.ingest;

import java.util.Locale;

/**
 * Test-only crash points, from {@code WAYMARK_FAULT}: the JVM halts ({@code Runtime.halt}, no
 * shutdown hooks, no flushing) at a chosen step of unit N (counted from 1 in this process):
 *
 * <ul>
 *   <li>{@code crash-before-commit:N}: unit N's rows are written but not committed;
 *   <li>{@code crash-after-commit:N}: unit N's rows are committed, its checkpoint is not written;
 *   <li>{@code crash-mid-checkpoint:N}: during unit N's checkpoint write (file store: the temp file
 *       is written and synced, the rename has not happened; db store: the checkpoint row is
 *       updated, the transaction not committed);
 *   <li>{@code crash-mid-relayout:N}: in a {@code --rescan} into a new partition layout, after the
 *       N-th old partition's checkpoint is reset and before the new layout is recorded.
 * </ul>
 *
 * These exist so that tests and {@code waymark demo} can crash at the exact instants that matter;
 * SIGKILL tests cover the instants in between.
 */
public final class Faults {
  /** Where a crash can be injected. */
  public enum Point {
    BEFORE_COMMIT,
    AFTER_COMMIT,
    MID_CHECKPOINT,
    MID_RELAYOUT
  }

  /** The exit status the halted JVM reports, as after SIGKILL. */
  public static final int HALT_STATUS = 137;

  private final Point point;
  private final long unit;

  private Faults(Point point, long unit) {
    this.point = point;
    this.unit = unit;
  }

  public static Faults none() {
    return new Faults(null, 0);
  }

  public static Faults at(Point point, long unit) {
    return new Faults(point, unit);
  }

  /** Reads {@code WAYMARK_FAULT}; absent or empty means none. */
  public static Faults fromEnvironment() {
    return parse(System.getenv("WAYMARK_FAULT"));
  }

  static Faults parse(String spec) {
    if (spec == null || spec.isBlank()) {
      return none();
    }
    String[] parts = spec.trim().toLowerCase(Locale.ROOT).split(":");
    if (parts.length == 2 && parts[1].matches("[1-9][0-9]{0,17}")) {
      long n = Long.parseLong(parts[1]);
      switch (parts[0]) {
        case "crash-before-commit":
          return at(Point.BEFORE_COMMIT, n);
        case "crash-after-commit":
          return at(Point.AFTER_COMMIT, n);
        case "crash-mid-checkpoint":
          return at(Point.MID_CHECKPOINT, n);
        case "crash-mid-relayout":
          return at(Point.MID_RELAYOUT, n);
        default:
          break;
      }
    }
    throw new IllegalArgumentException(
        "WAYMARK_FAULT='"
            + spec
            + "' is not one of crash-before-commit:N, crash-after-commit:N, crash-mid-checkpoint:N,"
            + " crash-mid-relayout:N");
  }

  boolean armed(Point p, long unitNumber) {
    return point == p && unit == unitNumber;
  }

  /**
   * Halts the JVM as a crash would if this fault is armed for {@code p} in unit {@code unitNumber}.
   */
  void maybeCrash(Point p, long unitNumber) {
    if (armed(p, unitNumber)) {
      crash(p, unitNumber);
    }
  }

  static void crash(Point p, long unitNumber) {
    System.out.flush();
    System.err.println(
        "WAYMARK_FAULT: halting at "
            + p.name().toLowerCase(Locale.ROOT).replace('_', '-')
            + " of unit "
            + unitNumber);
    System.err.flush();
    Runtime.getRuntime().halt(HALT_STATUS);
  }
}
