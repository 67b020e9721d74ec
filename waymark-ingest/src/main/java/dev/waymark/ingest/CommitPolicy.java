package dev.waymark.ingest;

import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * When a unit of work ends and is committed: after a number of files, or once a unit has taken a
 * given time. The default, {@link #ofDefaults()}, commits about once a second (or after every file
 * that takes longer than that), so a crash redoes at most about a second of work, while small files
 * are grouped and the per-commit cost (an {@code fsync} in the database and one for the checkpoint)
 * is paid once for many files; the first unit of a run holds just its first file. {@code
 * everyFiles(1)} is the chapter's one file, one checkpoint. Immutable.
 */
public final class CommitPolicy {
  private static final Pattern DURATION = Pattern.compile("(\\d{1,9})(ms|s|m|h)");

  private final int files;
  private final Duration duration;

  private CommitPolicy(int files, Duration duration) {
    this.files = files;
    this.duration = duration;
  }

  /** Commits once a unit has taken a second, or after each file that takes longer. */
  public static CommitPolicy ofDefaults() {
    return every(Duration.ofSeconds(1));
  }

  /** Commits after every {@code n} files. */
  public static CommitPolicy everyFiles(int n) {
    if (n < 1) {
      throw new IllegalArgumentException("--commit-every needs at least 1 file, found " + n);
    }
    return new CommitPolicy(n, null);
  }

  /** Commits once a unit has taken {@code d}, or after each file that takes longer. */
  public static CommitPolicy every(Duration d) {
    Objects.requireNonNull(d, "duration");
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(
          "--commit-every needs a positive duration, found " + d.toMillis() + "ms");
    }
    return new CommitPolicy(0, d);
  }

  /**
   * Parses the {@code --commit-every} value: a number of files ({@code 1}, {@code 50}) or a
   * duration ({@code 500ms}, {@code 1s}, {@code 2m}, {@code 1h}).
   *
   * @throws IllegalArgumentException naming the value and the accepted forms
   */
  public static CommitPolicy parse(String value) {
    String v = value.trim().toLowerCase(Locale.ROOT);
    if (v.matches("\\d{1,9}")) {
      return everyFiles(Integer.parseInt(v));
    }
    Matcher m = DURATION.matcher(v);
    if (m.matches() && Long.parseLong(m.group(1)) > 0) {
      long n = Long.parseLong(m.group(1));
      return every(
          switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            default -> Duration.ofHours(n);
          });
    }
    if (m.matches()) {
      throw new IllegalArgumentException(
          "--commit-every '" + value + "' is not a positive duration (e.g. 500ms, 1s, 2m, 1h)");
    }
    throw new IllegalArgumentException(
        "--commit-every '"
            + value
            + "' is neither a number of files (e.g. 1, 50) nor a duration (e.g. 500ms, 1s, 2m, 1h)");
  }

  /**
   * Whether a unit of {@code filesInUnit} files that began {@code elapsed} ago is complete. With a
   * duration, the first unit of a run ({@code firstOfRun}) ends after its first file: a run, and a
   * resumed run above all, then shows its first committed file (and checkpoint) right after
   * start-up instead of a unit's time later, for the price of one more commit.
   */
  boolean unitComplete(int filesInUnit, Duration elapsed, boolean firstOfRun) {
    if (duration == null) {
      return filesInUnit >= files;
    }
    return firstOfRun || elapsed.compareTo(duration) >= 0;
  }

  @Override
  public String toString() {
    if (duration == null) {
      return files + (files == 1 ? " file" : " files");
    }
    return duration.toMillis() % 1000 == 0
        ? duration.toSeconds() + "s"
        : duration.toMillis() + "ms";
  }
}
