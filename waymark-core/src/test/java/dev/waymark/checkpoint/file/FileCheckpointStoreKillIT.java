package dev.waymark.checkpoint.file;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real processes, really killed: child JVMs commit checkpoints in a loop and are killed with
 * SIGKILL at random instants; after each kill the store must hold the last acknowledged checkpoint
 * or the one being committed, intact (see {@link KillLoop} for every check).
 *
 * <p>System properties: {@code waymark.killtest.seed} (the schedule's seed, printed by each run),
 * {@code waymark.killtest.kills} (default 200), {@code waymark.killtest.workers} (jobs killed
 * concurrently, default 2). To replay a run: {@code mvn -pl waymark-core verify
 * -Dit.test=FileCheckpointStoreKillIT -Dwaymark.killtest.seed=SEED}.
 */
class FileCheckpointStoreKillIT {
  private static final long SEED = Long.getLong("waymark.killtest.seed", 20261126L);
  private static final int KILLS = Integer.getInteger("waymark.killtest.kills", 200);
  private static final int WORKERS = Integer.getInteger("waymark.killtest.workers", 2);
  private static final double EARLY_SHARE = 0.15;
  private static final Duration MAX_DELAY = Duration.ofMillis(150);
  private static final String REPLAY =
      "mvn -pl waymark-core verify -Dit.test=FileCheckpointStoreKillIT -Dwaymark.killtest.seed=";

  @TempDir Path tmp;

  @Test
  @Timeout(value = 15, unit = java.util.concurrent.TimeUnit.MINUTES)
  void everyKillLeavesTheLastAcknowledgedCheckpointOrTheNextOne() throws Exception {
    System.out.printf(
        "Kill test: seed %d (-Dwaymark.killtest.seed), %d kills (-Dwaymark.killtest.kills),"
            + " %d jobs killed concurrently%n",
        SEED, KILLS, WORKERS);
    long started = System.nanoTime();
    ExecutorService pool = Executors.newFixedThreadPool(WORKERS);
    List<KillLoop.Outcome> outcomes = new ArrayList<>();
    try {
      List<Future<KillLoop.Outcome>> futures = new ArrayList<>();
      for (int w = 0; w < WORKERS; w++) {
        int kills = KILLS / WORKERS + (w < KILLS % WORKERS ? 1 : 0);
        KillLoop loop =
            new KillLoop(
                tmp.resolve("worker-" + w),
                "killtest-" + w,
                new Random(workerSeed(w)),
                false,
                EARLY_SHARE,
                MAX_DELAY,
                "job killtest-" + w);
        futures.add(pool.submit(() -> loop.run(kills)));
      }
      for (Future<KillLoop.Outcome> f : futures) {
        outcomes.add(f.get());
      }
    } finally {
      pool.shutdownNow();
    }
    Duration took = Duration.ofNanos(System.nanoTime() - started);

    List<KillLoop.Round> rounds = outcomes.stream().flatMap(o -> o.rounds().stream()).toList();
    System.out.println(report(rounds, took));
    List<String> violations =
        outcomes.stream().map(KillLoop.Outcome::violation).flatMap(Optional::stream).toList();
    assertThat(violations).as("seed %d; replay with %s%d", SEED, REPLAY, SEED).isEmpty();
    assertThat(rounds).as("kills performed (seed %d)", SEED).hasSizeGreaterThanOrEqualTo(KILLS);
    long inOperation =
        rounds.stream()
            .filter(
                r ->
                    r.phase() == KillLoop.Phase.IN_COMMIT
                        || r.phase() == KillLoop.Phase.IN_ROLLBACK)
            .count();
    assertThat(inOperation)
        .as("kills inside commit() or rollback(), of %d (seed %d)", rounds.size(), SEED)
        .isGreaterThanOrEqualTo(rounds.size() / 2);
    if (rounds.size() >= 100) {
      assertThat(rounds)
          .as("kills inside rollback() (seed %d)", SEED)
          .anyMatch(r -> r.phase() == KillLoop.Phase.IN_ROLLBACK);
    }
  }

  @Test
  @Timeout(value = 10, unit = java.util.concurrent.TimeUnit.MINUTES)
  void theSameChecksCatchATornCheckpointWhenTheRenameIsNotAtomic() throws Exception {
    int limit = 100;
    KillLoop loop =
        new KillLoop(
            tmp.resolve("non-atomic"),
            "torn",
            new Random(SEED),
            true,
            EARLY_SHARE,
            MAX_DELAY,
            "job torn (non-atomic rename)");

    KillLoop.Outcome outcome = loop.run(limit);

    System.out.printf(
        "Non-atomic rename: the checks failed after %d kill(s) (seed %d): %s%n",
        outcome.rounds().size(), SEED, outcome.violation().orElse("none"));
    assertThat(outcome.violation())
        .as(
            "a kill test whose child renames non-atomically must find a torn checkpoint within"
                + " %d kills (seed %d)",
            limit, SEED)
        .hasValueSatisfying(v -> assertThat(v).containsAnyOf("cannot be read", "cannot be opened"));
  }

  private static long workerSeed(int worker) {
    return SEED ^ (0x9E3779B97F4A7C15L * (worker + 1));
  }

  /** The distribution of kills: when they landed and what they left. */
  static String report(List<KillLoop.Round> rounds, Duration took) {
    StringBuilder out = new StringBuilder();
    out.append(
        String.format(
            "Kill test: %d kills in %.1f s (seed %d); %d early (from launch), %d after 'ready'%n",
            rounds.size(),
            took.toMillis() / 1000.0,
            SEED,
            rounds.stream().filter(KillLoop.Round::early).count(),
            rounds.stream().filter(r -> !r.early()).count()));
    long[] toReady =
        rounds.stream()
            .mapToLong(KillLoop.Round::millisToReady)
            .filter(t -> t >= 0)
            .sorted()
            .toArray();
    if (toReady.length > 0) {
      out.append(
          String.format(
              "  child JVM launch to 'ready' (store open): median %d ms, 90th percentile %d ms%n",
              toReady[toReady.length / 2], toReady[toReady.length * 9 / 10]));
    }
    out.append("  where the kill landed                      kills  left the in-flight version\n");
    for (KillLoop.Phase phase : KillLoop.Phase.values()) {
      List<KillLoop.Round> in = rounds.stream().filter(r -> r.phase() == phase).toList();
      out.append(
          String.format(
              "    %-40s %5d  %5d%n",
              phase.description,
              in.size(),
              in.stream().filter(KillLoop.Round::leftTheNext).count()));
    }
    out.append("  commits acknowledged by the killed child:\n");
    countBy(rounds, r -> bucket(r.acks()))
        .forEach((k, n) -> out.append(String.format("    %-40s %5d%n", k, n)));
    out.append(
        String.format(
            "  commits and rollbacks acknowledged: %d; highest sequence reached: %d%n",
            rounds.stream().mapToLong(KillLoop.Round::acks).sum(),
            rounds.stream().mapToLong(KillLoop.Round::recovered).max().orElse(0)));
    return out.toString();
  }

  private static String bucket(int acks) {
    // Labels sort in numeric order.
    if (acks == 0) {
      return " 0";
    }
    if (acks <= 5) {
      return " 1-5";
    }
    if (acks <= 20) {
      return " 6-20";
    }
    return acks <= 50 ? "21-50" : "51 or more";
  }

  private static Map<String, Long> countBy(
      List<KillLoop.Round> rounds, Function<KillLoop.Round, String> key) {
    return rounds.stream().collect(Collectors.groupingBy(key, TreeMap::new, Collectors.counting()));
  }
}
