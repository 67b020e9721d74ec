package dev.waymark.bench.ingest;

import dev.waymark.ingest.CanonicalJson;
import dev.waymark.ingest.CanonicalJson.NumberMode;
import dev.waymark.ingest.DedupKey;
import dev.waymark.ingest.source.Format;
import dev.waymark.ingest.source.RecordSource;
import dev.waymark.ingest.source.SourceRecord;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A feed from {@code waymark generate}, read once into memory as the rows Waymark would write: per
 * file, {@code {dedup_key, payload, source_file}} with the same key and payload as the runner, so
 * that write paths are timed without parsing or hashing. Immutable once loaded.
 */
final class Feed {
  final List<List<String[]>> files;
  final long rows;
  final long distinct;

  private Feed(List<List<String[]>> files, long rows, long distinct) {
    this.files = files;
    this.rows = rows;
    this.distinct = distinct;
  }

  /** Loads the first {@code limit} files of {@code dir} matching {@code skus_*.json}. */
  static Feed load(Path dir, int limit) {
    List<Path> paths;
    try (Stream<Path> s = Files.list(dir)) {
      paths =
          s.filter(p -> p.getFileName().toString().matches("skus_.*\\.json"))
              .sorted()
              .limit(limit)
              .toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    DedupKey key = DedupKey.wholeRecord();
    Set<String> keys = new HashSet<>();
    List<List<String[]>> files = new ArrayList<>(paths.size());
    long rows = 0;
    for (Path p : paths) {
      String name = p.getFileName().toString();
      List<String[]> file = new ArrayList<>();
      try (RecordSource source = RecordSource.open(p, Format.JSON_ARRAY)) {
        for (SourceRecord r; (r = source.next()) != null; ) {
          String k = key.keyOf(r);
          keys.add(k);
          file.add(new String[] {k, CanonicalJson.toString(r.fields(), NumberMode.EXACT), name});
        }
      }
      rows += file.size();
      files.add(file);
    }
    return new Feed(List.copyOf(files), rows, keys.size());
  }
}
