package dev.waymark.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.file.FileGlobalCheckpointStore;
import dev.waymark.checkpoint.file.FileStoreOptions;
import dev.waymark.checkpoint.global.GlobalCheckpoint;
import dev.waymark.checkpoint.global.PartitionMark;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The coordinator against the real file store: who marks what, and when N completes. */
class GlobalCoordinatorTest {
  @TempDir Path state;

  private static Map<String, PartitionMark> fresh(String... partitions) {
    Map<String, PartitionMark> marks = new java.util.HashMap<>();
    for (String p : partitions) {
      marks.put(p, PartitionMark.of(p, Optional.empty()));
    }
    return marks;
  }

  @Test
  void aBarrierCompletesOnlyOnceEveryActivePartitionHasReachedAUnitBoundary() throws Exception {
    try (FileGlobalCheckpointStore store =
            FileGlobalCheckpointStore.open(state, "job", FileStoreOptions.ofDefaults(), 10);
        GlobalCoordinator coordinator =
            new GlobalCoordinator(
                store, fresh("0", "1", "2", "3"), Duration.ofMillis(10), Faults.none())) {
      PartitionHooks hooks = coordinator.around(PartitionHooks.NONE);
      assertThat(hooks.nextPartition(() -> "0")).isEqualTo("0");
      assertThat(hooks.nextPartition(() -> "1")).isEqualTo("1");
      hooks.unitCommitted("0", Cursor.ofFile("a.json", 1));
      coordinator.start();

      // Partitions 2 and 3 are idle and marked at once; 0 and 1 are mid-unit: nothing completes.
      TimeUnit.MILLISECONDS.sleep(300);
      assertThat(store.completeNumbers()).isEmpty();

      hooks.unitCommitted("0", Cursor.ofFile("b.json", 2));
      hooks.unitCommitted("1", Cursor.ofFile("c.json", 1));
      GlobalCheckpoint first = awaitComplete(store);

      assertThat(first.cut().get("0").cursor()).isEqualTo(Cursor.ofFile("b.json", 2));
      assertThat(first.cut().get("0").sequence()).isEqualTo(2);
      assertThat(first.cut().get("1").cursor()).isEqualTo(Cursor.ofFile("c.json", 1));
      assertThat(first.cut().get("2").position()).isEmpty();
      assertThat(first.cut().get("3").position()).isEmpty();

      hooks.partitionFinished("0", Optional.of(Cursor.ofFile("b.json", 2)));
      hooks.partitionFinished("1", Optional.of(Cursor.ofFile("c.json", 1)));
      GlobalCheckpoint last = coordinator.finish();
      assertThat(last.number()).isGreaterThan(first.number());
      assertThat(last.cut()).isEqualTo(first.cut());
    }
  }

  @Test
  void withoutAnIntervalOnlyTheFinalCheckpointIsWritten() {
    try (FileGlobalCheckpointStore store =
            FileGlobalCheckpointStore.open(state, "job", FileStoreOptions.ofDefaults(), 10);
        GlobalCoordinator coordinator =
            new GlobalCoordinator(store, fresh("0", "1"), null, Faults.none())) {
      coordinator.start();
      PartitionHooks hooks = coordinator.around(PartitionHooks.NONE);
      hooks.nextPartition(() -> "1");
      hooks.unitCommitted("1", Cursor.ofFile("x.json", 3));
      hooks.partitionFinished("1", Optional.of(Cursor.ofFile("x.json", 3)));
      assertThat(store.completeNumbers()).isEmpty();

      GlobalCheckpoint last = coordinator.finish();

      assertThat(last.number()).isEqualTo(1);
      assertThat(last.cut().get("1").cursor()).isEqualTo(Cursor.ofFile("x.json", 3));
      assertThat(last.cut().get("0").position()).isEmpty();
    }
  }

  private static GlobalCheckpoint awaitComplete(FileGlobalCheckpointStore store)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (store.completeNumbers().isEmpty()) {
      assertThat(System.nanoTime()).as("a complete global checkpoint").isLessThan(deadline);
      TimeUnit.MILLISECONDS.sleep(20);
    }
    return store.lastComplete().orElseThrow();
  }
}
