package dev.waymark.checkpoint.global;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class GlobalCheckpointNotAvailableExceptionTest {

  @Test
  void saysWhyTheNumberCannotBeUsedAndWhichCan() {
    assertThat(new GlobalCheckpointNotAvailableException(0, "j", List.of(4L, 5L), 5, 10))
        .hasMessage(
            "Global checkpoint 0 of job 'j' cannot be used: global checkpoints are numbered from 1."
                + " Complete global checkpoints available: [4, 5]. Choose one of those, or leave N"
                + " out for the last.");
    assertThat(new GlobalCheckpointNotAvailableException(9, "j", List.of(4L, 5L), 5, 10))
        .hasMessageContaining("no barrier with that number was ever issued (the last was 5)");
    assertThat(new GlobalCheckpointNotAvailableException(3, "j", List.of(4L, 5L), 5, 2))
        .hasMessageContaining("or it was pruned (the last 2 complete ones are kept)");
  }

  /** A rollback keeps every global checkpoint; pruning is the next run's, to its --global-keep. */
  @Test
  void aStoreThatKeepsAllSaysThatRunsPruneNotAnAbsurdCount() {
    assertThat(new GlobalCheckpointNotAvailableException(3, "j", List.of(4L), 5, Integer.MAX_VALUE))
        .hasMessageContaining("or it was pruned (a run keeps its --global-keep last complete ones)")
        .hasMessageNotContaining(String.valueOf(Integer.MAX_VALUE));
  }
}
