package dev.waymark.bench;

import dev.waymark.checkpoint.file.CheckpointFileSystem;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link CheckpointFileSystem} that times each call it forwards, for the {@code --breakdown}
 * profile: where a store commit spends its time. Calls are labelled by operation and by the file
 * they touch ({@code read epoch}, {@code fsync dir history}, ...). Not thread-safe: one commit at a
 * time.
 */
final class TimingFileSystem implements CheckpointFileSystem {
  private final CheckpointFileSystem delegate;
  private Map<String, long[]> current = new LinkedHashMap<>();
  private boolean renamed;

  TimingFileSystem(CheckpointFileSystem delegate) {
    this.delegate = delegate;
  }

  /**
   * Returns what was recorded since the last call, per label: {@code {nanoseconds, calls}}, and
   * starts afresh.
   */
  Map<String, long[]> drain() {
    Map<String, long[]> recorded = current;
    current = new LinkedHashMap<>();
    renamed = false;
    return recorded;
  }

  private void record(String label, long startNanos) {
    long elapsed = System.nanoTime() - startNanos;
    long[] slot = current.computeIfAbsent(label, k -> new long[2]);
    slot[0] += elapsed;
    slot[1]++;
  }

  /** {@code history/*} for history entries, {@code temp} for temp files, else the file's name. */
  private static String name(Path path) {
    Path parent = path.getParent();
    if (parent != null && parent.getFileName() != null) {
      if (parent.getFileName().toString().equals("history")) {
        return "history/*";
      }
    }
    String name = path.getFileName().toString();
    return name.startsWith(".") && name.endsWith(".tmp") ? "temp" : name;
  }

  @Override
  public WritableFile createExclusive(Path path) throws IOException {
    long start = System.nanoTime();
    WritableFile file = delegate.createExclusive(path);
    record("create " + name(path), start);
    return new WritableFile() {
      @Override
      public void write(byte[] bytes) throws IOException {
        long t = System.nanoTime();
        file.write(bytes);
        record("write " + name(path), t);
      }

      @Override
      public void force() throws IOException {
        long t = System.nanoTime();
        file.force();
        record("fsync " + name(path), t);
      }

      @Override
      public void close() throws IOException {
        long t = System.nanoTime();
        file.close();
        record("close " + name(path), t);
      }
    };
  }

  @Override
  public void link(Path link, Path existing) throws IOException {
    long start = System.nanoTime();
    delegate.link(link, existing);
    record("link " + name(link), start);
  }

  @Override
  public void atomicMove(Path source, Path target) throws IOException {
    long start = System.nanoTime();
    delegate.atomicMove(source, target);
    record("rename " + name(source) + " -> " + name(target), start);
    renamed = true;
  }

  @Override
  public void fsyncDirectory(Path dir) throws IOException {
    long start = System.nanoTime();
    delegate.fsyncDirectory(dir);
    record("fsync dir " + dir.getFileName(), start);
  }

  @Override
  public void createDirectory(Path dir) throws IOException {
    long start = System.nanoTime();
    delegate.createDirectory(dir);
    record("mkdir " + dir.getFileName(), start);
  }

  @Override
  public void delete(Path path) throws IOException {
    long start = System.nanoTime();
    delegate.delete(path);
    record("delete " + name(path) + (renamed ? " (after rename)" : " (before write)"), start);
  }

  @Override
  public byte[] read(Path path) throws IOException {
    long start = System.nanoTime();
    byte[] bytes = delegate.read(path);
    record("read " + name(path), start);
    return bytes;
  }

  @Override
  public List<Path> list(Path dir) throws IOException {
    long start = System.nanoTime();
    List<Path> entries = delegate.list(dir);
    record("list " + dir.getFileName() + " (" + entries.size() + " entries)", start);
    return entries;
  }

  @Override
  public Kind kind(Path path) throws IOException {
    long start = System.nanoTime();
    Kind kind = delegate.kind(path);
    record("stat " + name(path), start);
    return kind;
  }
}
