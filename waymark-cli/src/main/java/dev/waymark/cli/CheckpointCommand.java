package dev.waymark.cli;

import picocli.CommandLine.Command;

/** {@code waymark checkpoint}: the verbs an operator uses to inspect and repair checkpoints. */
@Command(
    name = "checkpoint",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = {
      "Inspect and repair the checkpoints in a state directory.",
      "",
      "Read verbs (status, show, history, audit) take no lock and may run beside a writer; without"
          + " --partition they cover every partition. Write verbs (rollback, reset, migrate,"
          + " import-legacy) take the job's lock and fail with exit code 3 while a writer runs."
          + " rollback and import-legacy change one partition: --partition may be left out when"
          + " the job has at most one (then that one, or 0). reset and migrate cover every"
          + " partition unless --partition names one."
    },
    subcommands = {
      StatusCommand.class,
      ShowCommand.class,
      HistoryCommand.class,
      RollbackCommand.class,
      ResetCommand.class,
      MigrateCommand.class,
      ImportLegacyCommand.class,
      AuditCommand.class
    })
final class CheckpointCommand {}
