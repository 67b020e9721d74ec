package dev.waymark.checkpoint.file;

import static org.assertj.core.api.Assertions.assertThat;

import dev.waymark.checkpoint.CheckpointStore;
import dev.waymark.checkpoint.global.GlobalCheckpointStore;
import dev.waymark.checkpoint.global.GlobalCheckpointStoreContractTest;
import dev.waymark.checkpoint.global.PartitionMark;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileGlobalCheckpointStoreTest extends GlobalCheckpointStoreContractTest {
  @TempDir Path state;

  @Override
  protected CheckpointStore openCheckpoints() {
    return FileCheckpointStore.open(state, JOB);
  }

  @Override
  protected GlobalCheckpointStore openGlobal(int keep) {
    return FileGlobalCheckpointStore.open(state, JOB, FileStoreOptions.ofDefaults(), keep);
  }

  @Override
  protected GlobalCheckpointStore reader() {
    return FileGlobalCheckpointStore.reader(state, JOB);
  }

  @Override
  protected void tamperComplete(long n, UnaryOperator<String> change) throws Exception {
    Path file = FileGlobalCheckpointStore.reader(state, JOB).completeFile(n);
    Files.writeString(file, change.apply(Files.readString(file, StandardCharsets.UTF_8)));
  }

  @Test
  void writesOneFilePerRecordAndDropsMarkersOnceComplete() throws Exception {
    try (FileGlobalCheckpointStore g =
        FileGlobalCheckpointStore.open(state, JOB, FileStoreOptions.ofDefaults(), 10)) {
      long n = g.issueBarrier();
      g.mark(n, PartitionMark.of("0", Optional.empty()));
      g.mark(n, PartitionMark.of("1", Optional.empty()));
      assertThat(names())
          .containsExactly(
              "00000000000000000001.0.marker", "00000000000000000001.1.marker", "barrier");

      g.complete(n, List.of("0", "1"));

      assertThat(names()).containsExactly("00000000000000000001.complete", "barrier");
      assertThat(Files.readString(g.completeFile(1)))
          .startsWith("{\"completed_at\":\"")
          .contains(
              "\"cut\":{\"0\":{\"cursor\":null,\"sequence\":0},\"1\":{\"cursor\":null,"
                  + "\"sequence\":0}},\"format\":\"waymark-global\",\"job\":\"nightly\","
                  + "\"kind\":\"complete\",\"n\":1,\"version\":1}\n");
    }
  }

  @Test
  void openDeletesTheMarkersAndTempFilesOfACheckpointThatNeverCompleted() throws Exception {
    try (FileGlobalCheckpointStore g =
        FileGlobalCheckpointStore.open(state, JOB, FileStoreOptions.ofDefaults(), 10)) {
      g.mark(g.issueBarrier(), PartitionMark.of("0", Optional.empty()));
    }
    Files.writeString(state.resolve(JOB).resolve("global/.barrier.0123.tmp"), "torn");

    FileGlobalCheckpointStore.open(state, JOB, FileStoreOptions.ofDefaults(), 10).close();

    assertThat(names()).containsExactly("barrier");
  }

  private List<String> names() throws Exception {
    try (Stream<Path> s = Files.list(state.resolve(JOB).resolve("global"))) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }
}
