package dev.waymark.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PartitionLayoutTest {
  @Test
  void namesItsPartitionsFromZeroInOrder() {
    assertThat(new PartitionLayout(1, "crc32c-utf8-mod").ids()).containsExactly("0");
    assertThat(new PartitionLayout(12, "crc32c-utf8-mod").ids())
        .hasSize(12)
        .startsWith("0", "1", "2")
        .endsWith("10", "11");
  }

  @Test
  void refusesNoPartitionsAndAHashNameOutsideItsAlphabet() {
    assertThatThrownBy(() -> new PartitionLayout(0, "crc32c-utf8-mod"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("partitions must be at least 1, found 0");
    assertThatThrownBy(() -> new PartitionLayout(2, "crc32c utf8"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("found 'crc32c utf8'");
  }
}
