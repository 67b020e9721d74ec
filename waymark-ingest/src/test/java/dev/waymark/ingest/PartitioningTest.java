package dev.waymark.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The partition function is a contract: jobs recorded under {@value Partitioning#HASH} resume only
 * if it never changes. These golden values were computed once and must stay.
 */
class PartitioningTest {
  @TempDir Path tmp;

  @Test
  void assignsTheGoldenPartitions() {
    // CRC-32C("123456789") is the standard check value 0xe3069283; 0x83 = 131, 131 mod 4 = 3.
    assertThat(Partitioning.of("123456789", 4)).isEqualTo(3);
    assertThat(Partitioning.of("123456789", 1000)).isEqualTo((int) (0xe3069283L % 1000));
    assertThat(Partitioning.of("skus_00000.json", 4)).isEqualTo(0); // 0xfd9bac5c
    assertThat(Partitioning.of("skus_00001.json", 4)).isEqualTo(1); // 0x12abc745
    assertThat(Partitioning.of("skus_00002.json", 4)).isEqualTo(3); // 0x26170c9f
    assertThat(Partitioning.of("skus_00003.json", 4)).isEqualTo(2); // 0xc9276786
    assertThat(Partitioning.of("skus_08216.json", 4)).isEqualTo(1); // 0xd6ea1ff9
    assertThat(Partitioning.of("skus_08216.json", 3)).isEqualTo(2);
    assertThat(Partitioning.of("\u00e9.json", 4)).isEqualTo(1); // UTF-8 bytes, 0xf7d6d549
    assertThat(Partitioning.of("", 4)).isEqualTo(0);
  }

  @Test
  void onePartitionHoldsEverything() {
    assertThat(Partitioning.of("anything", 1)).isZero();
    assertThatThrownBy(() -> Partitioning.of("x", 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("at least 1");
  }

  @Test
  void theSubListingsSplitTheListingInOrderWithoutOverlap() {
    FeedGenerator.generate(tmp, 40, 2, 3);
    FileListing all = FileListing.of(tmp, IngestOptions.DEFAULT_GLOB);
    List<String> union = new ArrayList<>();
    for (int p = 0; p < 4; p++) {
      FileListing mine = all.partition(p, 4);
      assertThat(mine.names()).isSortedAccordingTo(FileListing.BYTE_ORDER);
      for (String name : mine.names()) {
        assertThat(Partitioning.of(name, 4)).isEqualTo(p);
      }
      union.addAll(mine.names());
    }
    assertThat(union).containsExactlyInAnyOrderElementsOf(all.names());
    assertThat(all.partition(0, 1)).isSameAs(all);
  }
}
