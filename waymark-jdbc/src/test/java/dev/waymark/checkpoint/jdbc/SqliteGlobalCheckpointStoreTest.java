package dev.waymark.checkpoint.jdbc;

import dev.waymark.checkpoint.CheckpointStore;
import dev.waymark.checkpoint.global.GlobalCheckpointStore;
import dev.waymark.checkpoint.global.GlobalCheckpointStoreContractTest;
import java.nio.file.Path;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.io.TempDir;

class SqliteGlobalCheckpointStoreTest extends GlobalCheckpointStoreContractTest {
  @TempDir Path dir;

  private ConnectionSource db() {
    return ConnectionSource.of("jdbc:sqlite:" + dir.resolve("waymark.db"));
  }

  @Override
  protected CheckpointStore openCheckpoints() {
    return JdbcCheckpointStore.open(db(), JOB);
  }

  @Override
  protected GlobalCheckpointStore openGlobal(int keep) {
    return JdbcGlobalCheckpointStore.open(db(), JOB, keep);
  }

  @Override
  protected GlobalCheckpointStore reader() {
    return JdbcGlobalCheckpointStore.reader(db(), JOB);
  }

  @Override
  protected void tamperComplete(long n, UnaryOperator<String> change) throws Exception {
    GlobalTables.tamper(db(), JOB, n, change);
  }
}
