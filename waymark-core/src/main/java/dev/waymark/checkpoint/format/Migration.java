package dev.waymark.checkpoint.format;

import java.util.Map;

/**
 * One step of the checkpoint format's history: turns a record of version {@link #fromVersion()}
 * into a record of version {@code fromVersion() + 1}. Steps are pure functions of the record and
 * the context; the store writes the result atomically and keeps the original in history.
 */
public interface Migration {

  /** The version this step reads. */
  int fromVersion();

  /**
   * Returns the upgraded record, without a checksum (the codec adds it).
   *
   * @throws IllegalArgumentException if the record cannot be upgraded; the message says why
   */
  Map<String, Object> apply(Map<String, Object> record, Context context);

  /**
   * What a step may need beyond the record: the job and partition the record is being migrated
   * into, the sequence and epoch the rewritten record carries, and the time of the migration.
   */
  record Context(String job, String partition, long sequence, long epoch, java.time.Instant now) {}
}
