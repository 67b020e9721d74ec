package dev.waymark.checkpoint.file;

import dev.waymark.WaymarkException;
import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.Retention;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;

/**
 * Kills a {@link CommitLoopChild} with SIGKILL again and again on one job, and after each kill
 * checks what it left on disk. Not thread-safe; run one loop per job.
 *
 * <h2>Each round</h2>
 *
 * <ol>
 *   <li>Start a child JVM on the job. It continues from whatever the last round left.
 *   <li>Kill it at a random instant: in a share of rounds ({@code earlyShare}) at a random point
 *       between its launch and about when its store is open (JVM start-up, lock, epoch write,
 *       deleting temps); otherwise a random delay of up to {@code maxDelay} after it printed {@code
 *       ready}, which lands in the commit loop.
 *   <li>Check: the child died of SIGKILL (exit 137); it took an epoch above the last writer's and
 *       its acknowledgements ran one by one from where the last round ended; the checkpoint reads
 *       without an exception and its sequence is the last acknowledged one or one more, with that
 *       sequence's cursor and the child's epoch; a fresh {@link FileCheckpointStore#open} succeeds,
 *       reads the same, takes a higher epoch, lists the current version last in history, and leaves
 *       no temp file.
 * </ol>
 *
 * <p>The random instants come from a seeded {@link Random}, so a run's schedule (which rounds are
 * early, each delay) is reproducible; where in the child's code a delay lands also depends on the
 * machine's speed.
 */
final class KillLoop {
  /** Where in the child a kill landed, as far as its output tells. */
  enum Phase {
    STARTING("JVM start-up or opening the store"),
    OPEN("store open, no operation begun"),
    IN_COMMIT("inside commit()"),
    IN_ROLLBACK("inside rollback()"),
    BETWEEN("after an ack, before the next begin");

    final String description;

    Phase(String description) {
      this.description = description;
    }
  }

  /** One round's facts, for the distribution report. */
  record Round(
      int index,
      boolean early,
      long delayMicros,
      long millisToReady,
      Phase phase,
      int acks,
      long lastAcknowledged,
      long recovered) {

    /** Whether the kill left the checkpoint of the operation in flight, not the last ack's. */
    boolean leftTheNext() {
      return recovered == lastAcknowledged + 1;
    }
  }

  /** The rounds run, and the first violation found (which ends the loop), if any. */
  record Outcome(List<Round> rounds, Optional<String> violation) {}

  private final Path state;
  private final String job;
  private final Random random;
  private final boolean nonAtomic;
  private final double earlyShare;
  private final Duration maxDelay;
  private final String label;
  private final Path logDir;
  private Duration startupEstimate = Duration.ofMillis(500);

  KillLoop(
      Path state,
      String job,
      Random random,
      boolean nonAtomic,
      double earlyShare,
      Duration maxDelay,
      String label) {
    this.state = state;
    this.job = job;
    this.random = random;
    this.nonAtomic = nonAtomic;
    this.earlyShare = earlyShare;
    this.maxDelay = maxDelay;
    this.label = label;
    this.logDir = state.resolveSibling(state.getFileName() + "-logs");
  }

  /** Runs {@code kills} rounds, or fewer if a round finds a violation. */
  Outcome run(int kills) throws IOException, InterruptedException {
    List<Round> rounds = new ArrayList<>();
    long verified = 0;
    long verifiedEpoch = 0;
    for (int i = 1; i <= kills; i++) {
      boolean early = i > 1 && random.nextDouble() < earlyShare;
      double fraction = random.nextDouble();
      List<String> args = new ArrayList<>(List.of(state.toString(), job));
      if (nonAtomic) {
        args.add("non-atomic");
      }
      int exit;
      long delayMicros;
      long millisToReady = -1;
      ChildJvm child = ChildJvm.start(CommitLoopChild.class, logDir, args.toArray(String[]::new));
      try {
        if (early) {
          delayMicros = (long) (fraction * 1.2 * startupEstimate.toNanos() / 1000);
        } else {
          if (child.awaitLine("ready ", Duration.ofSeconds(60)) != null) {
            Duration toReady = child.age();
            millisToReady = toReady.toMillis();
            startupEstimate = startupEstimate.multipliedBy(3).plus(toReady).dividedBy(4);
          }
          delayMicros = (long) (fraction * maxDelay.toNanos() / 1000);
        }
        sleepMicros(delayMicros);
        exit = child.kill();
      } finally {
        child.close();
      }
      String where =
          label
              + " kill #"
              + i
              + " ("
              + (early ? "early" : "after ready")
              + ", delay "
              + delayMicros
              + " us, child pid "
              + child.pid()
              + ")";
      Verdict verdict = check(child, exit, verified, verifiedEpoch);
      Round round =
          new Round(
              i,
              early,
              delayMicros,
              millisToReady,
              verdict.phase,
              verdict.acks,
              verdict.base,
              verdict.recovered);
      rounds.add(round);
      if (verdict.violation != null) {
        return new Outcome(rounds, Optional.of(where + ": " + verdict.violation));
      }
      verified = verdict.recovered;
      verifiedEpoch = verdict.epoch;
    }
    return new Outcome(rounds, Optional.empty());
  }

  private static void sleepMicros(long micros) {
    long deadline = System.nanoTime() + micros * 1000;
    for (long left = micros * 1000; left > 0; left = deadline - System.nanoTime()) {
      LockSupport.parkNanos(left);
    }
  }

  private static final class Verdict {
    Phase phase = Phase.STARTING;
    int acks;
    long base;
    long recovered;
    long epoch;
    String violation;

    Verdict fail(String message) {
      violation = message;
      return this;
    }
  }

  /**
   * Checks the state a killed child left; {@code verified} and {@code verifiedEpoch} are the
   * sequence the last round found and the epoch it opened the store with.
   */
  private Verdict check(ChildJvm child, int exit, long verified, long verifiedEpoch)
      throws IOException {
    Verdict v = new Verdict();
    v.base = verified;
    v.recovered = verified;
    List<String> lines = child.lines();
    if (exit != ChildJvm.SIGKILL_EXIT) {
      return v.fail(
          "the child exited with "
              + exit
              + " instead of dying of SIGKILL ("
              + ChildJvm.SIGKILL_EXIT
              + "); it printed "
              + tail(lines)
              + " and its stderr says:\n"
              + child.stderrTail());
    }
    long childEpoch = -1;
    for (String line : lines) {
      String[] f = line.split(" ");
      long n = f.length >= 2 && f[1].matches("[0-9]{1,18}") ? Long.parseLong(f[1]) : -1;
      long expected = v.base + 1;
      if (f[0].equals("ready") && f.length == 3 && v.phase == Phase.STARTING) {
        v.phase = Phase.OPEN;
        childEpoch = Long.parseLong(f[2]);
        if (childEpoch <= verifiedEpoch) {
          return v.fail(
              "the child took epoch "
                  + childEpoch
                  + ", not above the last writer's "
                  + verifiedEpoch);
        }
        if (n != verified) {
          return v.fail(
              "the child opened the store at sequence "
                  + n
                  + " but the last check found "
                  + verified);
        }
      } else if (f[0].equals("begin") && f.length == 2 && v.phase != Phase.STARTING) {
        if (n != expected) {
          return v.fail("the child began sequence " + n + " after " + v.base + ": " + tail(lines));
        }
        v.phase = CommitLoopChild.isRollback(n) ? Phase.IN_ROLLBACK : Phase.IN_COMMIT;
      } else if (f[0].equals("ack")
          && f.length == 2
          && (v.phase == Phase.IN_COMMIT || v.phase == Phase.IN_ROLLBACK)) {
        if (n != expected) {
          return v.fail(
              "the child acknowledged sequence "
                  + n
                  + " after "
                  + v.base
                  + "; the sequence must grow by exactly one per commit ("
                  + tail(lines)
                  + ")");
        }
        v.phase = Phase.BETWEEN;
        v.acks++;
        v.base = n;
      } else {
        return v.fail("unexpected child output '" + line + "' in " + tail(lines));
      }
    }

    Path checkpointFile =
        state
            .resolve(job)
            .resolve("partitions")
            .resolve(CommitLoopChild.PARTITION)
            .resolve("checkpoint");
    Optional<Checkpoint> raw;
    try {
      raw = FileCheckpointStore.reader(state, job).read(CommitLoopChild.PARTITION);
    } catch (WaymarkException e) {
      return v.fail(
          "the checkpoint left by the kill cannot be read: "
              + e.getMessage()
              + "\nFile content: "
              + preview(checkpointFile));
    }
    long seq = raw.map(Checkpoint::sequence).orElse(0L);
    v.recovered = seq;
    if (seq != v.base && seq != v.base + 1) {
      return v.fail(
          "found sequence "
              + seq
              + " but the last acknowledged one is "
              + v.base
              + ": expected "
              + v.base
              + " or "
              + (v.base + 1)
              + "; the child printed "
              + tail(lines));
    }
    if (raw.isPresent()) {
      Cursor expected = CommitLoopChild.cursorAt(seq);
      if (!raw.get().cursor().equals(expected)) {
        return v.fail(
            "sequence " + seq + " holds cursor " + raw.get().cursor() + ", expected " + expected);
      }
      if (seq > verified && raw.get().epoch() != childEpoch) {
        return v.fail(
            "sequence "
                + seq
                + " was committed by the killed child (epoch "
                + childEpoch
                + ") but carries epoch "
                + raw.get().epoch());
      }
    }

    FileCheckpointStore store;
    try {
      store = FileCheckpointStore.open(state, job);
    } catch (WaymarkException e) {
      return v.fail(
          "the store cannot be opened after the kill: "
              + e.getMessage()
              + "\nCheckpoint file content: "
              + preview(checkpointFile));
    }
    try (store) {
      Optional<Checkpoint> reopened = store.read(CommitLoopChild.PARTITION);
      if (!reopened.equals(raw)) {
        return v.fail("opening the store changed the checkpoint from " + raw + " to " + reopened);
      }
      if (store.epoch() <= Math.max(childEpoch, verifiedEpoch)) {
        return v.fail(
            "the next writer took epoch "
                + store.epoch()
                + ", not above the child's "
                + childEpoch
                + " and the last check's "
                + verifiedEpoch);
      }
      v.epoch = store.epoch();
      List<Checkpoint> history = store.history(CommitLoopChild.PARTITION);
      if (raw.isPresent()
          && (history.isEmpty() || !history.get(history.size() - 1).equals(raw.get()))) {
        return v.fail("history " + sequences(history) + " does not end with sequence " + seq);
      }
      long entries = historyEntries();
      if (v.acks > 0 && entries > Retention.DEFAULT_KEEP_LAST + 1) {
        // Each acknowledged commit pruned history to 10; the one in flight may have added one.
        return v.fail(
            "history holds "
                + entries
                + " entries after an acknowledged commit; keepLast(10) allows 10, plus one from the"
                + " commit in flight: "
                + sequences(history));
      }
    } catch (WaymarkException e) {
      return v.fail(
          "the reopened store cannot read the partition or its history: " + e.getMessage());
    }
    try (Stream<Path> files = Files.walk(state.resolve(job))) {
      List<Path> temps =
          files.filter(p -> AtomicFileWriter.isTempFile(p.getFileName().toString())).toList();
      if (!temps.isEmpty()) {
        return v.fail("temp files remain after the store was opened: " + temps);
      }
    }
    return v;
  }

  private long historyEntries() throws IOException {
    Path dir =
        state
            .resolve(job)
            .resolve("partitions")
            .resolve(CommitLoopChild.PARTITION)
            .resolve("history");
    if (!Files.isDirectory(dir)) {
      return 0;
    }
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(p -> p.getFileName().toString().endsWith(".ckpt")).count();
    }
  }

  private static List<Long> sequences(List<Checkpoint> history) {
    return history.stream().map(Checkpoint::sequence).toList();
  }

  private static String tail(List<String> lines) {
    return lines.size() <= 6
        ? lines.toString()
        : "[..." + String.join(", ", lines.subList(lines.size() - 6, lines.size())) + "]";
  }

  private static String preview(Path file) {
    try {
      if (!Files.exists(file)) {
        return "(no file)";
      }
      byte[] bytes = Files.readAllBytes(file);
      return bytes.length
          + " bytes: '"
          + new String(bytes, 0, Math.min(bytes.length, 300), StandardCharsets.UTF_8)
              .replace("\n", "\\n")
          + "'";
    } catch (IOException e) {
      return "(unreadable: " + e + ")";
    }
  }
}
