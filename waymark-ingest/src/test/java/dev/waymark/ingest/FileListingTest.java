package dev.waymark.ingest;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The listing's short way (names as text, globs of literals and stars matched by their pieces) must
 * list exactly what the file system's own glob matcher and byte order list.
 */
class FileListingTest {
  @TempDir Path dir;

  @Property(tries = 5000)
  void aGlobMatchesANameAsTheFileSystemsGlobMatcherDoes(
      @ForAll("globs") String glob, @ForAll("names") String name) {
    PathMatcher jdk = FileSystems.getDefault().getPathMatcher("glob:" + glob);
    assertThat(FileListing.NameMatcher.of(FileSystems.getDefault(), glob).matches(name))
        .as("glob '%s', name '%s'", glob, name)
        .isEqualTo(jdk.matches(Path.of(name)));
  }

  @Test
  void listsTheMatchingEntriesInByteOrder() throws IOException {
    for (String name :
        List.of("skus_10.json", "skus_2.json", "skus_.json", "skus_1.jsonx", "Skus_3.json")) {
      Files.writeString(dir.resolve(name), "[]");
    }
    Files.createDirectory(dir.resolve("skus_dir.json")); // listed, refused when its turn comes
    Files.writeString(dir.resolve("other.csv"), "a\n");

    assertThat(FileListing.of(dir, "skus_*.json").names())
        .containsExactly("skus_.json", "skus_10.json", "skus_2.json", "skus_dir.json");
    assertThat(FileListing.of(dir, "*").size()).isEqualTo(7);
    assertThat(FileListing.of(dir, "skus_?.json").names()).containsExactly("skus_2.json");
    assertThat(FileListing.of(dir, "{other,Skus_3}.*").names())
        .containsExactly("Skus_3.json", "other.csv");
  }

  @Test
  void aMatchingNameOutsideAsciiIsListedInUtf8ByteOrder() throws IOException {
    // The short way sorts in String order, which is byte order for ASCII only: U+1F600 (a
    // surrogate pair) sorts before U+E000 in UTF-16 and after it in UTF-8.
    for (String name : List.of("a\uE000.json", "a\uD83D\uDE00.json", "a.json", "b.json")) {
      Files.writeString(dir.resolve(name), "[]");
    }
    assertThat(FileListing.of(dir, "*.json").names())
        .containsExactly("a.json", "a\uE000.json", "a\uD83D\uDE00.json", "b.json");
  }

  @Test
  void aCursorRecordsTheDigestOfTheNamesUpToItsFile() throws Exception {
    for (String name : List.of("b.json", "a.json", "c.json")) {
      Files.writeString(dir.resolve(name), "[]");
    }
    FileListing listing = FileListing.of(dir, "*.json");
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    String ab = HexFormat.of().formatHex(sha.digest("a.json\nb.json\n".getBytes(UTF_8)), 0, 8);
    assertThat(listing.cursorAt(1).toJson())
        .isEqualTo("{\"file\":\"b.json\",\"files\":2,\"names\":\"" + ab + "\"}");

    NamesDigest carried = new NamesDigest(listing);
    String abc = carried.through(2);
    assertThat(carried.through(1)).as("an earlier index, after a later one").isEqualTo(ab);
    assertThat(carried.through(2))
        .isEqualTo(abc)
        .isEqualTo(listing.cursorAt(2).fields().get("names"));
    assertThat(abc).isNotEqualTo(ab);
  }

  /** Globs of a few literals and stars, and some with the other glob syntax. */
  @Provide
  Arbitrary<String> globs() {
    Arbitrary<String> simple =
        Arbitraries.strings().withChars('a', 'b', '.', '*', '_').ofMinLength(0).ofMaxLength(6);
    Arbitrary<String> other =
        Arbitraries.strings()
            .withChars('a', 'b', '.', '*', '?')
            .ofMinLength(1)
            .ofMaxLength(5)
            .map(s -> s + "{a,b}");
    return Arbitraries.oneOf(simple, simple, other);
  }

  @Provide
  Arbitrary<String> names() {
    return Arbitraries.strings().withChars('a', 'b', '.', '_', '*').ofMinLength(1).ofMaxLength(7);
  }
}
