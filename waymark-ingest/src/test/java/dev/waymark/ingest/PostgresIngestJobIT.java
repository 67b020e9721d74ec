package dev.waymark.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.waymark.checkpoint.jdbc.TestDatabases;
import dev.waymark.ingest.IngestOptions.OnBadFile;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The runner in-process on PostgreSQL, each test in a fresh schema (skipped without a server, or
 * failing under {@code WAYMARK_REQUIRE_PG=1}; see {@link TestDatabases}).
 */
class PostgresIngestJobIT extends IngestJobContractTest {
  private TestDatabases.PgSchema schema;

  @Override
  String newDatabase() {
    schema = TestDatabases.freshPostgresSchema();
    return schema.url;
  }

  @AfterEach
  void dropSchema() throws SQLException {
    if (schema != null) {
      schema.close();
    }
  }

  // The connection opens while the files are listed (EarlySink): a run refused before it reaches
  // the database closes it rather than leave it open until the JVM ends.
  @Test
  void aRunRefusedBeforeItReachesTheDatabaseClosesTheConnectionItWasOpening() throws Exception {
    String name = "waymark-early-" + System.nanoTime();
    IngestOptions refused =
        options(tmp.resolve("no-such-folder")).db(db + "&ApplicationName=" + name).build();

    assertThatThrownBy(() -> IngestJob.run(refused, new IngestListener() {}))
        .isInstanceOf(BadUsageException.class)
        .hasMessageContaining("is not a directory");

    // A connection left open shows up within a few hundred milliseconds and stays: watched for at
    // least 1.5 s, the run's connections must be gone by then.
    String open = "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = '" + name + "'";
    long start = System.nanoTime(), waited;
    long connections;
    do {
      Thread.sleep(100);
      connections = count(open);
      waited = (System.nanoTime() - start) / 1_000_000;
    } while ((connections > 0 || waited < 1_500) && waited < 10_000);
    assertThat(connections).as("connections of the refused run after %d ms", waited).isZero();
  }

  // With the file store the reader starts on the first file before the database is reached: a run
  // refused there (here for synchronous_commit = off) stops that reader too.
  @Test
  void aRunRefusedAtTheDatabaseStopsTheReaderItStartedBeforeIt() throws Exception {
    // More rows than the reader may hold ready: left alone, it would wait for room for ever.
    java.nio.file.Path big = tmp.resolve("big");
    FeedGenerator.generate(big, 200, 100, 3);
    IngestOptions refused = options(big).db(db + "&options=-c%20synchronous_commit%3Doff").build();

    assertThatThrownBy(() -> IngestJob.run(refused, new IngestListener() {}))
        .isInstanceOf(BadUsageException.class)
        .hasMessageContaining("synchronous_commit = off");

    long start = System.nanoTime(), waited;
    List<String> readers;
    do {
      Thread.sleep(50);
      readers =
          Thread.getAllStackTraces().keySet().stream()
              .filter(t -> t.isAlive() && t.getName().startsWith("waymark-reader"))
              .map(Thread::getName)
              .toList();
      waited = (System.nanoTime() - start) / 1_000_000;
    } while (!readers.isEmpty() && waited < 5_000);
    assertThat(readers).as("reader threads alive %d ms after the refusal", waited).isEmpty();
  }

  // Regression: a record with an escaped NUL is valid JSON, but PostgreSQL refuses it in jsonb;
  // the run used to stop with exit 1 and a database error naming no file, even under quarantine.
  @Test
  void aStringHoldingNulIsABadFileNotADatabaseError() throws Exception {
    Files.writeString(feed.resolve("skus_00005.json"), "[{\"sku_id\":\"x\\u0000y\"}]");

    assertThatThrownBy(() -> IngestJob.run(options().build(), new IngestListener() {}))
        .isInstanceOf(BadInputException.class)
        .hasMessageContaining("skus_00005.json")
        .hasMessageContaining("U+0000");

    IngestSummary summary =
        IngestJob.run(options().onBadFile(OnBadFile.QUARANTINE).build(), new IngestListener() {});
    assertThat(summary.badFiles())
        .extracting(IngestSummary.BadFile::name)
        .containsExactly("skus_00005.json");
    assertThat(summary.files())
        .as("files 6 to 12, after the 5 the first run committed")
        .isEqualTo(7);
    assertThat(count("SELECT COUNT(*) FROM skus_staging WHERE source_file = 'skus_00005.json'"))
        .isZero();
    assertThat(count("SELECT COUNT(*) FROM waymark_quarantine")).isEqualTo(1);
  }

  // Regression: the column check read every schema's table of that name, so a table lacking an
  // extracted column passed it when another schema's had the column; the insert then failed with
  // a bare database error.
  @Test
  void checksTheColumnsOfTheTableInItsOwnSchemaOnly() throws Exception {
    try (TestDatabases.PgSchema other = TestDatabases.freshPostgresSchema()) {
      IngestJob.run(
          options().db(other.url).column("sku", "/sku_id").build(), new IngestListener() {});
      IngestJob.run(options().state(tmp.resolve("state2")).build(), new IngestListener() {});

      assertThatThrownBy(
              () ->
                  IngestJob.run(
                      options().state(tmp.resolve("state3")).column("sku", "/sku_id").build(),
                      new IngestListener() {}))
          .hasMessageContaining("exists without column sku")
          .hasMessageContaining("ALTER TABLE");
    }
  }

  // A value the database refuses inside a unit whose earlier files are already in the transaction,
  // in a one-chunk file (no savepoint): the whole unit must be replayed without that file, never
  // committed without the earlier files' rows while the checkpoint moves past them.
  @Test
  void aValueTheDatabaseRefusesMidUnitIsQuarantinedAndTheUnitsOtherFilesStay() throws Exception {
    Files.writeString(feed.resolve("skus_00005.json"), "[{\"sku_id\":\"poison\"}]");
    assertThatFileFiveIsQuarantinedByTheDatabaseAndTheUnitsOtherFilesStay();
  }

  // A file of several chunks goes in one statement per chunk, inside a savepoint: a value refused
  // in
  // its first chunk or in its last must undo the file's chunks and nothing of the unit's others.
  @ParameterizedTest(name = "the refused record is record {0} of 2,500")
  @ValueSource(ints = {10, 2_400})
  void aValueTheDatabaseRefusesInAFileOfSeveralChunksIsQuarantinedAndTheUnitsOtherFilesStay(
      int poisoned) throws Exception {
    StringBuilder big = new StringBuilder("[");
    for (int i = 0; i < 2_500; i++) {
      big.append(i == 0 ? "" : ",")
          .append("{\"sku_id\":\"")
          .append(i == poisoned ? "poison" : "big-" + i)
          .append("\"}");
    }
    Files.writeString(feed.resolve("skus_00005.json"), big.append("]"));
    assertThatFileFiveIsQuarantinedByTheDatabaseAndTheUnitsOtherFilesStay();
  }

  /**
   * With a trigger that refuses the record {@code "sku_id": "poison"}, which file 5 holds: one unit
   * of the 12 files quarantines file 5 alone, and the checkpoint passes it.
   */
  private void assertThatFileFiveIsQuarantinedByTheDatabaseAndTheUnitsOtherFilesStay()
      throws Exception {
    try (Connection c = DriverManager.getConnection(db);
        Statement s = c.createStatement()) {
      s.execute(
          "CREATE TABLE skus_staging (dedup_key text PRIMARY KEY, payload jsonb NOT NULL,"
              + " source_file text NOT NULL, ingested_at timestamptz NOT NULL DEFAULT now())");
      s.execute(
          "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
              + " IF NEW.payload->>'sku_id' = 'poison' THEN"
              + " RAISE EXCEPTION 'poisoned value' USING ERRCODE = '22023'; END IF;"
              + " RETURN NEW; END $$");
      s.execute(
          "CREATE TRIGGER refuse_poison BEFORE INSERT ON skus_staging"
              + " FOR EACH ROW EXECUTE FUNCTION refuse_poison()");
    }

    IngestSummary summary =
        IngestJob.run(
            options()
                .onBadFile(OnBadFile.QUARANTINE)
                .commitPolicy(CommitPolicy.everyFiles(12))
                .build(),
            new IngestListener() {});

    assertThat(summary.badFiles())
        .extracting(IngestSummary.BadFile::name)
        .containsExactly("skus_00005.json");
    assertThat(summary.badFiles().get(0).error()).contains("poisoned value");
    for (int f = 0; f < 12; f++) {
      String name = FeedGenerator.fileName(f);
      assertThat(count("SELECT COUNT(*) FROM skus_staging WHERE source_file = '" + name + "'"))
          .as(name)
          .matches(n -> name.equals("skus_00005.json") ? n == 0 : n > 0);
    }
    assertThatTheFileCheckpointIsAt(11);
  }
}
