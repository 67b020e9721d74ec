package dev.waymark.checkpoint.file;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * A forwarding {@link CheckpointFileSystem} for tests: every call is recorded as an {@link Op} with
 * a step number, then passed to the delegate, unless a fault is armed for it.
 *
 * <h2>Faults</h2>
 *
 * <ul>
 *   <li>{@link Fault#ioError()}: the operation is not performed and throws an {@link IOException}
 *       naming it, once; later calls go through again (a transient error: disk full, EIO).
 *   <li>{@link Fault#crash()}: the operation is not performed and throws {@link CrashedException};
 *       from then on <em>every</em> call throws it too, as if the process had died at that instant.
 *       What the delegate holds is the state a crash at that point leaves behind (this class does
 *       not drop un-synced data; {@code crashstate.CrashStateExplorer} enumerates what a power loss
 *       could drop).
 *   <li>{@link Fault#throwing(Function)}: the operation throws the given exception instead, once
 *       (e.g. {@link java.nio.file.AtomicMoveNotSupportedException} from a move).
 *   <li>{@link Fault#ioErrorAfterPerforming()} and {@link Fault#crashAfterPerforming()}: the same,
 *       but the operation is performed first (a rename that happened although it reported an error;
 *       a crash right after the last call of an operation).
 * </ul>
 *
 * <p>A fault is armed either for an absolute step ({@link #failAt(int, Fault)}; steps count from 1
 * over the life of this object, see {@link #steps()}) or for the first operation matching a
 * predicate ({@link #failWhen(Predicate, Fault)}). A typical exhaustive test records one clean run
 * of an action, then replays it once per recorded step with the fault armed at that step.
 *
 * <p>Thread-safe: every call is serialised on this object, so step numbers are a total order.
 */
public final class FaultInjectingFileSystem implements CheckpointFileSystem {

  /** What an operation does. The writes of one open file share the file's path. */
  public enum OpKind {
    CREATE_EXCLUSIVE,
    WRITE,
    FORCE,
    CLOSE,
    LINK,
    ATOMIC_MOVE,
    FSYNC_DIRECTORY,
    CREATE_DIRECTORY,
    DELETE,
    READ,
    LIST,
    KIND;

    /** Whether the operation changes what is on disk (or its durability). */
    public boolean mutates() {
      return switch (this) {
        case READ, LIST, KIND -> false;
        default -> true;
      };
    }
  }

  /**
   * One call: its 1-based step number, kind, path and, for {@code LINK} (the existing file) and
   * {@code ATOMIC_MOVE} (the target), a second path.
   */
  public record Op(int step, OpKind kind, Path path, Path other) {
    /** Whether {@link #path()} is a temp file of {@link AtomicFileWriter}. */
    public boolean onTempFile() {
      return AtomicFileWriter.isTempFile(path.getFileName().toString());
    }

    /**
     * The file the operation is about: for a temp file, the file it will replace ({@code
     * .checkpoint.0a1b.tmp} stands for {@code checkpoint}); for a move, its target.
     */
    public Path subject() {
      if (kind == OpKind.ATOMIC_MOVE) {
        return other;
      }
      if (onTempFile()) {
        String name = path.getFileName().toString();
        String stem = name.substring(1, name.length() - AtomicFileWriter.TEMP_SUFFIX.length());
        return path.resolveSibling(stem.substring(0, stem.lastIndexOf('.')));
      }
      return path;
    }

    @Override
    public String toString() {
      return "#"
          + step
          + " "
          + kind
          + " "
          + path.getFileName()
          + (other == null ? "" : " -> " + other.getFileName());
    }
  }

  /** What an armed fault does. Create with the static factories. */
  public static final class Fault {
    private final Function<Op, IOException> exception;
    private final boolean afterPerforming;

    private Fault(Function<Op, IOException> exception, boolean afterPerforming) {
      this.exception = exception;
      this.afterPerforming = afterPerforming;
    }

    /** The operation is not performed and fails with an {@link IOException}, once. */
    public static Fault ioError() {
      return new Fault(
          op -> new IOException("injected I/O error at " + op + " on " + op.path()), false);
    }

    /**
     * The operation is performed, then reports an {@link IOException}, once: a rename that happened
     * although the (network) file system said it failed.
     */
    public static Fault ioErrorAfterPerforming() {
      return new Fault(
          op -> new IOException("injected I/O error after performing " + op + " on " + op.path()),
          true);
    }

    /**
     * The process "dies" before the operation: this and every later call throw {@link
     * CrashedException}.
     */
    public static Fault crash() {
      return new Fault(null, false);
    }

    /** The process "dies" right after the operation, which is performed. */
    public static Fault crashAfterPerforming() {
      return new Fault(null, true);
    }

    /** The operation is not performed and throws the exception {@code f} builds, once. */
    public static Fault throwing(Function<Op, IOException> f) {
      return new Fault(Objects.requireNonNull(f), false);
    }

    boolean isCrash() {
      return exception == null;
    }

    @Override
    public String toString() {
      return (isCrash() ? "crash" : "I/O error") + (afterPerforming ? " after performing" : "");
    }
  }

  /**
   * Thrown by every call once a {@link Fault#crash()} has fired. It is an {@link Error}, not a
   * {@code RuntimeException}, so that no {@code catch (RuntimeException e)} in the code under test
   * can swallow it and carry on: after a real crash no code runs at all.
   */
  public static final class CrashedException extends Error {
    private static final long serialVersionUID = 1L;

    private final transient Op op;

    CrashedException(Op op, boolean first) {
      super((first ? "simulated crash at " : "already crashed; refused ") + op);
      this.op = op;
    }

    /** The operation that was refused. */
    public Op op() {
      return op;
    }
  }

  private final CheckpointFileSystem delegate;
  private final List<Op> ops = new ArrayList<>();
  private Predicate<Op> trigger;
  private Fault fault;
  private Op crashedAt;
  private volatile boolean syncs = true;

  public FaultInjectingFileSystem(CheckpointFileSystem delegate) {
    this.delegate = Objects.requireNonNull(delegate, "delegate");
  }

  /** Forwards to the real file system. */
  public static FaultInjectingFileSystem overSystem() {
    return new FaultInjectingFileSystem(CheckpointFileSystem.system());
  }

  /**
   * Records {@code force} and {@code fsyncDirectory} calls (and can fail them) but does not pass
   * them on. For tests that do not simulate power loss, where real syncs only cost time.
   */
  public FaultInjectingFileSystem skippingSyncs() {
    this.syncs = false;
    return this;
  }

  /** Arms {@code fault} for the call with step number {@code step} (1-based, absolute). */
  public synchronized FaultInjectingFileSystem failAt(int step, Fault fault) {
    return failWhen(op -> op.step() == step, fault);
  }

  /** Arms {@code fault} for the first later call that matches {@code when}. Replaces any other. */
  public synchronized FaultInjectingFileSystem failWhen(Predicate<Op> when, Fault fault) {
    this.trigger = Objects.requireNonNull(when, "when");
    this.fault = Objects.requireNonNull(fault, "fault");
    return this;
  }

  /** Disarms a fault that has not fired. A crash that has happened stays in force. */
  public synchronized void disarm() {
    trigger = null;
    fault = null;
  }

  /** Whether a fault is armed and has not fired yet. */
  public synchronized boolean armed() {
    return trigger != null;
  }

  /** The number of calls so far: the step number of the last recorded operation. */
  public synchronized int steps() {
    return ops.size();
  }

  /**
   * Every call so far, in order, including the one a fault fired on. Calls refused after a crash
   * are not recorded: as far as the disk is concerned, they never happened.
   */
  public synchronized List<Op> operations() {
    return List.copyOf(ops);
  }

  /** The calls after step {@code step}. */
  public synchronized List<Op> operationsAfter(int step) {
    return List.copyOf(ops.subList(Math.min(step, ops.size()), ops.size()));
  }

  /** The operation a crash fired on, if one did. */
  public synchronized Op crashedAt() {
    return crashedAt;
  }

  /** A call in progress, and the fault to fire once it has been performed, if any. */
  private record Call(Op op, Fault after) {}

  private synchronized Call enter(OpKind kind, Path path, Path other) throws IOException {
    if (crashedAt != null) {
      throw new CrashedException(new Op(crashedAt.step(), kind, path, other), false);
    }
    Op op = new Op(ops.size() + 1, kind, path, other);
    ops.add(op);
    if (trigger != null && trigger.test(op)) {
      Fault f = fault;
      disarm();
      if (f.afterPerforming) {
        return new Call(op, f);
      }
      fire(op, f);
    }
    return new Call(op, null);
  }

  private void leave(Call call) throws IOException {
    if (call.after() != null) {
      synchronized (this) {
        fire(call.op(), call.after());
      }
    }
  }

  private void fire(Op op, Fault f) throws IOException {
    if (f.isCrash()) {
      crashedAt = op;
      throw new CrashedException(op, true);
    }
    throw f.exception.apply(op);
  }

  @Override
  public WritableFile createExclusive(Path path) throws IOException {
    Call created = enter(OpKind.CREATE_EXCLUSIVE, path, null);
    WritableFile file = delegate.createExclusive(path);
    try {
      leave(created);
    } catch (IOException | CrashedException e) {
      file.close();
      throw e;
    }
    return new WritableFile() {
      @Override
      public void write(byte[] bytes) throws IOException {
        Call call = enter(OpKind.WRITE, path, null);
        file.write(bytes);
        leave(call);
      }

      @Override
      public void force() throws IOException {
        Call call = enter(OpKind.FORCE, path, null);
        if (syncs) {
          file.force();
        }
        leave(call);
      }

      @Override
      public void close() throws IOException {
        Call call;
        try {
          call = enter(OpKind.CLOSE, path, null);
        } catch (IOException | RuntimeException | CrashedException e) {
          // The descriptor is released whatever close reports, and by the kernel after a crash;
          // leaking it would only make the test JVM run out of descriptors.
          file.close();
          throw e;
        }
        file.close();
        leave(call);
      }
    };
  }

  @Override
  public void link(Path link, Path existing) throws IOException {
    Call call = enter(OpKind.LINK, link, existing);
    delegate.link(link, existing);
    leave(call);
  }

  @Override
  public void atomicMove(Path source, Path target) throws IOException {
    Call call = enter(OpKind.ATOMIC_MOVE, source, target);
    delegate.atomicMove(source, target);
    leave(call);
  }

  @Override
  public void fsyncDirectory(Path dir) throws IOException {
    Call call = enter(OpKind.FSYNC_DIRECTORY, dir, null);
    if (syncs) {
      delegate.fsyncDirectory(dir);
    }
    leave(call);
  }

  @Override
  public void createDirectory(Path dir) throws IOException {
    Call call = enter(OpKind.CREATE_DIRECTORY, dir, null);
    delegate.createDirectory(dir);
    leave(call);
  }

  @Override
  public void delete(Path path) throws IOException {
    Call call = enter(OpKind.DELETE, path, null);
    delegate.delete(path);
    leave(call);
  }

  @Override
  public byte[] read(Path path) throws IOException {
    Call call = enter(OpKind.READ, path, null);
    byte[] bytes = delegate.read(path);
    leave(call);
    return bytes;
  }

  @Override
  public List<Path> list(Path dir) throws IOException {
    Call call = enter(OpKind.LIST, dir, null);
    List<Path> entries = delegate.list(dir);
    leave(call);
    return entries;
  }

  @Override
  public Kind kind(Path path) throws IOException {
    Call call = enter(OpKind.KIND, path, null);
    Kind kind = delegate.kind(path);
    leave(call);
    return kind;
  }
}
