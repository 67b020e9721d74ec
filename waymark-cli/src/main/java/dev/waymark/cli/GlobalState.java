package dev.waymark.cli;

import dev.waymark.checkpoint.file.FileGlobalCheckpointStore;
import dev.waymark.checkpoint.format.GlobalRecordCodec;
import dev.waymark.checkpoint.global.GlobalCheckpoint;
import dev.waymark.checkpoint.global.GlobalCheckpointStore;
import dev.waymark.checkpoint.global.JobOutcome;
import dev.waymark.checkpoint.global.PartitionMark;
import dev.waymark.checkpoint.jdbc.ConnectionSource;
import dev.waymark.checkpoint.jdbc.JdbcGlobalCheckpointStore;
import dev.waymark.ingest.sink.JdbcUrls;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;

/** Opening and printing a job's global checkpoints and outcome, for status, rollback and wait. */
final class GlobalState {
  private GlobalState() {}

  /** A read-only view: the database's tables if {@code db} is set, else the state folder's. */
  static GlobalCheckpointStore reader(Path state, String db, String job) {
    return db != null
        ? JdbcGlobalCheckpointStore.reader(ConnectionSource.of(db), job)
        : FileGlobalCheckpointStore.reader(state, job);
  }

  /** Where the records are, for messages. */
  static String where(Path state, String db) {
    return db != null ? JdbcUrls.redact(db) : state.toString();
  }

  static Map<String, Object> toJson(GlobalCheckpoint g) {
    Map<String, Object> m = Output.object();
    m.put("n", g.number());
    m.put("completed_at", g.completedAt().toString());
    m.put("cut", GlobalRecordCodec.cutFields(g.cut()));
    return m;
  }

  static Map<String, Object> toJson(JobOutcome o) {
    Map<String, Object> m = Output.object();
    m.put("job", o.job());
    m.put("outcome", o.succeeded() ? "success" : "failure");
    m.put("at", o.at().toString());
    if (o.succeeded()) {
      m.put("checkpoint", o.checkpoint());
      m.put("cut", GlobalRecordCodec.cutFields(o.cut()));
      Map<String, Object> t = Output.object();
      t.put("files", o.totals().files());
      t.put("rows_read", o.totals().rowsRead());
      t.put("new", o.totals().newRows());
      t.put("duplicates", o.totals().duplicates());
      m.put("totals", t);
    } else {
      m.put("error_kind", o.errorKind());
      m.put("error", o.error());
    }
    return m;
  }

  /** One line per partition of a cut: {@code 0 seq 54 {"file":...}}. */
  static void printCut(PrintWriter out, Map<String, PartitionMark> cut) {
    Output.Table table = new Output.Table("PARTITION", "SEQ", "CURSOR");
    for (PartitionMark m : cut.values()) {
      table.row(
          m.partition(),
          m.sequence() == 0 ? null : m.sequence(),
          m.cursor() == null ? "never committed" : m.cursor());
    }
    table.print(out, "  ");
  }

  /** The outcome in one sentence, e.g. for {@code wait} and {@code status}. */
  static String describe(JobOutcome o) {
    if (!o.succeeded()) {
      return "Job '" + o.job() + "' failed at " + o.at() + " (" + o.errorKind() + "): " + o.error();
    }
    JobOutcome.Totals t = o.totals();
    return String.format(
        "Job '%s' succeeded at %s: global checkpoint %d; last run %,d files, %,d rows read, %,d"
            + " new, %,d duplicate.",
        o.job(), o.at(), o.checkpoint(), t.files(), t.rowsRead(), t.newRows(), t.duplicates());
  }
}
