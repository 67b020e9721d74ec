package dev.waymark.checkpoint.file;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.LockHeldException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Two real processes on one job: the OS lock keeps one out, and the epoch fences a lost lock. */
@Timeout(value = 2, unit = java.util.concurrent.TimeUnit.MINUTES)
class FileCheckpointStoreTwoProcessesIT {
  private static final Duration STARTUP = Duration.ofSeconds(60);

  @TempDir Path state;
  @TempDir Path logs;

  @Test
  void aSecondProcessFailsAtOnceNamingTheHolderUntilTheHolderIsKilled() throws Exception {
    try (ChildJvm holder = ChildJvm.start(LockHolderChild.class, logs, state.toString(), "job")) {
      String locked = holder.awaitLine("locked ", STARTUP);
      assertThat(locked).as("child stderr: %s", holder.stderrTail()).isNotNull();
      long holderEpoch = Long.parseLong(locked.split(" ")[1]);

      FileCheckpointStore.open(state, "warm-up").close(); // class loading is not lock waiting
      long started = System.nanoTime();
      LockHeldException refused =
          catchThrowableOfType(
              LockHeldException.class, () -> FileCheckpointStore.open(state, "job").close());
      Duration waited = Duration.ofNanos(System.nanoTime() - started);

      assertThat(refused).as("the second open must fail while the child holds the job").isNotNull();
      assertThat(waited)
          .as("the second open must not wait for the lock")
          .isLessThan(Duration.ofSeconds(2));
      assertThat(refused.holder())
          .startsWith("pid " + holder.pid() + " on host " + JobLock.hostName() + " since ");
      assertThat(refused.getMessage())
          .startsWith("Job 'job' is locked by pid " + holder.pid() + " on host ")
          .contains("lock file " + state.resolve("job/waymark.lock"));

      assertThat(holder.kill()).as("exit value of SIGKILL").isEqualTo(ChildJvm.SIGKILL_EXIT);

      // The kernel released the dead holder's lock: nothing to clean up by hand.
      try (FileCheckpointStore next = FileCheckpointStore.open(state, "job")) {
        assertThat(next.epoch()).isGreaterThan(holderEpoch);
        assertThat(next.commit(Cursor.ofOffset(1)).sequence()).isEqualTo(1);
      }
    }
  }

  @Test
  void aSecondOpenThroughASymbolicLinkIsRefusedWithoutReleasingTheFirstOnesLock() throws Exception {
    // The state folder is no link (that is refused); a folder above it is.
    Path dir = state.resolve("s");
    Path viaLink = Files.createSymbolicLink(logs.resolve("state-link"), state).resolve("s");
    try (FileCheckpointStore first = FileCheckpointStore.open(dir, "job")) {
      LockHeldException again =
          catchThrowableOfType(
              LockHeldException.class, () -> FileCheckpointStore.open(viaLink, "job").close());

      assertThat(again).isNotNull();
      assertThat(again.holder()).endsWith(" (this same process)");
      // Another process must still find the job locked: closing a second channel to the lock
      // file would have released this process's lock.
      try (ChildJvm other = ChildJvm.start(LockHolderChild.class, logs, dir.toString(), "job")) {
        assertThat(other.awaitExit()).as("child stderr: %s", other.stderrTail()).isNotZero();
        assertThat(other.stderrTail()).contains("LockHeldException").contains("is locked by pid");
      }
      assertThat(first.commit(Cursor.ofOffset(1)).epoch()).isEqualTo(first.epoch());
    }
  }

  @Test
  void aProcessThatLostItsLockIsFencedByTheNewWriter() throws Exception {
    try (ChildJvm old = ChildJvm.start(LockHolderChild.class, logs, state.toString(), "job")) {
      String locked = old.awaitLine("locked ", STARTUP);
      assertThat(locked).as("child stderr: %s", old.stderrTail()).isNotNull();
      long oldEpoch = Long.parseLong(locked.split(" ")[1]);
      old.send("commit 100");
      assertThat(old.awaitLine("", STARTUP)).isEqualTo("committed 1 " + oldEpoch);

      // The old writer loses its lock without knowing (an NFS lease expiring, an operator deleting
      // the lock file): a new writer gets in.
      Files.delete(state.resolve("job/waymark.lock"));
      try (FileCheckpointStore next = FileCheckpointStore.open(state, "job")) {
        assertThat(next.epoch()).isGreaterThan(oldEpoch);
        assertThat(next.commit(Cursor.ofOffset(200)).sequence()).isEqualTo(2);

        old.send("commit 300");
        assertThat(old.awaitLine("", STARTUP))
            .startsWith("refused FencedException ")
            .contains("this writer holds epoch " + oldEpoch)
            .contains("but epoch " + next.epoch() + " is recorded");

        assertThat(next.read().orElseThrow().cursor()).isEqualTo(Cursor.ofOffset(200));
        assertThat(next.read().orElseThrow().sequence()).isEqualTo(2);
      }
      old.send("exit");
      assertThat(old.awaitExit()).as("child stderr: %s", old.stderrTail()).isZero();
    }
  }
}
