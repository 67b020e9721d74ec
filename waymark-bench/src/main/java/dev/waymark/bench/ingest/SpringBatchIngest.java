package dev.waymark.bench.ingest;

import com.fasterxml.jackson.annotation.JsonAnySetter;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.waymark.ingest.CanonicalJson;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import javax.sql.DataSource;
import org.springframework.batch.core.BatchStatus;
import org.springframework.batch.core.configuration.annotation.EnableBatchProcessing;
import org.springframework.batch.core.configuration.annotation.EnableJdbcJobRepository;
import org.springframework.batch.core.job.Job;
import org.springframework.batch.core.job.JobExecution;
import org.springframework.batch.core.job.builder.JobBuilder;
import org.springframework.batch.core.job.parameters.JobParametersBuilder;
import org.springframework.batch.core.launch.JobOperator;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.batch.core.step.Step;
import org.springframework.batch.core.step.StepExecution;
import org.springframework.batch.core.step.builder.StepBuilder;
import org.springframework.batch.infrastructure.item.ItemProcessor;
import org.springframework.batch.infrastructure.item.ResourceAware;
import org.springframework.batch.infrastructure.item.database.JdbcBatchItemWriter;
import org.springframework.batch.infrastructure.item.database.builder.JdbcBatchItemWriterBuilder;
import org.springframework.batch.infrastructure.item.file.MultiResourceItemReader;
import org.springframework.batch.infrastructure.item.file.builder.MultiResourceItemReaderBuilder;
import org.springframework.batch.infrastructure.item.json.JacksonJsonObjectReader;
import org.springframework.batch.infrastructure.item.json.builder.JsonItemReaderBuilder;
import org.springframework.context.annotation.AnnotationConfigApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.io.ClassPathResource;
import org.springframework.core.io.FileSystemResource;
import org.springframework.core.io.Resource;
import org.springframework.jdbc.datasource.init.ResourceDatabasePopulator;
import org.springframework.jdbc.support.JdbcTransactionManager;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.json.JsonMapper;

/**
 * The Spring Batch 6 peer of {@code waymark ingest} for the end-to-end comparison: the same files
 * into a table of the sink's layout, written the way a Spring Batch user would, tuned.
 *
 * <ul>
 *   <li>one chunk-oriented step ({@link #CHUNK} items per chunk and transaction);
 *   <li>reader: {@code MultiResourceItemReader} over the feed's {@code skus_*.json} files (sorted
 *       by name, as Waymark reads them), delegating to a {@code JsonItemReader} with Jackson 3,
 *       floats as {@code BigDecimal} and integers as {@code Long}, so that each record's JSON value
 *       is the one Waymark reads;
 *   <li>processor: the record's RFC 8785 canonical JSON ({@link CanonicalJson}, Waymark's public
 *       encoder), its SHA-256 as the dedup key, the canonical bytes as the payload (one encoding
 *       for both, as Waymark does), and the file name;
 *   <li>writer: {@code JdbcBatchItemWriter} with {@code INSERT ... ON CONFLICT (dedup_key) DO
 *       NOTHING} over pgjdbc with {@code reWriteBatchedInserts=true} (update counts unchecked,
 *       since a duplicate inserts nothing and rewritten batches report no counts);
 *   <li>JDBC job repository ({@code @EnableJdbcJobRepository}) in the same PostgreSQL database,
 *       HikariCP pool with auto-commit off.
 * </ul>
 *
 * <pre>
 * java -cp waymark-bench/target/classes:waymark-bench/target/lib/* \
 *     dev.waymark.bench.ingest.SpringBatchIngest setup JDBC_URL TABLE   (fresh repository and table)
 * java -cp ... dev.waymark.bench.ingest.SpringBatchIngest run FEED_DIR JDBC_URL TABLE
 * </pre>
 */
@Configuration
@EnableBatchProcessing
@EnableJdbcJobRepository
public class SpringBatchIngest {
  /** Items per chunk: 20 files of 100 records, about Waymark's rows per statement. */
  static final int CHUNK = 2_000;

  /** What the job reads and where it writes; registered before the configuration. */
  record Settings(Path feed, String url, String table) {}

  /** One record, as Jackson reads it, with the file it came from. */
  public static final class SkuRecord implements ResourceAware {
    final Map<String, Object> fields = new LinkedHashMap<>();
    String file;

    @JsonAnySetter
    public void set(String name, Object value) {
      fields.put(name, value);
    }

    @Override
    public void setResource(Resource resource) {
      file = resource.getFilename();
    }
  }

  /** One row of the target table. */
  record SkuRow(String dedupKey, String payload, String sourceFile) {}

  public static void main(String[] args) throws Exception {
    if (args.length == 3 && args[0].equals("setup")) {
      setup(args[1], args[2]);
      return;
    }
    if (args.length != 4 || !args[0].equals("run")) {
      System.err.println(
          "usage: SpringBatchIngest setup JDBC_URL TABLE | run FEED_DIR JDBC_URL TABLE");
      System.exit(2);
    }
    long t0 = System.nanoTime();
    Settings settings = new Settings(Path.of(args[1]), args[2], args[3]);
    try (AnnotationConfigApplicationContext context = new AnnotationConfigApplicationContext()) {
      context.registerBean(Settings.class, () -> settings);
      context.register(SpringBatchIngest.class);
      context.refresh();
      JobOperator operator = context.getBean(JobOperator.class);
      JobExecution execution =
          operator.start(
              context.getBean(Job.class),
              new JobParametersBuilder()
                  .addString("feed", settings.feed().toString())
                  .addLong("run", System.currentTimeMillis())
                  .toJobParameters());
      long read = 0, written = 0, commits = 0;
      for (StepExecution s : execution.getStepExecutions()) {
        read += s.getReadCount();
        written += s.getWriteCount();
        commits += s.getCommitCount();
      }
      System.out.printf(
          "spring batch: %s, %d read, %d written, %d commits, %d ms%n",
          execution.getStatus(), read, written, commits, (System.nanoTime() - t0) / 1_000_000);
      if (execution.getStatus() != BatchStatus.COMPLETED) {
        execution.getAllFailureExceptions().forEach(Throwable::printStackTrace);
        System.exit(1);
      }
    }
  }

  /** Drops and creates the job repository's tables and the target table (untimed set-up). */
  static void setup(String url, String table) throws SQLException {
    try (Connection c = DriverManager.getConnection(url)) {
      ResourceDatabasePopulator drop =
          new ResourceDatabasePopulator(
              new ClassPathResource("org/springframework/batch/core/schema-drop-postgresql.sql"));
      drop.setContinueOnError(true); // absent the first time
      drop.populate(c);
      new ResourceDatabasePopulator(
              new ClassPathResource("org/springframework/batch/core/schema-postgresql.sql"))
          .populate(c);
      try (Statement s = c.createStatement()) {
        s.execute("DROP TABLE IF EXISTS " + table);
        s.execute(
            "CREATE TABLE "
                + table
                // the table Waymark creates, collation of the key included
                + " (dedup_key text COLLATE \"C\" PRIMARY KEY, payload jsonb NOT NULL,"
                + " source_file text NOT NULL, ingested_at timestamptz NOT NULL DEFAULT now())");
      }
    }
  }

  @Bean
  public DataSource dataSource(Settings settings) {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(
        settings.url() + (settings.url().contains("?") ? "&" : "?") + "reWriteBatchedInserts=true");
    config.setAutoCommit(false);
    config.setMaximumPoolSize(4);
    return new HikariDataSource(config);
  }

  @Bean
  public JdbcTransactionManager transactionManager(DataSource dataSource) {
    return new JdbcTransactionManager(dataSource);
  }

  @Bean
  public MultiResourceItemReader<SkuRecord> reader(Settings settings) throws IOException {
    Resource[] files;
    try (Stream<Path> s = Files.list(settings.feed())) {
      files =
          s.filter(p -> p.getFileName().toString().matches("skus_.*\\.json"))
              .map(FileSystemResource::new)
              .toArray(Resource[]::new);
    }
    JsonMapper mapper =
        JsonMapper.builder()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(DeserializationFeature.USE_LONG_FOR_INTS)
            // Jackson 3 checks for trailing tokens by default; the reader reads one array element
            // at a time from a stream positioned inside the array.
            .disable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();
    return new MultiResourceItemReaderBuilder<SkuRecord>()
        .name("feed")
        .resources(files) // sorted by file name by the reader's default comparator
        .delegate(
            new JsonItemReaderBuilder<SkuRecord>()
                .name("file")
                .jsonObjectReader(new JacksonJsonObjectReader<>(mapper, SkuRecord.class))
                .build())
        .build();
  }

  @Bean
  public ItemProcessor<SkuRecord, SkuRow> processor() {
    return record -> {
      byte[] canonical = CanonicalJson.encode(record.fields);
      return new SkuRow(
          HexFormat.of().formatHex(sha256().digest(canonical)),
          new String(canonical, StandardCharsets.UTF_8),
          record.file);
    };
  }

  @Bean
  public JdbcBatchItemWriter<SkuRow> writer(DataSource dataSource, Settings settings) {
    return new JdbcBatchItemWriterBuilder<SkuRow>()
        .dataSource(dataSource)
        .sql(
            "INSERT INTO "
                + settings.table()
                + " (dedup_key, payload, source_file) VALUES (?, CAST(? AS jsonb), ?)"
                + " ON CONFLICT (dedup_key) DO NOTHING")
        .itemPreparedStatementSetter(
            (row, ps) -> {
              ps.setString(1, row.dedupKey());
              ps.setString(2, row.payload());
              ps.setString(3, row.sourceFile());
            })
        .assertUpdates(false)
        .build();
  }

  @Bean
  public Step ingestStep(
      JobRepository repository,
      JdbcTransactionManager transactionManager,
      MultiResourceItemReader<SkuRecord> reader,
      ItemProcessor<SkuRecord, SkuRow> processor,
      JdbcBatchItemWriter<SkuRow> writer) {
    return new StepBuilder("ingest", repository)
        .<SkuRecord, SkuRow>chunk(CHUNK)
        .transactionManager(transactionManager)
        .reader(reader)
        .processor(processor)
        .writer(writer)
        .build();
  }

  @Bean
  public Job ingestJob(JobRepository repository, Step ingestStep) {
    return new JobBuilder("skuIngest", repository).start(ingestStep).build();
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
