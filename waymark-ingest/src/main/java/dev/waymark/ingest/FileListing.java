package dev.waymark.ingest;

import dev.waymark.WaymarkException;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.Names;
import java.io.IOException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;

/**
 * The input files of a run: the regular files in one directory whose names match a glob, ordered by
 * name in UTF-8 byte order (the order {@code LC_ALL=C ls} shows, the same on every machine).
 * Immutable.
 */
public final class FileListing {
  /** Byte order of the names' UTF-8 encodings. */
  public static final Comparator<String> BYTE_ORDER = FileListing::compareUtf8;

  private final Path dir;
  private final List<String> names;

  private FileListing(Path dir, List<String> names) {
    this.dir = dir;
    this.names = names;
  }

  /**
   * Lists the entries of {@code dir} whose names match {@code glob}. An entry that is not a
   * readable regular file (a directory named like a file, a broken link, a link loop) is listed too
   * and refused as bad input when its turn comes, rather than skipped in silence.
   *
   * @throws UndecodableNameException if a matching name cannot be decoded as text and encoded back
   *     to the same bytes (not UTF-8, or not the JVM's file-name charset): the cursor, the table's
   *     {@code source_file} and the progress lines name files as text, so such a file could be
   *     neither recorded nor opened again by that name
   * @throws dev.waymark.WaymarkException if the directory cannot be read
   */
  public static FileListing of(Path dir, String glob) {
    if (!Files.isDirectory(dir)) {
      throw new BadUsageException(
          "--input " + dir + " is not a directory. Pass the folder that holds the input files.");
    }
    List<String> names = asciiNames(dir, glob);
    if (names == null) {
      names = exactNames(dir, glob);
    }
    return new FileListing(dir, Collections.unmodifiableList(names));
  }

  /**
   * The listing the short way, or null where only {@link #exactNames} can tell: the names as the
   * JVM decodes them ({@code File.list()}, without a {@code Path} per entry), matched as text, and
   * sorted in {@code String} order, which for ASCII is byte order. Exact when every matching name
   * is ASCII (see {@link #ASCII_DECODES_ONLY_FROM_ASCII}): a name the charset cannot decode has a
   * U+FFFD in its text, so it falls back too. Listing a night's 14,200 names in a new JVM took 80
   * ms with a {@code Path} and a glob {@code PathMatcher} per entry, and about 15 ms like this
   * (BENCHMARKS.md, "Session 8").
   */
  private static List<String> asciiNames(Path dir, String glob) {
    if (!ASCII_DECODES_ONLY_FROM_ASCII || dir.getFileSystem() != FileSystems.getDefault()) {
      return null;
    }
    String[] entries = dir.toFile().list();
    if (entries == null) {
      return null; // an I/O error: the exact listing says which
    }
    NameMatcher matcher = NameMatcher.of(dir.getFileSystem(), glob);
    List<String> names = new ArrayList<>();
    for (String name : entries) {
      if (matcher.matches(name)) {
        if (!isAscii(name)) {
          return null;
        }
        names.add(name);
      }
    }
    Collections.sort(names);
    return names;
  }

  /** Every matching name, each checked to decode and encode back to its own bytes. */
  private static List<String> exactNames(Path dir, String glob) {
    PathMatcher matcher = FileSystems.getDefault().getPathMatcher("glob:" + glob);
    List<String> names = new ArrayList<>();
    List<String> undecodable = new ArrayList<>();
    try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
      for (Path p : stream) {
        Path name = p.getFileName();
        if (matcher.matches(name)) {
          String text = name.toString();
          (roundTrips(name, text) ? names : undecodable).add(text);
        }
      }
    } catch (IOException e) {
      throw new dev.waymark.WaymarkException(
          "Cannot list input directory " + dir + ": " + e + ". Check that it is readable.", e);
    }
    if (!undecodable.isEmpty()) {
      undecodable.sort(BYTE_ORDER);
      throw new UndecodableNameException(dir, undecodable);
    }
    names.sort(BYTE_ORDER);
    return names;
  }

  /**
   * A glob matched against a file name as text, as the file system's {@code glob:} {@link
   * PathMatcher} matches it against the name's path. A glob of literal characters and {@code *}
   * only (the common {@code skus_*.json}) is matched by its pieces between the stars, without a
   * {@code Path} and a regular expression per name; any other goes to the {@code PathMatcher}.
   */
  abstract static class NameMatcher {
    abstract boolean matches(String name);

    static NameMatcher of(java.nio.file.FileSystem fs, String glob) {
      for (int i = 0; i < glob.length(); i++) {
        if ("?[]{}\\".indexOf(glob.charAt(i)) >= 0) {
          PathMatcher m = fs.getPathMatcher("glob:" + glob);
          return new NameMatcher() {
            @Override
            boolean matches(String name) {
              return m.matches(fs.getPath(name));
            }
          };
        }
      }
      String[] pieces = glob.split("\\*", -1);
      return new NameMatcher() {
        @Override
        boolean matches(String name) {
          return matchesPieces(name, pieces);
        }
      };
    }

    /**
     * Whether {@code name} is {@code pieces} joined by runs of any characters but '/' (a name holds
     * none): it starts with the first, ends with the last, and holds the others in order between.
     * Taking each middle piece at its first place from the left is enough: any match can be moved
     * there.
     */
    private static boolean matchesPieces(String name, String[] pieces) {
      String first = pieces[0];
      if (pieces.length == 1) {
        return name.equals(first);
      }
      String last = pieces[pieces.length - 1];
      if (!name.startsWith(first)) {
        return false;
      }
      int at = first.length();
      for (int i = 1; i < pieces.length - 1; i++) {
        int found = name.indexOf(pieces[i], at);
        if (found < 0) {
          return false;
        }
        at = found + pieces[i].length();
      }
      return name.length() - last.length() >= at && name.endsWith(last);
    }
  }

  /**
   * Whether the JVM's file-name charset decodes to ASCII characters only the same ASCII bytes (any
   * other byte becomes U+FFFD or a character above U+007F): then a name read as ASCII text encodes
   * back to its own bytes, and the listing need not encode it again to check (a measured part of a
   * night feed's start-up).
   */
  private static final boolean ASCII_DECODES_ONLY_FROM_ASCII = asciiDecodesOnlyFromAscii();

  private static boolean asciiDecodesOnlyFromAscii() {
    try {
      Charset c = Charset.forName(System.getProperty("sun.jnu.encoding", "UTF-8"));
      return c.equals(StandardCharsets.UTF_8)
          || c.equals(StandardCharsets.US_ASCII)
          || c.equals(StandardCharsets.ISO_8859_1);
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private static boolean isAscii(String s) {
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) >= 0x80) {
        return false;
      }
    }
    return true;
  }

  /**
   * Whether {@code name}, decoded to text by the JVM (with {@code sun.jnu.encoding}, from the
   * locale), encodes back to the same bytes. Bytes that are not valid in that charset decode to
   * U+FFFD or '?', so two such names can even decode to the same text.
   */
  private static boolean roundTrips(Path name, String text) {
    if (ASCII_DECODES_ONLY_FROM_ASCII && isAscii(text)) {
      return true;
    }
    try {
      return name.equals(name.getFileSystem().getPath(name.toString()));
    } catch (InvalidPathException e) {
      return false;
    }
  }

  /**
   * Input files whose names the JVM cannot hold as text: bad input (exit 5), refused before
   * anything is read, since nothing could name them in the checkpoint or the table.
   */
  public static final class UndecodableNameException extends WaymarkException {
    private static final long serialVersionUID = 1L;

    UndecodableNameException(Path dir, List<String> names) {
      super(Kind.BAD_INPUT, message(dir, names), null);
    }

    private static String message(Path dir, List<String> names) {
      String charset = System.getProperty("sun.jnu.encoding", "UTF-8");
      boolean utf8 = charset.equalsIgnoreCase("UTF-8") || charset.equalsIgnoreCase("UTF8");
      StringBuilder m =
          new StringBuilder("Bad input in ")
              .append(Names.printable(dir.toString()))
              .append(": ")
              .append(names.size() == 1 ? "the name of 1 input file is" : "the names of ")
              .append(names.size() == 1 ? "" : names.size() + " input files are")
              .append(" not valid ")
              .append(charset)
              .append(" (undecodable bytes shown as \ufffd or ?): ");
      for (int i = 0; i < Math.min(names.size(), 5); i++) {
        m.append(i == 0 ? "'" : ", '").append(Names.printable(names.get(i))).append('\'');
      }
      if (names.size() > 5) {
        m.append(" and ").append(names.size() - 5).append(" more");
      }
      m.append(
          ". Waymark records each file by its name, as text, in the checkpoint and the table, so it"
              + " cannot load a file it cannot name; nothing was loaded.");
      if (utf8) {
        m.append(" Rename the files to UTF-8 (`ls -b` shows their bytes; `convmv -f latin1 -t utf8")
            .append(" --notest` renames Latin-1 names), or move them out of --input or narrow")
            .append(" --glob.");
      } else {
        m.append(" The JVM decodes file names as ")
            .append(charset)
            .append(" because the locale (LC_ALL, LC_CTYPE, LANG) is not a UTF-8 one: run with")
            .append(" LC_ALL=C.UTF-8 (the ./waymark launcher does so when the locale is C or")
            .append(" POSIX), or rename the files.");
      }
      return m.toString();
    }
  }

  /**
   * The files of partition {@code partition} of {@code partitions} (see {@link Partitioning}), in
   * the same order: a listing of its own, in which indexes and counts are the partition's.
   */
  public FileListing partition(int partition, int partitions) {
    if (partitions == 1) {
      return this;
    }
    List<String> mine = new ArrayList<>();
    for (String name : names) {
      if (Partitioning.of(name, partitions) == partition) {
        mine.add(name);
      }
    }
    return new FileListing(dir, Collections.unmodifiableList(mine));
  }

  /**
   * Says why {@code path}, listed as an input, is not a regular file: a directory, a dangling
   * symbolic link, a link loop, a FIFO, socket or device (which would block or never end), or an
   * entry deleted since the listing.
   */
  static String whyNotARegularFile(Path path) {
    try {
      BasicFileAttributes a = Files.readAttributes(path, BasicFileAttributes.class);
      return a.isDirectory()
          ? "it is a directory, not a file"
          : "it is not a regular file but a FIFO, socket or device; Waymark reads regular files"
              + " only";
    } catch (NoSuchFileException e) {
      if (Files.isSymbolicLink(path)) {
        return "it is a symbolic link to " + linkTarget(path) + ", which does not exist";
      }
      return "it no longer exists (deleted or renamed since the folder was listed)";
    } catch (IOException e) {
      String reason = e instanceof FileSystemException f ? f.getReason() : e.getMessage();
      return Files.isSymbolicLink(path)
          ? "it is a symbolic link to "
              + linkTarget(path)
              + " that cannot be followed ("
              + reason
              + "; a link loop?)"
          : "it cannot be read (" + reason + ")";
    }
  }

  private static String linkTarget(Path link) {
    try {
      return Files.readSymbolicLink(link).toString();
    } catch (IOException e) {
      return "(unreadable)";
    }
  }

  public Path dir() {
    return dir;
  }

  public List<String> names() {
    return names;
  }

  public int size() {
    return names.size();
  }

  public String name(int index) {
    return names.get(index);
  }

  public Path path(int index) {
    return dir.resolve(names.get(index));
  }

  /**
   * Compares the UTF-8 encodings of {@code a} and {@code b} byte by byte, without encoding them
   * when it can: sorting a night's listing calls this about 200,000 times at start-up. Below
   * U+D800, UTF-8 keeps code point order, so the first differing such character decides; a
   * surrogate, or a difference right after one (whose pairing, and so its bytes, the difference
   * changes), is left to the encodings themselves.
   */
  static int compareUtf8(String a, String b) {
    int n = Math.min(a.length(), b.length());
    for (int i = 0; i < n; i++) {
      char x = a.charAt(i), y = b.charAt(i);
      if (x != y) {
        if (x < Character.MIN_SURROGATE
            && y < Character.MIN_SURROGATE
            && (i == 0 || !Character.isSurrogate(a.charAt(i - 1)))) {
          return x - y;
        }
        return compareEncoded(a, b);
      }
    }
    if (n > 0 && Character.isSurrogate(a.charAt(n - 1))) {
      return compareEncoded(a, b);
    }
    return a.length() - b.length();
  }

  private static int compareEncoded(String a, String b) {
    return Arrays.compareUnsigned(
        a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
  }

  /**
   * The directory cursor at the file of index {@code index}: its name, the number of files up to
   * it, and the digest of their names ({@link Cursor#NAMES}), as a run that committed it records.
   */
  public Cursor cursorAt(int index) {
    return Cursor.ofFile(name(index), index + 1L, new NamesDigest(this).through(index));
  }

  /** The index of {@code name} by binary search, or {@code -(insertion point) - 1}. */
  public int indexOf(String name) {
    return Collections.binarySearch(names, name, BYTE_ORDER);
  }
}
