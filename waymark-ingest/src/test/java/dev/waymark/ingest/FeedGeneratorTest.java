package dev.waymark.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.waymark.WaymarkException;
import dev.waymark.ingest.FeedGenerator.Summary;
import dev.waymark.ingest.source.Format;
import dev.waymark.ingest.source.RecordSource;
import dev.waymark.ingest.source.SourceRecord;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FeedGeneratorTest {

  @TempDir Path dir;

  private static List<Path> listing(Path feed) throws IOException {
    try (Stream<Path> files = Files.list(feed)) {
      return files.sorted().toList();
    }
  }

  /** One digest over every file's name and bytes, in name order. */
  private static String digest(Path feed) throws IOException, NoSuchAlgorithmException {
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    for (Path p : listing(feed)) {
      sha.update(p.getFileName().toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
      sha.update(Files.readAllBytes(p));
    }
    return HexFormat.of().formatHex(sha.digest());
  }

  @Test
  void writesTheSameBytesForTheSameSeed() throws Exception {
    Summary a = FeedGenerator.generate(dir.resolve("a"), 20, 100, 42);
    Summary b = FeedGenerator.generate(dir.resolve("b"), 20, 100, 42);
    assertThat(a).isEqualTo(b);
    assertThat(digest(dir.resolve("a"))).isEqualTo(digest(dir.resolve("b")));
  }

  @Test
  void writesADifferentFeedForAnotherSeed() throws Exception {
    FeedGenerator.generate(dir.resolve("a"), 3, 50, 1);
    FeedGenerator.generate(dir.resolve("b"), 3, 50, 2);
    assertThat(digest(dir.resolve("a"))).isNotEqualTo(digest(dir.resolve("b")));
  }

  @Test
  void namesFilesWithFiveDigitsInSortedOrder() throws IOException {
    FeedGenerator.generate(dir, 12, 1, 7);
    List<String> names = listing(dir).stream().map(p -> p.getFileName().toString()).toList();
    assertThat(names).hasSize(12).isSorted().first().isEqualTo("skus_00000.json");
    assertThat(names).last().isEqualTo("skus_00011.json");
    assertThat(names).allMatch(n -> n.matches("skus_\\d{5}\\.json"));
    assertThat(FeedGenerator.fileName(99_999)).isEqualTo("skus_99999.json");
  }

  @Test
  void repeatsAboutTwoPercentOfRecordsExactly() throws IOException {
    Summary summary = FeedGenerator.generate(dir, 200, 100, 2026);

    assertThat(summary.files()).isEqualTo(200);
    assertThat(summary.records()).isEqualTo(20_000);
    Set<String> keys = new HashSet<>();
    Set<Object> skuIds = new HashSet<>();
    long read = 0;
    long sameFileRepeats = 0;
    for (Path file : listing(dir)) {
      Set<String> inFile = new HashSet<>();
      try (RecordSource source = RecordSource.open(file, Format.JSON_ARRAY)) {
        for (SourceRecord r; (r = source.next()) != null; ) {
          read++;
          String key = DedupKey.wholeRecord().keyOf(r);
          if (!inFile.add(key)) {
            sameFileRepeats++;
          }
          keys.add(key);
          skuIds.add(r.fields().get("sku_id"));
        }
      }
    }
    assertThat(read).isEqualTo(summary.records());
    assertThat((long) keys.size()).isEqualTo(summary.distinctRecords());
    assertThat(skuIds).as("a repeat is the whole record, sku_id included").hasSameSizeAs(keys);
    // 2% of 20,000 is 400; the binomial standard deviation is about 20.
    assertThat(summary.duplicates()).isBetween(320L, 480L);
    assertThat(sameFileRepeats).as("some repeats come from the same file").isBetween(80L, 320L);
  }

  @Test
  void writesRealisticSkuRecords() throws IOException {
    FeedGenerator.generate(dir, 1, 50, 5);
    try (RecordSource source =
        RecordSource.open(dir.resolve("skus_00000.json"), Format.JSON_ARRAY)) {
      SourceRecord r = source.next();
      Map<String, Object> f = r.fields();
      assertThat(f.keySet())
          .containsExactly(
              "sku_id",
              "vendor",
              "title",
              "category",
              "price",
              "currency",
              "qty",
              "active",
              "barcode",
              "tags",
              "attributes",
              "updated_at");
      assertThat((String) f.get("sku_id")).matches("SKU-\\d{9}");
      assertThat(f.get("price"))
          .isInstanceOfSatisfying(BigDecimal.class, p -> assertThat(p.scale()).isEqualTo(2));
      assertThat(f.get("qty")).isInstanceOf(Long.class);
      assertThat((String) f.get("barcode")).matches("\\d{13}");
      assertThat((String) f.get("updated_at")).matches("2026-11-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ");
      @SuppressWarnings("unchecked")
      Map<String, Object> attributes = (Map<String, Object>) f.get("attributes");
      assertThat(attributes).containsKeys("color", "size", "material", "weight_g");
      assertThat(r.line()).isEqualTo(2);
      assertThat(source.next().line()).as("one record per line").isEqualTo(3);
    }
    assertThat(Files.readString(dir.resolve("skus_00000.json")))
        .startsWith("[\n{\"sku_id\":")
        .endsWith("}\n]\n");
  }

  @Test
  void writesAnEmptyArrayForZeroRows() throws IOException {
    Summary s = FeedGenerator.generate(dir, 2, 0, 1);
    assertThat(s).isEqualTo(new Summary(2, 0, 0));
    assertThat(Files.readString(dir.resolve("skus_00001.json"))).isEqualTo("[]\n");
  }

  @Test
  void refusesADirectoryThatAlreadyHoldsAFeed() throws IOException {
    FeedGenerator.generate(dir, 1, 1, 1);
    assertThatThrownBy(() -> FeedGenerator.generate(dir, 1, 1, 1))
        .isInstanceOf(WaymarkException.class)
        .hasMessageContaining(dir + " already holds a feed (skus_00000.json")
        .hasMessageContaining("Choose an empty directory");
  }

  @Test
  void refusesImpossibleSizes() {
    assertThatThrownBy(() -> FeedGenerator.generate(dir, 0, 1, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("between 1 and 100000");
    assertThatThrownBy(() -> FeedGenerator.generate(dir, 100_001, 1, 1))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> FeedGenerator.generate(dir, 1, -1, 1))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> FeedGenerator.generate(dir, 100_000, 1_000_000, 1))
        .hasMessageContaining("at most 1000000000 records");
  }

  @Test
  void failsWithAnIoErrorWhenTheOutputIsAFile() throws IOException {
    Path file = Files.writeString(dir.resolve("not-a-dir"), "x");
    assertThatThrownBy(() -> FeedGenerator.generate(file, 1, 1, 1))
        .isInstanceOf(UncheckedIOException.class)
        .hasMessageContaining("not-a-dir");
  }

  /** The demo's feed: 2,000 files of 100 records. Printed, not asserted: the machine is shared. */
  @Test
  void generatesTheDemoFeedQuickly() throws IOException {
    java.lang.management.ThreadMXBean threads =
        java.lang.management.ManagementFactory.getThreadMXBean();
    long cpu = threads.getCurrentThreadCpuTime();
    long start = System.nanoTime();
    Summary s = FeedGenerator.generate(dir, 2_000, 100, 1);
    long ms = (System.nanoTime() - start) / 1_000_000;
    long cpuMs = (threads.getCurrentThreadCpuTime() - cpu) / 1_000_000;
    System.out.printf(
        "FeedGenerator: %d files, %d records in %d ms wall, %d ms CPU%n",
        s.files(), s.records(), ms, cpuMs);
    assertThat(listing(dir)).hasSize(2_000);
    assertThat(s.records()).isEqualTo(200_000);
  }
}
