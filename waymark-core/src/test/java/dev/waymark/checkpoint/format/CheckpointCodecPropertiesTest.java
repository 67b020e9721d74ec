package dev.waymark.checkpoint.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.CheckpointInvalidException;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.internal.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.constraints.UniqueElements;

/**
 * Properties of the checkpoint codec and its JSON: round trip, canonical and stable encoding, bit
 * flips always detected, and a fuzz of both decoders (they fail only in their own typed way).
 */
class CheckpointCodecPropertiesTest {
  private static final Path FILE = Path.of("/state/nightly/partitions/0/checkpoint");
  private static final CheckpointCodec.Expectation EXPECT =
      new CheckpointCodec.Expectation("nightly", "0", "--state /state --job nightly --partition 0");

  // ------------------------------------------------------------------------------ round trip

  @Property(tries = 500)
  void decodesExactlyWhatWasEncoded(@ForAll("checkpoints") Checkpoint c) {
    Checkpoint decoded = CheckpointCodec.decode(CheckpointCodec.encode(c), FILE, expectationFor(c));

    assertThat(decoded).isEqualTo(c);
    assertThat(decoded.cursor().fields()).isEqualTo(c.cursor().fields());
  }

  @Property(tries = 500)
  void encodesOneCanonicalLine(@ForAll("checkpoints") Checkpoint c) throws Exception {
    byte[] line = CheckpointCodec.encode(c);

    assertThat(line[line.length - 1]).isEqualTo((byte) '\n');
    int control = -1;
    for (int i = 0; i < line.length - 1 && control < 0; i++) {
      control = (line[i] & 0xff) < 0x20 ? i : -1;
    }
    assertThat(control)
        .as("index of a raw control character or newline before the end")
        .isEqualTo(-1);
    byte[] json = Arrays.copyOf(line, line.length - 1);
    // The strict parser refuses any whitespace between tokens; the encoder is its fixed point.
    Object parsed = Json.parse(json);
    assertThat(Json.encode(parsed)).isEqualTo(json);
    assertThat(topLevelKeysInOrder(new String(json, StandardCharsets.UTF_8)))
        .isSorted()
        .containsExactly(
            "committed_at",
            "crc32c",
            "cursor",
            "epoch",
            "format",
            "job",
            "partition",
            "sequence",
            "version");
  }

  @Property(tries = 500)
  void theEncodingIsStableWhateverOrderTheCursorFieldsCameIn(
      @ForAll("cursorFields") Map<String, Object> fields) {
    List<Map.Entry<String, Object>> entries = new ArrayList<>(fields.entrySet());
    Collections.reverse(entries);
    Map<String, Object> reversed = new LinkedHashMap<>();
    entries.forEach(e -> reversed.put(e.getKey(), e.getValue()));
    Checkpoint a = checkpoint(Cursor.of(new HashMap<>(fields)));
    Checkpoint b = checkpoint(Cursor.of(reversed));

    byte[] encoded = CheckpointCodec.encode(a);
    assertThat(CheckpointCodec.encode(b)).isEqualTo(encoded);
    assertThat(CheckpointCodec.encode(a)).isEqualTo(encoded);
    assertThat(CheckpointCodec.encode(CheckpointCodec.decode(encoded, FILE, EXPECT)))
        .isEqualTo(encoded);
  }

  @Property
  void jsonValuesRoundTripThroughTheCanonicalEncoding(@ForAll("jsonValues") Object value)
      throws Exception {
    byte[] encoded = Json.encode(value);
    Object parsed = Json.parse(encoded);
    assertThat(Json.encode(parsed)).isEqualTo(encoded);
    assertThat(Json.parseLenient(encoded)).isEqualTo(parsed);
  }

  // -------------------------------------------------------------------------------- bit flips

  @Property(tries = 1000)
  void anyFlipOfOneOrMoreBitsIsRefusedNeverReadAsAnotherCheckpoint(
      @ForAll("checkpoints") Checkpoint c,
      @ForAll @Size(min = 1, max = 8) @UniqueElements
          List<@IntRange(min = 0, max = 100_000) Integer> bits) {
    byte[] line = CheckpointCodec.encode(c);
    byte[] flipped = line.clone();
    for (int bit : bits) {
      int at = bit % (line.length * 8);
      flipped[at / 8] ^= (byte) (1 << (at % 8));
    }
    if (Arrays.equals(flipped, line)) {
      return; // two of the bits landed on the same one and cancelled out
    }

    Throwable t = catchThrowable(() -> CheckpointCodec.decode(flipped, FILE, expectationFor(c)));

    assertThat(t).isInstanceOf(CheckpointInvalidException.class);
  }

  // ------------------------------------------------------------------------------------- fuzz

  @Property(tries = 2000)
  void jsonParseFailsOnlyWithParseException(@ForAll("fuzzBytes") byte[] bytes) {
    for (boolean lenient : new boolean[] {false, true}) {
      try {
        Object value = lenient ? Json.parseLenient(bytes) : Json.parse(bytes);
        Json.write(value); // whatever parses can be written back
      } catch (Json.ParseException e) {
        assertThat(e.offset()).isBetween(0L, (long) bytes.length);
        assertThat(e.getMessage()).contains(" at byte " + e.offset());
      }
    }
  }

  @Property(tries = 2000)
  void decodeFailsOnlyWithCheckpointInvalidException(@ForAll("fuzzBytes") byte[] bytes) {
    assertDecodeFailsCleanly(bytes);
  }

  @Property(tries = 1000)
  void decodeOfAMutatedRecordFailsOnlyWithCheckpointInvalidException(
      @ForAll("checkpoints") Checkpoint c, @ForAll("mutations") List<Mutation> mutations) {
    byte[] bytes = CheckpointCodec.encode(c);
    for (Mutation m : mutations) {
      bytes = m.apply(bytes);
    }
    assertDecodeFailsCleanly(bytes);
  }

  private static void assertDecodeFailsCleanly(byte[] bytes) {
    try {
      Checkpoint c = CheckpointCodec.decode(bytes, FILE, EXPECT);
      // Anything accepted is exactly a canonical record.
      assertThat(CheckpointCodec.encode(c)).isEqualTo(bytes);
    } catch (CheckpointInvalidException e) {
      assertThat(e.path()).isEqualTo(FILE);
      assertThat(e.getMessage()).startsWith("Checkpoint " + FILE + " is invalid: ");
    }
    try {
      Migrations.standard().inspect(bytes, FILE, EXPECT);
    } catch (CheckpointInvalidException e) {
      assertThat(e.path()).isEqualTo(FILE);
    }
  }

  // ------------------------------------------------------------------------------ generators

  @Provide
  Arbitrary<Checkpoint> checkpoints() {
    return Combinators.combine(
            names(),
            names(),
            cursorFields(),
            Arbitraries.longs().between(1, Long.MAX_VALUE),
            Arbitraries.longs().between(1, Long.MAX_VALUE),
            Arbitraries.longs().between(0, 253402300799L), // 1970 .. 9999
            Arbitraries.integers().between(0, 999_999_999))
        .as(
            (job, partition, fields, seq, epoch, seconds, nanos) ->
                new Checkpoint(
                    job,
                    partition,
                    Cursor.of(fields),
                    seq,
                    epoch,
                    Instant.ofEpochSecond(seconds, nanos)));
  }

  private static Arbitrary<String> names() {
    return Arbitraries.strings()
        .withCharRange('a', 'z')
        .withCharRange('A', 'Z')
        .numeric()
        .withChars('.', '_', '-')
        .ofMinLength(1)
        .ofMaxLength(20)
        .filter(s -> !s.startsWith(".") && !s.contains(".."));
  }

  /** Keys and strings from all of Unicode: quotes, backslashes, control characters, surrogates. */
  @Provide
  Arbitrary<Map<String, Object>> cursorFields() {
    Arbitrary<String> text =
        Arbitraries.oneOf(
            Arbitraries.strings().all().ofMaxLength(12),
            Arbitraries.strings()
                .withChars("\"\\/\b\f\n\r\t\u0000\u001f\u007f é€😀")
                .ofMaxLength(12));
    Arbitrary<Object> value =
        Arbitraries.oneOf(
            text.map(s -> (Object) s),
            Arbitraries.longs().map(l -> (Object) l),
            Arbitraries.of(Long.MIN_VALUE, Long.MAX_VALUE, 0L, -1L).map(l -> (Object) l),
            Arbitraries.of(true, false).map(b -> (Object) b));
    return Arbitraries.maps(text, value).ofMinSize(1).ofMaxSize(5);
  }

  @Provide
  Arbitrary<Object> jsonValues() {
    return jsonValue(3);
  }

  private static Arbitrary<Object> jsonValue(int depth) {
    Arbitrary<Object> leaf =
        Arbitraries.oneOf(
            Arbitraries.strings().all().ofMaxLength(8).map(s -> (Object) s),
            Arbitraries.longs().map(l -> (Object) l),
            Arbitraries.of(true, false).map(b -> (Object) b),
            Arbitraries.just(Json.NULL));
    if (depth == 0) {
      return leaf;
    }
    Arbitrary<Object> child = Arbitraries.lazy(() -> jsonValue(depth - 1));
    return Arbitraries.frequencyOf(
        Tuple.of(3, leaf),
        Tuple.of(
            1,
            Arbitraries.maps(Arbitraries.strings().all().ofMaxLength(6), child)
                .ofMaxSize(4)
                .map(m -> (Object) m)),
        Tuple.of(1, child.list().ofMaxSize(4).map(l -> (Object) l)));
  }

  /** Random bytes, and random text from JSON's own alphabet, which gets much further in. */
  @Provide
  Arbitrary<byte[]> fuzzBytes() {
    Arbitrary<byte[]> raw = Arbitraries.bytes().array(byte[].class).ofMaxSize(64);
    Arbitrary<byte[]> jsonish =
        Arbitraries.strings()
            .withChars("{}[]\":,-0123456789eE.+ \t\n\\ubfnrt/truefalsenull\u00e9\ud83d\ude00")
            .ofMaxLength(64)
            .map(s -> s.getBytes(StandardCharsets.UTF_8));
    Arbitrary<byte[]> nearlyRecords =
        Combinators.combine(checkpoints(), mutations())
            .as(
                (c, ms) -> {
                  byte[] out = CheckpointCodec.encode(c);
                  for (Mutation m : ms) {
                    out = m.apply(out);
                  }
                  return out;
                });
    return Arbitraries.oneOf(raw, jsonish, nearlyRecords);
  }

  /** An edit of a byte array: replace, insert or delete one byte, or cut it short. */
  record Mutation(int kind, int position, byte value) {
    byte[] apply(byte[] in) {
      if (in.length == 0) {
        return new byte[] {value};
      }
      int at = Math.floorMod(position, in.length);
      switch (kind) {
        case 0 -> {
          byte[] out = in.clone();
          out[at] = value;
          return out;
        }
        case 1 -> {
          byte[] out = new byte[in.length + 1];
          System.arraycopy(in, 0, out, 0, at);
          out[at] = value;
          System.arraycopy(in, at, out, at + 1, in.length - at);
          return out;
        }
        case 2 -> {
          byte[] out = new byte[in.length - 1];
          System.arraycopy(in, 0, out, 0, at);
          System.arraycopy(in, at + 1, out, at, in.length - at - 1);
          return out;
        }
        default -> {
          return Arrays.copyOf(in, at);
        }
      }
    }
  }

  @Provide
  Arbitrary<List<Mutation>> mutations() {
    byte[] syntax = "{}[]\":,-0123456789 \n\\u".getBytes(StandardCharsets.UTF_8);
    Arbitrary<Byte> interesting =
        Arbitraries.oneOf(
            Arbitraries.bytes(),
            Arbitraries.integers().between(0, syntax.length - 1).map(i -> syntax[i]));
    return Combinators.combine(
            Arbitraries.integers().between(0, 3),
            Arbitraries.integers().between(0, 10_000),
            interesting)
        .as(Mutation::new)
        .list()
        .ofMinSize(1)
        .ofMaxSize(4);
  }

  // ------------------------------------------------------------------------------- helpers

  private static CheckpointCodec.Expectation expectationFor(Checkpoint c) {
    return new CheckpointCodec.Expectation(c.job(), c.partition(), "--state /state");
  }

  private static Checkpoint checkpoint(Cursor cursor) {
    return new Checkpoint("nightly", "0", cursor, 7, 3, Instant.parse("2026-11-26T03:42:07.118Z"));
  }

  /** The keys of the outermost object, in the order they appear in the text. */
  private static List<String> topLevelKeysInOrder(String json) {
    List<String> keys = new ArrayList<>();
    int depth = 0;
    boolean inString = false;
    StringBuilder current = null;
    for (int i = 0; i < json.length(); i++) {
      char ch = json.charAt(i);
      if (inString) {
        if (ch == '\\') {
          if (current != null) {
            current.append(ch).append(json.charAt(i + 1));
          }
          i++;
        } else if (ch == '"') {
          inString = false;
          if (current != null && depth == 1 && json.charAt(i + 1) == ':') {
            keys.add(current.toString());
          }
          current = null;
        } else if (current != null) {
          current.append(ch);
        }
      } else if (ch == '"') {
        inString = true;
        current = new StringBuilder();
      } else if (ch == '{' || ch == '[') {
        depth++;
      } else if (ch == '}' || ch == ']') {
        depth--;
      }
    }
    return keys;
  }
}
