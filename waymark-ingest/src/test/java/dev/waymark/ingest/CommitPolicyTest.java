package dev.waymark.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class CommitPolicyTest {

  @ParameterizedTest
  @CsvSource({"1, 1 file", "50, 50 files", "500ms, 500ms", "1s, 1s", "2m, 120s", "1h, 3600s"})
  void takesAFileCountOrADurationInEveryUnitTheOtherFlagsTake(String value, String shown) {
    assertThat(CommitPolicy.parse(value)).hasToString(shown);
  }

  @Test
  void aFileCountEndsAUnitAtThatCountAndADurationAfterThatTimeOrItsRunsFirstFile() {
    CommitPolicy files = CommitPolicy.parse("3");
    assertThat(files.unitComplete(2, Duration.ofHours(1), true)).isFalse();
    assertThat(files.unitComplete(3, Duration.ZERO, false)).isTrue();

    CommitPolicy timed = CommitPolicy.parse("2s");
    assertThat(timed.unitComplete(1, Duration.ofMillis(1999), false)).isFalse();
    assertThat(timed.unitComplete(1, Duration.ofSeconds(2), false)).isTrue();
    assertThat(timed.unitComplete(1, Duration.ZERO, true)).isTrue();
  }

  @ParameterizedTest
  @ValueSource(strings = {"0s", "0ms", "0h"})
  void aZeroDurationIsRefusedAsWritten(String value) {
    assertThatThrownBy(() -> CommitPolicy.parse(value))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "--commit-every '" + value + "' is not a positive duration (e.g. 500ms, 1s, 2m, 1h)");
  }

  @Test
  void zeroFilesOrAnotherFormIsRefusedWithTheFormsItTakes() {
    assertThatThrownBy(() -> CommitPolicy.parse("0"))
        .hasMessage("--commit-every needs at least 1 file, found 0");
    assertThatThrownBy(() -> CommitPolicy.parse("1d"))
        .hasMessage(
            "--commit-every '1d' is neither a number of files (e.g. 1, 50) nor a duration (e.g."
                + " 500ms, 1s, 2m, 1h)");
    assertThatThrownBy(() -> CommitPolicy.every(Duration.ZERO))
        .hasMessage("--commit-every needs a positive duration, found 0ms");
  }
}
