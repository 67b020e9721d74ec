package dev.waymark.ingest;

import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * Which partition an input file belongs to: {@code CRC-32C(UTF-8 bytes of the file name)}, read as
 * an unsigned 32-bit number, modulo the number of partitions. Partitions are named {@code "0"} to
 * {@code "P-1"}.
 *
 * <p>The function depends on the name alone (not on the directory, the listing, the order, the JVM
 * or the machine), so a file always lands in the same partition for a given P, on every run and
 * every machine; that is what lets each partition keep its own cursor. Its name, {@value #HASH}, is
 * recorded with the job's layout: a future function gets a new name, and a job recorded under
 * another function is refused rather than resumed. For example, with P = 4, {@code skus_00000.json}
 * (CRC-32C {@code 0xfd9bac5c}) goes to partition {@code 0} and {@code skus_00002.json} ({@code
 * 0x26170c9f}) to partition {@code 3}; more golden values are in {@code PartitioningTest}.
 *
 * <p>Stateless and thread-safe.
 */
public final class Partitioning {
  /** The name of this function, as recorded in the job's layout. */
  public static final String HASH = "crc32c-utf8-mod";

  private Partitioning() {}

  /**
   * The partition (0 to {@code partitions - 1}) of the file named {@code name}.
   *
   * @throws IllegalArgumentException if {@code partitions} is below 1
   */
  public static int of(String name, int partitions) {
    if (partitions < 1) {
      throw new IllegalArgumentException("partitions must be at least 1, found " + partitions);
    }
    CRC32C crc = new CRC32C();
    crc.update(name.getBytes(StandardCharsets.UTF_8));
    return (int) (crc.getValue() % partitions); // getValue() is already the unsigned 32-bit value
  }

  /** The id of partition number {@code index}: its decimal form. */
  public static String id(int index) {
    return Integer.toString(index);
  }
}
