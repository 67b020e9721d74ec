package dev.waymark.checkpoint.file;

import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.Cursor;
import java.io.PrintStream;
import java.nio.file.Path;

/**
 * The child JVM of the kill test: opens the job's store, then commits forever until it is killed.
 *
 * <p>Protocol on stdout, each line flushed before the next operation starts:
 *
 * <pre>
 * ready SEQ EPOCH     the store is open; SEQ is the current sequence (0: none), EPOCH this writer's
 * begin SEQ           the commit (or rollback) that will produce SEQ starts
 * ack SEQ             it returned, so SEQ is durable
 * </pre>
 *
 * <p>What is committed at each sequence is a pure function of the sequence ({@link #cursorAt}), so
 * the parent can tell whether a recovered checkpoint holds the right cursor. Every seventh sequence
 * (from 14 on) is a rollback to the version three back, so rollbacks are killed too; the default
 * retention (the last 10) prunes history on every commit, so pruning is killed too.
 *
 * <p>Arguments: {@code STATE_DIR JOB [non-atomic]}; {@code non-atomic} writes through {@link
 * NonAtomicRenameFileSystem}, the deliberately broken file system that proves the parent's checks
 * can fail.
 */
public final class CommitLoopChild {
  static final String PARTITION = "0";

  private CommitLoopChild() {}

  /** Whether the operation that produces {@code sequence} is a rollback rather than a commit. */
  static boolean isRollback(long sequence) {
    return sequence >= 14 && sequence % 7 == 0;
  }

  /** The sequence a rollback producing {@code sequence} restores; always within retention. */
  static long rollbackTarget(long sequence) {
    return sequence - 3;
  }

  /** The cursor the checkpoint with {@code sequence} must hold. */
  static Cursor cursorAt(long sequence) {
    long s = sequence;
    while (isRollback(s)) {
      s = rollbackTarget(s);
    }
    return Cursor.ofFile(String.format("part-%08d.csv", s), s);
  }

  public static void main(String[] args) {
    Path state = Path.of(args[0]);
    String job = args[1];
    boolean nonAtomic = args.length > 2 && args[2].equals("non-atomic");
    FileStoreOptions options =
        nonAtomic
            ? FileStoreOptions.builder().fileSystem(new NonAtomicRenameFileSystem()).build()
            : FileStoreOptions.ofDefaults();
    PrintStream out = System.out;
    FileCheckpointStore store = FileCheckpointStore.open(state, job, options);
    long sequence = store.read(PARTITION).map(Checkpoint::sequence).orElse(0L);
    out.println("ready " + sequence + " " + store.epoch());
    out.flush();
    while (true) {
      long next = sequence + 1;
      out.println("begin " + next);
      out.flush();
      Checkpoint committed =
          isRollback(next)
              ? store.rollback(PARTITION, rollbackTarget(next))
              : store.commit(PARTITION, cursorAt(next));
      out.println("ack " + committed.sequence());
      out.flush();
      sequence = committed.sequence();
    }
  }
}
