package dev.waymark.bench;

import dev.waymark.checkpoint.Retention;
import dev.waymark.checkpoint.file.CheckpointFileSystem;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.FileStore;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * Commit latency of {@code FileCheckpointStore} beside the raw steps of a crash-safe write, in one
 * run. Run by hand (see BENCHMARKS.md):
 *
 * <pre>
 * mvn -B -pl waymark-bench -am package -DskipTests
 * java -cp "waymark-bench/target/classes:waymark-core/target/classes" \
 *     dev.waymark.bench.CommitLatencyBenchmark [--commits N] [--dir PATH] [--breakdown]
 * </pre>
 *
 * <h2>Design notes</h2>
 *
 * Commit latency here is bound by {@code fsync}, which a shared machine makes noisy from one second
 * to the next. So the variants are not run one after the other: every round runs a short batch of
 * each variant, in an order shuffled per round (seeded), and a burst of noise lands on all of them
 * alike. Each commit is timed on its own with {@link System#nanoTime()} around exactly the work
 * being compared (the cursor, name and bytes are prepared outside the timed region), so the figures
 * are per-operation order statistics rather than JMH-style throughput averages, which an outlier
 * {@code fsync} would dominate. Warm-up commits run interleaved the same way and are not recorded.
 */
public final class CommitLatencyBenchmark {
  private static final String USAGE =
      """
      Usage: CommitLatencyBenchmark [--commits N] [--warmup N] [--batch N] [--dir PATH] [--seed N]
                                    [--breakdown] [--keep]
        --commits N   measured commits per variant (default 3000)
        --warmup N    unrecorded warm-up commits per variant, interleaved too (default 2000)
        --batch N     commits of one variant in a row within a round (default 10)
        --dir PATH    where to create the benchmark's scratch directory (default: java.io.tmpdir);
                      put it on the file system you want to measure
        --seed N      seed of the per-round variant order (default 1)
        --breakdown   then run all variants again with each file-system call timed, and print
                      where each commit's time goes
        --keep        keep the scratch directory instead of deleting it
      """;

  private int commits = 3000;
  private int warmup = 2000;
  private int batch = 10;
  private Path parent = Path.of(System.getProperty("java.io.tmpdir"));
  private long seed = 1;
  private boolean breakdown;
  private boolean keep;
  private final PrintStream out = System.out;

  private CommitLatencyBenchmark() {}

  public static void main(String[] args) throws Exception {
    CommitLatencyBenchmark bench = new CommitLatencyBenchmark();
    try {
      bench.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.err.print(USAGE);
      System.exit(2);
    }
    bench.run();
  }

  private void parse(String[] args) {
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      switch (arg) {
        case "--commits" -> commits = positive(arg, value(args, ++i, arg));
        case "--warmup" -> warmup = Math.max(0, Integer.parseInt(value(args, ++i, arg)));
        case "--batch" -> batch = positive(arg, value(args, ++i, arg));
        case "--dir" -> parent = Path.of(value(args, ++i, arg));
        case "--seed" -> seed = Long.parseLong(value(args, ++i, arg));
        case "--breakdown" -> breakdown = true;
        case "--keep" -> keep = true;
        case "--help", "-h" -> {
          System.out.print(USAGE);
          System.exit(0);
        }
        default -> throw new IllegalArgumentException("Unknown option: " + arg);
      }
    }
  }

  private static String value(String[] args, int i, String option) {
    if (i >= args.length) {
      throw new IllegalArgumentException(option + " needs a value");
    }
    return args[i];
  }

  private static int positive(String option, String value) {
    int n = Integer.parseInt(value);
    if (n < 1) {
      throw new IllegalArgumentException(option + " must be at least 1: " + value);
    }
    return n;
  }

  private void run() throws IOException {
    Files.createDirectories(parent);
    Path root = Files.createTempDirectory(parent.toAbsolutePath(), "waymark-bench-");
    try {
      printEnvironment(root);
      List<Variant> variants = new ArrayList<>();
      try {
        variants.add(
            new Variant.RawReplace(
                "baseline",
                "raw steps: create temp, write, fsync, rename over target, fsync dir",
                root.resolve("baseline"),
                0,
                null));
        variants.add(
            new Variant.RawReplace(
                "baseline+link",
                "baseline + hard link into history/, fsync history/, unlink entry N-10",
                root.resolve("baseline-link"),
                Retention.DEFAULT_KEEP_LAST,
                null));
        variants.add(
            new Variant.StoreCommit(
                "store keepLast(0)",
                "FileCheckpointStore.commit, no history",
                root.resolve("store-nohistory"),
                Retention.builder().keepLast(0).build(),
                CheckpointFileSystem.system()));
        variants.add(
            new Variant.StoreCommit(
                "store keepLast(10)",
                "FileCheckpointStore.commit, default history (last 10)",
                root.resolve("store-history"),
                Retention.ofDefaults(),
                CheckpointFileSystem.system()));
        long[][] samples = runInterleaved(variants, (v, measured, nanos) -> {});
        report(variants, samples);
      } finally {
        closeAll(variants);
      }
      if (breakdown) {
        profile(root);
      }
    } finally {
      if (keep) {
        out.println("Kept " + root);
      } else {
        deleteRecursively(root);
      }
    }
  }

  /** Called after each commit of variant {@code v} with its latency, warm-up ones included. */
  private interface Observer {
    void committed(int v, boolean measured, long nanos);
  }

  /**
   * Runs {@code warmup + commits} commits of every variant in rounds of {@code batch} commits each,
   * the variants' order shuffled per round; returns the measured latencies per variant.
   */
  private long[][] runInterleaved(List<Variant> variants, Observer observer) throws IOException {
    int n = variants.size();
    long[][] samples = new long[n][commits];
    int[] done = new int[n];
    long[] next = new long[n];
    List<Integer> order = new ArrayList<>();
    for (int v = 0; v < n; v++) {
      order.add(v);
      next[v] = 1;
    }
    Random random = new Random(seed);
    int total = warmup + commits;
    for (int start = 0; start < total; start += batch) {
      Collections.shuffle(order, random);
      int count = Math.min(batch, total - start);
      for (int v : order) {
        Variant variant = variants.get(v);
        for (int k = 0; k < count; k++) {
          variant.prepare(next[v]++);
          long t0 = System.nanoTime();
          variant.commit();
          long nanos = System.nanoTime() - t0;
          boolean measured = start + k >= warmup;
          if (measured) {
            samples[v][done[v]++] = nanos;
          }
          observer.committed(v, measured, nanos);
        }
      }
    }
    return samples;
  }

  private void report(List<Variant> variants, long[][] samples) {
    List<LatencyStats> stats = new ArrayList<>();
    for (long[] s : samples) {
      stats.add(new LatencyStats(s, s.length));
    }
    LatencyStats base = stats.get(0);
    out.println();
    out.println(
        "| variant | commits | median µs | p90 µs | p99 µs | mean µs | median / baseline"
            + " | p90 / baseline | p99 / baseline | per-round median ratio [IQR] |");
    out.println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (int v = 0; v < variants.size(); v++) {
      LatencyStats s = stats.get(v);
      double[] paired = pairedRatios(samples[v], samples[0]);
      out.printf(
          Locale.ROOT,
          "| %s | %d | %s | %s | %s | %s | %.3f | %.3f | %.3f | %.3f [%.3f–%.3f] |%n",
          variants.get(v).name,
          s.count(),
          micros(s.median()),
          micros(s.percentile(0.90)),
          micros(s.percentile(0.99)),
          micros(s.mean()),
          ratio(s.median(), base.median()),
          ratio(s.percentile(0.90), base.percentile(0.90)),
          ratio(s.percentile(0.99), base.percentile(0.99)),
          quantile(paired, 0.50),
          quantile(paired, 0.25),
          quantile(paired, 0.75));
    }
    out.println();
    if (variants.size() >= 4) {
      double[] paired = pairedRatios(samples[3], samples[1]);
      out.printf(
          Locale.ROOT,
          "%s against %s: median %s / %s µs = %.3f; per-round median ratio %.3f [%.3f–%.3f]%n",
          variants.get(3).name,
          variants.get(1).name,
          micros(stats.get(3).median()),
          micros(stats.get(1).median()),
          ratio(stats.get(3).median(), stats.get(1).median()),
          quantile(paired, 0.50),
          quantile(paired, 0.25),
          quantile(paired, 0.75));
    }
    for (Variant v : variants) {
      out.println("  " + v.name + ": " + v.description);
    }
    out.println(
        "  per-round ratio: in each round, the median of the variant's batch over the median of"
            + " the baseline's batch in the same round; median and quartiles over all rounds");
  }

  /**
   * For each round, the median of {@code variant}'s commits in that round divided by the median of
   * {@code base}'s: both ran within the same few milliseconds, so a burst of machine noise cancels
   * out of the ratio.
   */
  private double[] pairedRatios(long[] variant, long[] base) {
    List<Double> ratios = new ArrayList<>();
    int from = 0;
    while (from < variant.length) {
      // The j-th measured commit of every variant is commit warmup + j, in round (warmup + j) /
      // batch.
      int round = (warmup + from) / batch;
      int to = Math.min(variant.length, (round + 1) * batch - warmup);
      long a = new LatencyStats(Arrays.copyOfRange(variant, from, to), to - from).median();
      long b = new LatencyStats(Arrays.copyOfRange(base, from, to), to - from).median();
      ratios.add((double) a / b);
      from = to;
    }
    double[] sorted = ratios.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    return sorted;
  }

  /** The nearest-rank quantile of sorted values. */
  private static double quantile(double[] sorted, double p) {
    int rank = (int) Math.ceil(p * sorted.length);
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
  }

  /**
   * Runs the four variants again, interleaved, with every file-system call timed (the baselines go
   * through the store's file-system seam for this), and prints per call the mean time and count per
   * commit; what remains of a commit's time is spent outside the file system (encoding, decoding,
   * checks, locking).
   */
  private void profile(Path root) throws IOException {
    List<Variant> variants = new ArrayList<>();
    List<TimingFileSystem> timers = new ArrayList<>();
    for (int v = 0; v < 4; v++) {
      timers.add(new TimingFileSystem(CheckpointFileSystem.system()));
    }
    List<Map<String, long[]>> totals = new ArrayList<>();
    List<long[]> outside = new ArrayList<>();
    try {
      variants.add(
          new Variant.RawReplace(
              "baseline", "", root.resolve("profile-baseline"), 0, timers.get(0)));
      variants.add(
          new Variant.RawReplace(
              "baseline+link",
              "",
              root.resolve("profile-baseline-link"),
              Retention.DEFAULT_KEEP_LAST,
              timers.get(1)));
      variants.add(
          new Variant.StoreCommit(
              "store keepLast(0)",
              "",
              root.resolve("profile-store-nohistory"),
              Retention.builder().keepLast(0).build(),
              timers.get(2)));
      variants.add(
          new Variant.StoreCommit(
              "store keepLast(10)",
              "",
              root.resolve("profile-store-history"),
              Retention.ofDefaults(),
              timers.get(3)));
      for (TimingFileSystem t : timers) {
        t.drain(); // the open's own calls
        totals.add(new TreeMap<>());
        outside.add(new long[commits]);
      }
      int[] done = new int[variants.size()];
      long[][] samples =
          runInterleaved(
              variants,
              (v, measured, nanos) -> {
                Map<String, long[]> calls = timers.get(v).drain();
                if (!measured) {
                  return;
                }
                long inFs = 0;
                for (Map.Entry<String, long[]> e : calls.entrySet()) {
                  long[] slot = totals.get(v).computeIfAbsent(e.getKey(), k -> new long[2]);
                  slot[0] += e.getValue()[0];
                  slot[1] += e.getValue()[1];
                  inFs += e.getValue()[0];
                }
                outside.get(v)[done[v]++] = nanos - inFs;
              });
      for (int v = 0; v < variants.size(); v++) {
        LatencyStats s = new LatencyStats(samples[v], samples[v].length);
        out.println();
        out.printf(
            Locale.ROOT,
            "Breakdown of %s (instrumented; %d commits; median %s µs, mean %s µs per commit)%n",
            variants.get(v).name,
            s.count(),
            micros(s.median()),
            micros(s.mean()));
        out.println("| call | mean µs per commit | calls per commit |");
        out.println("|---|---:|---:|");
        for (Map.Entry<String, long[]> e : totals.get(v).entrySet()) {
          out.printf(
              Locale.ROOT,
              "| %s | %s | %.2f |%n",
              e.getKey(),
              micros((double) e.getValue()[0] / s.count()),
              (double) e.getValue()[1] / s.count());
        }
        LatencyStats rest = new LatencyStats(outside.get(v), s.count());
        out.printf(
            Locale.ROOT,
            "| (outside the file system: encode, decode, checks) | %s | |%n",
            micros(rest.mean()));
      }
    } finally {
      closeAll(variants);
    }
  }

  private void printEnvironment(Path root) throws IOException {
    FileStore store = Files.getFileStore(root);
    out.println("Waymark commit latency, " + Instant.now().truncatedTo(ChronoUnit.SECONDS));
    out.printf(
        "JDK %s (%s), %s %s %s, %d CPUs%n",
        System.getProperty("java.version"),
        System.getProperty("java.vm.name"),
        System.getProperty("os.name"),
        System.getProperty("os.version"),
        System.getProperty("os.arch"),
        Runtime.getRuntime().availableProcessors());
    out.printf("Directory %s on %s (%s)%n", root, store.name(), store.type());
    out.printf(
        "Checkpoint size %d bytes; %d measured + %d warm-up commits per variant,"
            + " rounds of %d per variant, seed %d%n",
        Variant.bytes(1).length, commits, warmup, batch, seed);
  }

  private static String micros(double nanos) {
    return String.format(Locale.ROOT, "%.1f", nanos / 1000.0);
  }

  private static double ratio(long a, long b) {
    return (double) a / b;
  }

  private static void closeAll(List<Variant> variants) throws IOException {
    for (Variant v : variants) {
      v.close();
    }
  }

  private static void deleteRecursively(Path root) throws IOException {
    Files.walkFileTree(
        root,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attrs)
              throws IOException {
            Files.delete(file);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
            if (e != null) {
              throw e;
            }
            Files.delete(dir);
            return FileVisitResult.CONTINUE;
          }
        });
  }
}
