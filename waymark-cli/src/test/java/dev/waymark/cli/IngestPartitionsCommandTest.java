package dev.waymark.cli;

import static dev.waymark.cli.CliRun.list;
import static dev.waymark.cli.CliRun.waymark;
import static org.assertj.core.api.Assertions.assertThat;

import dev.waymark.checkpoint.internal.Json;
import dev.waymark.ingest.FeedGenerator;
import dev.waymark.ingest.Partitioning;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What {@code waymark ingest --partitions} prints, writes to --summary-json, and refuses. */
class IngestPartitionsCommandTest {
  @TempDir Path tmp;
  Path feed;

  @BeforeEach
  void feed() {
    feed = tmp.resolve("feed");
    FeedGenerator.generate(feed, 10, 5, 3);
  }

  private CliRun ingest(String... more) {
    List<String> args =
        new java.util.ArrayList<>(
            List.of(
                "ingest",
                "--input",
                feed.toString(),
                "--db",
                "jdbc:sqlite:" + tmp.resolve("w.db"),
                "--state",
                tmp.resolve("state").toString(),
                "--job",
                "nightly",
                "--commit-every",
                "1"));
    args.addAll(List.of(more));
    return waymark(args.toArray(String[]::new));
  }

  @Test
  void printsEachFileWithItsPartitionAndTotalsPerPartition() throws Exception {
    Path json = tmp.resolve("summary.json");
    CliRun run = ingest("--partitions", "3", "--workers", "2", "--summary-json", json.toString());
    assertThat(run.exitCode()).as(run.toString()).isZero();
    List<String> lines = List.of(run.out().split("\n"));
    assertThat(lines.get(0)).isEqualTo("starting at the first of 10 files");
    assertThat(lines.get(1)).isEqualTo("3 partitions (CRC-32C of the file name mod 3), 2 workers");
    List<String> files = lines.stream().filter(l -> l.startsWith("[p")).toList();
    assertThat(files).hasSize(10);
    for (String line : files) {
      String name = line.substring(line.indexOf("] ") + 2, line.indexOf(": "));
      assertThat(line).startsWith("[p" + Partitioning.of(name, 3) + " ");
    }
    assertThat(lines.stream().filter(l -> l.startsWith("  partition ")).toList())
        .hasSize(3)
        .allMatch(l -> l.matches("  partition [0-2]: \\d+ of \\d+ files committed .*"));

    @SuppressWarnings("unchecked")
    Map<String, Object> summary =
        (Map<String, Object>)
            Json.parse(Files.readString(json).strip().getBytes(StandardCharsets.UTF_8));
    List<Map<String, Object>> partitions = list(summary.get("partitions"));
    assertThat(partitions).extracting(p -> p.get("partition")).containsExactly("0", "1", "2");
    assertThat(partitions.stream().mapToLong(p -> (Long) p.get("files")).sum()).isEqualTo(10);

    CliRun status = waymark("checkpoint", "status", "--state", tmp.resolve("state").toString());
    assertThat(status.out()).contains("nightly  0 ", "nightly  1 ", "nightly  2 ");

    CliRun again = ingest("--partitions", "3");
    assertThat(again.out()).startsWith("nothing to do: all 10 files are committed\n");
  }

  @Test
  void onePartitionPrintsWhatItAlwaysPrinted() {
    CliRun run = ingest();
    assertThat(run.exitCode()).as(run.toString()).isZero();
    assertThat(run.out())
        .startsWith("starting at the first of 10 files\n[1/10] skus_00000.json: ")
        .doesNotContain("partition");
  }

  @Test
  void anotherPartitionCountIsAUsageErrorNamingTheWaysOut() {
    assertThat(ingest("--partitions", "2").exitCode()).isZero();
    CliRun refused = ingest("--partitions", "5");
    assertThat(refused.exitCode()).as(refused.toString()).isEqualTo(ExitCode.USAGE.code);
    assertThat(refused.err())
        .startsWith("waymark: Job 'nightly' was run with 2 partitions (hash crc32c-utf8-mod)")
        .contains("Run with --partitions 2 to resume")
        .contains("--partitions 5 --rescan")
        .contains("waymark checkpoint reset --state " + tmp.resolve("state") + " --job nightly");
    assertThat(ingest("--partitions", "0").err()).contains("--partitions must be between 1 and");
  }

  @Test
  void statusListsEveryPartitionOfTheDbStore() {
    assertThat(ingest("--partitions", "3", "--checkpoint-store", "db").exitCode()).isZero();
    String url = "jdbc:sqlite:" + tmp.resolve("w.db");
    CliRun status = waymark("checkpoint", "status", "--db", url);
    assertThat(status.exitCode()).as(status.toString()).isZero();
    assertThat(status.out())
        .contains("nightly  0 ", "nightly  1 ", "nightly  2 ")
        .contains("{\"file\":\"skus_00009.json\"");
    CliRun json = waymark("checkpoint", "status", "--db", url, "--job", "nightly", "--json");
    assertThat(json.json().get("db")).isEqualTo(url);
    assertThat(list(json.json().get("partitions")))
        .extracting(p -> p.get("path"))
        .containsExactly(
            "waymark_checkpoint(job=nightly,partition=0)",
            "waymark_checkpoint(job=nightly,partition=1)",
            "waymark_checkpoint(job=nightly,partition=2)");
    assertThat(
            waymark("checkpoint", "status", "--db", "jdbc:sqlite:" + tmp.resolve("none.db")).err())
        .contains("holds no waymark_checkpoint table");
  }
}
