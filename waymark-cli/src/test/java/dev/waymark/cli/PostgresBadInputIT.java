package dev.waymark.cli;

import dev.waymark.cli.BadInputCorpus.Case;
import dev.waymark.cli.IngestTarget.Db;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A selection of {@link BadInputCorpus} on PostgreSQL, with both checkpoint stores: the same
 * assertions as {@link BadInputCorpusTest} (exit 5, file, position and reason; the file before it
 * committed and checkpointed, nothing of the bad one; with quarantine, exactly it recorded).
 */
class PostgresBadInputIT {
  static final Set<String> SELECTED =
      Set.of(
          "truncated JSON",
          "a record nested 100,000 deep",
          "duplicate keys",
          "a NUL byte inside an NDJSON string",
          "a CSV record with too few fields",
          "an unterminated CSV quote",
          "a directory named like a file",
          "a UTF-8 byte-order mark",
          "CRLF NDJSON",
          "a UTF-8 BOM before the CSV header (Excel)");

  @TempDir Path tmp;

  static Stream<Arguments> cases() {
    List<Case> chosen =
        BadInputCorpus.CASES.stream().filter(c -> SELECTED.contains(c.id())).toList();
    if (chosen.size() != SELECTED.size()) {
      throw new IllegalStateException("a selected case is missing from the corpus: " + chosen);
    }
    return chosen.stream().flatMap(c -> Stream.of(Arguments.of(c, "file"), Arguments.of(c, "db")));
  }

  @ParameterizedTest(name = "{0}, {1} store")
  @MethodSource("cases")
  void eachFileIsRefusedWithItsPositionOrAcceptedWithItsRows(Case c, String store)
      throws Exception {
    BadInputCorpusTest.check(tmp, c, Db.POSTGRES, store);
  }
}
