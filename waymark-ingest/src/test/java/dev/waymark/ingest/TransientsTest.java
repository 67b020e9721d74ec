package dev.waymark.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.waymark.WaymarkException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.sql.SQLException;
import org.junit.jupiter.api.Test;

/** Which failures a retry can outlive, and which need a person (and say what to do). */
class TransientsTest {
  @Test
  void aDiskFullUnderTheCheckpointIsNotRetriedAndSaysToFreeSpace() {
    Exception e =
        new WaymarkException(
            "Commit failed", new IOException("No space left on device")); // FileChannel.write
    assertThat(Transients.isTransient(e)).isFalse();
    assertThat(Transients.permanentIoProblem(e)).hasValue("free space on that file system");
  }

  @Test
  void aReadOnlyFileSystemOrADeniedFileIsNotRetried() {
    Exception readOnly =
        new UncheckedIOException(new FileSystemException("/s/lock", null, "Read-only file system"));
    Exception denied = new UncheckedIOException(new AccessDeniedException("/in/a.json"));
    assertThat(Transients.isTransient(readOnly)).isFalse();
    assertThat(Transients.isTransient(denied)).isFalse();
    assertThat(Transients.permanentIoProblem(denied))
        .hasValue("give the user running waymark access to it");
  }

  @Test
  void sqliteFullIsNotRetriedButSqliteBusyIs() {
    SQLException full = new SQLException("[SQLITE_FULL] Insertion failed because database is full");
    SQLException busy = new SQLException("[SQLITE_BUSY] The database file is locked");
    assertThat(Transients.isTransient(full)).isFalse();
    assertThat(Transients.permanentIoProblem(full)).isPresent();
    assertThat(Transients.isTransient(busy)).isTrue();
  }

  @Test
  void otherIoErrorsAndLostConnectionsAreStillRetried() {
    assertThat(
            Transients.isTransient(new UncheckedIOException(new IOException("Input/output error"))))
        .isTrue();
    assertThat(Transients.isTransient(new SQLException("connection lost", "08006"))).isTrue();
    assertThat(Transients.permanentIoProblem(new SQLException("x", "08006"))).isEmpty();
  }
}
