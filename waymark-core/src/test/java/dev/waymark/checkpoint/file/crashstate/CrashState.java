package dev.waymark.checkpoint.file.crashstate;

import dev.waymark.checkpoint.file.AtomicFileWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * One state a crash could leave: the directories, the files with their bytes, and which names are
 * hard links to one file. Paths are relative to the explored directory, separated by {@code /}.
 * Immutable (the byte arrays are never written). Two states are the same if their {@link #key()}s
 * are.
 */
record CrashState(
    SortedSet<String> directories, SortedMap<String, byte[]> files, List<List<String>> links) {

  /**
   * @param names each file's names (more than one for hard links), parallel to {@code contents}
   */
  static CrashState of(
      Collection<String> directories, List<List<String>> names, List<byte[]> contents) {
    SortedMap<String, byte[]> files = new TreeMap<>();
    List<List<String>> links = new ArrayList<>();
    for (int i = 0; i < names.size(); i++) {
      List<String> sorted = names.get(i).stream().sorted().toList();
      for (String name : sorted) {
        files.put(name, contents.get(i));
      }
      if (sorted.size() > 1) {
        links.add(sorted);
      }
    }
    links.sort((a, b) -> a.get(0).compareTo(b.get(0)));
    return new CrashState(
        Collections.unmodifiableSortedSet(new TreeSet<>(directories)),
        Collections.unmodifiableSortedMap(files),
        List.copyOf(links));
  }

  /** Equal for equal states; used to explore each distinct state once. */
  String key() {
    StringBuilder key = new StringBuilder();
    directories.forEach(d -> key.append("d ").append(d).append('\n'));
    files.forEach(
        (name, bytes) ->
            key.append("f ")
                .append(name)
                .append(' ')
                .append(Base64.getEncoder().encodeToString(bytes))
                .append('\n'));
    links.forEach(l -> key.append("l ").append(l).append('\n'));
    return key.toString();
  }

  /**
   * Writes this state under {@code target} as real directories, files and hard links, with the
   * permissions the store gives them.
   */
  void materialize(Path target) throws IOException {
    Files.createDirectories(target);
    for (String dir : directories) {
      Path d = Files.createDirectory(target.resolve(dir));
      Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    for (var e : files.entrySet()) {
      if (isSecondName(e.getKey())) {
        continue;
      }
      Path f = Files.write(target.resolve(e.getKey()), e.getValue());
      Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
    }
    for (List<String> names : links) {
      for (String name : names.subList(1, names.size())) {
        Files.createLink(target.resolve(name), target.resolve(names.get(0)));
      }
    }
  }

  private boolean isSecondName(String name) {
    return links.stream().anyMatch(l -> l.indexOf(name) > 0);
  }

  /** The files with their sizes, temp files marked, for a report. */
  String describe() {
    List<String> parts = new ArrayList<>();
    files.forEach(
        (name, bytes) -> {
          String base = name.substring(name.lastIndexOf('/') + 1);
          parts.add(
              name
                  + " ("
                  + bytes.length
                  + " bytes"
                  + (AtomicFileWriter.isTempFile(base) ? ", temp" : "")
                  + (links.stream().anyMatch(l -> l.contains(name)) ? ", linked" : "")
                  + ")");
        });
    return String.join(", ", parts);
  }
}
