package dev.waymark.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.waymark.WaymarkException;
import dev.waymark.ingest.BadInputException.Reason;
import dev.waymark.ingest.CanonicalJson.NumberMode;
import dev.waymark.ingest.source.Format;
import dev.waymark.ingest.source.RecordSource;
import dev.waymark.ingest.source.SourceRecord;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DedupKeyTest {

  private static final DedupKey WHOLE = DedupKey.wholeRecord();

  @TempDir Path dir;

  private static Map<String, Object> obj(Object... kv) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put((String) kv[i], kv[i + 1]);
    }
    return m;
  }

  private static String sha256(String s) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  // ---------------------------------------------------------------- whole record

  @Test
  void isTheLowercaseHexSha256OfTheCanonicalJson() {
    assertThat(WHOLE.keyOf(obj("a", 1L)))
        .isEqualTo("015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862");
    Map<String, Object> sku =
        obj("title", "Café", "sku_id", "SKU-1", "price", new BigDecimal("19.90"));
    assertThat(WHOLE.canonicalForm(sku))
        .isEqualTo("{\"price\":19.9,\"sku_id\":\"SKU-1\",\"title\":\"Café\"}");
    assertThat(WHOLE.keyOf(sku))
        .isEqualTo("7e7732117c6195792045bfa822a051f1baada01b5855e61a25003d706acbcb3f")
        .isEqualTo(sha256(WHOLE.canonicalForm(sku)))
        .matches("[0-9a-f]{64}");
  }

  /**
   * The chapter's Python pipeline hashes json.dumps(record, sort_keys=True), which has spaces and
   * \\u escapes; Waymark's JCS key is deliberately different.
   */
  @Test
  void remembersSortedKeyOrdersWithoutMixingUpObjectsOfOtherKeys() {
    // The per-thread encoder remembers the sorted order of the key lists it has seen; records
    // alternating between key orders and key sets must still each hash their own canonical form.
    DedupKey key = DedupKey.wholeRecord();
    Map<String, Object> ab = new LinkedHashMap<>();
    ab.put("b", 2L);
    ab.put("a", 1L);
    Map<String, Object> ba = new LinkedHashMap<>();
    ba.put("a", 1L);
    ba.put("b", 2L);
    Map<String, Object> ac = new LinkedHashMap<>();
    ac.put("c", 2L);
    ac.put("a", 1L);
    for (int round = 0; round < 20; round++) { // more rounds than the remembered key lists
      Map<String, Object> extra = new LinkedHashMap<>();
      extra.put("k" + round, round);
      extra.put("a", 0L);
      assertThat(key.keyOf(ab)).isEqualTo(sha256("{\"a\":1,\"b\":2}"));
      assertThat(key.keyOf(ac)).isEqualTo(sha256("{\"a\":1,\"c\":2}"));
      assertThat(key.keyOf(ba)).isEqualTo(key.keyOf(ab));
      assertThat(key.keyOf(extra)).isEqualTo(sha256("{\"a\":0,\"k" + round + "\":" + round + "}"));
    }
  }

  @Test
  void differsFromTheReferencePipelinesKeyByDesign() {
    Map<String, Object> sku =
        obj("sku_id", "SKU-1", "price", new BigDecimal("19.9"), "title", "Café");
    String python = "da2e0b03a8cda0eaeb435ae6cb6e0c86c2d83962b6850a5ce0b1801e38f442ea";
    assertThat(sha256("{\"price\": 19.9, \"sku_id\": \"SKU-1\", \"title\": \"Caf\\u00e9\"}"))
        .isEqualTo(python);
    assertThat(WHOLE.keyOf(sku)).isNotEqualTo(python);
  }

  @Test
  void treatsEqualNumbersWrittenDifferentlyAsEqual() {
    assertThat(WHOLE.keyOf(obj("n", 1L)))
        .isEqualTo(WHOLE.keyOf(obj("n", new BigDecimal("1.0"))))
        .isEqualTo(WHOLE.keyOf(obj("n", new BigDecimal("1e0"))))
        .isEqualTo(WHOLE.keyOf(obj("n", BigInteger.ONE)));
  }

  @Test
  void tellsTypesAndNullFromMissingApart() {
    assertThat(WHOLE.keyOf(obj("n", 1L))).isNotEqualTo(WHOLE.keyOf(obj("n", "1")));
    assertThat(WHOLE.keyOf(obj("n", null))).isNotEqualTo(WHOLE.keyOf(obj()));
    assertThat(WHOLE.keyOf(obj("n", List.of()))).isNotEqualTo(WHOLE.keyOf(obj("n", obj())));
    assertThat(WHOLE.keyOf(obj("n", true))).isNotEqualTo(WHOLE.keyOf(obj("n", "true")));
  }

  @Test
  void neverMergesTwoBigIntegersByDefault() {
    Map<String, Object> a = obj("order_id", new BigInteger("12345678901234567891"));
    Map<String, Object> b = obj("order_id", new BigInteger("12345678901234567892"));
    assertThat(WHOLE.keyOf(a)).isNotEqualTo(WHOLE.keyOf(b));
    DedupKey strict = WHOLE.withNumbers(NumberMode.IEEE_DOUBLE);
    assertThat(strict.keyOf(a)).as("strict RFC 8785 merges them").isEqualTo(strict.keyOf(b));
    assertThatThrownBy(() -> WHOLE.withNumbers(NumberMode.REFUSE_INEXACT).keyOf(a))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("at order_id: the number 12345678901234567891 is not exactly");
  }

  // ---------------------------------------------------------------- fields:

  @Test
  void hashesOnlyTheListedFieldsInAnyOrder() {
    DedupKey key = DedupKey.parse("fields:sku_id,vendor");
    Map<String, Object> r1 = obj("sku_id", "S1", "vendor", "acme", "qty", 1L);
    Map<String, Object> r2 = obj("qty", 2L, "vendor", "acme", "sku_id", "S1");
    assertThat(key.keyOf(r1)).isEqualTo(key.keyOf(r2));
    assertThat(key.canonicalForm(r1)).isEqualTo("{\"sku_id\":\"S1\",\"vendor\":\"acme\"}");
    assertThat(key.keyOf(r1)).isEqualTo(sha256("{\"sku_id\":\"S1\",\"vendor\":\"acme\"}"));
    assertThat(key.keyOf(r1)).isEqualTo(DedupKey.parse("fields:vendor,sku_id").keyOf(r1));
    assertThat(key.keyOf(r1)).isNotEqualTo(key.keyOf(obj("sku_id", "S2", "vendor", "acme")));
    assertThat(key.keyOf(r1)).isNotEqualTo(WHOLE.keyOf(r1));
  }

  @Test
  void hashesAFieldThatIsNullButRefusesOneThatIsMissing() {
    DedupKey key = DedupKey.parse("fields:sku_id,vendor");
    assertThat(key.keyOf(obj("sku_id", "SKU-1", "vendor", null)))
        .isEqualTo("716a303d2f2e918210006865fee49e95827cba19281f55bfff16cd594cd62516");
    assertThatThrownBy(() -> key.keyOf(obj("sku_id", "SKU-1")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(
            "the record has no field 'vendor', which the dedup key needs; its fields are"
                + " 'sku_id'.")
        .hasMessageContaining("a JSON null counts as present")
        .hasMessageContaining("if a name in --dedup-key is mistyped, correct it");
    assertThatThrownBy(() -> key.keyOf(obj("qty", 1L, "ven\u001bdor", 2L)))
        .hasMessageContaining(
            "no field 'sku_id', 'vendor', which the dedup key needs; its fields are 'qty',"
                + " 'ven\\u001bdor'.");
  }

  @Test
  void refusesARecordFromAFileWithItsPosition() throws IOException {
    Path file = dir.resolve("skus_00001.json");
    Files.writeString(file, "[\n{\"sku_id\":\"A\"},\n{\"id\":\"B\"}\n]");
    DedupKey key = DedupKey.parse("fields:sku_id");
    try (RecordSource source = RecordSource.open(file, Format.JSON_ARRAY)) {
      assertThat(key.keyOf(source.next())).hasSize(64);
      SourceRecord second = source.next();
      assertThatThrownBy(() -> key.keyOf(second))
          .isInstanceOfSatisfying(
              BadInputException.class,
              e -> {
                assertThat(e.reason()).isEqualTo(Reason.DEDUP_KEY);
                assertThat(e.kind()).isEqualTo(WaymarkException.Kind.BAD_INPUT);
                assertThat(e.recordNumber()).isEqualTo(2);
              })
          .hasMessageContaining("skus_00001.json at line 3, column 1 (byte 18), record 2:")
          .hasMessageContaining("no field 'sku_id'")
          .hasMessageContaining("(dedup key fields:sku_id)");
    }
  }

  @Test
  void parsesAndPrintsTheCommandLineForm() {
    assertThat(DedupKey.parse("hash")).isEqualTo(DedupKey.wholeRecord());
    assertThat(DedupKey.parse("hash").spec()).isEqualTo("hash");
    assertThat(DedupKey.parse("fields:a,b").spec()).isEqualTo("fields:a,b");
    assertThat(DedupKey.parse("fields:a,b").fields()).containsExactly("a", "b");
    assertThat(DedupKey.parse("fields:a,b")).isEqualTo(DedupKey.parse("fields:b,a"));
    assertThat(DedupKey.parse("hash").numbers()).isEqualTo(NumberMode.EXACT);
    assertThatThrownBy(() -> DedupKey.parse("sha1"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("use 'hash' (the whole record) or 'fields:a,b'");
    assertThatThrownBy(() -> DedupKey.parse("fields:")).hasMessageContaining("empty");
    assertThatThrownBy(() -> DedupKey.parse("fields:a,,b")).hasMessageContaining("empty");
    assertThatThrownBy(() -> DedupKey.parse("fields:a,a")).hasMessageContaining("twice");
    assertThatThrownBy(() -> DedupKey.ofFields(List.of()))
        .hasMessageContaining("at least one field");
  }

  // ---------------------------------------------------------------- properties

  private static Path propertyDir;

  @BeforeContainer
  static void makeDir() throws IOException {
    propertyDir = Files.createTempDirectory("dedup-key-props");
  }

  @AfterContainer
  static void removeDir() throws IOException {
    try (var files = Files.list(propertyDir)) {
      for (Path p : files.toList()) {
        Files.delete(p);
      }
    }
    Files.delete(propertyDir);
  }

  /**
   * Writing a record with shuffled keys, other whitespace and other number spellings, then parsing
   * it back, gives the same key.
   */
  @Property(tries = 200)
  void keyOrderWhitespaceAndNumberSpellingDoNotChangeTheKey(
      @ForAll("records") Map<String, Object> record, @ForAll long seed) {
    String text = "[" + new Scrambler(new Random(seed)).write(record) + "]";
    Map<String, Object> parsed = parse(text);
    assertThat(WHOLE.keyOf(parsed)).as(text).isEqualTo(WHOLE.keyOf(record));
  }

  @Property(tries = 300)
  void anyValueChangeChangesTheKey(
      @ForAll("records") Map<String, Object> record, @ForAll long seed) {
    Map<String, Object> changed = mutate(record, new Random(seed));
    assertThat(WHOLE.keyOf(changed)).isNotEqualTo(WHOLE.keyOf(record));
  }

  @Property(tries = 500)
  void differentIntegersNeverShareAKey(@ForAll long hiA, @ForAll long loA, @ForAll long loB) {
    BigInteger a = BigInteger.valueOf(hiA).shiftLeft(64).add(BigInteger.valueOf(loA));
    BigInteger b = BigInteger.valueOf(hiA).shiftLeft(64).add(BigInteger.valueOf(loB));
    if (a.equals(b)) {
      return;
    }
    assertThat(WHOLE.keyOf(obj("n", a))).isNotEqualTo(WHOLE.keyOf(obj("n", b)));
  }

  private Map<String, Object> parse(String text) {
    try {
      Path file = Files.createTempFile(propertyDir, "r", ".json");
      Files.writeString(file, text);
      try (RecordSource source = RecordSource.open(file, Format.JSON_ARRAY)) {
        return source.next().fields();
      } finally {
        Files.delete(file);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Provide
  Arbitrary<Map<String, Object>> records() {
    return objects(3);
  }

  private static Arbitrary<String> keys() {
    return Arbitraries.strings()
        .alpha()
        .numeric()
        .withChars('_', 'é', '€', '"', '\\', '\n', '\u0001', '\u007f', '\ufb33')
        .ofMaxLength(6);
  }

  private static Arbitrary<Object> leaves() {
    return Arbitraries.oneOf(
            keys().map(s -> (Object) s),
            Arbitraries.longs().map(l -> (Object) l),
            Arbitraries.bigDecimals()
                .between(new BigDecimal("-1e12"), new BigDecimal("1e12"))
                .ofScale(4)
                .map(d -> (Object) d),
            Arbitraries.of(true, false).map(b -> (Object) b))
        .injectNull(0.1);
  }

  private static Arbitrary<Object> values(int depth) {
    if (depth == 0) {
      return leaves();
    }
    return Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(5, leaves()),
        net.jqwik.api.Tuple.of(1, objects(depth - 1).map(m -> (Object) m)),
        net.jqwik.api.Tuple.of(1, values(depth - 1).list().ofMaxSize(4).map(l -> (Object) l)));
  }

  private static Arbitrary<Map<String, Object>> objects(int depth) {
    return Arbitraries.maps(keys(), values(depth)).ofMaxSize(5);
  }

  /** Writes JSON text with shuffled keys, random whitespace, escapes and number spellings. */
  private static final class Scrambler {
    private final Random random;
    private final StringBuilder out = new StringBuilder();

    Scrambler(Random random) {
      this.random = random;
    }

    String write(Object value) {
      value(value);
      return out.toString();
    }

    private void ws() {
      int n = random.nextInt(3);
      for (int i = 0; i < n; i++) {
        out.append(" \n\t\r".charAt(random.nextInt(4)));
      }
    }

    private void value(Object v) {
      ws();
      if (v == null) {
        out.append("null");
      } else if (v instanceof String s) {
        string(s);
      } else if (v instanceof Boolean b) {
        out.append(b);
      } else if (v instanceof Long l) {
        out.append(
            switch (random.nextInt(3)) {
              case 0 -> Long.toString(l);
              case 1 -> l + ".000";
              default -> new BigDecimal(l).scaleByPowerOfTen(-2) + "E2";
            });
      } else if (v instanceof BigDecimal d) {
        out.append(
            switch (random.nextInt(3)) {
              case 0 -> d.toPlainString();
              case 1 -> d.toPlainString() + (d.scale() > 0 ? "00" : "");
              default -> d.unscaledValue() + "e-" + d.scale();
            });
      } else if (v instanceof Map<?, ?> m) {
        List<Map.Entry<?, ?>> entries = new ArrayList<>(m.entrySet());
        Collections.shuffle(entries, random);
        out.append('{');
        for (int i = 0; i < entries.size(); i++) {
          if (i > 0) {
            out.append(',');
          }
          ws();
          string((String) entries.get(i).getKey());
          ws();
          out.append(':');
          value(entries.get(i).getValue());
          ws();
        }
        ws();
        out.append('}');
      } else if (v instanceof List<?> list) {
        out.append('[');
        for (int i = 0; i < list.size(); i++) {
          if (i > 0) {
            out.append(',');
          }
          value(list.get(i));
          ws();
        }
        out.append(']');
      } else {
        throw new AssertionError(v.getClass());
      }
      ws();
    }

    private void string(String s) {
      out.append('"');
      for (char c : s.toCharArray()) {
        if (c == '"' || c == '\\') {
          out.append('\\').append(c);
        } else if (c < 0x20 || (c > 0x7e && random.nextBoolean())) {
          out.append(String.format("\\u%04X", (int) c));
        } else if (c == '/' && random.nextBoolean()) {
          out.append("\\/");
        } else {
          out.append(c);
        }
      }
      out.append('"');
    }
  }

  /** A copy of {@code record} with one thing changed somewhere in it. */
  private static Map<String, Object> mutate(Map<String, Object> record, Random random) {
    Map<String, Object> copy = new LinkedHashMap<>(record);
    List<String> keys = new ArrayList<>(copy.keySet());
    if (keys.isEmpty() || random.nextInt(5) == 0) {
      copy.put("~new" + random.nextInt(100), random.nextBoolean() ? null : "x");
      return copy;
    }
    String k = keys.get(random.nextInt(keys.size()));
    if (random.nextInt(6) == 0) {
      copy.remove(k);
    } else {
      copy.put(k, change(copy.get(k), random));
    }
    return copy;
  }

  @SuppressWarnings("unchecked")
  private static Object change(Object v, Random random) {
    if (v == null) {
      return random.nextBoolean() ? "null" : 0L;
    } else if (v instanceof String s) {
      return s.isEmpty() ? " " : s.substring(0, s.length() - 1);
    } else if (v instanceof Boolean b) {
      return !b;
    } else if (v instanceof Long l) {
      return random.nextBoolean() ? Long.toString(l) : (Object) (l ^ 1);
    } else if (v instanceof BigDecimal d) {
      return d.add(new BigDecimal("0.0001"));
    } else if (v instanceof Map<?, ?> m) {
      return mutate((Map<String, Object>) m, random);
    } else {
      List<Object> list = new ArrayList<>((List<Object>) v);
      if (!list.isEmpty() && random.nextBoolean()) {
        int i = random.nextInt(list.size());
        list.set(i, change(list.get(i), random));
      } else {
        list.add(Arrays.asList((Object) null));
      }
      return list;
    }
  }
}
