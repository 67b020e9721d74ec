package dev.waymark.bench.ingest;

import dev.waymark.checkpoint.CheckpointReader;
import dev.waymark.checkpoint.Cursor;
import dev.waymark.checkpoint.file.FileCheckpointStore;
import dev.waymark.checkpoint.jdbc.ConnectionSource;
import dev.waymark.checkpoint.jdbc.JdbcCheckpointStore;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.util.Locale;

/**
 * What one checkpoint costs the runner, per unit, interleaved: the file store's {@code commit}
 * (temp file, fsync, rename, directory fsync, history link) and the db store's {@code commit(tx,
 * ...)} (its statements inside the unit's transaction, whose commit the rows pay anyway). Multiply
 * by a run's unit count and divide by its time for the share.
 *
 * <pre>java -cp ... dev.waymark.bench.ingest.CheckpointCost STATE_DIR JDBC_URL [COMMITS]</pre>
 */
public final class CheckpointCost {
  private CheckpointCost() {}

  public static void main(String[] args) throws Exception {
    Path state = Path.of(args[0]);
    String url = args[1];
    int n = args.length > 2 ? Integer.parseInt(args[2]) : 1000;
    String partition = CheckpointReader.DEFAULT_PARTITION;
    Medians m = new Medians();
    try (FileCheckpointStore file = FileCheckpointStore.open(state, "ckpt-cost");
        JdbcCheckpointStore db = JdbcCheckpointStore.open(ConnectionSource.of(url), "ckpt-cost");
        Connection tx = DriverManager.getConnection(url)) {
      tx.setAutoCommit(false);
      for (int i = 1; i <= n; i++) {
        Cursor cursor = Cursor.ofFile(String.format(Locale.ROOT, "skus_%05d.json", i), i);
        long t0 = System.nanoTime();
        file.commit(partition, cursor);
        long t1 = System.nanoTime();
        db.commit(tx, partition, cursor);
        long t2 = System.nanoTime();
        tx.commit();
        if (i > n / 10) { // the first tenth warms up
          m.add("file store commit", (t1 - t0) / 1e6);
          m.add("db store commit(tx) statements", (t2 - t1) / 1e6);
        }
      }
    }
    System.out.printf(
        Locale.ROOT,
        "checkpoint cost per unit, median of %d: file store %.3f ms, db store %.3f ms%n",
        n - n / 10,
        m.median("file store commit"),
        m.median("db store commit(tx) statements"));
    System.out.printf(
        Locale.ROOT,
        "file_ms=%.3f db_ms=%.3f%n",
        m.median("file store commit"),
        m.median("db store commit(tx) statements"));
  }
}
