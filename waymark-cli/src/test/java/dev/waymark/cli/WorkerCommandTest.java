package dev.waymark.cli;

import static dev.waymark.cli.CliRun.waymark;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code waymark worker}'s flags, refused before any database is reached. */
class WorkerCommandTest {
  private static final String PG = "jdbc:postgresql://db.internal:5432/etl?user=etl";

  @TempDir Path dir;

  @Test
  void theDataConnectionIsNamedAfterTheWorkerAndEndsAPausedTransaction() {
    assertThat(WorkerCommand.withSession(PG, "h:1:ab", Duration.ofSeconds(9)))
        .isEqualTo(
            PG
                + "&options=-c%20idle_in_transaction_session_timeout%3D9000"
                + "&ApplicationName=waymark%20worker%20h%3A1%3Aab");
    assertThat(
            WorkerCommand.withSession(
                "jdbc:postgresql://h/db?options=-c%20search_path%3Dx&user=u",
                "h:1:ab", Duration.ofSeconds(9)))
        .isEqualTo(
            "jdbc:postgresql://h/db?options=-c%20search_path%3Dx"
                + "%20-c%20idle_in_transaction_session_timeout%3D9000&user=u"
                + "&ApplicationName=waymark%20worker%20h%3A1%3Aab");
  }

  @Test
  void leasesAreWrittenInMillisecondsSecondsMinutesOrHoursLikeEveryOtherDuration() {
    WorkerCommand.LeaseConverter c = new WorkerCommand.LeaseConverter();

    assertThat(c.convert("500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(c.convert("3s")).isEqualTo(Duration.ofSeconds(3));
    assertThat(c.convert("2m")).isEqualTo(Duration.ofMinutes(2));
    assertThat(c.convert("1h")).isEqualTo(Duration.ofHours(1));
    assertThatThrownBy(() -> c.convert("3 sec"))
        .hasMessage("--lease '3 sec' is not a positive duration (e.g. 500ms, 10s, 5m, 2h)");
    assertThatThrownBy(() -> c.convert("0s"))
        .hasMessage("--lease '0s' is not a positive duration (e.g. 500ms, 10s, 5m, 2h)");
  }

  @Test
  void aCoordinatorThatIsNotPostgresIsRefused() {
    CliRun run = worker("--coordinator", "jdbc:sqlite:coord.db");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err())
        .contains("--coordinator must be a PostgreSQL URL (jdbc:postgresql://...)");
  }

  @Test
  void theFileCheckpointStoreAndRescanAreRefused() {
    CliRun file = worker("--coordinator", PG, "--checkpoint-store", "file");
    CliRun rescan = worker("--coordinator", PG, "--rescan");

    assertThat(file.exitCode()).isEqualTo(2);
    assertThat(file.err())
        .contains("A worker keeps its checkpoints in the coordinator's database")
        .contains("leave --checkpoint-store out");
    assertThat(rescan.exitCode()).isEqualTo(2);
    assertThat(rescan.err()).contains("--rescan is for a single process");
  }

  @Test
  void helpSaysTheInputMustBeShared() {
    CliRun run = waymark("worker", "--help");

    assertThat(run.exitCode()).isZero();
    assertThat(run.out())
        .contains("--coordinator=JDBC_URL", "--lease=DURATION", "--partitions=P")
        .contains("(a shared file system)");
  }

  private CliRun worker(String... more) {
    String[] args = new String[more.length + 5];
    args[0] = "worker";
    args[1] = "--input";
    args[2] = dir.toString();
    args[3] = "--job";
    args[4] = "night";
    System.arraycopy(more, 0, args, 5, more.length);
    return waymark(args);
  }
}
