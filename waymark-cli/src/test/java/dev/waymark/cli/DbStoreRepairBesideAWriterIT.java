package dev.waymark.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.waymark.checkpoint.CheckpointReader;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.jdbc.ConnectionSource;
import dev.waymark.checkpoint.jdbc.JdbcCheckpointStore;
import dev.waymark.cli.IngestTarget.Db;
import dev.waymark.ingest.FeedGenerator;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code waymark checkpoint rollback --db} beside a live {@code waymark ingest --checkpoint-store
 * db} of the same job (a real child JVM, paused between units, against the local PostgreSQL). The
 * file store refuses a repair while an ingest holds the job's lock (exit 3); the db store must do
 * the same rather than take the next epoch and fence the running ingest.
 */
class DbStoreRepairBesideAWriterIT {
  private static final Duration WAIT = Duration.ofMinutes(2);

  @TempDir Path tmp;

  @Test
  @Timeout(value = 4, unit = TimeUnit.MINUTES)
  void rollbackIsRefusedWithExit3WhileAnIngestOfTheJobRunsAndTheIngestIsNotFenced()
      throws Exception {
    Path feed = tmp.resolve("feed");
    FeedGenerator.generate(feed, 8, 20, 3);
    try (IngestTarget target = IngestTarget.fresh(Db.POSTGRES, tmp);
        // Units 1 to 3 committed (sequences 1 to 3 kept), unit 4 written and not committed.
        IngestChild ingest =
            IngestChild.start(
                tmp.resolve("logs"),
                Map.of("WAYMARK_FAULT", "pause-before-commit:4"),
                IngestChild.FAST_START,
                target.ingestArgs(feed, "db", "1"))) {
      ingest.awaitPause(WAIT);
      List<String> rollback =
          List.of("checkpoint", "rollback", "--db", target.url, "--job", "it", "--to", "1");

      CliRun refused = IngestTarget.runInProcess(rollback);
      System.out.println("rollback beside the paused ingest: " + refused);

      assertThat(refused.exitCode()).as(refused.toString()).isEqualTo(3);
      assertThat(refused.err())
          .startsWith("waymark: Job 'it' is being written: a writer holds its checkpoint lock")
          .contains("PostgreSQL server process ")
          .contains("(a writer)")
          .contains("Wait for it to finish, or stop it")
          .contains("then run this command again");
      ingest.resume();
      assertThat(ingest.exitsWithin(WAIT)).as("ingest ended: %s", ingest).isTrue();
      assertThat(ingest.exitCode()).as("the ingest was not fenced: %s", ingest).isZero();
      assertThat(ingest.out()).contains("done: 8 files");
      try (JdbcCheckpointStore.Reader store =
          JdbcCheckpointStore.reader(ConnectionSource.of(target.url), IngestTarget.JOB)) {
        assertThat(
                IngestTarget.position(
                    store.read(CheckpointReader.DEFAULT_PARTITION).orElseThrow().cursor()))
            .as("the refused rollback moved nothing")
            .isEqualTo(Cursor.ofFile(FeedGenerator.fileName(7), 8));
      }

      // Once the ingest has ended, its lock is gone and the same command goes through.
      CliRun after = IngestTarget.runInProcess(rollback);
      assertThat(after.exitCode()).as(after.toString()).isZero();
      assertThat(after.out()).startsWith("Rolled back job 'it' partition '0' to the cursor of");
    }
  }
}
