package dev.waymark.ingest.coord;

import dev.waymark.checkpoint.Names;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * What every worker of a coordinated job must agree on: the job's name, its partition layout (the
 * count and the hash that assigns a file to a partition) and the settings that decide what a
 * partition's rows are (glob, format, table, dedup key...), as flag name to value. The first worker
 * records it; a later one with another spec is refused. Immutable.
 *
 * @param job the job's name
 * @param partitions how many partitions, named {@code "0"} to {@code partitions - 1}
 * @param hash the name of the function that assigns a file to a partition
 * @param settings flag name to value, e.g. {@code --glob} to {@code skus_*.json}
 */
public record JobSpec(String job, int partitions, String hash, Map<String, String> settings) {
  public JobSpec {
    Names.requireValid("job", job);
    if (partitions < 1) {
      throw new IllegalArgumentException("--partitions must be at least 1, found " + partitions);
    }
    Objects.requireNonNull(hash, "hash");
    settings = Collections.unmodifiableMap(new TreeMap<>(settings));
    for (Map.Entry<String, String> e : settings.entrySet()) {
      if (e.getKey().contains("=") || e.getKey().contains("\n") || e.getValue().contains("\n")) {
        throw new IllegalArgumentException("a setting holds '=' or a line break: " + e);
      }
    }
  }

  /** The settings as stored: one {@code name=value} line each, sorted by name. */
  String settingsText() {
    StringBuilder sb = new StringBuilder();
    settings.forEach((k, v) -> sb.append(k).append('=').append(v).append('\n'));
    return sb.toString();
  }

  static Map<String, String> parseSettings(String text) {
    Map<String, String> settings = new TreeMap<>();
    for (String line : text.split("\n")) {
      int eq = line.indexOf('=');
      if (eq > 0) {
        settings.put(line.substring(0, eq), line.substring(eq + 1));
      }
    }
    return settings;
  }

  /**
   * How {@code recorded} (the job's) and this spec differ, one phrase each; empty if they agree.
   */
  List<String> differencesFrom(JobSpec recorded) {
    List<String> found = new ArrayList<>();
    if (recorded.partitions != partitions) {
      found.add(
          "the job has "
              + recorded.partitions
              + " partitions, this worker was started with --partitions "
              + partitions);
    }
    if (!recorded.hash.equals(hash)) {
      found.add("the job assigns files by hash " + recorded.hash + ", this worker by " + hash);
    }
    Map<String, String> all = new TreeMap<>(recorded.settings);
    all.putAll(settings);
    for (String name : all.keySet()) {
      String theirs = recorded.settings.get(name), ours = settings.get(name);
      if (!Objects.equals(theirs, ours)) {
        found.add(
            "the job has "
                + name
                + " "
                + (theirs == null ? "unset" : "'" + theirs + "'")
                + ", this worker "
                + (ours == null ? "unset" : "'" + ours + "'"));
      }
    }
    return found;
  }
}
