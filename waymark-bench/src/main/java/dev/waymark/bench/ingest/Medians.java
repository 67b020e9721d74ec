package dev.waymark.bench.ingest;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Wall times per variant, collected over interleaved rounds; medians and ratios. */
final class Medians {
  private final Map<String, List<Double>> millis = new LinkedHashMap<>();

  void add(String variant, double ms) {
    millis.computeIfAbsent(variant, k -> new ArrayList<>()).add(ms);
  }

  double median(String variant) {
    List<Double> v = new ArrayList<>(millis.get(variant));
    Collections.sort(v);
    int n = v.size();
    return n % 2 == 1 ? v.get(n / 2) : (v.get(n / 2 - 1) + v.get(n / 2)) / 2;
  }

  double min(String variant) {
    return Collections.min(millis.get(variant));
  }

  double max(String variant) {
    return Collections.max(millis.get(variant));
  }

  /** One line per variant: median, min, max, and the median's ratio to {@code baseline}'s. */
  String table(String baseline, long rows) {
    StringBuilder sb = new StringBuilder();
    sb.append(
        String.format(
            Locale.ROOT,
            "%-34s %5s %10s %10s %10s %12s %9s%n",
            "variant",
            "n",
            "median ms",
            "min ms",
            "max ms",
            "rows/s",
            "ratio"));
    double base = millis.containsKey(baseline) ? median(baseline) : Double.NaN;
    for (String v : millis.keySet()) {
      double m = median(v);
      sb.append(
          String.format(
              Locale.ROOT,
              "%-34s %5d %10.0f %10.0f %10.0f %12.0f %9.2f%n",
              v,
              millis.get(v).size(),
              m,
              min(v),
              max(v),
              rows / (m / 1000),
              m / base));
    }
    return sb.toString();
  }
}
