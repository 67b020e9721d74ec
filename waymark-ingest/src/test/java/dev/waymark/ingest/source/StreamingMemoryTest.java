package dev.waymark.ingest.source;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Memory does not grow with file size: each format reads a 32 MiB file in a child JVM with an 8 MiB
 * heap. A source that held the file, or every record, would die with OutOfMemoryError.
 */
class StreamingMemoryTest {

  @ParameterizedTest
  @ValueSource(strings = {"json-array", "ndjson", "csv"})
  void readsAFileFourTimesLargerThanTheHeap(String format)
      throws IOException, InterruptedException {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    Process p =
        new ProcessBuilder(
                List.of(
                    java.toString(),
                    "-Xmx8m",
                    "-XX:TieredStopAtLevel=1",
                    "-cp",
                    System.getProperty("java.class.path"),
                    StreamingProbe.class.getName(),
                    format,
                    "32"))
            .redirectErrorStream(true)
            .start();
    boolean exited = p.waitFor(5, TimeUnit.MINUTES);
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!exited) {
      p.destroyForcibly();
    }
    assertThat(exited).as("probe finished").isTrue();
    assertThat(p.exitValue()).as(output).isZero();
    assertThat(output).doesNotContain("OutOfMemoryError").containsPattern("records=\\d{5,}");
  }
}
