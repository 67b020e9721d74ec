package dev.waymark.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.waymark.checkpoint.Cursor;
import dev.waymark.cli.BadInputCorpus.Case;
import dev.waymark.cli.IngestTarget.Db;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every case of {@link BadInputCorpus} through the real {@code waymark ingest} entry point into
 * SQLite with the file checkpoint store: the bad file is the second of three in one unit of work
 * ({@code --commit-every 100}). {@code PostgresBadInputIT} runs a selection on PostgreSQL.
 */
class BadInputCorpusTest {
  @TempDir Path tmp;

  static Stream<Case> cases() {
    return BadInputCorpus.CASES.stream();
  }

  @Test
  void theCorpusHoldsAtLeast25MalformedInputsAcrossTheThreeFormats() {
    assertThat(BadInputCorpus.CASES.stream().filter(Case::refused).count())
        .isGreaterThanOrEqualTo(25);
    assertThat(BadInputCorpus.CASES.stream().map(Case::format).distinct())
        .containsExactlyInAnyOrder("json-array", "ndjson", "csv");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void eachFileIsRefusedWithItsPositionOrAcceptedWithItsRows(Case c) throws Exception {
    check(tmp, c, Db.SQLITE, "file");
  }

  /**
   * With {@code --on-bad-file fail}: a refused file stops the run with exit 5 and a message naming
   * the file, the position and the reason; the file before it is committed and checkpointed,
   * nothing of the bad one is. With {@code quarantine}: exactly the bad file is recorded with its
   * position and error, and the file after it is loaded. An accepted file gives its rows.
   */
  static void check(Path tmp, Case c, Db db, String store) throws Exception {
    Path feed = Files.createTempDirectory(tmp, "feed");
    String bad = "skus_00002." + c.ext(), first = "skus_00001." + c.ext();
    String last = "skus_00003." + c.ext();
    Files.writeString(feed.resolve(first), c.goodFile(1));
    c.setup().create(feed.resolve(bad));
    Files.writeString(feed.resolve(last), c.goodFile(3));
    String[] flags = {"--glob", "skus_*", "--format", c.format()};

    try (IngestTarget target = IngestTarget.fresh(db, tmp)) {
      CliRun run = IngestTarget.runInProcess(target.ingestArgs(feed, store, "100", flags));
      if (!c.refused()) {
        assertThat(run.exitCode()).as(run.toString()).isZero();
        List<String> expected = new ArrayList<>();
        expected.add(asStored(db, c.goodPayload(1)) + " @ " + first);
        c.rows().forEach(r -> expected.add(asStored(db, r) + " @ " + bad));
        expected.add(asStored(db, c.goodPayload(3)) + " @ " + last);
        assertThat(target.content().values()).containsExactlyInAnyOrderElementsOf(expected);
        assertThat(IngestTarget.position(target.checkpoint(store).orElseThrow().cursor()))
            .isEqualTo(Cursor.ofFile(last, 3));
        return;
      }
      assertThat(run.exitCode()).as(run.toString()).isEqualTo(ExitCode.BAD_INPUT.code);
      String at = c.where().startsWith("at ") ? " " + c.where() : c.where();
      assertThat(run.err())
          .as(run.toString())
          .startsWith("waymark: Bad input in " + feed.resolve(bad) + at + ": ")
          .contains(c.reason())
          .contains("Fix or replace the file; with --on-bad-file quarantine the job records it");
      assertThat(run.out()).contains("[1/3] " + first + ": 1 new, 0 duplicate");
      assertThat(target.content().values())
          .containsExactly(asStored(db, c.goodPayload(1)) + " @ " + first);
      assertThat(IngestTarget.position(target.checkpoint(store).orElseThrow().cursor()))
          .isEqualTo(Cursor.ofFile(first, 1));
    }

    try (IngestTarget target = IngestTarget.fresh(db, tmp)) {
      List<String> args = target.ingestArgs(feed, store, "100", flags);
      args.addAll(List.of("--on-bad-file", "quarantine"));
      CliRun run = IngestTarget.runInProcess(args);
      assertThat(run.exitCode()).as(run.toString()).isZero();
      assertThat(run.out()).contains("[2/3] " + bad + ": quarantined: Bad input in ");
      List<String[]> quarantined = quarantine(target);
      assertThat(quarantined).hasSize(1);
      String[] q = quarantined.get(0);
      assertThat(q[0]).isEqualTo(IngestTarget.JOB);
      assertThat(q[1]).isEqualTo(bad);
      assertThat(q[2]).isEqualTo(c.quarantinePosition());
      assertThat(q[3]).contains(feed.resolve(bad).toString()).contains(c.reason());
      assertThat(target.content().values())
          .containsExactlyInAnyOrder(
              asStored(db, c.goodPayload(1)) + " @ " + first,
              asStored(db, c.goodPayload(3)) + " @ " + last);
      assertThat(IngestTarget.position(target.checkpoint(store).orElseThrow().cursor()))
          .isEqualTo(Cursor.ofFile(last, 3));
    }
  }

  /**
   * A canonical payload as the table returns it as text: PostgreSQL's jsonb prints a space after
   * each ':' and ',' (the corpus's payloads hold neither inside strings).
   */
  private static String asStored(Db db, String canonical) {
    return db == Db.POSTGRES ? canonical.replace("\":", "\": ").replace(",\"", ", \"") : canonical;
  }

  /** The rows of waymark_quarantine: job, source_file, position, error. */
  private static List<String[]> quarantine(IngestTarget target) throws Exception {
    List<String[]> rows = new ArrayList<>();
    try (Connection c = DriverManager.getConnection(target.url);
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery("SELECT job, source_file, position, error FROM waymark_quarantine")) {
      while (rs.next()) {
        rows.add(new String[] {rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4)});
      }
    }
    return rows;
  }
}
