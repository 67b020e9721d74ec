package dev.waymark.cli;

import dev.waymark.checkpoint.Names;
import dev.waymark.ingest.sink.Identifiers;
import java.util.function.UnaryOperator;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Checks job, partition and table names while the command line is parsed, so that a refused name
 * stops the command before it creates a file, a directory or a table, and the message names the
 * flag and the rule: {@code Invalid value for option '--job': job name '../x' is not allowed: use
 * letters, digits, ...} (exit code 2).
 */
final class NameConverters {
  private NameConverters() {}

  /** {@code --job}: {@link Names#requireValid}. */
  static final class Job implements ITypeConverter<String> {
    @Override
    public String convert(String value) {
      return check(value, v -> Names.requireValid("job", v));
    }
  }

  /** {@code --partition}: {@link Names#requireValid}. */
  static final class Partition implements ITypeConverter<String> {
    @Override
    public String convert(String value) {
      return check(value, v -> Names.requireValid("partition", v));
    }
  }

  /** {@code --table}: {@link Identifiers#require}. */
  static final class Table implements ITypeConverter<String> {
    @Override
    public String convert(String value) {
      return check(value, v -> Identifiers.require("table", v));
    }
  }

  private static String check(String value, UnaryOperator<String> rule) {
    try {
      return rule.apply(value);
    } catch (IllegalArgumentException e) {
      throw new TypeConversionException(e.getMessage());
    }
  }
}
