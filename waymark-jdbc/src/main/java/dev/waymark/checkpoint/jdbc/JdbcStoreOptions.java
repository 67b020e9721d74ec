package dev.waymark.checkpoint.jdbc;

import dev.waymark.checkpoint.Retention;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;

/** Settings of a {@link JdbcCheckpointStore}. Immutable. */
public final class JdbcStoreOptions {
  private final Retention retention;
  private final Clock clock;
  private final Duration epochWait;

  private JdbcStoreOptions(Builder b) {
    this.retention = b.retention;
    this.clock = b.clock;
    this.epochWait = b.epochWait;
  }

  /** Keeps the last 10 versions; the system UTC clock. */
  public static JdbcStoreOptions ofDefaults() {
    return builder().build();
  }

  /** A builder starting from the defaults of {@link #ofDefaults()}. */
  public static Builder builder() {
    return new Builder();
  }

  /** How many versions of each partition's checkpoint are kept in the history table. */
  public Retention retention() {
    return retention;
  }

  /** The clock stamped into {@code committed_at} and used for age-based retention. */
  public Clock clock() {
    return clock;
  }

  /**
   * How long opening the store waits on PostgreSQL for the job's row, which a running writer holds
   * while it commits, before it refuses with {@link dev.waymark.checkpoint.LockHeldException}: a
   * writer stopped or stuck inside its commit holds it for as long as it lasts.
   */
  public Duration epochWait() {
    return epochWait;
  }

  /** Builds {@link JdbcStoreOptions}. Not thread-safe. */
  public static final class Builder {
    private Retention retention = Retention.ofDefaults();
    private Clock clock = Clock.systemUTC();
    private Duration epochWait = Duration.ofSeconds(10);

    private Builder() {}

    /** Sets the versions kept for rollback; default {@link Retention#ofDefaults()}. */
    public Builder retention(Retention retention) {
      this.retention = Objects.requireNonNull(retention, "retention");
      return this;
    }

    /** Sets the clock; default the system UTC clock. Never decides where a job resumes. */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /** See {@link JdbcStoreOptions#epochWait()}; default 10 seconds. */
    public Builder epochWait(Duration wait) {
      if (wait.isNegative() || wait.isZero()) {
        throw new IllegalArgumentException("epochWait must be positive, found " + wait);
      }
      this.epochWait = wait;
      return this;
    }

    /** The options set so far. */
    public JdbcStoreOptions build() {
      return new JdbcStoreOptions(this);
    }
  }
}
