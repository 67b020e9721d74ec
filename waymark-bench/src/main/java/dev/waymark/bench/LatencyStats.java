package dev.waymark.bench;

import java.util.Arrays;

/** Order statistics of one variant's per-commit latencies, in nanoseconds. Immutable. */
final class LatencyStats {
  private final long[] sorted;

  LatencyStats(long[] nanos, int count) {
    this.sorted = Arrays.copyOf(nanos, count);
    Arrays.sort(sorted);
  }

  int count() {
    return sorted.length;
  }

  /** The nearest-rank percentile: the smallest sample at or above fraction {@code p} of all. */
  long percentile(double p) {
    if (sorted.length == 0) {
      return 0;
    }
    int rank = (int) Math.ceil(p * sorted.length);
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
  }

  long median() {
    return percentile(0.5);
  }

  double mean() {
    double sum = 0;
    for (long v : sorted) {
      sum += v;
    }
    return sorted.length == 0 ? 0 : sum / sorted.length;
  }
}
