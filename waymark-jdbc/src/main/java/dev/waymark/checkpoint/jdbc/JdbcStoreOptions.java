package dev.waymark.checkpoint.jdbc;

import dev.waymark.checkpoint.Retention;
import java.time.Clock;
import java.util.Objects;

/** Settings of a {@link JdbcCheckpointStore}. Immutable. */
public final class JdbcStoreOptions {
  private final Retention retention;
  private final Clock clock;

  private JdbcStoreOptions(Builder b) {
    this.retention = b.retention;
    this.clock = b.clock;
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

  /** Builds {@link JdbcStoreOptions}. Not thread-safe. */
  public static final class Builder {
    private Retention retention = Retention.ofDefaults();
    private Clock clock = Clock.systemUTC();

    private Builder() {}

    public Builder retention(Retention retention) {
      this.retention = Objects.requireNonNull(retention, "retention");
      return this;
    }

    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    public JdbcStoreOptions build() {
      return new JdbcStoreOptions(this);
    }
  }
}
