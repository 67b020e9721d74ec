package dev.waymark.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.file.FileCheckpointStore;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's first command, {@code ./waymark demo}, exactly as the launcher runs it ({@code java
 * -jar waymark.jar demo}, no flags) in a fresh working directory: the demo writes to {@code
 * ./waymark-demo}, so the child runs in a temporary folder and nothing lands in the repository. Its
 * printed proof is checked, and then checked again against the database and checkpoint it leaves
 * behind.
 */
class DemoIT {
  private static final Path JAR = Path.of("target", "waymark.jar");
  private static final Pattern GENERATED =
      Pattern.compile(
          "(?m)^Generated 2,000 files, ([\\d,]+) records \\(([\\d,]+) distinct\\) in (.+)$");

  @TempDir Path dir;

  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void theDemoCrashesAfterACommitResumesAtTheLostUnitAndProvesConvergence() throws Exception {
    Path out = dir.resolve("demo.out"), err = dir.resolve("demo.err");
    Path work = Files.createDirectories(dir.resolve("cwd"));
    Process p =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar",
                JAR.toAbsolutePath().toString(),
                "demo")
            .directory(work.toFile())
            .redirectOutput(out.toFile())
            .redirectError(err.toFile())
            .start();
    assertThat(p.waitFor(9, TimeUnit.MINUTES)).as("the demo finished").isTrue();
    String printed = Files.readString(out, StandardCharsets.UTF_8);
    String context =
        "exit " + p.exitValue() + "\nstdout:\n" + printed + "stderr:\n" + Files.readString(err);
    assertThat(p.exitValue()).as(context).isZero();

    Path demo = work.resolve("waymark-demo");
    Matcher generated = GENERATED.matcher(printed);
    assertThat(generated.find()).as(context).isTrue();
    assertThat(Path.of(generated.group(3)))
        .as("the feed, under ./waymark-demo")
        .isEqualTo(demo.resolve("feed"));
    long distinct = number(generated.group(2));
    assertThat(distinct).isPositive().isLessThan(number(generated.group(1)));

    // Run 1 halts after unit 20's rows commit (files 951 to 1,000), before its checkpoint: the
    // checkpoint still names file 950.
    assertThat(printed)
        .as(context)
        .containsPattern(
            "(?m)^Run 1 died with exit code 137\\. The table holds [\\d,]+ rows; the checkpoint says"
                + " \\{\"file\":\"skus_00949\\.json\",\"files\":950,\"names\":\"[0-9a-f]{16}\"\\}:$")
        .contains("the last unit's rows are in, its checkpoint is not.");
    // Run 2 resumes at the unit whose checkpoint was lost.
    assertThat(printed)
        .contains("  | resume from file 951 (skus_00950.json), 2,000 files in total");
    assertThat(printed)
        .containsPattern(
            "(?m)^  distinct records in the feed   "
                + Pattern.quote(String.format("%,d", distinct))
                + "$")
        .containsPattern(
            "(?m)^  rows in skus_staging           "
                + Pattern.quote(
                    String.format("%,d (%,d distinct keys: none twice)", distinct, distinct))
                + "$")
        .containsPattern(
            "(?m)^  final checkpoint               sequence \\d+, "
                + Pattern.quote("{\"file\":\"skus_01999.json\",\"files\":2000,\"names\":\"")
                + "[0-9a-f]{16}\"}$")
        .containsPattern(
            "(?m)^Converged: the rerun resumed after the last checkpoint, redid the one unit");

    // What it printed is what it left.
    String db = "jdbc:sqlite:" + demo.resolve("waymark.db");
    assertThat(count(db, "SELECT COUNT(*) FROM skus_staging")).isEqualTo(distinct);
    assertThat(count(db, "SELECT COUNT(DISTINCT dedup_key) FROM skus_staging")).isEqualTo(distinct);
    Checkpoint last =
        FileCheckpointStore.reader(demo.resolve("state"), "demo").read().orElseThrow();
    assertThat(IngestTarget.position(last.cursor()))
        .isEqualTo(Cursor.ofFile("skus_01999.json", 2000));
    assertThat(List.of(work.toFile().list()))
        .as("all in ./waymark-demo")
        .containsExactly("waymark-demo");
  }

  private static long number(String withCommas) {
    return Long.parseLong(withCommas.replace(",", ""));
  }

  private static long count(String db, String sql) throws SQLException {
    try (Connection c = DriverManager.getConnection(db);
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
