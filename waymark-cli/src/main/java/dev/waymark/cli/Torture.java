package dev.waymark.cli;

import dev.waymark.WaymarkException;
import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.file.AtomicFileWriter;
import dev.waymark.checkpoint.file.FileStoreAudit;
import dev.waymark.ingest.FeedGenerator;
import dev.waymark.ingest.FileListing;
import dev.waymark.ingest.Partitioning;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import picocli.CommandLine;

/**
 * The engine of {@code waymark torture}: runs an ingest configuration uninterrupted into a
 * reference table, then again into the user's table while killing it with SIGKILL (or pausing it
 * with SIGSTOP) at seeded random instants and restarting it until it completes, and compares.
 *
 * <h2>Design notes</h2>
 *
 * <ul>
 *   <li><b>Reference first.</b> The uninterrupted run goes first: how long it takes to start, to
 *       commit its first file and to load the feed tells the kill loop where real work happens.
 *   <li><b>When kills land.</b> A share of kills ({@value #STARTUP_SHARE} of them) strikes during
 *       start-up, at a random instant up to the reference's start-up time. The rest are spread over
 *       the feed by progress, not by time. The feed, less its last units (committed only as the run
 *       completes: one per partition, or the largest unit the reference made, whichever is more
 *       files), is cut into as many equal shares as there are kills; kill K waits until the job has
 *       committed past a random point of share K (by the files its runs have reported), then
 *       strikes a random delay later, up to the time 1.2 units (or one share, if longer) take at
 *       the fastest pace seen, and at most half the time the rest takes, so that it lands anywhere
 *       in the next unit's reading, writing, commit or checkpoint, and before the run completes.
 *       Units are the reference run's: counted by its checkpoints' sequence numbers, the largest
 *       measured in their kept history. A restart that resumes past its kill's point is struck
 *       during its warm-up or its first units. Progress moves a unit at a time, so large units (the
 *       default policy on a small feed) gather the kills at the few points where units end, and a
 *       restart must outlive a whole unit to move on; with {@code --commit-every 1} the kills reach
 *       the last files. (A delay drawn from the time alone, as until session 10, spent most kills
 *       of a fast machine in restarts' warm-ups: every kill landed in the first half of a
 *       1,420-file feed.) Pauses, and the worker processes of a run with {@code --coordinator},
 *       strike a random delay after the first line instead, drawn up to a budget that spreads the
 *       remaining attacks over the remaining files: 1.2 times the time from first line to first
 *       commit (every restart is cold again: the reference's, or, if longer, the last attacked
 *       run's, which grows as the job goes on), plus the time the remaining files take divided by
 *       the remaining attacks (at the pace the attacked runs have shown so far, cold starts
 *       included), at most half the time the rest takes (warm-up included) at the fastest pace seen
 *       (in the reference or in an attacked run once it had committed), so that each attack lands
 *       before the run completes and the last run still has work to do. The seed fixes every draw;
 *       the instants also depend on how fast the machine runs.
 *   <li><b>What is compared.</b> Rows by dedup key and payload (missing, unexpected, twice), rows
 *       per source file, every partition's checkpoint against the reference's (and, for the one
 *       partition of a plain run, the last file of the listing; for each partition of a partitioned
 *       run, the last file of its sub-listing), leftover temp files and the audit of the job's
 *       state folder. Comparisons run in the database, whatever the table's size.
 * </ul>
 *
 * Not thread-safe; one instance runs once.
 */
final class Torture {
  static final double STARTUP_SHARE = 0.1;
  private static final Duration DEFAULT_STARTUP = Duration.ofSeconds(1);
  private static final Duration MIN_DELAY = Duration.ofMillis(20);
  private static final String REFERENCE = "_reference";

  /** What the user asked for. */
  record Settings(
      int kills,
      long seed,
      boolean pause,
      Duration maxPause,
      int files,
      int rows,
      boolean freshTable,
      boolean keepReference,
      int workerProcesses) {}

  /**
   * With {@code --coordinator} among the flags: how many {@code waymark worker} processes ran the
   * job together, how many were started in all (replacing killed ones), the partitions taken over
   * from a worker whose lease expired, and the commits refused by a newer epoch.
   */
  record Workers(int processes, int started, int takeovers, int refusals) {}

  /** What happened and what was found. */
  record Result(
      Settings settings,
      String table,
      String referenceTable,
      String generatedFeed,
      int kills,
      int killsDuringStartup,
      int killsBeforeFirstCommit,
      int pauses,
      Duration paused,
      int runs,
      Workers workers,
      TortureTables.Comparison rows,
      List<String> checkpoints,
      List<String> problems,
      Path logs,
      Duration elapsed) {
    boolean passed() {
      return problems.isEmpty() && rows.same();
    }

    int restarts() {
      return workers != null ? workers.started() - workers.processes() : runs - 1;
    }
  }

  private final Settings settings;
  private final ChildLauncher launcher;
  private final ChildLauncher workerLauncher;
  private final PrintWriter log;
  private final Random random;
  private final List<String> problems = new ArrayList<>();
  private volatile TortureChild current;

  private Path work;
  private int total;
  private int partitionCount;
  private int highestReported;
  private Duration startup = DEFAULT_STARTUP;
  private Duration firstCommit = DEFAULT_STARTUP;
  private Duration warmUp = DEFAULT_STARTUP; // first line to first commit, as restarts show it
  private double filesPerSecond;
  private int attacks; // kills or pauses so far
  private final int[] kills = new int[3]; // during start-up, then before a reported commit, after
  private int pauses;
  private Duration paused = Duration.ZERO;
  private long observedFiles; // files reported by attacked runs after their first line
  private double observedSeconds; // and the time they ran after it
  private double fastestSeen; // files per second of an attacked run once it had committed
  private double filesPerUnit = 1; // of the reference run, from its checkpoints' sequence numbers
  private long largestUnit = 1; // files in the reference run's largest unit, by its history
  private Duration unitTime = MIN_DELAY; // how long a worker of the reference took per unit

  Torture(
      Settings settings, ChildLauncher launcher, ChildLauncher workerLauncher, PrintWriter log) {
    this.settings = settings;
    this.launcher = launcher;
    this.workerLauncher = workerLauncher;
    this.log = log;
    this.random = new Random(settings.seed());
  }

  /**
   * Runs the whole attack with the ingest {@code flags} (those after {@code --}).
   *
   * @throws IllegalArgumentException if the flags are not valid ingest flags, or the table or job
   *     already holds data and {@code --fresh-table} was not given (nothing is changed then)
   * @throws dev.waymark.WaymarkException if the reference run fails, or the database cannot be
   *     asked
   */
  Result run(List<String> flags) throws IOException, InterruptedException {
    long t0 = System.nanoTime();
    work = Files.createTempDirectory("waymark-torture-");
    Thread hook = new Thread(this::killCurrent, "waymark-torture-cleanup");
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      return attack(new ArrayList<>(flags), t0);
    } catch (IllegalArgumentException refused) {
      deleteRecursively(work); // refused before any run: nothing worth keeping
      throw refused;
    } finally {
      killCurrent();
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // the hook runs anyway
      }
    }
  }

  private Result attack(List<String> flags, long t0) throws IOException, InterruptedException {
    Path feed = work.resolve("feed");
    boolean generate = flagValue(flags, "--input") == null;
    if (generate) {
      flags.addAll(0, List.of("--input", feed.toString()));
    }
    boolean workerMode = flagValue(flags, "--coordinator") != null;
    IngestCommand ingest = workerMode ? parseWorker(flags) : parse(flags);
    String generated = null;
    if (generate) {
      requireGeneratable(ingest);
      FeedGenerator.Summary s =
          FeedGenerator.generate(feed, settings.files(), settings.rows(), settings.seed());
      generated =
          String.format(
              "%,d files x %,d rows (%,d records, %,d distinct) in %s",
              s.files(), settings.rows(), s.records(), s.distinctRecords(), feed);
      log.printf("no --input given: generated a feed of %s%n", generated);
    }
    boolean dbStore = workerMode || ingest.checkpointStore.equalsIgnoreCase("db");
    Path state = ingest.state.toAbsolutePath().normalize();
    String table = ingest.table, job = ingest.job;
    String referenceTable = table.substring(0, Math.min(table.length(), 63 - REFERENCE.length()));
    referenceTable += REFERENCE;
    String referenceJob = job.substring(0, Math.min(job.length(), 90)) + "-reference";
    Path referenceState = work.resolve("reference-state");
    FileListing listing = FileListing.of(ingest.input, ingest.glob);
    total = listing.size();
    partitionCount = ingest.partitions;
    TortureTables tables = new TortureTables(ingest.db);
    clearTheWay(tables, dbStore, state, table, job, referenceTable, referenceJob);

    List<String> referenceFlags = without(flags, "--summary-json");
    if (workerMode) { // one plain ingest, checkpoints in the same database as the workers'
      referenceFlags = without(without(referenceFlags, "--coordinator"), "--lease");
      referenceFlags = with(referenceFlags, "--db", ingest.db);
      referenceFlags = with(referenceFlags, "--checkpoint-store", "db");
    }
    referenceFlags = with(referenceFlags, "--table", referenceTable);
    referenceFlags = with(referenceFlags, "--job", referenceJob);
    referenceFlags = with(referenceFlags, "--state", referenceState.toString());
    Path logs = Files.createDirectories(work.resolve("logs"));
    reference(referenceFlags, logs, referenceTable);
    learnUnits(
        tables.checkpoints(dbStore, referenceState, referenceJob),
        tables.largestUnit(dbStore, referenceState, referenceJob),
        workerMode || ingest.workers == null ? Integer.MAX_VALUE : ingest.workers);

    int runs = 0;
    Workers workers = null;
    if (workerMode) {
      workers = workers(flags, logs, ((WorkerCommand) ingest).lease);
      runs = 1;
    }
    for (boolean done = workerMode; !done; ) {
      runs++;
      try (TortureChild child = TortureChild.start(launcher, flags, logs, runs)) {
        current = child;
        Outcome o = settings.pause() ? pauseRun(child, runs) : killRun(child);
        done = o.done();
        if (done && o.exit() != 0) {
          problems.add("run " + runs + " exited with code " + o.exit() + ": " + child.stderrTail());
        }
        highestReported = Math.max(highestReported, child.filesDone());
        if (!done) {
          learnWarmUp(child);
        }
        if (!done && child.firstLine() != null) {
          observedFiles += child.filesReported();
          observedSeconds += child.sinceFirstLine().toMillis() / 1e3;
          if (child.filesReported() > 1) {
            double warm = child.sinceFirstLine().minus(child.firstCommit()).toMillis() / 1e3;
            fastestSeen =
                Math.max(fastestSeen, (child.filesReported() - 1) / Math.max(0.001, warm));
          }
        }
        log.printf(
            "run %d: %s; %s%n",
            runs, child.firstLine() == null ? "(no output)" : child.firstLine(), o.fate());
        log.flush();
      } finally {
        current = null;
      }
    }

    TortureTables.Comparison rows = tables.compare(table, referenceTable, partitionCount > 1);
    List<String> checkpoints = new ArrayList<>();
    checkCheckpoints(
        tables, dbStore, state, job, referenceState, referenceJob, listing, checkpoints);
    if (!dbStore || Files.isDirectory(state.resolve(job))) {
      checkStateFolder(state, job);
    }
    if (!settings.keepReference()) {
      tables.drop(referenceTable);
      tables.forget(dbStore, referenceState, referenceJob);
    }
    boolean clean = problems.isEmpty() && rows.same();
    if (clean) {
      deleteRecursively(work);
    }
    return new Result(
        settings,
        table,
        referenceTable,
        generated,
        kills[0] + kills[1] + kills[2],
        kills[0],
        kills[0] + kills[1],
        pauses,
        paused,
        runs,
        workers,
        rows,
        checkpoints,
        List.copyOf(problems),
        clean ? null : logs,
        Duration.ofNanos(System.nanoTime() - t0));
  }

  /** How one run ended: its exit value, a phrase for its line, and whether it was the last. */
  private record Outcome(int exit, String fate, boolean done) {}

  /** Kills the run at a chosen instant, unless kills are used up or it exits first. */
  private Outcome killRun(TortureChild child) throws InterruptedException {
    if (attacks >= settings.kills() || killWhen(child)) {
      int exit = child.waitForExit();
      return new Outcome(exit, exit == 0 ? "completed" : "exited with code " + exit, true);
    }
    int exit = child.kill();
    if (exit == 0) {
      return new Outcome(0, "completed as the kill landed", true);
    }
    int where = child.firstLine() == null ? 0 : child.filesReported() == 0 ? 1 : 2;
    kills[where]++;
    attacks++;
    String fate =
        where == 0
            ? String.format(
                "killed %.2f s after launch, during start-up", child.age().toMillis() / 1e3)
            : String.format(
                "killed %.2f s after its first line, %s",
                child.sinceFirstLine().toMillis() / 1e3,
                where == 1
                    ? "before it reported a commit"
                    : String.format("%,d files reported", child.filesReported()));
    return new Outcome(exit, fate, false);
  }

  /**
   * Pauses the run at chosen instants until the pauses are used up, then lets it end; a run that a
   * pause got fenced by another worker (exit 3) is restarted, within reason.
   */
  private Outcome pauseRun(TortureChild child, int run) throws InterruptedException {
    int n = 0;
    Duration here = Duration.ZERO;
    while (attacks < settings.kills() && !strikeWhen(child)) {
      Duration length = scale(settings.maxPause(), random.nextDouble());
      signal(child, "STOP");
      Thread.sleep(length.toMillis());
      signal(child, "CONT");
      attacks++;
      n++;
      here = here.plus(length);
      highestReported = Math.max(highestReported, child.filesDone());
    }
    pauses += n;
    paused = paused.plus(here);
    int exit = child.waitForExit();
    String fate =
        (n > 0
                ? String.format(
                    "paused %d times for %.1f s in all, then ", n, here.toMillis() / 1e3)
                : "")
            + (exit == 0 ? "completed" : "exited with code " + exit);
    boolean fenced = exit == ExitCode.LOCK_HELD.code && run <= 2 * settings.kills() + 10;
    return new Outcome(exit, fate, !fenced);
  }

  /**
   * The many-machine mode: {@link Settings#workerProcesses} {@code waymark worker} processes run
   * the job together; at each strike a seeded random one of those alive, once it has reported a
   * committed file and a random delay later (see the design notes), is paused (SIGSTOP) for longer
   * than the lease, so that the others take its partitions over and its own next commit is refused,
   * then continued (SIGCONT); or, without {@code --pause}, killed (SIGKILL) and replaced by a new
   * worker. Every worker must then end with exit 0.
   */
  private Workers workers(List<String> flags, Path logs, Duration lease)
      throws IOException, InterruptedException {
    // The server ends a paused worker's open transaction after WorkerCommand's idle timeout; until
    // then the others may wait on its row locks, so a shorter pause fences nothing. One lease more
    // gives them time to take its partitions over.
    Duration shortestPause = lease.multipliedBy(WorkerCommand.IDLE_IN_TRANSACTION_LEASES + 1);
    if (settings.pause() && settings.maxPause().compareTo(shortestPause) <= 0) {
      throw new IllegalArgumentException(
          "--max-pause "
              + settings.maxPause().toMillis()
              + "ms must be longer than "
              + (WorkerCommand.IDLE_IN_TRANSACTION_LEASES + 1)
              + " of the workers' leases ("
              + shortestPause.toMillis()
              + "ms): until the server ends a paused worker's open transaction, after "
              + WorkerCommand.IDLE_IN_TRANSACTION_LEASES
              + " leases, the others may wait on its row locks, and nothing is fenced. Pass a"
              + " longer --max-pause (or a shorter --lease after --).");
    }
    List<TortureChild> group = new ArrayList<>();
    try {
      for (int i = 0; i < settings.workerProcesses(); i++) {
        group.add(TortureChild.start(workerLauncher, flags, logs, "worker-" + (group.size() + 1)));
      }
      while (attacks < settings.kills()) {
        List<TortureChild> alive = group.stream().filter(TortureChild::alive).toList();
        if (alive.isEmpty()) {
          break;
        }
        TortureChild victim = alive.get(random.nextInt(alive.size()));
        int number = group.indexOf(victim) + 1;
        // A worker that has committed a file holds a partition with work left: the strike
        // lands while it is busy, when a pause can get it fenced.
        if (!victim.awaitFirstFile()) {
          continue; // it exited first
        }
        highestReported = reported(group);
        if (strikeWhen(victim)) {
          continue;
        }
        highestReported = reported(group);
        if (settings.pause()) {
          // Only a worker holding a partition can be fenced: by the delay's end the victim may
          // have finished its own, so the pause goes to one that holds one now.
          TortureChild holder = holderOf(group, victim);
          if (holder == null) {
            continue; // between claims, or the job is ending: the next round decides
          }
          victim = holder;
          number = group.indexOf(victim) + 1;
        }
        attacks++;
        if (settings.pause()) {
          Duration length =
              shortestPause.plus(
                  scale(settings.maxPause().minus(shortestPause), random.nextDouble()));
          signal(victim, "STOP");
          Thread.sleep(length.toMillis());
          signal(victim, "CONT");
          pauses++;
          paused = paused.plus(length);
          log.printf(
              "worker %d (pid %d): paused %.1f s (lease %.1f s), %,d files reported so far%n",
              number,
              victim.pid(),
              length.toMillis() / 1e3,
              lease.toMillis() / 1e3,
              highestReported);
        } else {
          victim.kill();
          kills[victim.firstLine() == null ? 0 : victim.filesReported() == 0 ? 1 : 2]++;
          group.add(
              TortureChild.start(workerLauncher, flags, logs, "worker-" + (group.size() + 1)));
          log.printf(
              "worker %d (pid %d): killed, %,d files reported so far; worker %d started in its"
                  + " place%n",
              number, victim.pid(), highestReported, group.size());
        }
        log.flush();
      }
      int takeovers = 0, refusals = 0;
      for (TortureChild c : group) {
        int exit = c.waitForExit();
        boolean killed = !settings.pause() && exit == 137;
        if (exit != 0 && !killed) {
          problems.add(
              "worker "
                  + (group.indexOf(c) + 1)
                  + " (pid "
                  + c.pid()
                  + ") exited with code "
                  + exit
                  + ": "
                  + c.stderrTail());
        }
        takeovers += c.takeovers();
        refusals += c.refusals();
      }
      log.printf(
          "workers: %d processes started, %d partition(s) taken over, %d commit(s) refused%n",
          group.size(), takeovers, refusals);
      log.flush();
      return new Workers(settings.workerProcesses(), group.size(), takeovers, refusals);
    } finally {
      for (TortureChild c : group) {
        c.close();
      }
    }
  }

  /**
   * {@code preferred} if it is alive and holds a partition by what it has printed, else a seeded
   * random one of the live workers that do, else null.
   */
  private TortureChild holderOf(List<TortureChild> group, TortureChild preferred) {
    if (preferred.alive() && preferred.holdsAPartition()) {
      return preferred;
    }
    List<TortureChild> holders =
        group.stream().filter(c -> c.alive() && c.holdsAPartition()).toList();
    return holders.isEmpty() ? null : holders.get(random.nextInt(holders.size()));
  }

  /** The files the workers reported committed, all together. */
  private static int reported(List<TortureChild> group) {
    int files = 0;
    for (TortureChild c : group) {
      c.poll();
      files += c.filesReported();
    }
    return files;
  }

  /** Refuses to go on over a user's data, or clears it when asked to with --fresh-table. */
  private void clearTheWay(
      TortureTables tables,
      boolean dbStore,
      Path state,
      String table,
      String job,
      String referenceTable,
      String referenceJob) {
    List<String> inTheWay = new ArrayList<>();
    long rows = tables.rows(table), referenceRows = tables.rows(referenceTable);
    if (rows > 0) {
      inTheWay.add(String.format("table %s holds %,d rows", table, rows));
    }
    if (referenceRows >= 0) {
      inTheWay.add(String.format("table %s exists (%,d rows)", referenceTable, referenceRows));
    }
    String where = dbStore ? "in waymark_checkpoint" : "in " + state;
    if (!tables.checkpoints(dbStore, state, job).isEmpty()) {
      inTheWay.add("job '" + job + "' has a checkpoint " + where);
    }
    if (dbStore && !tables.checkpoints(true, state, referenceJob).isEmpty()) {
      inTheWay.add("job '" + referenceJob + "' has a checkpoint " + where);
    }
    if (inTheWay.isEmpty()) {
      return;
    }
    if (!settings.freshTable()) {
      throw new IllegalArgumentException(
          "torture loads the feed into an empty table under a job without a checkpoint, to"
              + " compare it with a fresh reference run, but "
              + String.join("; ", inTheWay)
              + ". Nothing was changed. Choose another --table and --job after --, or pass"
              + " --fresh-table to drop "
              + table
              + " and "
              + referenceTable
              + " and forget those checkpoints first.");
    }
    tables.drop(table);
    tables.drop(referenceTable);
    tables.forget(dbStore, state, job);
    if (dbStore) {
      tables.forget(true, state, referenceJob);
    }
    log.printf(
        "--fresh-table: dropped and forgot what was there: %s%n", String.join("; ", inTheWay));
  }

  /** The uninterrupted run; its timing plans the kills. */
  private void reference(List<String> flags, Path logs, String referenceTable)
      throws IOException, InterruptedException {
    try (TortureChild child = TortureChild.start(launcher, flags, logs, 0)) {
      current = child;
      int exit = child.waitForExit();
      if (exit != 0) {
        throw new WaymarkException(
            "the uninterrupted reference run (into "
                + referenceTable
                + ") exited with code "
                + exit
                + ": "
                + child.stderrTail()
                + ". torture cannot judge a configuration that fails without being attacked;"
                + " its output is in "
                + logs);
      }
      Duration run = child.sinceFirstLine();
      if (child.startup() != null) {
        startup = child.startup();
      }
      if (child.firstCommit() != null) {
        firstCommit = child.firstCommit();
        warmUp = firstCommit;
      }
      // Once warm: every restart pays the first commit's latency again, see budget().
      filesPerSecond =
          Math.max(1, child.filesReported() - 1)
              / Math.max(0.001, run.minus(firstCommit).toMillis() / 1e3);
      log.printf(
          "reference: an uninterrupted run into %s: %,d files in %.1f s (start-up %.2f s, first"
              + " commit %.2f s after its first line)%n",
          referenceTable,
          child.filesReported(),
          run.toMillis() / 1e3,
          startup.toMillis() / 1e3,
          firstCommit.toMillis() / 1e3);
      log.flush();
    } finally {
      current = null;
    }
  }

  /**
   * How many files a unit held in the reference run and how long one took a worker, from the
   * sequence numbers of its checkpoints (one per commit): the kills aim at units, see {@link
   * #killWhen}.
   */
  private void learnUnits(Map<String, Object> referenceCheckpoints, long largest, int workers) {
    long units = 0;
    for (Object c : referenceCheckpoints.values()) {
      if (c instanceof Checkpoint checkpoint) {
        units += checkpoint.sequence();
      }
    }
    if (units == 0 || filesPerSecond <= 0) {
      return;
    }
    filesPerUnit = (double) total / units;
    largestUnit = Math.max(1, largest);
    int parallel =
        Math.max(
            1,
            Math.min(
                partitionCount, Math.min(workers, Runtime.getRuntime().availableProcessors())));
    unitTime = Duration.ofMillis(Math.round(1000 * filesPerUnit * parallel / filesPerSecond));
    log.printf(
        "reference: %,d commits, %.1f files and %.2f s per unit, at most %,d files%n",
        units, filesPerUnit, unitTime.toMillis() / 1e3, largestUnit);
    log.flush();
  }

  /**
   * What the last attacked run says about a restart's warm-up, from its first line to its first
   * commit: the time it took, or, if it was killed before, at least the time it had run. It grows
   * as a job goes on (a partitioned run, for one, looks at every finished partition again first).
   */
  private void learnWarmUp(TortureChild child) {
    if (child.firstCommit() != null) {
      warmUp = child.firstCommit();
    } else if (child.firstLine() != null && child.sinceFirstLine().compareTo(warmUp) > 0) {
      warmUp = child.sinceFirstLine();
    }
  }

  /** How long after its first line a run may live: see the design notes. */
  private Duration budget() {
    int left = Math.max(1, settings.kills() - attacks);
    double warmUp = Math.max(firstCommit.toMillis(), this.warmUp.toMillis()) / 1e3;
    int remaining = Math.max(0, total - highestReported);
    // Restarted runs are cold: once seen, their own pace (warm-up included) spreads the kills.
    double pace =
        observedSeconds > 0 && observedFiles > 0
            ? Math.max(observedFiles / observedSeconds, filesPerSecond / 20)
            : filesPerSecond;
    double fastest = Math.max(Math.max(pace, filesPerSecond), fastestSeen);
    double seconds =
        Math.min(1.2 * warmUp + remaining / pace / left, 0.5 * (warmUp + remaining / fastest));
    return Duration.ofMillis(Math.max(MIN_DELAY.toMillis(), Math.round(seconds * 1000)));
  }

  private static Duration scale(Duration d, double fraction) {
    return Duration.ofNanos((long) (d.toNanos() * fraction));
  }

  /**
   * Waits for the instant to strike: a random instant of start-up, or a random delay after the
   * first line; true if the child exited first.
   */
  private boolean strikeWhen(TortureChild child) throws InterruptedException {
    boolean early = random.nextDouble() < STARTUP_SHARE && child.firstLine() == null;
    double fraction = random.nextDouble();
    return early
        ? child.exitsWithin(scale(startup, fraction))
        : !child.awaitFirstLine() || child.exitsWithin(scale(budget(), fraction));
  }

  /**
   * Waits for the instant to kill a run: a random instant of start-up, or a random delay after the
   * job has committed past a random point of this kill's share of the feed; true if the child
   * exited first. See the design notes.
   */
  private boolean killWhen(TortureChild child) throws InterruptedException {
    boolean early = random.nextDouble() < STARTUP_SHARE && child.firstLine() == null;
    double fraction = random.nextDouble();
    if (early) {
      return child.exitsWithin(scale(startup, fraction));
    }
    // The last units (one per partition, each up to the largest a run made) are committed only as
    // the run completes: no kill can wait for them.
    double lastUnits = Math.max(largestUnit, filesPerUnit * partitionCount);
    double share = Math.max(1, total - lastUnits) / settings.kills();
    int target = (int) (share * (attacks + random.nextDouble()));
    return !child.awaitFirstLine()
        || !child.awaitFilesDone(target)
        || child.exitsWithin(scale(killDelay(share, child.filesDone()), fraction));
  }

  /**
   * How long after its point a kill may come: as long as one share of the feed or, if longer, 1.2
   * units take at the fastest pace seen, so that the kill may land anywhere in the next unit; at
   * most half the time the rest of the feed takes, so that it lands before the run completes.
   */
  private Duration killDelay(double share, int done) {
    double fastest = Math.max(filesPerSecond, fastestSeen);
    double seconds =
        Math.min(
            Math.max(share / fastest, 1.2 * unitTime.toMillis() / 1e3),
            0.5 * Math.max(0, total - done) / fastest);
    return Duration.ofMillis(Math.max(MIN_DELAY.toMillis(), Math.round(seconds * 1000)));
  }

  private void checkCheckpoints(
      TortureTables tables,
      boolean dbStore,
      Path state,
      String job,
      Path referenceState,
      String referenceJob,
      FileListing listing,
      List<String> out) {
    Map<String, Object> mine = tables.checkpoints(dbStore, state, job);
    Map<String, Object> reference = tables.checkpoints(dbStore, referenceState, referenceJob);
    Set<String> partitions = new LinkedHashSet<>(reference.keySet());
    partitions.addAll(mine.keySet());
    if (partitions.isEmpty()) {
      problems.add("job '" + job + "' has no checkpoint after the run");
    }
    for (String p : partitions) {
      Object got = mine.get(p), expected = reference.get(p);
      if (!(got instanceof Checkpoint c)) {
        problems.add(
            "partition " + p + " of job '" + job + "': " + (got == null ? "no checkpoint" : got));
        continue;
      }
      Cursor want =
          expected instanceof Checkpoint e
              ? e.cursor()
              : null; // the reference has no such partition: that divergence is reported below
      if (want == null) {
        problems.add("partition " + p + " of job '" + job + "' is not in the reference run");
      } else if (!c.cursor().equals(want)) {
        problems.add(
            "partition "
                + p
                + " checkpoint is at "
                + c.cursor()
                + ", the reference run's at "
                + want);
      }
      out.add(
          "partition "
              + p
              + ": sequence "
              + c.sequence()
              + ", epoch "
              + c.epoch()
              + ", "
              + c.cursor());
    }
    for (int p = 0; p < partitionCount; p++) {
      FileListing sub = listing.partition(p, partitionCount);
      String id = Partitioning.id(p);
      if (sub.size() > 0 && mine.get(id) instanceof Checkpoint c) {
        Cursor end = sub.cursorAt(sub.size() - 1);
        if (!c.cursor().equals(end)) {
          problems.add(
              (partitionCount == 1 ? "the checkpoint" : "partition " + id + "'s checkpoint")
                  + " is at "
                  + c.cursor()
                  + ", not at the last file of "
                  + (partitionCount == 1 ? "the listing " : "its sub-listing ")
                  + end);
        }
      }
    }
  }

  /** No temp file left by an interrupted write, and nothing the audit calls wrong. */
  private void checkStateFolder(Path state, String job) throws IOException {
    Path dir = state.resolve(job);
    try (Stream<Path> walk = Files.walk(dir)) {
      List<Path> temps =
          walk.filter(
                  p -> {
                    String n = p.getFileName().toString();
                    return n.startsWith(".") && n.endsWith(AtomicFileWriter.TEMP_SUFFIX);
                  })
              .toList();
      if (!temps.isEmpty()) {
        problems.add(temps.size() + " temp file(s) left: " + temps);
      }
    }
    for (FileStoreAudit.Finding f : FileStoreAudit.run(state, job).findings()) {
      if (f.severity() != FileStoreAudit.Severity.WARNING
          && f.check() != FileStoreAudit.Check.PERMISSIONS) {
        problems.add("audit: " + f.path() + ": " + f.message());
      }
    }
  }

  private void killCurrent() {
    TortureChild child = current;
    if (child != null) {
      child.close();
    }
  }

  private static void signal(TortureChild child, String signal) throws InterruptedException {
    try {
      new ProcessBuilder("kill", "-" + signal, Long.toString(child.pid()))
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .start()
          .waitFor();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot send SIG" + signal + " (is 'kill' on the PATH?)", e);
    }
  }

  // ------------------------------------------------------------------ the ingest flags

  /** Parses and checks the ingest flags exactly as {@code waymark ingest} would. */
  static IngestCommand parse(List<String> flags) {
    IngestCommand ingest = new IngestCommand();
    try {
      new CommandLine(ingest).parseArgs(flags.toArray(String[]::new));
      ingest.options();
    } catch (CommandLine.ParameterException e) {
      throw new IllegalArgumentException(
          "the ingest flags after -- are not valid: " + e.getMessage(), e);
    }
    return ingest;
  }

  /**
   * Parses the flags of {@code waymark worker} (those of ingest, with {@code --coordinator} and
   * {@code --lease}) as the worker would: {@code --db} defaults to the coordinator, checkpoints are
   * in the database.
   */
  static WorkerCommand parseWorker(List<String> flags) {
    WorkerCommand worker = new WorkerCommand();
    try {
      new CommandLine(worker).parseArgs(flags.toArray(String[]::new));
      if (flagValue(flags, "--db") == null) {
        worker.db = worker.coordinator;
      }
      worker.checkpointStore = "db";
      worker.options();
    } catch (CommandLine.ParameterException e) {
      throw new IllegalArgumentException(
          "the worker flags after -- are not valid: " + e.getMessage(), e);
    }
    return worker;
  }

  private static void requireGeneratable(IngestCommand ingest) {
    boolean matches =
        FileSystems.getDefault()
            .getPathMatcher("glob:" + ingest.glob)
            .matches(Path.of(FeedGenerator.fileName(0)));
    if (!ingest.format.equals("json-array") || !matches) {
      throw new IllegalArgumentException(
          "without --input, torture generates a feed of JSON arrays named skus_NNNNN.json, which"
              + " --format "
              + ingest.format
              + " --glob "
              + ingest.glob
              + " would not read. Pass --input DIR with your own files.");
    }
  }

  /** The value of {@code --name X} or {@code --name=X} in {@code flags}, or null. */
  static String flagValue(List<String> flags, String name) {
    for (int i = 0; i < flags.size(); i++) {
      String f = flags.get(i);
      if (f.equals(name) && i + 1 < flags.size()) {
        return flags.get(i + 1);
      }
      if (f.startsWith(name + "=")) {
        return f.substring(name.length() + 1);
      }
    }
    return null;
  }

  /** {@code flags} without {@code --name X} and {@code --name=X}. */
  static List<String> without(List<String> flags, String name) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < flags.size(); i++) {
      String f = flags.get(i);
      if (f.equals(name)) {
        i++; // and its value
      } else if (!f.startsWith(name + "=")) {
        out.add(f);
      }
    }
    return out;
  }

  /** {@code flags} with {@code --name value} instead of any other value. */
  static List<String> with(List<String> flags, String name, String value) {
    List<String> out = without(flags, name);
    out.add(name);
    out.add(value);
    return out;
  }

  private static void deleteRecursively(Path dir) throws IOException {
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
