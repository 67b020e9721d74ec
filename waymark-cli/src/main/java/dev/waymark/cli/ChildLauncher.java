package dev.waymark.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Starts the process that {@code waymark torture} attacks: by default {@code waymark ingest} in a
 * child JVM (the same {@code java}, the same jar or classpath). Tests swap in another main class, a
 * deliberately broken runner that takes the same flags, to show that torture's checks can fail.
 */
@FunctionalInterface
interface ChildLauncher {

  /**
   * Starts the child with {@code flags} (the ingest flags), its stdout and stderr going to the
   * given files (files, not pipes: a pipe loses the last lines of a writer killed with SIGKILL).
   */
  Process start(List<String> flags, Path stdout, Path stderr) throws IOException;

  /** {@code waymark ingest FLAGS} in a child JVM with this JVM's classpath. */
  static ChildLauncher ingest() {
    return java(List.of(), Main.class.getName(), List.of("ingest"));
  }

  /**
   * {@code java JVM_OPTIONS -cp CLASSPATH MAIN_CLASS VERB... FLAGS} with this JVM's {@code java}
   * and classpath; the child's environment is this one without {@code WAYMARK_FAULT}, so that a
   * fault armed for another command never fires in a tortured run by accident.
   */
  static ChildLauncher java(List<String> jvmOptions, String mainClass, List<String> verb) {
    return (flags, stdout, stderr) -> {
      List<String> command = new ArrayList<>();
      command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      command.addAll(jvmOptions);
      command.add("-cp");
      command.add(System.getProperty("java.class.path"));
      command.add(mainClass);
      command.addAll(verb);
      command.addAll(flags);
      ProcessBuilder pb =
          new ProcessBuilder(command)
              .redirectOutput(stdout.toFile())
              .redirectError(stderr.toFile());
      pb.environment().remove("WAYMARK_FAULT");
      return pb.start();
    };
  }
}
