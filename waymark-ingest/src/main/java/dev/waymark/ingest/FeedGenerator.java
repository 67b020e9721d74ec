package dev.waymark.ingest;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.io.SerializedString;
import dev.waymark.WaymarkException;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.SplittableRandom;

/**
 * Writes a synthetic vendor feed: {@code skus_00000.json}, {@code skus_00001.json}, ..., each a
 * JSON array of SKU records, the input of {@code waymark demo}, {@code waymark generate}, the tests
 * and the benchmarks. Stateless and thread-safe.
 *
 * <p>A record looks like this (one per line in the file):
 *
 * <pre>{@code
 * {"sku_id":"SKU-482913305","vendor":"northwind","title":"Stainless Steel Water Bottle 750 ml",
 *  "category":"kitchen","price":24.90,"currency":"EUR","qty":118,"active":true,
 *  "barcode":"4006381333931","tags":["bestseller","eco"],
 *  "attributes":{"color":"teal","size":"L","material":"steel","weight_g":412},
 *  "updated_at":"2026-11-07T14:03:21Z"}
 * }</pre>
 *
 * <p><b>Deterministic</b>: the same arguments give the same bytes on every run and JVM. Each record
 * is a pure function of the seed and its position (its own {@link SplittableRandom}), so nothing is
 * remembered across records and memory stays flat however large the feed.
 *
 * <p><b>Duplicates</b>: about {@value #DUPLICATE_PERCENT}% of the records are exact repeats of an
 * earlier record, half of them from the same file, half from anywhere before; a repeat is the
 * earlier record regenerated from its position, byte for byte. Every other record is distinct (its
 * {@code sku_id} is unique), so {@link Summary#distinctRecords()} is exact.
 *
 * <p><b>Files</b> are written through a temporary name and renamed into place, so an interrupted
 * run leaves no half-written {@code skus_*.json}; they are not fsynced (a feed is regenerated, not
 * recovered).
 */
public final class FeedGenerator {

  /** Share of records that repeat an earlier record, in percent. */
  public static final int DUPLICATE_PERCENT = 2;

  /** The most files one feed can have: names have five digits. */
  public static final int MAX_FILES = 100_000;

  /** The most records one feed can have: each distinct record has its own nine-digit SKU. */
  public static final long MAX_RECORDS = 1_000_000_000L;

  /**
   * What was written.
   *
   * @param files the number of files
   * @param records the number of records in all files
   * @param distinctRecords the number of distinct records, i.e. the rows an idempotent load keeps
   */
  public record Summary(int files, long records, long distinctRecords) {
    /** The number of records that repeat an earlier one. */
    public long duplicates() {
      return records - distinctRecords;
    }
  }

  private static final JsonFactory FACTORY = JsonFactory.builder().build();
  private static final long SKU_SPACE = MAX_RECORDS;
  private static final long SKU_MULTIPLIER = 387_420_489L; // 3^18: coprime with 10^9, a bijection

  private static final String[] VENDORS = {
    "acme-supply", "northwind", "globex", "initech", "umbrella-retail", "stark-wholesale",
    "wayne-goods", "hooli-market", "vandelay-import", "soylent-foods", "tyrell-parts", "cyberdyne"
  };
  private static final String[] CATEGORIES = {
    "kitchen", "outdoor", "office", "garden", "toys", "electronics", "apparel", "tools", "sports"
  };
  private static final String[] ADJECTIVES = {
    "Stainless Steel",
    "Bamboo",
    "Recycled",
    "Heavy-Duty",
    "Compact",
    "Wireless",
    "Organic",
    "Ergonomic",
    "Waterproof",
    "Classic",
    "Foldable",
    "Ceramic"
  };
  private static final String[] NOUNS = {
    "Water Bottle",
    "Cutting Board",
    "Desk Lamp",
    "Backpack",
    "Garden Hose",
    "Phone Stand",
    "Coffee Mug",
    "Rain Jacket",
    "Tool Set",
    "Yoga Mat",
    "Notebook",
    "Headphones",
    "Skillet"
  };
  private static final String[] UNITS = {"ml", "cm", "pack", "pcs", "l"};
  private static final String[] CURRENCIES = {"USD", "EUR", "GBP", "CAD"};
  private static final String[] COLORS = {
    "black", "white", "teal", "red", "navy", "olive", "sand", "graphite"
  };
  private static final String[] SIZES = {"XS", "S", "M", "L", "XL"};
  private static final String[] MATERIALS = {"steel", "cotton", "oak", "plastic", "glass", "wool"};
  private static final String[] TAGS = {"bestseller", "eco", "new", "clearance", "gift", "bundle"};

  private FeedGenerator() {}

  /** The name of file {@code index}: {@code skus_00042.json}. */
  public static String fileName(int index) {
    return String.format("skus_%05d.json", index);
  }

  /**
   * Writes {@code files} files of {@code rowsPerFile} records each into {@code out}, which is
   * created if absent. Fast: 2,000 files of 100 records take about a second.
   *
   * @throws IllegalArgumentException if {@code files} is not in 1..{@value #MAX_FILES}, {@code
   *     rowsPerFile} is negative, or the feed would exceed 10<sup>9</sup> records
   * @throws WaymarkException if {@code out} already holds {@code skus_*.json} files: mixing them
   *     with a new feed would silently change it
   * @throws UncheckedIOException if writing fails
   */
  public static Summary generate(Path out, int files, int rowsPerFile, long seed) {
    if (files < 1 || files > MAX_FILES) {
      throw new IllegalArgumentException(
          "files must be between 1 and " + MAX_FILES + ", was " + files);
    }
    if (rowsPerFile < 0 || (long) files * rowsPerFile > SKU_SPACE) {
      throw new IllegalArgumentException(
          "rowsPerFile must be between 0 and "
              + SKU_SPACE / files
              + " for "
              + files
              + " files (at most "
              + SKU_SPACE
              + " records in all), was "
              + rowsPerFile);
    }
    try {
      Files.createDirectories(out);
      try (DirectoryStream<Path> existing = Files.newDirectoryStream(out, "skus_*.json")) {
        for (Path p : existing) {
          throw new WaymarkException(
              "Output directory "
                  + out
                  + " already holds a feed ("
                  + p.getFileName()
                  + " and maybe more); generating into it would mix two feeds. Choose an empty"
                  + " directory or delete the skus_*.json files.");
        }
      }
      Feed feed = new Feed(seed, rowsPerFile);
      long distinct = 0;
      for (int f = 0; f < files; f++) {
        distinct += writeFile(out, f, feed);
      }
      return new Summary(files, (long) files * rowsPerFile, distinct);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the feed into " + out + ": " + e, e);
    }
  }

  private static long writeFile(Path dir, int index, Feed feed) throws IOException {
    Path target = dir.resolve(fileName(index));
    Path tmp = dir.resolve(fileName(index) + ".tmp");
    long distinct = 0;
    try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16);
        JsonGenerator g = FACTORY.createGenerator(os, JsonEncoding.UTF8)) {
      g.setRootValueSeparator(new SerializedString(",\n"));
      long first = (long) index * feed.rowsPerFile;
      if (feed.rowsPerFile == 0) {
        g.writeRaw("[]\n");
      } else {
        g.writeRaw("[\n");
        for (long i = first; i < first + feed.rowsPerFile; i++) {
          long origin = feed.origin(i);
          if (origin == i) {
            distinct++;
          }
          writeRecord(g, feed, origin);
        }
        g.writeRaw("\n]\n");
      }
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(tmp);
      throw e;
    }
    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
    return distinct;
  }

  /** The positions of the feed and which of them repeat which. */
  private static final class Feed {
    final long seed;
    final int rowsPerFile;

    Feed(long seed, int rowsPerFile) {
      this.seed = seed;
      this.rowsPerFile = rowsPerFile;
    }

    /** The position whose record position {@code i} holds: {@code i} itself unless a repeat. */
    long origin(long i) {
      while (i > 0) {
        SplittableRandom r = new SplittableRandom(mix(seed ^ 0x5EED_D0D0L, i));
        if (r.nextInt(100) >= DUPLICATE_PERCENT) {
          return i;
        }
        long fileStart = i - i % rowsPerFile;
        i = fileStart < i && r.nextBoolean() ? r.nextLong(fileStart, i) : r.nextLong(0, i);
      }
      return i;
    }

    SplittableRandom recordRandom(long i) {
      return new SplittableRandom(mix(seed, i));
    }
  }

  private static void writeRecord(JsonGenerator g, Feed feed, long i) throws IOException {
    SplittableRandom r = feed.recordRandom(i);
    long sku = (i * SKU_MULTIPLIER + Math.floorMod(feed.seed, SKU_SPACE)) % SKU_SPACE;
    g.writeStartObject();
    g.writeStringField("sku_id", "SKU-" + digits(sku, 9));
    g.writeStringField("vendor", pick(r, VENDORS));
    g.writeStringField(
        "title",
        pick(r, ADJECTIVES)
            + " "
            + pick(r, NOUNS)
            + " "
            + (5 * (1 + r.nextInt(200)))
            + " "
            + pick(r, UNITS));
    g.writeStringField("category", pick(r, CATEGORIES));
    g.writeFieldName("price");
    g.writeNumber(BigDecimal.valueOf(99 + r.nextInt(49_900), 2));
    g.writeStringField("currency", pick(r, CURRENCIES));
    g.writeNumberField("qty", r.nextInt(501));
    g.writeBooleanField("active", r.nextInt(10) != 0);
    g.writeStringField("barcode", ean13(r));
    g.writeArrayFieldStart("tags");
    int tags = r.nextInt(4);
    for (int t = 0; t < tags; t++) {
      g.writeString(pick(r, TAGS));
    }
    g.writeEndArray();
    g.writeObjectFieldStart("attributes");
    g.writeStringField("color", pick(r, COLORS));
    g.writeStringField("size", pick(r, SIZES));
    g.writeStringField("material", pick(r, MATERIALS));
    g.writeNumberField("weight_g", 20 + r.nextInt(5_000));
    g.writeEndObject();
    g.writeStringField("updated_at", timestamp(r.nextInt(25 * 24 * 3600)));
    g.writeEndObject();
  }

  /** {@code 2026-11-DDThh:mm:ssZ}, {@code second} seconds into November 2026. */
  private static String timestamp(int second) {
    return "2026-11-"
        + digits(1 + second / 86_400, 2)
        + 'T'
        + digits(second / 3600 % 24, 2)
        + ':'
        + digits(second / 60 % 60, 2)
        + ':'
        + digits(second % 60, 2)
        + 'Z';
  }

  /** {@code value} in decimal, zero-padded to {@code width} digits (String.format is slow). */
  private static String digits(long value, int width) {
    char[] c = new char[width];
    for (int i = width - 1; i >= 0; i--) {
      c[i] = (char) ('0' + value % 10);
      value /= 10;
    }
    return new String(c);
  }

  private static String pick(SplittableRandom r, String[] choices) {
    return choices[r.nextInt(choices.length)];
  }

  /** A random EAN-13 with a valid check digit. */
  private static String ean13(SplittableRandom r) {
    char[] d = new char[13];
    int sum = 0;
    for (int k = 0; k < 12; k++) {
      int digit = k == 0 ? 4 : r.nextInt(10);
      d[k] = (char) ('0' + digit);
      sum += k % 2 == 0 ? digit : 3 * digit;
    }
    d[12] = (char) ('0' + (10 - sum % 10) % 10);
    return new String(d);
  }

  /** MurmurHash3's 64-bit finalizer over seed and position: independent streams per record. */
  private static long mix(long seed, long i) {
    long z = seed + (i + 1) * 0x9E3779B97F4A7C15L;
    z = (z ^ (z >>> 33)) * 0xFF51AFD7ED558CCDL;
    z = (z ^ (z >>> 33)) * 0xC4CEB93FE1A85A75L;
    return z ^ (z >>> 33);
  }
}
