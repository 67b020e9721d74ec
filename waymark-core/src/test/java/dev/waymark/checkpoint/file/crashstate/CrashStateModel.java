package dev.waymark.checkpoint.file.crashstate;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * An abstract file system that replays recorded {@link FsOp}s and enumerates every state a crash
 * could leave behind at the current point of the replay.
 *
 * <h2>The persistence model</h2>
 *
 * The model is the weak, POSIX-level one that ALICE calls an abstract persistence model (Pillai et
 * al., <i>All File Systems Are Not Created Equal</i>, OSDI 2014) and that CrashMonkey explores
 * between persistence points (Mohan et al., <i>Finding Crash-Consistency Bugs with Bounded
 * Black-Box Crash Testing</i>, OSDI 2018). It is deliberately weaker than ext4's {@code
 * data=ordered} mode, so that what passes here does not rely on one file system's habits.
 *
 * <ul>
 *   <li><b>Files are inodes; names are directory entries.</b> A hard link is a second entry for the
 *       same inode, so a crash cannot tear a link from its content.
 *   <li><b>File data.</b> An inode has durable content (what its last {@code fsync} saw; empty for
 *       a new file) and the data operations made since (truncate, append). A crash leaves the
 *       durable content plus a prefix of those operations, in their order; the last append of the
 *       prefix may be torn, kept to half of its bytes; or, since the size can reach the disk before
 *       the data (ext4 {@code data=writeback}, ALICE's "garbage" appends), the final size filled
 *       with zero bytes. {@code fsync} of the file makes its current content durable, and nothing
 *       else: per {@code fsync(2)}, "calling fsync() does not necessarily ensure that the entry in
 *       the directory containing the file has also reached disk. For that an explicit fsync() on a
 *       file descriptor for the directory is also needed."
 *   <li><b>Directory entries.</b> Each directory has durable entries and a list of entry changes
 *       made since its last {@code fsync}: create, link, mkdir, unlink and rename. A crash keeps
 *       any subset of those changes, each independently (applied in program order), which covers
 *       every reordering a journal or soft updates could produce and more. A rename is one change:
 *       by {@code rename(2)} the target name points at the old inode or the new one, never at
 *       neither, and the source name disappears in the same change. The store only renames within
 *       one directory (the temp file lives beside its target); the model refuses a cross-directory
 *       rename rather than guess its semantics. {@code fsync} of a directory makes all of its entry
 *       changes durable (not its files' data, nor its subdirectories' entries).
 *   <li><b>Reachability.</b> A file or directory exists after the crash only if every directory on
 *       its path does; a new directory whose entry was lost takes its whole subtree with it.
 *   <li><b>The starting point</b> is the real state directory as it stood before the operation,
 *       taken as fully durable (it was written by earlier commits that fsynced, or by setup code).
 *   <li>Reads ({@code read}, {@code list}, {@code stat}) and {@code close} change nothing.
 * </ul>
 *
 * <h2>Bounds</h2>
 *
 * A directory with at most {@value #MAX_SUBSET_CHANGES} pending entry changes contributes all
 * {@code 2^k} subsets; beyond that only the {@code k+1} prefixes (a journal's order), counted in
 * {@link #boundedDirectories()} so that a report shows it. A torn append is cut once, in its
 * middle, not at every byte: the checkpoint's CRC-32C covers every byte, and the decoder is tested
 * at every truncation offset by {@code CorruptCheckpointTest}. More than {@value #MAX_STATES}
 * states at one crash point fails loudly rather than running for hours. Not modelled: bit flips and
 * lost writes below the file system (media errors), and an {@code fsync} that reports an error (the
 * store treats that as a failed commit; {@code FaultInjectionTest} covers it).
 *
 * <p>Not thread-safe; one replay at a time.
 */
final class CrashStateModel {
  static final int MAX_SUBSET_CHANGES = 10;
  static final int MAX_STATES = 50_000;

  private final Path root;
  private final Node rootDir = Node.directory();
  private final Map<Integer, Node> handles = new HashMap<>();
  private int boundedDirectories;

  private CrashStateModel(Path root) {
    this.root = root.toAbsolutePath().normalize();
  }

  /**
   * A model of the tree under {@code root} as it stands now on the real disk, all of it durable.
   * Hard links are recognised by their inode number.
   */
  static CrashStateModel snapshot(Path root) throws IOException {
    CrashStateModel model = new CrashStateModel(root);
    model.load(model.root, model.rootDir, new HashMap<>());
    return model;
  }

  private void load(Path dir, Node node, Map<Object, Node> inodes) throws IOException {
    try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
      for (Path p : stream) {
        String name = p.getFileName().toString();
        Node child;
        if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
          child = Node.directory();
          load(p, child, inodes);
        } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
          Object inode =
              List.of(
                  Files.getAttribute(p, "unix:dev", LinkOption.NOFOLLOW_LINKS),
                  Files.getAttribute(p, "unix:ino", LinkOption.NOFOLLOW_LINKS));
          child = inodes.get(inode);
          if (child == null) {
            child = Node.file(Files.readAllBytes(p));
            inodes.put(inode, child);
          }
        } else {
          throw new IllegalStateException("not modelled: " + p + " is neither file nor directory");
        }
        node.durableEntries.put(name, child);
        node.currentEntries.put(name, child);
      }
    }
  }

  /** How many times a directory had too many pending changes for all subsets (see Bounds). */
  int boundedDirectories() {
    return boundedDirectories;
  }

  /** Replays one recorded call. */
  void apply(FsOp op) {
    switch (op.kind()) {
      case CREATE -> {
        Node file = Node.file(new byte[0]);
        addEntry(op.path(), file);
        handles.put(op.handle(), file);
      }
      case OPEN_TRUNCATE -> {
        Node file = lookup(op.path());
        if (file == null) {
          file = Node.file(new byte[0]);
          addEntry(op.path(), file);
        } else {
          file.pendingData.add(new DataChange(true, new byte[0]));
          file.current = new byte[0];
        }
        handles.put(op.handle(), file);
      }
      case WRITE -> {
        Node file = handles.get(op.handle());
        file.pendingData.add(new DataChange(false, op.bytes()));
        file.current = concat(file.current, op.bytes());
      }
      case FSYNC -> {
        Node file = handles.get(op.handle());
        file.durable = file.current;
        file.pendingData.clear();
      }
      case LINK -> addEntry(op.path(), require(op.other()));
      case RENAME -> {
        Path from = op.path();
        Path to = op.other();
        if (!from.getParent().equals(to.getParent())) {
          throw new IllegalStateException("not modelled: a rename across directories: " + op);
        }
        Node dir = require(from.getParent());
        Node moved = require(from);
        EntryChange change =
            new EntryChange(from.getFileName().toString(), to.getFileName().toString(), moved);
        change.applyTo(dir.currentEntries);
        dir.pendingEntries.add(change);
      }
      case FSYNC_DIR -> {
        Node dir = require(op.path());
        dir.durableEntries = new TreeMap<>(dir.currentEntries);
        dir.pendingEntries.clear();
      }
      case MKDIR -> {
        if (lookup(op.path()) == null) {
          addEntry(op.path(), Node.directory());
        }
      }
      case UNLINK -> {
        if (lookup(op.path()) != null) {
          Node dir = require(op.path().getParent());
          EntryChange change = new EntryChange(op.path().getFileName().toString(), null, null);
          change.applyTo(dir.currentEntries);
          dir.pendingEntries.add(change);
        }
      }
      case CLOSE, READ, LIST, STAT -> {}
    }
  }

  private void addEntry(Path path, Node node) {
    Node dir = require(path.getParent());
    EntryChange change = new EntryChange(null, path.getFileName().toString(), node);
    change.applyTo(dir.currentEntries);
    dir.pendingEntries.add(change);
  }

  private Node require(Path path) {
    Node node = lookup(path);
    if (node == null) {
      throw new IllegalStateException("the replay found no " + path + " in the model");
    }
    return node;
  }

  private Node lookup(Path path) {
    Path relative = root.relativize(path.toAbsolutePath().normalize());
    if (relative.startsWith("..")) {
      throw new IllegalStateException(
          "not modelled: " + path + " is outside the explored directory " + root);
    }
    Node node = rootDir;
    for (Path part : relative) {
      if (part.toString().isEmpty()) {
        continue;
      }
      if (!node.isDirectory()) {
        return null;
      }
      node = node.currentEntries.get(part.toString());
      if (node == null) {
        return null;
      }
    }
    return node;
  }

  /**
   * Every distinct state a crash at this point of the replay could leave, under the model above.
   *
   * @throws IllegalStateException if there are more than {@value #MAX_STATES}
   */
  List<CrashState> crashStates() {
    Map<String, CrashState> states = new LinkedHashMap<>();
    for (Map<String, Node> layout : layouts(rootDir, "")) {
      Map<Node, List<String>> files = new LinkedHashMap<>(); // Node has identity equality
      Set<String> dirs = new LinkedHashSet<>();
      layout.forEach(
          (path, node) -> {
            if (node.isDirectory()) {
              dirs.add(path);
            } else {
              files.computeIfAbsent(node, n -> new ArrayList<>()).add(path);
            }
          });
      List<Map<Node, byte[]>> contents = List.of(new IdentityHashMap<>());
      for (Node file : files.keySet()) {
        List<Map<Node, byte[]>> next = new ArrayList<>();
        for (Map<Node, byte[]> partial : contents) {
          for (byte[] content : file.contentsAfterCrash()) {
            Map<Node, byte[]> extended = new IdentityHashMap<>(partial);
            extended.put(file, content);
            next.add(extended);
          }
        }
        contents = next;
        checkBound(contents.size());
      }
      List<List<String>> names = List.copyOf(files.values());
      for (Map<Node, byte[]> content : contents) {
        List<byte[]> bytes = files.keySet().stream().map(content::get).toList();
        CrashState state = CrashState.of(dirs, names, bytes);
        states.putIfAbsent(state.key(), state);
        checkBound(states.size());
      }
    }
    return List.copyOf(states.values());
  }

  private static void checkBound(int count) {
    if (count > MAX_STATES) {
      throw new IllegalStateException(
          "more than " + MAX_STATES + " crash states at one point: shrink the scenario");
    }
  }

  /** Every combination of kept entry changes, as paths (relative, '/'-separated) to nodes. */
  private List<Map<String, Node>> layouts(Node dir, String path) {
    List<Map<String, Node>> out = new ArrayList<>();
    for (Map<String, Node> entries : entriesAfterCrash(dir)) {
      List<Map<String, Node>> partial = List.of(new TreeMap<>());
      for (Map.Entry<String, Node> e : entries.entrySet()) {
        String child = path.isEmpty() ? e.getKey() : path + "/" + e.getKey();
        Node node = e.getValue();
        List<Map<String, Node>> options;
        if (node.isDirectory()) {
          options = layouts(node, child);
          options.forEach(m -> m.put(child, node));
        } else {
          options = List.of(Map.of(child, node));
        }
        List<Map<String, Node>> next = new ArrayList<>();
        for (Map<String, Node> a : partial) {
          for (Map<String, Node> b : options) {
            Map<String, Node> both = new TreeMap<>(a);
            both.putAll(b);
            next.add(both);
          }
        }
        partial = next;
        checkBound(partial.size());
      }
      out.addAll(partial);
    }
    return out;
  }

  private List<Map<String, Node>> entriesAfterCrash(Node dir) {
    List<EntryChange> pending = dir.pendingEntries;
    int k = pending.size();
    Set<Map<String, Node>> choices = new LinkedHashSet<>();
    if (k <= MAX_SUBSET_CHANGES) {
      for (int mask = 0; mask < (1 << k); mask++) {
        Map<String, Node> entries = new TreeMap<>(dir.durableEntries);
        for (int i = 0; i < k; i++) {
          if ((mask & (1 << i)) != 0) {
            pending.get(i).applyTo(entries);
          }
        }
        choices.add(entries);
      }
    } else {
      boundedDirectories++;
      Map<String, Node> entries = new TreeMap<>(dir.durableEntries);
      choices.add(new TreeMap<>(entries));
      for (EntryChange change : pending) {
        change.applyTo(entries);
        choices.add(new TreeMap<>(entries));
      }
    }
    return new ArrayList<>(choices);
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  /** A truncate, or an append of {@code bytes}. */
  private record DataChange(boolean truncate, byte[] bytes) {}

  /**
   * One change to a directory's entries: removes {@code removed} (if not null), then points {@code
   * added} at {@code node} (if not null). A rename has both, and is applied as one.
   */
  private record EntryChange(String removed, String added, Node node) {
    void applyTo(Map<String, Node> entries) {
      if (removed != null) {
        entries.remove(removed);
      }
      if (added != null) {
        entries.put(added, node);
      }
    }
  }

  /** A file (inode) or a directory. Identity is the inode: equals is not overridden. */
  private static final class Node {
    private final boolean directory;
    private byte[] durable;
    private byte[] current;
    private final List<DataChange> pendingData = new ArrayList<>();
    private Map<String, Node> durableEntries = new TreeMap<>();
    private final Map<String, Node> currentEntries = new TreeMap<>();
    private final List<EntryChange> pendingEntries = new ArrayList<>();

    private Node(boolean directory, byte[] content) {
      this.directory = directory;
      this.durable = content;
      this.current = content;
    }

    static Node file(byte[] content) {
      return new Node(false, content);
    }

    static Node directory() {
      return new Node(true, null);
    }

    boolean isDirectory() {
      return directory;
    }

    /** The durable content plus each prefix of the pending changes, torn and zero-filled ones. */
    List<byte[]> contentsAfterCrash() {
      Map<String, byte[]> options = new LinkedHashMap<>();
      byte[] s = durable;
      add(options, s);
      boolean truncated = false;
      boolean appended = false;
      for (DataChange change : pendingData) {
        if (change.truncate()) {
          s = new byte[0];
          truncated = true;
        } else {
          appended = true;
          byte[] b = change.bytes();
          if (b.length >= 2) {
            add(options, concat(s, Arrays.copyOf(b, b.length / 2)));
          }
          s = concat(s, b);
        }
        add(options, s);
      }
      if (appended) {
        byte[] base = truncated ? new byte[0] : durable;
        add(options, concat(base, new byte[Math.max(0, current.length - base.length)]));
      }
      return List.copyOf(options.values());
    }

    private static void add(Map<String, byte[]> options, byte[] content) {
      options.putIfAbsent(java.util.Base64.getEncoder().encodeToString(content), content);
    }
  }
}
