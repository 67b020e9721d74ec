package dev.waymark.checkpoint.file;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * A {@link CheckpointFileSystem} that passes every call to another one; subclasses override the
 * calls they observe, delay or fail (fault injection, crash points, timing). Thread-safe if the
 * delegate and the overrides are.
 */
public class ForwardingCheckpointFileSystem implements CheckpointFileSystem {
  private final CheckpointFileSystem delegate;

  public ForwardingCheckpointFileSystem(CheckpointFileSystem delegate) {
    this.delegate = Objects.requireNonNull(delegate, "delegate");
  }

  /** The file system calls are passed to. */
  protected CheckpointFileSystem delegate() {
    return delegate;
  }

  @Override
  public WritableFile createExclusive(Path path) throws IOException {
    return delegate.createExclusive(path);
  }

  @Override
  public void link(Path link, Path existing) throws IOException {
    delegate.link(link, existing);
  }

  @Override
  public void atomicMove(Path source, Path target) throws IOException {
    delegate.atomicMove(source, target);
  }

  @Override
  public void fsyncDirectory(Path dir) throws IOException {
    delegate.fsyncDirectory(dir);
  }

  @Override
  public void createDirectory(Path dir) throws IOException {
    delegate.createDirectory(dir);
  }

  @Override
  public void delete(Path path) throws IOException {
    delegate.delete(path);
  }

  @Override
  public byte[] read(Path path) throws IOException {
    return delegate.read(path);
  }

  @Override
  public List<Path> list(Path dir) throws IOException {
    return delegate.list(dir);
  }

  @Override
  public Kind kind(Path path) throws IOException {
    return delegate.kind(path);
  }
}
