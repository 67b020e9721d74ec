package dev.waymark.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.cli.IngestTarget.Db;
import dev.waymark.ingest.FeedGenerator;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * PostgreSQL misbehaving under {@code waymark ingest} (run in this JVM through {@link Main}): its
 * connection killed mid-unit, the server unreachable, a setting that makes commits non-durable.
 */
class PostgresIngestFaultsIT {
  @TempDir Path tmp;

  @ParameterizedTest(name = "{0} store")
  @ValueSource(strings = {"file", "db"})
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void aConnectionKilledMidUnitIsRetriedAndTheRunConverges(String store) throws Exception {
    Path feed = tmp.resolve("feed");
    FeedGenerator.generate(feed, 150, 30, 41);
    try (IngestTarget reference = IngestTarget.fresh(Db.POSTGRES, tmp);
        IngestTarget target = IngestTarget.fresh(Db.POSTGRES, tmp)) {
      CliRun uninterrupted = IngestTarget.runInProcess(reference.ingestArgs(feed, "file", "1"));
      assertThat(uninterrupted.exitCode()).as(uninterrupted.toString()).isZero();
      String application = "waymark-it-" + UUID.randomUUID().toString().substring(0, 8);
      List<String> args =
          target.ingestArgs(feed, store, "1").stream()
              .map(a -> a.equals(target.url) ? a + "&ApplicationName=" + application : a)
              .toList();

      CompletableFuture<CliRun> run =
          CompletableFuture.supplyAsync(() -> IngestTarget.runInProcess(args));
      int terminated = 0;
      try (Connection admin = DriverManager.getConnection(target.url);
          PreparedStatement kill =
              admin.prepareStatement(
                  "SELECT pid, pg_terminate_backend(pid), left(query, 40) FROM pg_stat_activity"
                      + " WHERE application_name = ? AND backend_xid IS NOT NULL"
                      + " AND query LIKE 'INSERT INTO \""
                      + IngestTarget.TABLE
                      + "\"%'"
                      + " AND pid <> pg_backend_pid()")) {
        kill.setString(1, application);
        // Poll until the ingest's connection is inside a unit that has inserted rows (it has a
        // transaction id, and its last statement was the insert; the DDL before has an id too).
        while (terminated == 0 && !finishesWithin(run, 5)) {
          try (ResultSet rs = kill.executeQuery()) {
            while (rs.next()) {
              assertThat(rs.getBoolean(2)).as("terminated backend %d", rs.getInt(1)).isTrue();
              System.out.printf(
                  "terminated the ingest's backend %d mid-unit (%s store), last query: %s...%n",
                  rs.getInt(1), store, rs.getString(3));
              terminated++;
            }
          }
        }
      }
      CliRun result = run.get(2, TimeUnit.MINUTES);

      assertThat(terminated).as("backends terminated mid-unit before the run ended").isEqualTo(1);
      assertThat(result.exitCode()).as(result.toString()).isZero();
      assertThat(result.out())
          .containsPattern(
              "waymark: attempt 1 of 8 failed \\(.*\\); retrying the unit from its start in");
      assertThat(result.out()).contains("done: 150 files");
      result.lines().stream().filter(l -> l.contains("retrying")).forEach(System.out::println);
      List<String> files = result.lines().stream().filter(l -> l.startsWith("[")).toList();
      assertThat(files).as("each file reported once, in order").hasSize(150);
      for (int i = 0; i < files.size(); i++) {
        assertThat(files.get(i)).startsWith("[" + (i + 1) + "/150] " + FeedGenerator.fileName(i));
      }
      assertThat(target.content()).isEqualTo(reference.content());
      assertThat(IngestTarget.position(target.checkpoint(store).orElseThrow().cursor()))
          .isEqualTo(Cursor.ofFile(FeedGenerator.fileName(149), 150));
    }
  }

  @Test
  void anUnreachableServerExitsWith75AndLeavesTheCheckpointAsItWas() throws Exception {
    Path all = tmp.resolve("all"), feed = tmp.resolve("feed");
    FeedGenerator.generate(all, 13, 20, 5);
    Files.createDirectories(feed);
    for (int i = 0; i < 10; i++) {
      Files.copy(all.resolve(FeedGenerator.fileName(i)), feed.resolve(FeedGenerator.fileName(i)));
    }
    try (IngestTarget target = IngestTarget.fresh(Db.POSTGRES, tmp)) {
      CliRun first = IngestTarget.runInProcess(target.ingestArgs(feed, "file", "1"));
      assertThat(first.exitCode()).as(first.toString()).isZero();
      Checkpoint before = target.fileCheckpoint().orElseThrow();
      for (int i = 10; i < 13; i++) {
        Files.copy(all.resolve(FeedGenerator.fileName(i)), feed.resolve(FeedGenerator.fileName(i)));
      }
      int closedPort;
      try (ServerSocket s = new ServerSocket(0)) {
        closedPort = s.getLocalPort();
      }
      String unreachable =
          "jdbc:postgresql://127.0.0.1:" + closedPort + "/test?user=postgres&connectTimeout=5";
      List<String> args =
          target.ingestArgs(feed, "file", "1", "--retries", "2").stream()
              .map(a -> a.equals(target.url) ? unreachable : a)
              .toList();

      CliRun refused = IngestTarget.runInProcess(args);

      assertThat(refused.exitCode()).as(refused.toString()).isEqualTo(75);
      assertThat(refused.out()).contains("waymark: attempt 1 of 2 failed (");
      assertThat(refused.err())
          .startsWith("waymark: Gave up after 2 attempts")
          .contains("the unit starting at file 11 (skus_00010.json) did not commit")
          .contains("Connection to 127.0.0.1:" + closedPort + " refused")
          .contains("The checkpoint is intact");
      Checkpoint after = target.fileCheckpoint().orElseThrow();
      assertThat(after.sequence()).isEqualTo(before.sequence());
      assertThat(IngestTarget.position(after.cursor()))
          .isEqualTo(Cursor.ofFile(FeedGenerator.fileName(9), 10));

      CliRun resumed = IngestTarget.runInProcess(target.ingestArgs(feed, "file", "1"));
      assertThat(resumed.exitCode()).as(resumed.toString()).isZero();
      assertThat(resumed.lines().get(0))
          .isEqualTo("resume from file 11 (skus_00010.json), 13 files in total");
    }
  }

  @Test
  void synchronousCommitOffIsRefusedWithTheFileStoreAndAllowedWithTheDbStore() throws Exception {
    Path feed = tmp.resolve("feed");
    FeedGenerator.Summary generated = FeedGenerator.generate(feed, 5, 20, 9);
    try (IngestTarget target = IngestTarget.fresh(Db.POSTGRES, tmp)) {
      String unsafe = target.url + "&options=-c%20synchronous_commit%3Doff";
      List<String> fileStore =
          target.ingestArgs(feed, "file", "1").stream()
              .map(a -> a.equals(target.url) ? unsafe : a)
              .toList();

      CliRun refused = IngestTarget.runInProcess(fileStore);

      assertThat(refused.exitCode()).as(refused.toString()).isEqualTo(1);
      assertThat(refused.err())
          .startsWith("waymark: PostgreSQL has synchronous_commit = off")
          .contains("--checkpoint-store db")
          .doesNotContain("\tat ");
      assertThat(target.tableExists()).as("staging table created by a refused run").isFalse();
      assertThat(target.fileCheckpoint()).isEmpty();

      List<String> dbStore =
          target.ingestArgs(feed, "db", "1").stream()
              .map(a -> a.equals(target.url) ? unsafe : a)
              .toList();
      CliRun allowed = IngestTarget.runInProcess(dbStore);

      assertThat(allowed.exitCode()).as(allowed.toString()).isZero();
      assertThat(target.count("SELECT COUNT(*) FROM " + IngestTarget.TABLE))
          .isEqualTo(generated.distinctRecords());
      assertThat(IngestTarget.position(target.dbCheckpoint().orElseThrow().cursor()))
          .isEqualTo(Cursor.ofFile(FeedGenerator.fileName(4), 5));
    }
  }

  private static boolean finishesWithin(CompletableFuture<?> run, long millis) throws Exception {
    try {
      run.get(millis, TimeUnit.MILLISECONDS);
      return true;
    } catch (TimeoutException e) {
      return false;
    }
  }
}
