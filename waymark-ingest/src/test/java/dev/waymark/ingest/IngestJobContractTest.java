package dev.waymark.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.CheckpointStore;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.PartitionLayout;
import dev.waymark.checkpoint.file.FileCheckpointStore;
import dev.waymark.checkpoint.global.JobOutcome;
import dev.waymark.checkpoint.jdbc.ConnectionSource;
import dev.waymark.checkpoint.jdbc.JdbcCheckpointStore;
import dev.waymark.ingest.IngestOptions.CheckpointStoreKind;
import dev.waymark.ingest.IngestOptions.OnBadFile;
import dev.waymark.ingest.source.Format;
import dev.waymark.ingest.source.RecordSource;
import dev.waymark.ingest.source.SourceRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

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
    return options(feed);
  }

  /** The options of {@link #options()} for another input folder. */
  IngestOptions.Builder options(Path input) {
    return IngestOptions.builder(input).db(db).state(tmp.resolve("state")).job("nightly");
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
    assertThatTheFileCheckpointIsAt(11);
  }

  /**
   * The file store's checkpoint is written beside the next unit (IngestJob's design notes): it must
   * never lead the data, trail it by more than one unit, or be reported before it is written.
   */
  @Test
  void theFileCheckpointTrailsTheDataByAtMostOneUnitAndAFileIsReportedOnlyOnceCheckpointed() {
    List<String> problems = Collections.synchronizedList(new ArrayList<>());
    List<Long> checkpointedAtReport = Collections.synchronizedList(new ArrayList<>());
    PartitionHooks watch =
        new PartitionHooks() {
          @Override
          public void beforeCommit(String partition, Connection tx, Cursor cursor) {
            long unit = cursor.number(Cursor.FILES).orElseThrow(); // one file per unit
            long written = checkpointedFiles();
            if (written > unit - 1 || written < unit - 2) {
              problems.add("before unit " + unit + "'s commit the checkpoint held " + written);
            }
          }
        };
    IngestJob.run(
        options().commitPolicy(CommitPolicy.everyFiles(1)).build(),
        new IngestListener() {
          @Override
          public void fileCommitted(int i, int total, String name, long n, long d) {
            long written = checkpointedFiles();
            checkpointedAtReport.add(written);
            if (written < i + 1) {
              problems.add("file " + (i + 1) + " reported with the checkpoint at " + written);
            }
          }
        },
        watch);
    assertThat(problems).isEmpty();
    assertThat(checkpointedAtReport).hasSize(12);
    assertThat(checkpointedFiles()).isEqualTo(12);
  }

  /**
   * The file store's checkpoint is the cursor at the listing's file {@code index}, digest of the
   * names included.
   */
  void assertThatTheFileCheckpointIsAt(int index) {
    assertThat(
            FileCheckpointStore.reader(tmp.resolve("state"), "nightly")
                .read()
                .orElseThrow()
                .cursor())
        .isEqualTo(FileListing.of(feed, IngestOptions.DEFAULT_GLOB).cursorAt(index));
  }

  private long checkpointedFiles() {
    return FileCheckpointStore.reader(tmp.resolve("state"), "nightly")
        .read()
        .map(c -> c.cursor().number(Cursor.FILES).orElseThrow())
        .orElse(0L);
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
  void aRunWithAnotherDedupKeyIsRefusedBeforeItLoadsARowAndTheTablesOwnKeyStillRescans()
      throws Exception {
    IngestJob.run(options().build(), new IngestListener() {});
    long loaded = count("SELECT COUNT(*) FROM skus_staging");

    // Keyed by sku_id alone, every record already loaded would go in again under a new key.
    assertThatThrownBy(
            () ->
                IngestJob.run(
                    options().dedupKey(DedupKey.parse("fields:sku_id")).rescan(true).build(),
                    new IngestListener() {}))
        .isInstanceOf(DedupKeyMismatchException.class)
        .hasMessageContaining(
            "Table skus_staging holds rows keyed otherwise than by --dedup-key fields:sku_id")
        .hasMessageContaining("but that key makes")
        .hasMessageContaining("DELETE FROM skus_staging");
    // A field no record has: the stored rows cannot have been keyed by it.
    assertThatThrownBy(
            () ->
                IngestJob.run(
                    options().dedupKey(DedupKey.parse("fields:no_such_field")).build(),
                    new IngestListener() {}))
        .isInstanceOf(DedupKeyMismatchException.class)
        .hasMessageContaining("its record lacks a field that key needs");
    assertThat(count("SELECT COUNT(*) FROM skus_staging")).isEqualTo(loaded);

    IngestSummary rescan = IngestJob.run(options().rescan(true).build(), new IngestListener() {});
    assertThat(rescan.newRows()).isZero();
    assertThat(rescan.duplicates()).isEqualTo(generated.records());
  }

  /** A refused run was never the job's: {@code waymark wait} still sees the last run's success. */
  @Test
  void aRefusedRunLeavesTheLastRunsSuccessMarkerAsItWas() throws Exception {
    IngestJob.run(options().build(), new IngestListener() {});
    JobOutcome success = outcome().orElseThrow();
    assertThat(success.succeeded()).isTrue();

    assertThatThrownBy(
            () ->
                IngestJob.run(
                    options().dedupKey(DedupKey.parse("fields:sku_id")).build(),
                    new IngestListener() {}))
        .isInstanceOf(DedupKeyMismatchException.class);
    assertThat(outcome()).contains(success);
    assertThatThrownBy(
            () -> IngestJob.run(options().partitions(2).build(), new IngestListener() {}))
        .isInstanceOf(LayoutMismatchException.class);
    assertThat(outcome()).contains(success);

    // A run that fails while working does replace it.
    Files.writeString(feed.resolve("skus_00012.json"), "[{\"broken\": ]");
    assertThatThrownBy(() -> IngestJob.run(options().build(), new IngestListener() {}))
        .isInstanceOf(BadInputException.class);
    assertThat(outcome()).hasValueSatisfying(o -> assertThat(o.succeeded()).isFalse());
  }

  private Optional<JobOutcome> outcome() {
    try (dev.waymark.checkpoint.file.FileGlobalCheckpointStore global =
        dev.waymark.checkpoint.file.FileGlobalCheckpointStore.reader(
            tmp.resolve("state"), "nightly")) {
      return global.outcome();
    }
  }

  @Test
  void aTableKeyedByFieldsTakesTheSameFieldsInAnyOrderAndRefusesTheWholeRecordKey()
      throws Exception {
    IngestJob.run(
        options().dedupKey(DedupKey.parse("fields:sku_id,vendor")).build(),
        new IngestListener() {});
    Files.writeString(feed.resolve("skus_00012.json"), "[]");
    IngestSummary reordered =
        IngestJob.run(
            options().dedupKey(DedupKey.parse("fields:vendor,sku_id")).build(),
            new IngestListener() {});
    assertThat(reordered.files()).isEqualTo(1);

    assertThatThrownBy(() -> IngestJob.run(options().rescan(true).build(), new IngestListener() {}))
        .isInstanceOf(DedupKeyMismatchException.class)
        .hasMessageContaining("holds rows keyed otherwise than by --dedup-key hash");
  }

  /**
   * The stored payload is read back to re-key it: through PostgreSQL's jsonb, which reorders keys,
   * respaces and rewrites numbers, it must still give the key the record was stored under.
   */
  @Test
  void aRecordOfAwkwardValuesReadBackFromTheTableKeepsItsKey() throws Exception {
    Path awkward = tmp.resolve("awkward");
    Files.createDirectories(awkward);
    Files.writeString(
        awkward.resolve("skus_00000.json"),
        "[{\"z\":1.10,\"big\":123456789012345678901234567890,\"huge\":1e400,\"tiny\":1E-7,"
            + "\"neg\":-0.0,\"s\":\"\u00e9\\u2028\\\"\\\\/\\t\ud83d\ude00\",\"n\":null,"
            + "\"a\":[1,[2,{}],true],\"o\":{\"b\":2,\"a\":1}}]");
    IngestJob.run(options(awkward).build(), new IngestListener() {});
    IngestSummary again =
        IngestJob.run(options(awkward).rescan(true).build(), new IngestListener() {});
    assertThat(again.duplicates()).isEqualTo(1);
    assertThatThrownBy(
            () ->
                IngestJob.run(
                    options(awkward).dedupKey(DedupKey.parse("fields:z")).rescan(true).build(),
                    new IngestListener() {}))
        .isInstanceOf(DedupKeyMismatchException.class);
  }

  @Test
  void refusesToResumeWhenAFileArrivedLateThenRescanConverges() throws Exception {
    IngestJob.run(options().build(), new IngestListener() {});
    Files.copy(feed.resolve("skus_00003.json"), feed.resolve("skus_00003a.json"));
    Files.writeString(feed.resolve("skus_00003a.json"), "[{\"late\":true}]");
    arrivedAfterTheCheckpoint(feed.resolve("skus_00003a.json"));

    assertThatThrownBy(() -> IngestJob.run(options().build(), new IngestListener() {}))
        .hasMessageContaining(
            "1 file(s) sorting at or before skus_00011.json arrived after it was committed"
                + " (modified since, so likely the late one: skus_00003a.json)")
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
        .hasMessageContaining("(deleted or renamed, or --glob 'skus_*.json' no longer matches it)")
        .hasMessageContaining("--rescan");

    IngestSummary rescan = IngestJob.run(options().rescan(true).build(), new IngestListener() {});
    assertThat(rescan.files()).isEqualTo(11);
    assertThat(rescan.newRows()).isZero();
    assertThatTheFileCheckpointIsAt(10);
  }

  /**
   * A file deleted and another arrived late before the checkpoint leave as many files at or before
   * it: the count alone passes, and only the digest of their names (Cursor.NAMES) tells.
   */
  @Test
  void refusesToResumeWhenAFileWasDeletedAndAnotherArrivedLateThenRescanConverges()
      throws Exception {
    IngestJob.run(options().build(), new IngestListener() {});
    Files.delete(feed.resolve("skus_00004.json"));
    Files.writeString(feed.resolve("skus_00003a.json"), "[{\"late\":true}]");
    arrivedAfterTheCheckpoint(feed.resolve("skus_00003a.json"));

    assertThatThrownBy(() -> IngestJob.run(options().build(), new IngestListener() {}))
        .hasMessageContaining("Cannot resume job 'nightly': the files sorting at or before")
        .hasMessageContaining("(modified since, so likely the late one: skus_00003a.json)")
        .hasMessageContaining(
            "skus_00011.json in "
                + feed
                + " are as many as when it was committed (12), but not the same ones: a file was"
                + " deleted or renamed and another arrived late")
        .hasMessageContaining("--rescan");

    IngestSummary rescan = IngestJob.run(options().rescan(true).build(), new IngestListener() {});
    assertThat(rescan.newRows()).isEqualTo(1);
    assertThat(count("SELECT COUNT(*) FROM skus_staging"))
        .isEqualTo(generated.distinctRecords() + 1);
    assertThatTheFileCheckpointIsAt(11);
  }

  /**
   * Dates a file a minute ahead: one written right after the last commit may carry a time a clock
   * tick behind it, since the file system's clock is coarser than the checkpoint's.
   */
  static void arrivedAfterTheCheckpoint(Path file) throws java.io.IOException {
    Files.setLastModifiedTime(
        file, java.nio.file.attribute.FileTime.from(java.time.Instant.now().plusSeconds(60)));
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
    assertThatTheFileCheckpointIsAt(4);
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
  void aQuarantinedFileFixedAndRescannedLoadsAndLeavesTheQuarantine() throws Exception {
    Path five = feed.resolve("skus_00005.json");
    String good = Files.readString(five);
    Files.writeString(five, "{\"not\":\"an array\"}");
    IngestOptions quarantine = options().onBadFile(OnBadFile.QUARANTINE).build();
    IngestOptions rescan = options().onBadFile(OnBadFile.QUARANTINE).rescan(true).build();
    String quarantined =
        "SELECT COUNT(*) FROM waymark_quarantine WHERE source_file = 'skus_00005.json'";

    IngestSummary first = IngestJob.run(quarantine, new IngestListener() {});
    IngestSummary stillBad = IngestJob.run(rescan, new IngestListener() {});
    long rowsWhileBad = count(quarantined);
    Files.writeString(five, good);
    IngestSummary fixed = IngestJob.run(rescan, new IngestListener() {});

    assertThat(first.badFiles())
        .singleElement()
        .extracting(IngestSummary.BadFile::error)
        .asString()
        .endsWith(
            " Quarantined: the job moved past it. Fix or replace the file, then run again with"
                + " --rescan to load it (rows already loaded are skipped by their dedup key).");
    assertThat(stillBad.badFiles()).hasSize(1);
    assertThat(rowsWhileBad).as("a rescan that finds it bad again keeps one row").isEqualTo(1);
    assertThat(fixed.badFiles()).isEmpty();
    assertThat(count(quarantined)).as("loaded, it leaves the quarantine").isZero();
    assertThat(count("SELECT COUNT(*) FROM skus_staging WHERE source_file = 'skus_00005.json'"))
        .isPositive();
    assertThat(count("SELECT COUNT(*) FROM skus_staging")).isEqualTo(generated.distinctRecords());
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
  void anExtractedColumnHoldsANumberAsThePayloadWritesIt() throws Exception {
    Path input = Files.createDirectories(tmp.resolve("numbers"));
    Files.writeString(
        input.resolve("skus_00000.json"),
        "[{\"id\":1,\"v\":1e2},{\"id\":2,\"v\":0.0000001},{\"id\":3,\"v\":-0.0},"
            + "{\"id\":4,\"v\":1.10},{\"id\":5,\"v\":true},{\"id\":6,\"v\":\"1e2\"},"
            + "{\"id\":7,\"v\":{\"b\":2.50,\"a\":1}}]");

    IngestJob.run(options(input).column("v", "/v").build(), new IngestListener() {});

    List<String> values = new ArrayList<>();
    try (Connection c = DriverManager.getConnection(db);
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT v FROM skus_staging ORDER BY source_file, v")) {
      while (rs.next()) {
        values.add(rs.getString(1));
      }
    }
    assertThat(values)
        .containsExactlyInAnyOrder("100", "1e-7", "0", "1.1", "true", "1e2", "{\"a\":1,\"b\":2.5}");
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

  // Files of one unit may go to the database in one statement (PostgreSQL): each file must still
  // get exactly its own count of new rows, and a record repeated across files must stay with the
  // first file that holds it, also across a file too long for one chunk, which goes on its own.
  @Test
  void inOneUnitEachFileCountsItsOwnNewRowsAndARepeatedRecordStaysWithTheFirstFile()
      throws Exception {
    Path dir = tmp.resolve("repeats");
    Files.createDirectories(dir);
    StringBuilder big = new StringBuilder("[{\"id\":\"r5\"}");
    for (int i = 0; i < 2_500; i++) {
      big.append(",{\"id\":\"big-").append(i).append("\"}");
    }
    Map<String, String> files = new TreeMap<>();
    files.put("skus_a.json", "[{\"id\":\"r1\"},{\"id\":\"r2\"},{\"id\":\"r3\"}]");
    files.put("skus_b.json", "[{\"id\":\"r2\"},{\"id\":\"r4\"},{\"id\":\"r4\"},{\"id\":\"r5\"}]");
    files.put("skus_c.json", big.append(",{\"id\":\"r1\"}]").toString());
    files.put("skus_d.json", "[{\"id\":\"r6\"},{\"id\":\"big-0\"},{\"id\":\"r3\"}]");
    files.put("skus_e.json", "[]");
    files.put("skus_f.json", "[{\"id\":\"r6\"},{\"id\":\"r7\"},{\"id\":\"r2\"}]");
    for (var f : files.entrySet()) {
      Files.writeString(dir.resolve(f.getKey()), f.getValue());
    }
    List<String> lines = new ArrayList<>();
    IngestSummary summary =
        IngestJob.run(
            IngestOptions.builder(dir)
                .db(db)
                .state(tmp.resolve("state"))
                .job("repeats")
                .commitPolicy(CommitPolicy.everyFiles(6))
                .build(),
            new IngestListener() {
              @Override
              public void fileCommitted(int i, int total, String name, long n, long d) {
                lines.add(name + ": " + n + " new, " + d + " duplicate");
              }
            });

    assertThat(summary.units()).isEqualTo(1);
    assertThat(lines)
        .containsExactly(
            "skus_a.json: 3 new, 0 duplicate",
            "skus_b.json: 2 new, 2 duplicate",
            "skus_c.json: 2500 new, 2 duplicate",
            "skus_d.json: 1 new, 2 duplicate",
            "skus_e.json: 0 new, 0 duplicate",
            "skus_f.json: 1 new, 2 duplicate");
    Map<String, Long> bySource = new TreeMap<>();
    try (Connection c = DriverManager.getConnection(db);
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery("SELECT source_file, COUNT(*) FROM skus_staging GROUP BY source_file")) {
      while (rs.next()) {
        bySource.put(rs.getString(1), rs.getLong(2));
      }
    }
    assertThat(bySource)
        .as("rows per source_file: each repeated record with the first file holding it")
        .isEqualTo(
            Map.of(
                "skus_a.json", 3L,
                "skus_b.json", 2L,
                "skus_c.json", 2500L,
                "skus_d.json", 1L,
                "skus_f.json", 1L));
  }

  // ---------------------------------------------------------------------------- partitions

  /** The rows of {@code table}: dedup key to payload (as text), and dedup key to source file. */
  record Table(Map<String, String> payloads, Map<String, String> sources) {}

  Table table(String table) throws SQLException {
    Map<String, String> payloads = new TreeMap<>(), sources = new TreeMap<>();
    String payload = db.startsWith("jdbc:postgresql:") ? "payload::text" : "payload";
    try (Connection c = DriverManager.getConnection(db);
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery("SELECT dedup_key, " + payload + ", source_file FROM " + table)) {
      while (rs.next()) {
        payloads.put(rs.getString(1), rs.getString(2));
        sources.put(rs.getString(1), rs.getString(3));
      }
    }
    return new Table(payloads, sources);
  }

  /** Every file each dedup key occurs in: a repeated record may land from any of them. */
  Map<String, Set<String>> occurrences() {
    Map<String, Set<String>> files = new HashMap<>();
    FileListing listing = FileListing.of(feed, IngestOptions.DEFAULT_GLOB);
    for (int i = 0; i < listing.size(); i++) {
      try (RecordSource source = RecordSource.open(listing.path(i), Format.JSON_ARRAY)) {
        for (SourceRecord r; (r = source.next()) != null; ) {
          files
              .computeIfAbsent(DedupKey.wholeRecord().keyOf(r), k -> new TreeSet<>())
              .add(listing.name(i));
        }
      }
    }
    return files;
  }

  /**
   * Asserts that {@code partitioned} holds the rows of {@code reference}: the same keys and
   * payloads, and each row from a file holding its record (the first to commit wins, and across
   * partitions that is not always the first by name).
   */
  void assertSameRows(Table partitioned, Table reference) {
    assertThat(partitioned.payloads()).isEqualTo(reference.payloads());
    Map<String, Set<String>> occurrences = occurrences();
    long moved = 0;
    for (Map.Entry<String, String> row : partitioned.sources().entrySet()) {
      assertThat(occurrences.get(row.getKey())).contains(row.getValue());
      if (occurrences.get(row.getKey()).size() == 1) {
        assertThat(row.getValue()).isEqualTo(reference.sources().get(row.getKey()));
      } else if (!row.getValue().equals(reference.sources().get(row.getKey()))) {
        moved++;
      }
    }
    assertThat(moved).isLessThanOrEqualTo(generated.duplicates());
  }

  Optional<Checkpoint> checkpoint(CheckpointStoreKind store, String partition) {
    if (store == CheckpointStoreKind.FILE) {
      return FileCheckpointStore.reader(tmp.resolve("state"), "nightly").read(partition);
    }
    try (JdbcCheckpointStore s = JdbcCheckpointStore.open(ConnectionSource.of(db), "nightly")) {
      return s.read(partition);
    }
  }

  /** Each partition's checkpoint names the last file of its sub-listing and its count. */
  void assertEveryPartitionAtItsEnd(CheckpointStoreKind store, int partitions) {
    FileListing all = FileListing.of(feed, IngestOptions.DEFAULT_GLOB);
    for (int p = 0; p < partitions; p++) {
      FileListing mine = all.partition(p, partitions);
      Optional<Checkpoint> c = checkpoint(store, Partitioning.id(p));
      if (mine.size() == 0) {
        assertThat(c).isEmpty();
      } else {
        assertThat(c.orElseThrow().cursor())
            .as("partition %d", p)
            .isEqualTo(mine.cursorAt(mine.size() - 1));
      }
    }
  }

  @ParameterizedTest(name = "{0} store, {1} workers")
  @CsvSource({"FILE, 1", "FILE, 2", "FILE, 4", "DB, 1", "DB, 2", "DB, 4"})
  void fourPartitionsLoadTheSameTableAsOneWithOneCheckpointEach(
      CheckpointStoreKind store, int workers) throws Exception {
    IngestJob.run(
        options().table("reference").job("reference").checkpointStore(store).build(),
        new IngestListener() {});
    List<String> lines = Collections.synchronizedList(new ArrayList<>());
    int[] started = new int[5];
    IngestSummary summary =
        IngestJob.run(
            options()
                .checkpointStore(store)
                .partitions(4)
                .workers(workers)
                .commitPolicy(CommitPolicy.everyFiles(2))
                .build(),
            new IngestListener() {
              @Override
              public void startedPartitions(
                  int total, int partitions, int w, int resumed, int committed) {
                started[0] = total;
                started[1] = partitions;
                started[2] = w;
                started[3] = resumed;
                started[4] = committed;
              }

              @Override
              public void fileCommitted(
                  String partition, int index, int total, String name, long n, long d) {
                lines.add(partition + ":" + (index + 1) + "/" + total + ":" + name);
              }
            });

    assertThat(started).containsExactly(12, 4, workers, 0, 0);
    assertSameRows(table("skus_staging"), table("reference"));
    assertThat(summary.newRows()).isEqualTo(generated.distinctRecords());
    assertThat(summary.files()).isEqualTo(12);
    assertThat(summary.partitions()).hasSize(4);
    assertThat(summary.partitions().stream().mapToInt(IngestSummary.Partition::files).sum())
        .isEqualTo(12);
    assertThat(lines).hasSize(12);
    for (String line : lines) {
      String[] f = line.split(":");
      assertThat(Partitioning.of(f[2], 4)).isEqualTo(Integer.parseInt(f[0]));
    }
    assertEveryPartitionAtItsEnd(store, 4);
    if (store == CheckpointStoreKind.FILE) {
      assertThat(FileCheckpointStore.reader(tmp.resolve("state"), "nightly").partitions())
          .containsExactly("0", "1", "2", "3");
    }
    try (CheckpointStore s = openStore(store)) {
      assertThat(s.layout()).contains(new PartitionLayout(4, "crc32c-utf8-mod"));
    }

    IngestSummary again =
        IngestJob.run(
            options().checkpointStore(store).partitions(4).workers(workers).build(),
            new IngestListener() {});
    assertThat(again.files()).isZero();
    assertThat(again.startIndex()).isEqualTo(12);
  }

  CheckpointStore openStore(CheckpointStoreKind store) {
    return store == CheckpointStoreKind.FILE
        ? FileCheckpointStore.open(tmp.resolve("state"), "nightly")
        : JdbcCheckpointStore.open(ConnectionSource.of(db), "nightly");
  }

  @ParameterizedTest(name = "{0} store")
  @EnumSource(CheckpointStoreKind.class)
  void aRunWithAnotherPartitionCountIsRefusedAndRescanMovesTheJobToIt(CheckpointStoreKind store)
      throws Exception {
    IngestJob.run(
        options().table("reference").job("reference").checkpointStore(store).build(),
        new IngestListener() {});
    IngestJob.run(
        options().checkpointStore(store).partitions(4).workers(2).build(), new IngestListener() {});

    assertThatThrownBy(
            () ->
                IngestJob.run(
                    options().checkpointStore(store).partitions(3).build(),
                    new IngestListener() {}))
        .isInstanceOf(LayoutMismatchException.class)
        .hasMessageContaining(
            "Job 'nightly' was run with 4 partitions (hash crc32c-utf8-mod), as recorded in ")
        .hasMessageContaining("this run asks for 3 partitions")
        .hasMessageContaining("Run with --partitions 4 to resume")
        .hasMessageContaining("--partitions 3 --rescan to reprocess every file")
        .hasMessageContaining("waymark checkpoint reset");

    IngestSummary rescan =
        IngestJob.run(
            options().checkpointStore(store).partitions(3).workers(2).rescan(true).build(),
            new IngestListener() {});
    assertThat(rescan.files()).isEqualTo(12);
    assertThat(rescan.newRows()).isZero();
    assertEveryPartitionAtItsEnd(store, 3);
    assertThat(checkpoint(store, "3")).as("the old layout's partition 3 is forgotten").isEmpty();
    try (CheckpointStore s = openStore(store)) {
      assertThat(s.layout()).contains(new PartitionLayout(3, Partitioning.HASH));
    }
    assertSameRows(table("skus_staging"), table("reference"));
    assertThat(
            IngestJob.run(
                    options().checkpointStore(store).partitions(3).build(), new IngestListener() {})
                .files())
        .isZero();
  }

  @Test
  void aJobFromBeforePartitionsIsOnePartitionAndAResetJobTakesAnyLayout() throws Exception {
    IngestJob.run(options().build(), new IngestListener() {});
    Files.delete(tmp.resolve("state/nightly/layout")); // as a job written before layouts
    assertThatThrownBy(
            () -> IngestJob.run(options().partitions(2).build(), new IngestListener() {}))
        .isInstanceOf(LayoutMismatchException.class)
        .hasMessageContaining("was run with 1 partition (hash crc32c-utf8-mod); this run asks");
    assertThat(IngestJob.run(options().build(), new IngestListener() {}).files()).isZero();

    try (CheckpointStore s = openStore(CheckpointStoreKind.FILE)) {
      s.reset("0");
    }
    IngestSummary fresh = IngestJob.run(options().partitions(2).build(), new IngestListener() {});
    assertThat(fresh.files()).isEqualTo(12);
    assertEveryPartitionAtItsEnd(CheckpointStoreKind.FILE, 2);
  }

  @Test
  void aLateFileIsFoundInItsOwnPartitionAndRescanConverges() throws Exception {
    IngestJob.run(options().partitions(4).build(), new IngestListener() {});
    String late = "skus_00003a.json";
    Files.writeString(feed.resolve(late), "[{\"late\":true}]");
    int p = Partitioning.of(late, 4);
    FileListing mine = FileListing.of(feed, IngestOptions.DEFAULT_GLOB).partition(p, 4);
    String last = mine.name(mine.size() - 1);
    assertThat(FileListing.BYTE_ORDER.compare(late, last)).isNegative();

    assertThatThrownBy(
            () -> IngestJob.run(options().partitions(4).build(), new IngestListener() {}))
        .hasMessageContaining("Cannot resume job 'nightly' partition '" + p + "': ")
        .hasMessageContaining(
            "1 file(s) sorting at or before " + last + " in this partition arrived after")
        .hasMessageContaining("--rescan");

    IngestSummary rescan =
        IngestJob.run(options().partitions(4).rescan(true).build(), new IngestListener() {});
    assertThat(rescan.newRows()).isEqualTo(1);
    assertThat(rescan.files()).isEqualTo(13);
    assertEveryPartitionAtItsEnd(CheckpointStoreKind.FILE, 4);
  }

  @Test
  void aFailingPartitionStopsTheOthersAtAUnitBoundaryAndTheirWorkStaysCommitted() throws Exception {
    String bad = "skus_00005.json";
    Files.writeString(feed.resolve(bad), "[{\"sku_id\":\"x\"}, {\"broken\": ]");
    assertThatThrownBy(
            () ->
                IngestJob.run(
                    options()
                        .partitions(4)
                        .workers(2)
                        .commitPolicy(CommitPolicy.everyFiles(1))
                        .build(),
                    new IngestListener() {}))
        .isInstanceOf(BadInputException.class)
        .hasMessageContaining(bad);
    assertThat(count("SELECT COUNT(*) FROM skus_staging WHERE source_file = '" + bad + "'"))
        .isZero();
    // Whatever the other partitions committed is checkpointed: a rerun after the fix redoes none
    // of it, and the files before the bad one in its own partition stay.
    FeedGenerator.generate(tmp.resolve("fresh"), 12, 50, 7);
    Files.copy(
        tmp.resolve("fresh").resolve(bad),
        feed.resolve(bad),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    FileListing own =
        FileListing.of(feed, IngestOptions.DEFAULT_GLOB).partition(Partitioning.of(bad, 4), 4);
    IngestSummary after = IngestJob.run(options().partitions(4).build(), new IngestListener() {});
    assertThat(after.startIndex()).isGreaterThanOrEqualTo(own.indexOf(bad));
    assertThat(count("SELECT COUNT(*) FROM skus_staging")).isEqualTo(generated.distinctRecords());
    assertEveryPartitionAtItsEnd(CheckpointStoreKind.FILE, 4);
  }

  @Test
  void hooksSeeEveryUnitAndALostPartitionIsGivenUpWithoutItsUnit() throws Exception {
    Map<String, Cursor> committed = new ConcurrentHashMap<>();
    Map<String, Optional<Cursor>> finished = new ConcurrentHashMap<>();
    PartitionHooks hooks =
        new PartitionHooks() {
          @Override
          public void beforeCommit(String partition, Connection tx, Cursor cursor) {
            assertThat(tx).isNotNull();
            if (partition.equals("1")) {
              throw new PartitionLostException("lease of partition 1 taken over");
            }
          }

          @Override
          public void unitCommitted(String partition, Cursor cursor) {
            committed.put(partition, cursor);
          }

          @Override
          public void partitionFinished(String partition, Optional<Cursor> cursor) {
            finished.put(partition, cursor);
          }
        };
    IngestSummary summary =
        IngestJob.run(
            options().partitions(4).workers(2).commitPolicy(CommitPolicy.everyFiles(1)).build(),
            new IngestListener() {},
            hooks);
    FileListing partition1 = FileListing.of(feed, IngestOptions.DEFAULT_GLOB).partition(1, 4);
    assertThat(summary.files()).isEqualTo(12 - partition1.size());
    assertThat(committed).doesNotContainKey("1").containsKeys("0", "2", "3");
    assertThat(finished).doesNotContainKey("1").containsKeys("0", "2", "3");
    assertThat(checkpoint(CheckpointStoreKind.FILE, "1")).isEmpty();
    for (String name : partition1.names()) {
      assertThat(count("SELECT COUNT(*) FROM skus_staging WHERE source_file = '" + name + "'"))
          .isZero();
    }
    assertThat(finished.get("2")).isEqualTo(Optional.of(committed.get("2")));
  }

  @Test
  void retriesCountPerUnitSoBlipsBetweenCommittedUnitsDoNotAddUp() throws Exception {
    AtomicInteger commits = new AtomicInteger();
    PartitionHooks blips =
        new PartitionHooks() {
          @Override
          public void beforeCommit(String partition, Connection tx, Cursor cursor)
              throws SQLException {
            int n = commits.incrementAndGet();
            if (n == 3 || n == 6 || n == 9) {
              throw new SQLException("connection reset (blip " + n + ")", "08006");
            }
          }
        };
    List<Integer> attempts = new ArrayList<>();
    IngestSummary summary =
        IngestJob.run(
            options().retries(2).commitPolicy(CommitPolicy.everyFiles(1)).build(),
            new IngestListener() {
              @Override
              public void retrying(int attempt, int max, Duration delay, Throwable cause) {
                attempts.add(attempt);
              }
            },
            blips);
    assertThat(attempts).containsExactly(1, 1, 1);
    assertThat(summary.files()).isEqualTo(12);
    assertThat(count("SELECT COUNT(*) FROM skus_staging")).isEqualTo(generated.distinctRecords());
  }

  @Test
  void aRescanWhoseFirstAttemptFailsBeforeItsFirstCommitStillRescansOnTheRetry() throws Exception {
    IngestJob.run(options().build(), new IngestListener() {});
    Files.writeString(feed.resolve("skus_00003a.json"), "[{\"late\":true}]");
    AtomicInteger commits = new AtomicInteger();
    PartitionHooks blip =
        new PartitionHooks() {
          @Override
          public void beforeCommit(String partition, Connection tx, Cursor cursor)
              throws SQLException {
            if (commits.incrementAndGet() == 1) {
              throw new SQLException("connection reset before the first commit", "08006");
            }
          }
        };
    IngestSummary rescan =
        IngestJob.run(options().rescan(true).build(), new IngestListener() {}, blip);
    assertThat(commits).hasValueGreaterThan(1);
    assertThat(rescan.newRows()).isEqualTo(1);
    assertThat(count("SELECT COUNT(*) FROM skus_staging"))
        .isEqualTo(generated.distinctRecords() + 1);
  }

  @Test
  void aHookFailingOnAWorkerThreadFailsTheRunAndStopsAWorkerWaitingForAPartition() {
    AtomicInteger calls = new AtomicInteger();
    AtomicBoolean waitInterrupted = new AtomicBoolean();
    PartitionHooks hooks =
        new PartitionHooks() {
          @Override
          public String nextPartition(java.util.function.Supplier<String> unclaimed) {
            if (calls.incrementAndGet() == 2) {
              throw new IllegalStateException("the coordinator is unreachable");
            }
            try {
              Thread.sleep(120_000); // waits for a lease, as a worker of a coordinated job does
            } catch (InterruptedException e) {
              waitInterrupted.set(true);
            }
            return null;
          }
        };
    assertThatThrownBy(
            () ->
                IngestJob.run(
                    options().partitions(4).workers(2).build(), new IngestListener() {}, hooks))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("the coordinator is unreachable");
    assertThat(waitInterrupted).isTrue();
  }

  @Test
  void concurrentWorkersNumberEachUnitOnceForFaults() {
    List<Long> numbers = Collections.synchronizedList(new ArrayList<>());
    PartitionHooks slowCommit =
        new PartitionHooks() {
          @Override
          public void beforeCommit(String partition, Connection tx, Cursor cursor) {
            try {
              Thread.sleep(20); // widens the window between a unit's number and its commit
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
        };
    IngestJob.run(
        options()
            .partitions(4)
            .workers(4)
            .commitPolicy(CommitPolicy.everyFiles(1))
            .faults(
                Faults.observing(
                    (point, n) -> {
                      if (point == Faults.Point.BEFORE_COMMIT) {
                        numbers.add(n);
                      }
                    }))
            .build(),
        new IngestListener() {},
        slowCommit);
    assertThat(new TreeSet<>(numbers))
        .containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(1, 12).boxed().toList());
    // (a retry of a unit after SQLITE_BUSY reports its number again: the set, not the list)
  }
}
