package dev.waymark.checkpoint.file;

import static org.assertj.core.api.Assertions.assertThat;

import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.Retention;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pruning of history by a store that keeps none ({@code keepLast(0)}). */
class HistoryPruningTest {

  @TempDir Path state;

  private final AtomicInteger historyListings = new AtomicInteger();
  private final AtomicInteger historyDeletesToFail = new AtomicInteger();

  private final CheckpointFileSystem recording =
      new ForwardingCheckpointFileSystem(CheckpointFileSystem.system()) {
        @Override
        public List<Path> list(Path dir) throws IOException {
          if (dir.getFileName().toString().equals(FileLayout.HISTORY)) {
            historyListings.incrementAndGet();
          }
          return super.list(dir);
        }

        @Override
        public void delete(Path path) throws IOException {
          if (FileLayout.historySequence(path).isPresent()
              && historyDeletesToFail.getAndDecrement() > 0) {
            throw new IOException("injected: cannot delete " + path);
          }
          super.delete(path);
        }
      };

  private FileCheckpointStore open(int keepLast) {
    return FileCheckpointStore.open(
        state,
        "nightly",
        FileStoreOptions.builder()
            .retention(Retention.builder().keepLast(keepLast).build())
            .fileSystem(recording)
            .build());
  }

  private List<String> historyFiles() throws IOException {
    try (Stream<Path> files = Files.list(state.resolve("nightly/partitions/0/history"))) {
      return files.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void aStoreWithoutHistoryDropsTheHistoryAnEarlierStoreKept() throws IOException {
    try (FileCheckpointStore store = open(10)) {
      for (int i = 1; i <= 3; i++) {
        store.commit(Cursor.ofOffset(i));
      }
    }
    assertThat(historyFiles()).hasSize(3);

    try (FileCheckpointStore store = open(0)) {
      store.commit(Cursor.ofOffset(4));
    }
    assertThat(historyFiles()).isEmpty();
  }

  @Test
  void aStoreWithoutHistoryListsTheHistoryFolderOnlyOnAPartitionsFirstCommit() {
    try (FileCheckpointStore store = open(0)) {
      store.commit(Cursor.ofOffset(1));
      store.commit("1", Cursor.ofOffset(1));
      historyListings.set(0);
      for (int i = 2; i <= 5; i++) {
        store.commit(Cursor.ofOffset(i));
        store.commit("1", Cursor.ofOffset(i));
      }
    }
    assertThat(historyListings).hasValue(0);
  }

  @Test
  void aPruneThatFailedIsRetriedOnTheNextCommit() throws IOException {
    try (FileCheckpointStore store = open(10)) {
      store.commit(Cursor.ofOffset(1));
      store.commit(Cursor.ofOffset(2));
    }
    try (FileCheckpointStore store = open(0)) {
      historyDeletesToFail.set(1);
      store.commit(Cursor.ofOffset(3)); // durable; the prune's failure is only logged
      assertThat(historyFiles()).isNotEmpty();

      store.commit(Cursor.ofOffset(4));
      assertThat(historyFiles()).isEmpty();
      assertThat(store.read().orElseThrow().sequence()).isEqualTo(4);
    }
  }
}
