package dev.waymark.ingest;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The runner in-process on SQLite: the shared behaviours, and SQLite's durability check. */
class IngestJobTest extends IngestJobContractTest {
  @Override
  String newDatabase() {
    return "jdbc:sqlite:" + tmp.resolve("w.db");
  }

  @Test
  void refusesSqliteSettingsThatCouldLoseACommittedUnitWithTheFileStore() {
    assertThatThrownBy(
            () ->
                IngestJob.run(
                    options().db(db + "?synchronous=NORMAL").build(), new IngestListener() {}))
        .hasMessageContaining("synchronous = 1")
        .hasMessageContaining("--checkpoint-store db");
  }
}
