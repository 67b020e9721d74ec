package dev.waymark.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/**
 * The listing's order is part of every cursor: {@link FileListing#BYTE_ORDER} must order names
 * exactly as their UTF-8 bytes do, whatever shortcut it takes.
 */
class FileListingOrderTest {

  @Property(tries = 5000)
  void ordersNamesAsTheirUtf8BytesDo(@ForAll("names") String a, @ForAll("names") String b) {
    assertThat(Integer.signum(FileListing.BYTE_ORDER.compare(a, b)))
        .as("%s vs %s", escaped(a), escaped(b))
        .isEqualTo(Integer.signum(bytewise(a, b)));
  }

  @Test
  void ordersAboveTheBasicPlaneAfterPrivateUseAsUtf8Does() {
    // UTF-16 puts U+1F600 (a surrogate pair) before U+E000; UTF-8, and so the listing, after it.
    assertThat(FileListing.BYTE_ORDER.compare("a\uD83D\uDE00", "a\uE000")).isPositive();
    assertThat("a\uD83D\uDE00".compareTo("a\uE000")).isNegative();
    // A lone high surrogate encodes as '?': its pairing, so its bytes, depend on what follows.
    assertThat(Integer.signum(FileListing.BYTE_ORDER.compare("x\uD83D", "x\uD83D\uDE00")))
        .isEqualTo(Integer.signum(bytewise("x\uD83D", "x\uD83D\uDE00")));
    assertThat(Integer.signum(FileListing.BYTE_ORDER.compare("x\uD83Da", "x\uD83D\uDE00")))
        .isEqualTo(Integer.signum(bytewise("x\uD83Da", "x\uD83D\uDE00")));
  }

  /** Short names over a few characters of each kind, so that shared prefixes are common. */
  @Provide
  Arbitrary<String> names() {
    return Arbitraries.strings()
        .withChars('a', 'b', '?', '\u007f', '\u00e9', '\u07ff', '\u0800', '\ud7ff')
        .withChars('\ud83d', '\ude00', '\udbff', '\udc00', '\ue000', '\uffff')
        .ofMinLength(0)
        .ofMaxLength(5);
  }

  private static int bytewise(String a, String b) {
    return Arrays.compareUnsigned(
        a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
  }

  private static String escaped(String s) {
    StringBuilder sb = new StringBuilder();
    for (char c : s.toCharArray()) {
      sb.append(c < 0x80 && c >= 0x20 ? String.valueOf(c) : String.format("\\u%04x", (int) c));
    }
    return sb.toString();
  }
}
