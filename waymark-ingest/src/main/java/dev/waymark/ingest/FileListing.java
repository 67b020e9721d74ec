package dev.waymark.ingest;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
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
  public static final Comparator<String> BYTE_ORDER =
      (a, b) ->
          Arrays.compareUnsigned(
              a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));

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
   * @throws dev.waymark.WaymarkException if the directory cannot be read
   */
  public static FileListing of(Path dir, String glob) {
    PathMatcher matcher = FileSystems.getDefault().getPathMatcher("glob:" + glob);
    List<String> names = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      throw new BadUsageException(
          "--input " + dir + " is not a directory. Pass the folder that holds the input files.");
    }
    try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
      for (Path p : stream) {
        Path name = p.getFileName();
        if (matcher.matches(name)) {
          names.add(name.toString());
        }
      }
    } catch (IOException e) {
      throw new dev.waymark.WaymarkException(
          "Cannot list input directory " + dir + ": " + e + ". Check that it is readable.", e);
    }
    names.sort(BYTE_ORDER);
    return new FileListing(dir, Collections.unmodifiableList(names));
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

  /** The index of {@code name} by binary search, or {@code -(insertion point) - 1}. */
  public int indexOf(String name) {
    return Collections.binarySearch(names, name, BYTE_ORDER);
  }
}
