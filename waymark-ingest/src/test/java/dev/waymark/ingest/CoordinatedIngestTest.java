package dev.waymark.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.waymark.WaymarkException;
import dev.waymark.checkpoint.FencedException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Which errors of a worker's partition fail the whole job (every worker would meet them again) and
 * which are the worker's own (another worker, or this one run again, may succeed).
 */
class CoordinatedIngestTest {
  @Test
  void aMalformedFileALateFileAndANonTransientDatabaseErrorFailTheJob() {
    BadInputException malformed =
        new BadInputException(
            Path.of("/feed/skus_00007.json"),
            1,
            12,
            11,
            1,
            BadInputException.Reason.TRUNCATED,
            "the file ends in the middle of a value",
            null);
    WaymarkException late =
        new WaymarkException(
            "Cannot resume job 'night' partition '0': 1 file(s) sorting at or before"
                + " skus_00005.json in this partition arrived after it was committed.");
    WaymarkException refused =
        new WaymarkException(
            "Database error on jdbc:postgresql://db/etl in partition 3: permission denied",
            new java.sql.SQLException("permission denied for table skus_staging", "42501"));

    assertThat(CoordinatedIngest.failsTheJob(malformed)).isTrue();
    assertThat(CoordinatedIngest.failsTheJob(late)).isTrue();
    assertThat(CoordinatedIngest.failsTheJob(refused)).isTrue();
  }

  @Test
  void exhaustedRetriesALostPartitionAStopAndTheJvmsOwnTroubleDoNot() {
    assertThat(
            CoordinatedIngest.failsTheJob(
                new RetriesExhaustedException(
                    "Gave up after 8 attempts", new java.sql.SQLException("refused", "08001"))))
        .isFalse();
    assertThat(CoordinatedIngest.failsTheJob(new PartitionLostException("taken over"))).isFalse();
    assertThat(
            CoordinatedIngest.failsTheJob(new FencedException("job 'night' partition '0'", 1, 2)))
        .isFalse();
    assertThat(CoordinatedIngest.failsTheJob(new JobFailedException("failed elsewhere"))).isFalse();
    assertThat(
            CoordinatedIngest.failsTheJob(
                new WaymarkException(
                    "interrupted while waiting to retry", new InterruptedException())))
        .isFalse();
    assertThat(
            CoordinatedIngest.failsTheJob(
                new WaymarkException("java.lang.OutOfMemoryError", new OutOfMemoryError())))
        .isFalse();
  }
}
