package dev.waymark.checkpoint;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * How many committed versions of each partition's checkpoint to keep in history. Immutable.
 *
 * <pre>{@code
 * Retention.ofDefaults();                                        // the last 10
 * Retention.builder().keepLast(50).keepFor(Duration.ofDays(7)).build();
 * Retention.builder().keepLast(0).build();                       // no history at all
 * }</pre>
 *
 * <p>An entry is kept while it is among the last {@code keepLast} and, if {@code keepFor} is set,
 * younger than that. The newest entry is never dropped for its age.
 */
public final class Retention {
  public static final int DEFAULT_KEEP_LAST = 10;

  private final int keepLast;
  private final Duration keepFor;

  private Retention(Builder b) {
    this.keepLast = b.keepLast;
    this.keepFor = b.keepFor;
  }

  /** Keeps the last {@value #DEFAULT_KEEP_LAST} versions, whatever their age. */
  public static Retention ofDefaults() {
    return builder().build();
  }

  /** A builder starting from the defaults of {@link #ofDefaults()}. */
  public static Builder builder() {
    return new Builder();
  }

  /** The most versions kept per partition, the current one included; 0 keeps no history. */
  public int keepLast() {
    return keepLast;
  }

  /** The age beyond which versions other than the newest are dropped, if set. */
  public Optional<Duration> keepFor() {
    return Optional.ofNullable(keepFor);
  }

  /** Whether any history is written at all. */
  public boolean keepsHistory() {
    return keepLast > 0;
  }

  @Override
  public String toString() {
    return "keepLast(" + keepLast + ")" + (keepFor == null ? "" : ".keepFor(" + keepFor + ")");
  }

  /** Builds a {@link Retention}. Not thread-safe. */
  public static final class Builder {
    private int keepLast = DEFAULT_KEEP_LAST;
    private Duration keepFor;

    private Builder() {}

    /** Keeps at most {@code n} versions (0 keeps none). */
    public Builder keepLast(int n) {
      if (n < 0) {
        throw new IllegalArgumentException("keepLast must be 0 or more: " + n);
      }
      this.keepLast = n;
      return this;
    }

    /** Also drops versions older than {@code age}, except the newest. */
    public Builder keepFor(Duration age) {
      Objects.requireNonNull(age, "age");
      if (age.isNegative() || age.isZero()) {
        throw new IllegalArgumentException("keepFor must be positive: " + age);
      }
      this.keepFor = age;
      return this;
    }

    /** The retention set so far. */
    public Retention build() {
      return new Retention(this);
    }
  }
}
