package dev.waymark.checkpoint.file;

import dev.waymark.WaymarkException;
import dev.waymark.checkpoint.Checkpoint;
import dev.waymark.checkpoint.Cursor;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A child JVM that opens a job's store, holds it, and commits on request, for the two-process
 * tests.
 *
 * <p>Prints {@code locked EPOCH} once the store is open, then reads commands from stdin: {@code
 * commit OFFSET} answers {@code committed SEQ EPOCH} or {@code refused CLASS MESSAGE}; {@code exit}
 * or the end of stdin closes the store and exits.
 *
 * <p>Arguments: {@code STATE_DIR JOB}.
 */
public final class LockHolderChild {
  private LockHolderChild() {}

  public static void main(String[] args) throws IOException {
    PrintStream out = System.out;
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    try (FileCheckpointStore store = FileCheckpointStore.open(Path.of(args[0]), args[1])) {
      out.println("locked " + store.epoch());
      out.flush();
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        String[] command = line.split(" ");
        if (command[0].equals("exit")) {
          break;
        }
        if (command[0].equals("commit")) {
          try {
            Checkpoint c = store.commit(Cursor.ofOffset(Long.parseLong(command[1])));
            out.println("committed " + c.sequence() + " " + c.epoch());
          } catch (WaymarkException e) {
            out.println(
                "refused "
                    + e.getClass().getSimpleName()
                    + " "
                    + e.getMessage().replace('\n', ' '));
          }
          out.flush();
        }
      }
    }
  }
}
