package dev.waymark.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.waymark.WaymarkException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The behaviour every {@link CheckpointStore} must have. Each store's test extends this class and
 * says how to open a fresh store and how to reopen it (a new writer for the same job).
 */
public abstract class CheckpointStoreContractTest {

  protected CheckpointStore store;

  /** Opens a store for job {@code job} in a fresh, empty location (same location for a test). */
  protected abstract CheckpointStore open(String job);

  @BeforeEach
  void openStore() {
    store = open("nightly");
  }

  @AfterEach
  void closeStore() {
    if (store != null) {
      store.close();
    }
  }

  /** Closes the current store and opens a new writer for the same job. */
  protected CheckpointStore reopen() {
    store.close();
    store = open("nightly");
    return store;
  }

  @Test
  void readsNothingBeforeTheFirstCommit() {
    assertThat(store.read()).isEmpty();
    assertThat(store.read("3")).isEmpty();
    assertThat(store.history("0")).isEmpty();
  }

  @Test
  void readsBackWhatWasCommitted() {
    Checkpoint committed = store.commit(Cursor.ofFile("skus_08216.json", 8217));

    Checkpoint read = store.read().orElseThrow();
    assertThat(read).isEqualTo(committed);
    assertThat(read.cursor().string("file")).contains("skus_08216.json");
    assertThat(read.cursor().number("files")).hasValue(8217);
    assertThat(read.job()).isEqualTo("nightly");
    assertThat(read.partition()).isEqualTo(CheckpointReader.DEFAULT_PARTITION);
  }

  @Test
  void sequenceGrowsByExactlyOnePerCommit() {
    for (int i = 1; i <= 5; i++) {
      assertThat(store.commit(Cursor.ofOffset(i * 100L)).sequence()).isEqualTo(i);
    }
    assertThat(reopen().commit(Cursor.ofOffset(600)).sequence()).isEqualTo(6);
  }

  @Test
  void survivesReopeningWithTheLastCommittedCursor() {
    store.commit(Cursor.ofKey("sku-1"));
    store.commit(Cursor.ofKey("sku-2"));

    assertThat(reopen().read().orElseThrow().cursor()).isEqualTo(Cursor.ofKey("sku-2"));
  }

  @Test
  void epochGrowsWithEachNewWriterAndIsStampedOnCommits() {
    long first = store.epoch();
    assertThat(store.commit(Cursor.ofOffset(1)).epoch()).isEqualTo(first);

    long second = reopen().epoch();
    assertThat(second).isGreaterThan(first);
    assertThat(store.commit(Cursor.ofOffset(2)).epoch()).isEqualTo(second);
  }

  @Test
  void keepsPartitionsIndependent() {
    store.commit("a", Cursor.ofOffset(10));
    store.commit("b", Cursor.ofOffset(20));
    store.commit("a", Cursor.ofOffset(11));

    assertThat(store.read("a").orElseThrow().cursor()).isEqualTo(Cursor.ofOffset(11));
    assertThat(store.read("a").orElseThrow().sequence()).isEqualTo(2);
    assertThat(store.read("b").orElseThrow().cursor()).isEqualTo(Cursor.ofOffset(20));
    assertThat(store.read("b").orElseThrow().sequence()).isEqualTo(1);
    assertThat(store.partitions()).contains("a", "b");
  }

  @Test
  void commitsToDifferentPartitionsConcurrently() throws Exception {
    int partitions = 4, commits = 25;
    ExecutorService pool = Executors.newFixedThreadPool(partitions);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int p = 0; p < partitions; p++) {
        String partition = "p" + p;
        done.add(
            pool.submit(
                () -> {
                  for (int i = 1; i <= commits; i++) {
                    store.commit(partition, Cursor.ofOffset(i));
                  }
                }));
      }
      for (Future<?> f : done) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
    for (int p = 0; p < partitions; p++) {
      Checkpoint c = store.read("p" + p).orElseThrow();
      assertThat(c.sequence()).isEqualTo(commits);
      assertThat(c.cursor()).isEqualTo(Cursor.ofOffset(commits));
    }
  }

  @Test
  void keepsHistoryOldestFirstEndingWithTheCurrentCheckpoint() {
    for (int i = 1; i <= 3; i++) {
      store.commit(Cursor.ofOffset(i));
    }
    List<Checkpoint> history = store.history("0");
    assertThat(history).extracting(Checkpoint::sequence).containsExactly(1L, 2L, 3L);
    assertThat(history.get(2)).isEqualTo(store.read().orElseThrow());
  }

  @Test
  void rollsBackAsANewCommitWithTheOldCursor() {
    store.commit(Cursor.ofOffset(100));
    store.commit(Cursor.ofOffset(200));
    store.commit(Cursor.ofOffset(300));

    Checkpoint rolledBack = store.rollback("0", 1);

    assertThat(rolledBack.sequence()).isEqualTo(4);
    assertThat(rolledBack.cursor()).isEqualTo(Cursor.ofOffset(100));
    assertThat(store.read().orElseThrow()).isEqualTo(rolledBack);
  }

  @Test
  void refusesToRollBackToAVersionThatIsNotKept() {
    store.commit(Cursor.ofOffset(100));

    assertThatThrownBy(() -> store.rollback("0", 7))
        .isInstanceOf(WaymarkException.class)
        .hasMessageContaining("sequence 7")
        .hasMessageContaining("Kept: [1]");
  }

  @Test
  void resetForgetsThePartitionOnly() {
    store.commit("a", Cursor.ofOffset(1));
    store.commit("b", Cursor.ofOffset(2));

    store.reset("a");

    assertThat(store.read("a")).isEmpty();
    assertThat(store.read("b")).isPresent();
    assertThat(store.commit("a", Cursor.ofOffset(5)).sequence()).isEqualTo(1);
  }

  @Test
  void refusesInvalidPartitionNames() {
    for (String bad : List.of("", "..", "../x", "a/b", "a b", ".hidden", "x".repeat(101))) {
      assertThatThrownBy(() -> store.commit(bad, Cursor.ofOffset(1)))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("partition name");
    }
  }

  @Test
  void storesEveryKindOfCursorField() {
    Cursor cursor = Cursor.of(Map.of("s", "ünïcødé \"quoted\"\n", "n", -5L, "b", true));
    store.commit(cursor);
    assertThat(reopen().read().orElseThrow().cursor()).isEqualTo(cursor);
  }

  @Test
  void recordsTheJobsLayoutAndALaterWriterReadsIt() {
    assertThat(store.layout()).isEmpty();
    store.recordLayout(new PartitionLayout(4, "crc32c-utf8-mod"));
    assertThat(store.layout()).contains(new PartitionLayout(4, "crc32c-utf8-mod"));
    reopen();
    assertThat(store.layout()).contains(new PartitionLayout(4, "crc32c-utf8-mod"));
    store.recordLayout(new PartitionLayout(2, "crc32c-utf8-mod"));
    assertThat(store.layout()).contains(new PartitionLayout(2, "crc32c-utf8-mod"));
  }
}
