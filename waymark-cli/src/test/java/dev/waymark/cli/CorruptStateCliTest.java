package dev.waymark.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.file.FileCheckpointStore;
import dev.waymark.checkpoint.internal.Json;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A state directory damaged in the ways core's corpus (CorruptCheckpointTest, FileStoreAuditTest)
 * does not cover, through the real CLI: {@code checkpoint status}, {@code checkpoint audit}, then
 * {@code ingest} of one more file. Each damage is either refused (exit 4 for a checkpoint or epoch
 * that cannot be trusted, exit 1 for a layout that is not Waymark's, each message naming the path
 * and the fix, and the ingest loading nothing) or tolerated as documented in RELIABILITY.md (the
 * ingest resumes after the third file).
 */
class CorruptStateCliTest {
  static final String JOB = "nightly";

  @TempDir Path tmp;

  /** What one command must do: its exit code and fragments of its output (stdout and stderr). */
  record Expect(int code, String... says) {}

  /** Damages the state directory (the job's folder is {@code state/nightly}). */
  interface Damage {
    void apply(Path state) throws IOException;
  }

  record Case(String id, Damage damage, Expect status, Expect audit, Expect ingest) {
    @Override
    public String toString() {
      return id;
    }
  }

  static final Expect TOLERATED = new Expect(0);

  static Stream<Case> cases() {
    String p0 = "nightly/partitions/0/";
    return Stream.of(
        new Case(
            "another job's checkpoint copied in",
            s -> copy(s.resolve("other/partitions/0/checkpoint"), s.resolve(p0 + "checkpoint")),
            new Expect(4, "WRONG_JOB", "this is another job's checkpoint"),
            new Expect(4, "INVALID", p0 + "checkpoint"),
            new Expect(
                4,
                p0
                    + "checkpoint is invalid: this is another job's checkpoint; it was copied or"
                    + " moved here (expected job 'nightly', found job 'other' partition '0')",
                "waymark checkpoint history --state ")),
        new Case(
            "a newer format version with a valid checksum",
            s -> rewrite(s.resolve(p0 + "checkpoint"), r -> r.put("version", 2L)),
            new Expect(4, "NEWER_VERSION"),
            new Expect(4, "INVALID", "written by a newer Waymark"),
            new Expect(
                4,
                "written by a newer Waymark (expected format version 1 or older, found format"
                    + " version 2)",
                "Run this job with the Waymark release that wrote it")),
        new Case(
            "a history entry damaged, the current checkpoint fine",
            s -> replace(s.resolve(p0 + "history/00000000000000000002.ckpt"), "garbage\n"),
            TOLERATED,
            new Expect(4, "INVALID", p0 + "history/00000000000000000002.ckpt", "not valid JSON"),
            TOLERATED),
        new Case(
            "the current checkpoint torn, its history fine",
            s -> {
              Path c = s.resolve(p0 + "checkpoint");
              byte[] b = Files.readAllBytes(c);
              replace(c, new String(Arrays.copyOf(b, b.length / 2), StandardCharsets.UTF_8));
            },
            new Expect(4, "TRUNCATED"),
            new Expect(4, "INVALID", "the record has no final newline"),
            new Expect(
                4,
                p0 + "checkpoint is invalid: the record has no final newline",
                "then `waymark checkpoint rollback --state ")),
        new Case(
            "a lock file of random bytes",
            s -> {
              byte[] junk = new byte[4096];
              new Random(7).nextBytes(junk);
              Files.write(s.resolve("nightly/waymark.lock"), junk);
            },
            TOLERATED,
            TOLERATED,
            TOLERATED),
        new Case(
            "a lock file of 20 MB",
            s -> {
              try (RandomAccessFile f =
                  new RandomAccessFile(s.resolve("nightly/waymark.lock").toFile(), "rw")) {
                f.setLength(20L << 20);
              }
            },
            TOLERATED,
            TOLERATED,
            TOLERATED),
        new Case(
            "a directory in place of the lock file",
            s -> {
              Files.delete(s.resolve("nightly/waymark.lock"));
              Files.createDirectory(s.resolve("nightly/waymark.lock"));
            },
            TOLERATED,
            new Expect(1, "waymark.lock"),
            new Expect(
                1,
                "nightly/waymark.lock is not a regular file (a directory, a link or a special"
                    + " file) where the job's lock file belongs. Move it out of the way")),
        new Case(
            "a damaged epoch file",
            s -> replace(s.resolve("nightly/epoch"), "{\"epoch\":7}\n"),
            TOLERATED,
            new Expect(4, "INVALID", "nightly/epoch"),
            new Expect(
                4,
                "nightly/epoch is invalid: the job's epoch file is damaged",
                "the next writer recomputes the epoch from the partitions' checkpoints")),
        new Case(
            "a missing epoch file",
            s -> Files.delete(s.resolve("nightly/epoch")),
            TOLERATED,
            TOLERATED,
            TOLERATED),
        new Case(
            "an epoch file ahead of every checkpoint (99)",
            s -> {
              Map<String, Object> r = new TreeMap<>();
              r.put("epoch", 99L);
              r.put("format", "waymark-epoch");
              r.put("job", JOB);
              Files.write(s.resolve("nightly/epoch"), withCrc(r));
            },
            TOLERATED,
            TOLERATED,
            TOLERATED),
        new Case(
            "the committed marker without its checkpoint",
            s -> Files.delete(s.resolve(p0 + "checkpoint")),
            new Expect(4, "MISSING"),
            new Expect(4, "INVALID"),
            new Expect(
                4,
                "the partition committed before but its checkpoint file is gone",
                "Restore it from history")),
        new Case(
            "stray files in the partition directory",
            s -> {
              Files.writeString(s.resolve(p0 + "notes.txt"), "hello");
              Files.createDirectory(s.resolve(p0 + "junk"));
              Files.writeString(s.resolve(p0 + "history/README"), "x");
            },
            TOLERATED,
            new Expect(1, p0 + "notes.txt", p0 + "history/README"),
            TOLERATED),
        new Case(
            "the checkpoint a symbolic link to another job's",
            s -> {
              Path c = s.resolve(p0 + "checkpoint");
              Files.delete(c);
              Files.createSymbolicLink(c, Path.of("../../../other/partitions/0/checkpoint"));
            },
            new Expect(4, "NOT_A_FILE"),
            new Expect(4, "INVALID"),
            new Expect(
                4, "something other than a regular file stands where the checkpoint belongs")),
        new Case(
            "the state directory is a file",
            s -> {
              delete(s);
              Files.writeString(s, "not a directory");
            },
            new Expect(1, "is not a directory. Point --state at the directory"),
            new Expect(1, "state"),
            new Expect(1, "is a file where Waymark keeps a directory of its state")),
        new Case(
            "the job directory is a file",
            s -> {
              delete(s.resolve(JOB));
              Files.writeString(s.resolve(JOB), "x");
            },
            new Expect(1, "is a file where the directory of job 'nightly' belongs"),
            new Expect(1, "nightly"),
            new Expect(1, "nightly is a file where Waymark keeps a directory of its state")),
        new Case(
            "the partitions directory is a file",
            s -> {
              delete(s.resolve("nightly/partitions"));
              Files.writeString(s.resolve("nightly/partitions"), "x");
            },
            new Expect(1, "nightly/partitions is a file where Waymark keeps a directory"),
            new Expect(1, "nightly/partitions"),
            new Expect(1, "nightly/partitions is a file where Waymark keeps a directory")),
        new Case(
            "the history directory is a file",
            s -> {
              delete(s.resolve(p0 + "history"));
              Files.writeString(s.resolve(p0 + "history"), "x");
            },
            TOLERATED,
            new Expect(1, p0 + "history"),
            new Expect(1, p0 + "history is a file where Waymark keeps a directory")),
        new Case(
            "the history directory missing",
            s -> delete(s.resolve(p0 + "history")),
            TOLERATED,
            TOLERATED,
            TOLERATED));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void eachDamageIsRefusedWithItsPathAndFixOrToleratedAsDocumented(Case c) throws Exception {
    Path feed = tmp.resolve("feed");
    Files.createDirectories(feed);
    for (int i = 1; i <= 3; i++) {
      Files.writeString(feed.resolve("skus_0000" + i + ".json"), "[{\"a\":" + i + "}]");
    }
    Path state = tmp.resolve("state");
    String db = "jdbc:sqlite:" + tmp.resolve("w.db");
    assertThat(ingest(feed, state, db, JOB).exitCode()).isZero();
    assertThat(ingest(feed, state, db, "other").exitCode()).isZero();
    Files.writeString(feed.resolve("skus_00004.json"), "[{\"a\":4}]");

    c.damage().apply(state);
    List<String> damaged = listing(state);

    check(c.status(), run("checkpoint", "status", "--state", state.toString(), "--job", JOB));
    check(c.audit(), run("checkpoint", "audit", "--state", state.toString(), "--job", JOB));
    assertThat(listing(state)).as("status and audit change nothing").isEqualTo(damaged);

    CliRun ingest = ingest(feed, state, db, JOB);
    check(c.ingest(), ingest);
    long rows = count(db);
    if (c.ingest().code() == 0) {
      assertThat(ingest.out()).contains("resume from file 4 (skus_00004.json), 4 files in total");
      assertThat(rows).isEqualTo(4);
      Checkpoint cp = FileCheckpointStore.reader(state, JOB).read().orElseThrow();
      assertThat(IngestTarget.position(cp.cursor())).isEqualTo(Cursor.ofFile("skus_00004.json", 4));
      if (c.id().contains("epoch file ahead")) {
        assertThat(cp.epoch()).isEqualTo(100);
      }
    } else {
      assertThat(rows).as("nothing loaded").isEqualTo(3);
      assertThat(ingest.err()).contains(state.toString());
    }
  }

  static Stream<Case> fixable() {
    return cases()
        .filter(
            c ->
                c.id().startsWith("the current checkpoint torn")
                    || c.id().startsWith("the committed marker")
                    || c.id().startsWith("a damaged epoch"));
  }

  /**
   * The fix each message names works: rollback to the newest kept version for a torn or lost
   * checkpoint, deleting a damaged epoch file; then the ingest resumes after the third file.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("fixable")
  void theFixThatTheMessageNamesWorks(Case c) throws Exception {
    Path feed = tmp.resolve("feed");
    Files.createDirectories(feed);
    for (int i = 1; i <= 3; i++) {
      Files.writeString(feed.resolve("skus_0000" + i + ".json"), "[{\"a\":" + i + "}]");
    }
    Path state = tmp.resolve("state");
    String db = "jdbc:sqlite:" + tmp.resolve("w.db");
    assertThat(ingest(feed, state, db, JOB).exitCode()).isZero();
    assertThat(ingest(feed, state, db, "other").exitCode()).isZero();
    c.damage().apply(state);
    Files.writeString(feed.resolve("skus_00004.json"), "[{\"a\":4}]");

    CliRun fix =
        c.id().startsWith("a damaged epoch")
            ? deleteEpoch(state)
            : run("checkpoint", "rollback", "--state", state.toString(), "--job", JOB, "--to", "3");
    assertThat(fix.exitCode()).as(fix.toString()).isZero();
    CliRun again = ingest(feed, state, db, JOB);
    assertThat(again.exitCode()).as(again.toString()).isZero();
    assertThat(again.out()).contains("resume from file 4 (skus_00004.json)");
    assertThat(count(db)).isEqualTo(4);
  }

  private static CliRun deleteEpoch(Path state) throws IOException {
    Files.delete(state.resolve("nightly/epoch"));
    return new CliRun(0, "", "");
  }

  private static void check(Expect expect, CliRun run) {
    assertThat(run.exitCode()).as(run.toString()).isEqualTo(expect.code());
    for (String s : expect.says()) {
      assertThat(run.out() + run.err()).as(run.toString()).contains(s);
    }
  }

  private static CliRun ingest(Path feed, Path state, String db, String job) {
    return run(
        "ingest",
        "--input",
        feed.toString(),
        "--db",
        db,
        "--table",
        job + "_t",
        "--state",
        state.toString(),
        "--job",
        job,
        "--commit-every",
        "1");
  }

  private static CliRun run(String... args) {
    return IngestTarget.runInProcess(List.of(args));
  }

  private static long count(String db) throws Exception {
    try (var c = java.sql.DriverManager.getConnection(db);
        var s = c.createStatement();
        var rs = s.executeQuery("SELECT COUNT(*) FROM nightly_t")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static void copy(Path from, Path to) throws IOException {
    Files.delete(to); // a new inode: the hard-linked history entry stays intact
    Files.copy(from, to);
  }

  private static void replace(Path file, String content) throws IOException {
    Files.delete(file);
    Files.writeString(file, content);
  }

  /** Rewrites a checkpoint's record and gives it a valid checksum again. */
  private static void rewrite(Path file, java.util.function.Consumer<Map<String, Object>> edit)
      throws IOException {
    byte[] line = Files.readAllBytes(file);
    Map<String, Object> record;
    try {
      @SuppressWarnings("unchecked")
      Map<String, Object> parsed =
          (Map<String, Object>) Json.parse(Arrays.copyOf(line, line.length - 1));
      record = new TreeMap<>(parsed);
    } catch (Json.ParseException e) {
      throw new AssertionError(e);
    }
    record.remove("crc32c");
    edit.accept(record);
    Files.delete(file);
    Files.write(file, withCrc(record));
  }

  /** The record as a line with its CRC-32C, as the checkpoint and epoch codecs write it. */
  private static byte[] withCrc(Map<String, Object> record) {
    CRC32C crc = new CRC32C();
    crc.update(Json.encode(record));
    Map<String, Object> full = new TreeMap<>(record);
    full.put("crc32c", String.format("%08x", crc.getValue()));
    return (new String(Json.encode(full), StandardCharsets.UTF_8) + "\n")
        .getBytes(StandardCharsets.UTF_8);
  }

  private static void delete(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  private static List<String> listing(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return List.of(dir + " " + Files.size(dir));
    }
    List<String> out = new ArrayList<>();
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : files.sorted().toList()) {
        out.add(
            dir.relativize(p)
                + (Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                    ? " " + Arrays.hashCode(Files.readAllBytes(p))
                    : ""));
      }
    }
    return out;
  }
}
