package dev.waymark.checkpoint.file;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.waymark.checkpoint.CheckpointInvalidException;
import dev.waymark.checkpoint.PartitionLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The job's {@code layout} file: its exact bytes, damage detection, and the audit's view. */
class LayoutFileTest {
  @TempDir Path state;

  @Test
  void writesOneChecksummedCanonicalLine() throws Exception {
    try (FileCheckpointStore store = FileCheckpointStore.open(state, "nightly")) {
      store.recordLayout(new PartitionLayout(4, "crc32c-utf8-mod"));
    }
    String line = Files.readString(state.resolve("nightly/layout"), StandardCharsets.UTF_8);
    assertThat(line)
        .matches(
            "\\{\"crc32c\":\"[0-9a-f]{8}\",\"format\":\"waymark-layout\",\"hash\":"
                + "\"crc32c-utf8-mod\",\"job\":\"nightly\",\"partitions\":4\\}\n");
    assertThat(FileStoreAudit.run(state).findings()).isEmpty();
  }

  @Test
  void aDamagedLayoutIsInvalidNeverAbsentAndTheAuditSaysSo() throws Exception {
    try (FileCheckpointStore store = FileCheckpointStore.open(state, "nightly")) {
      store.recordLayout(new PartitionLayout(4, "crc32c-utf8-mod"));
    }
    Path file = state.resolve("nightly/layout");
    Files.writeString(file, Files.readString(file).replace("\"partitions\":4", "\"partitions\":5"));
    assertThatThrownBy(() -> FileCheckpointStore.reader(state, "nightly").layout())
        .isInstanceOf(CheckpointInvalidException.class)
        .hasMessageContaining("the job's partition layout is damaged")
        .hasMessageContaining("--rescan");
    assertThat(FileStoreAudit.run(state).findings())
        .singleElement()
        .satisfies(
            f -> {
              assertThat(f.severity()).isEqualTo(FileStoreAudit.Severity.INVALID);
              assertThat(f.path()).isEqualTo(file);
            });
  }
}
