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

  public static Builder builder() {
    return new Builder();
  }

  public Retention retention() {
    return retention;
  }

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

    public Builder retention(Retention retention) {
      this.retention = Objects.requireNonNull(retention, "retention");
      return this;
    }

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

    public JdbcStoreOptions build() {
      return new JdbcStoreOptions(this);
    }
  }
}
