package dev.waymark.checkpoint.jdbc;

import dev.waymark.checkpoint.CheckpointStore;
import dev.waymark.checkpoint.global.GlobalCheckpointStore;
import dev.waymark.checkpoint.global.GlobalCheckpointStoreContractTest;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;

class PostgresGlobalCheckpointStoreTest extends GlobalCheckpointStoreContractTest {
  private TestDatabases.PgSchema schema;

  private ConnectionSource db() {
    if (schema == null) {
      schema = TestDatabases.freshPostgresSchema();
    }
    return ConnectionSource.of(schema.url);
  }

  @AfterEach
  void dropSchema() throws Exception {
    closeStores();
    if (schema != null) {
      schema.close();
    }
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
