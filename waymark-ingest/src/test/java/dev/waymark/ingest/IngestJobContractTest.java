package dev.waymark.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.file.FileCheckpointStore;
import dev.waymark.ingest.IngestOptions.CheckpointStoreKind;
import dev.waymark.ingest.IngestOptions.OnBadFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runner in-process, against each database ({@link IngestJobTest} for SQLite, {@code
 * PostgresIngestJobIT}): resume, late and deleted files, bad files under both policies, extracted
 * columns, the db checkpoint store.
 */
abstract class IngestJobContractTest {
  @TempDir Path tmp;
  Path feed;
  String db;
  FeedGenerator.Summary generated;

  @BeforeEach
  void generateFeed() {
    feed = tmp.resolve("feed");
    generated = FeedGenerator.generate(feed, 12, 50, 7);
    db = newDatabase();
  }

  /** The JDBC URL of a new, empty database for one test. */
  abstract String newDatabase();

  IngestOptions.Builder options() {
    return IngestOptions.builder(feed).db(db).state(tmp.resolve("state")).job("nightly");
  }

  long count(String sql) throws SQLException {
    try (Connection c = DriverManager.getConnection(db);
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  @Test
  void loadsEveryDistinctRecordOnceAndCheckpointsTheLastFile() throws SQLException {
    List<String> lines = new ArrayList<>();
    IngestSummary summary =
        IngestJob.run(
            options().commitPolicy(CommitPolicy.everyFiles(1)).build(),
            new IngestListener() {
              @Override
              public void fileCommitted(int i, int total, String name, long n, long d) {
                lines.add(
                    "["
                        + (i + 1)
                        + "/"
                        + total
                        + "] "
                        + name
                        + ": "
                        + n
                        + " new, "
                        + d
                        + " duplicate");
              }
            });

    assertThat(count("SELECT COUNT(*) FROM skus_staging")).isEqualTo(generated.distinctRecords());
    assertThat(summary.newRows()).isEqualTo(generated.distinctRecords());
    assertThat(summary.rowsRead()).isEqualTo(generated.records());
    assertThat(summary.units()).isEqualTo(12);
    assertThat(lines).hasSize(12).first().asString().startsWith("[1/12] skus_00000.json: ");
    assertThat(
            FileCheckpointStore.reader(tmp.resolve("state"), "nightly")
                .read()
                .orElseThrow()
                .cursor())
        .isEqualTo(Cursor.ofFile("skus_00011.json", 12));
  }

  @Test
  void withATimedPolicyTheFirstUnitOfEachRunIsItsFirstFileAlone() throws Exception {
    // An hour per unit: without the rule, each run below would be a single unit.
    CommitPolicy hourly = CommitPolicy.every(java.time.Duration.ofHours(1));
    Path partial = tmp.resolve("partial");
    Files.createDirectories(partial);
    for (int i = 0; i < 2; i++) {
      String name = String.format("skus_%05d.json", i);
      Files.copy(feed.resolve(name), partial.resolve(name));
    }
    IngestSummary first =
        IngestJob.run(
            IngestOptions.builder(partial)
                .db(db)
                .state(tmp.resolve("state"))
                .job("nightly")
                .commitPolicy(hourly)
                .build(),
            new IngestListener() {});
    assertThat(first.units()).isEqualTo(2); // file 1 alone, then file 2

    // Resumed at file 3 of 12: when file 3 is reported, the checkpoint already names it.
    List<String> checkpointAtEachFile = new ArrayList<>();
    IngestSummary resumed =
        IngestJob.run(
            options().commitPolicy(hourly).build(),
            new IngestListener() {
              @Override
              public void fileCommitted(int i, int total, String name, long n, long d) {
                checkpointAtEachFile.add(
                    FileCheckpointStore.reader(tmp.resolve("state"), "nightly")
                        .read()
                        .orElseThrow()
                        .cursor()
                        .string(Cursor.FILE)
                        .orElseThrow());
              }
            });
    assertThat(resumed.units()).isEqualTo(2); // file 3 alone, then files 4 to 12
    assertThat(checkpointAtEachFile).hasSize(10);
    assertThat(checkpointAtEachFile.get(0)).isEqualTo("skus_00002.json");
    assertThat(checkpointAtEachFile.get(1)).isEqualTo("skus_00011.json");
    assertThat(count("SELECT COUNT(*) FROM skus_staging")).isEqualTo(generated.distinctRecords());
  }

  @Test
  void aSecondRunFindsNothingToDo() {
    IngestJob.run(options().build(), new IngestListener() {});
    IngestSummary again = IngestJob.run(options().build(), new IngestListener() {});
    assertThat(again.files()).isZero();
    assertThat(again.newRows()).isZero();
  }

  @Test
  void refusesToResumeWhenAFileArrivedLateThenRescanConverges() throws Exception {
    IngestJob.run(options().build(), new IngestListener() {});
    Files.copy(feed.resolve("skus_00003.json"), feed.resolve("skus_00003a.json"));
    Files.writeString(feed.resolve("skus_00003a.json"), "[{\"late\":true}]");

    assertThatThrownBy(() -> IngestJob.run(options().build(), new IngestListener() {}))
        .hasMessageContaining("1 file(s) sorting at or before skus_00011.json arrived after")
        .hasMessageContaining("--rescan");

    IngestSummary rescan = IngestJob.run(options().rescan(true).build(), new IngestListener() {});
    assertThat(rescan.newRows()).isEqualTo(1);
    assertThat(count("SELECT COUNT(*) FROM skus_staging"))
        .isEqualTo(generated.distinctRecords() + 1);
  }

  @Test
  void refusesToResumeWhenAFileWasDeletedThenRescanConverges() throws Exception {
    IngestJob.run(options().build(), new IngestListener() {});
    Files.delete(feed.resolve("skus_00011.json"));
    assertThatThrownBy(() -> IngestJob.run(options().build(), new IngestListener() {}))
        .hasMessageContaining("skus_00011.json, is no longer in")
        .hasMessageContaining("--rescan");

    IngestSummary rescan = IngestJob.run(options().rescan(true).build(), new IngestListener() {});
    assertThat(rescan.files()).isEqualTo(11);
    assertThat(rescan.newRows()).isZero();
    assertThat(
            FileCheckpointStore.reader(tmp.resolve("state"), "nightly")
                .read()
                .orElseThrow()
                .cursor())
        .isEqualTo(Cursor.ofFile("skus_00010.json", 11));
  }

  @Test
  void aBadFileStopsTheRunAndNothingFromItIsCommitted() throws Exception {
    Files.writeString(feed.resolve("skus_00005.json"), "[{\"sku_id\":\"x\"}, {\"broken\": ]");
    assertThatThrownBy(
            () ->
                IngestJob.run(
                    options().commitPolicy(CommitPolicy.everyFiles(3)).build(),
                    new IngestListener() {}))
        .isInstanceOf(BadInputException.class)
        .hasMessageContaining("skus_00005.json")
        .hasMessageContaining("line 1");
    assertThat(count("SELECT COUNT(*) FROM skus_staging WHERE source_file = 'skus_00005.json'"))
        .isZero();
    // The good files of the same unit (3 and 4) were committed, and the checkpoint says so.
    assertThat(
            FileCheckpointStore.reader(tmp.resolve("state"), "nightly")
                .read()
                .orElseThrow()
                .cursor())
        .isEqualTo(Cursor.ofFile("skus_00004.json", 5));
  }

  @Test
  void quarantinesABadFileInTheSameTransactionAndGoesOn() throws Exception {
    Files.writeString(feed.resolve("skus_00005.json"), "{\"not\":\"an array\"}");
    IngestSummary summary =
        IngestJob.run(options().onBadFile(OnBadFile.QUARANTINE).build(), new IngestListener() {});
    assertThat(summary.badFiles())
        .extracting(IngestSummary.BadFile::name)
        .containsExactly("skus_00005.json");
    assertThat(
            count("SELECT COUNT(*) FROM waymark_quarantine WHERE source_file = 'skus_00005.json'"))
        .isEqualTo(1);
    assertThat(count("SELECT COUNT(*) FROM skus_staging WHERE source_file = 'skus_00005.json'"))
        .isZero();
    assertThat(summary.files()).isEqualTo(12);
  }

  @Test
  void theDbCheckpointStoreCommitsWithTheRows() throws Exception {
    IngestJob.run(
        options().checkpointStore(CheckpointStoreKind.DB).build(), new IngestListener() {});
    assertThat(count("SELECT sequence FROM waymark_checkpoint WHERE job = 'nightly'")).isPositive();
    assertThat(Files.exists(tmp.resolve("state"))).isFalse();
    assertThat(count("SELECT COUNT(*) FROM skus_staging")).isEqualTo(generated.distinctRecords());
  }

  @Test
  void fillsExtractedColumnsFromJsonPointers() throws Exception {
    IngestJob.run(
        options().column("sku", "/sku_id").column("missing", "/no/such").build(),
        new IngestListener() {});
    assertThat(count("SELECT COUNT(*) FROM skus_staging WHERE sku IS NULL")).isZero();
    assertThat(count("SELECT COUNT(*) FROM skus_staging WHERE missing IS NOT NULL")).isZero();
  }

  @Test
  void aBadFileLongerThanAChunkIsRolledBackToItsSavepointAndTheUnitsEarlierFilesStay()
      throws Exception {
    // 2,500 good records, then a broken one: the first 2,000 reach the database before the
    // refusal, inside a unit that already holds files 0 to 4, so only a savepoint can undo them.
    StringBuilder big = new StringBuilder("[");
    for (int i = 0; i < 2_500; i++) {
      big.append("{\"sku_id\":\"big-").append(i).append("\"},");
    }
    Files.writeString(feed.resolve("skus_00005.json"), big.append("{\"broken\": ]"));
    IngestSummary summary =
        IngestJob.run(
            options()
                .onBadFile(OnBadFile.QUARANTINE)
                .commitPolicy(CommitPolicy.everyFiles(12))
                .build(),
            new IngestListener() {});
    assertThat(summary.units()).isEqualTo(1);
    assertThat(summary.badFiles())
        .extracting(IngestSummary.BadFile::name)
        .containsExactly("skus_00005.json");
    assertThat(count("SELECT COUNT(*) FROM skus_staging WHERE source_file = 'skus_00005.json'"))
        .isZero();
    assertThat(count("SELECT COUNT(*) FROM skus_staging WHERE source_file = 'skus_00004.json'"))
        .isPositive();
    assertThat(count("SELECT COUNT(*) FROM skus_staging WHERE source_file = 'skus_00006.json'"))
        .isPositive();
  }
}
