package dev.waymark.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.waymark.ingest.FeedGenerator;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What {@code waymark torture} refuses before it starts a single child. */
class TortureCommandTest {
  @TempDir Path tmp;

  @Test
  void refusesATableThatHoldsRowsAndChangesNothing() throws Exception {
    Path feed = tmp.resolve("feed");
    FeedGenerator.generate(feed, 3, 10, 1);
    String db = "jdbc:sqlite:" + tmp.resolve("t.db");
    String state = tmp.resolve("state").toString();
    CliRun load =
        CliRun.waymark("ingest", "--input", feed.toString(), "--db", db, "--state", state);
    assertThat(load.exitCode()).as(load.toString()).isZero();
    long rows = TortureIT.count(db, "SELECT COUNT(*) FROM skus_staging");

    CliRun run =
        CliRun.waymark(
            "torture",
            "--kills",
            "1",
            "--",
            "--input",
            feed.toString(),
            "--db",
            db,
            "--state",
            state);

    assertThat(run.exitCode()).as(run.toString()).isEqualTo(ExitCode.USAGE.code);
    assertThat(run.err())
        .contains("table skus_staging holds " + rows + " rows")
        .contains("job 'ingest' has a checkpoint in " + tmp.resolve("state"))
        .contains("Nothing was changed.")
        .contains("pass --fresh-table to drop skus_staging and skus_staging_reference");
    assertThat(TortureIT.count(db, "SELECT COUNT(*) FROM skus_staging")).isEqualTo(rows);
    assertThat(TortureIT.tableExists(db, "skus_staging_reference")).isFalse();
  }

  @Test
  void refusesIngestFlagsThatIngestWouldRefuse() {
    CliRun run = CliRun.waymark("torture", "--", "--format", "xml");

    assertThat(run.exitCode()).isEqualTo(ExitCode.USAGE.code);
    assertThat(run.err())
        .contains(
            "the ingest flags after -- are not valid: unknown input format 'xml'; choose one of");
  }

  @Test
  void refusesToGenerateAFeedThatTheFlagsWouldNotRead() {
    CliRun run = CliRun.waymark("torture", "--", "--format", "csv", "--glob", "*.csv");

    assertThat(run.exitCode()).isEqualTo(ExitCode.USAGE.code);
    assertThat(run.err())
        .contains("without --input, torture generates a feed of JSON arrays named skus_NNNNN.json")
        .contains("Pass --input DIR with your own files.");
  }

  @Test
  void helpListsTheVerbAndItsExitCodes() {
    assertThat(CliRun.waymark("--help").out()).contains("torture");
    CliRun help = CliRun.waymark("torture", "--help");
    assertThat(help.out())
        .contains("--kills=N", "--seed=S", "--pause", "--fresh-table", "--keep-reference", "--json")
        .contains("INGEST_FLAGS")
        .contains("Exit codes:")
        .contains("torture found a divergence");
  }
}
