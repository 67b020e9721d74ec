package dev.waymark.ingest;

import java.util.Locale;
import java.util.function.BiConsumer;

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
 *   <li>{@code crash-before-global-complete:N}: every partition's marker for global checkpoint N is
 *       written, its "complete" record is not (N is the global checkpoint's number, which counts
 *       across runs; a fresh job's first is 1);
 *   <li>{@code crash-mid-relayout:N}: in a {@code --rescan} into a new partition layout, after the
 *       N-th old partition's checkpoint is reset and before the new layout is recorded.
 *   <li>{@code pause-before-commit:N}: instead of halting, the JVM prints {@code WAYMARK_FAULT:
 *       paused ...} to stderr and waits for a line on stdin, with unit N's rows written but not
 *       committed and the reader thread blocked ahead in the next files. Tests use the pause to
 *       fill a disk, truncate an input or restart a database at an exact instant. It pauses once: a
 *       retry of unit N runs on.
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
    BEFORE_GLOBAL_COMPLETE,
    MID_RELAYOUT
  }

  /** The exit status the halted JVM reports, as after SIGKILL. */
  public static final int HALT_STATUS = 137;

  private final Point point;
  private final long unit;
  private final boolean pause;
  private final BiConsumer<Point, Long> observer;

  /** A pause happens once: a retry that reaches the same unit again runs on. */
  private volatile boolean paused;

  private Faults(Point point, long unit, boolean pause) {
    this(point, unit, pause, (p, n) -> {});
  }

  private Faults(Point point, long unit, boolean pause, BiConsumer<Point, Long> observer) {
    this.point = point;
    this.unit = unit;
    this.pause = pause;
    this.observer = observer;
  }

  /** No fault; tells {@code observer} each step reached and its unit's number (for tests). */
  static Faults observing(BiConsumer<Point, Long> observer) {
    return new Faults(null, 0, false, observer);
  }

  public static Faults none() {
    return new Faults(null, 0, false);
  }

  public static Faults at(Point point, long unit) {
    return new Faults(point, unit, false);
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
        case "pause-before-commit":
          return new Faults(Point.BEFORE_COMMIT, n, true);
        case "crash-before-global-complete":
          return at(Point.BEFORE_GLOBAL_COMPLETE, n);
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
            + " crash-before-global-complete:N, crash-mid-relayout:N, pause-before-commit:N");
  }

  /** Whether no crash or pause is armed (an observer alone changes nothing). */
  boolean isNone() {
    return point == null;
  }

  /** Whether a crash (not a pause) is armed for {@code p} in unit {@code unitNumber}. */
  boolean armed(Point p, long unitNumber) {
    return point == p && unit == unitNumber && !pause;
  }

  /**
   * Halts the JVM as a crash would if this fault is armed for {@code p} in unit {@code unitNumber},
   * or pauses it there if the fault is a pause.
   */
  void maybeCrash(Point p, long unitNumber) {
    observer.accept(p, unitNumber);
    if (armed(p, unitNumber)) {
      crash(p, unitNumber);
    } else if (pause && point == p && unit == unitNumber && !paused) {
      paused = true;
      pause(p, unitNumber);
    }
  }

  private static void pause(Point p, long unitNumber) {
    System.out.flush();
    System.err.println(
        "WAYMARK_FAULT: paused at "
            + p.name().toLowerCase(Locale.ROOT).replace('_', '-')
            + " of unit "
            + unitNumber
            + "; send a line on stdin to go on");
    System.err.flush();
    try {
      for (int c; (c = System.in.read()) >= 0 && c != '\n'; ) {
        // wait for the end of the line
      }
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("WAYMARK_FAULT pause: cannot read stdin", e);
    }
  }

  static void crash(Point p, long unitNumber) {
    System.out.flush();
    System.err.println(
        "WAYMARK_FAULT: halting at "
            + p.name().toLowerCase(Locale.ROOT).replace('_', '-')
            + (p == Point.BEFORE_GLOBAL_COMPLETE ? " of global checkpoint " : " of unit ")
            + unitNumber);
    System.err.flush();
    Runtime.getRuntime().halt(HALT_STATUS);
  }
}
