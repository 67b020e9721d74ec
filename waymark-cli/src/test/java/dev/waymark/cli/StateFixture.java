package dev.waymark.cli;

import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.file.FileCheckpointStore;
import dev.waymark.checkpoint.file.FileStoreOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;

/** Builds real state directories through {@link FileCheckpointStore}. */
final class StateFixture {
  static final Instant COMMITTED_AT = Instant.parse("2026-11-26T03:00:00Z");

  private final Path state;

  StateFixture(Path state) {
    this.state = state;
  }

  /** Commits the cursors, in order, to one partition; closes the store again. */
  StateFixture commit(String job, String partition, Cursor... cursors) {
    FileStoreOptions options =
        FileStoreOptions.builder().clock(Clock.fixed(COMMITTED_AT, ZoneOffset.UTC)).build();
    try (FileCheckpointStore store = FileCheckpointStore.open(state, job, options)) {
      for (Cursor c : cursors) {
        store.commit(partition, c);
      }
    }
    return this;
  }

  Path checkpoint(String job, String partition) {
    return state.resolve(job).resolve("partitions").resolve(partition).resolve("checkpoint");
  }

  /** Replaces the checkpoint with its first half, as a non-atomic writer's crash would. */
  Path truncate(String job, String partition) {
    Path file = checkpoint(job, partition);
    try {
      byte[] bytes = Files.readAllBytes(file);
      Files.delete(file); // a new inode: the hard-linked history entry stays intact
      Files.write(file, Arrays.copyOf(bytes, bytes.length / 2));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return file;
  }

  String dir() {
    return state.toString();
  }
}
