package dev.waymark.ingest;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The digest of a listing's first names that a directory cursor records ({@link
 * dev.waymark.checkpoint.Cursor#NAMES}): the first 16 hex digits of the SHA-256 of the names at
 * indexes 0 to N, in order, each in UTF-8 followed by a newline. Units commit in listing order, so
 * the digest is carried forward, each name hashed once; an earlier index starts it over.
 * Thread-safe.
 */
final class NamesDigest {
  private final FileListing listing;
  private final MessageDigest sha256;
  private int next; // the names before this index are in sha256
  private int lastIndex = -1;
  private String last;

  NamesDigest(FileListing listing) {
    this.listing = listing;
    try {
      this.sha256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }

  /** The digest of the names at indexes 0 to {@code index}. */
  synchronized String through(int index) {
    if (index == lastIndex) {
      return last;
    }
    if (index < next - 1) {
      sha256.reset();
      next = 0;
    }
    for (; next <= index; next++) {
      sha256.update(listing.name(next).getBytes(StandardCharsets.UTF_8));
      sha256.update((byte) '\n');
    }
    try {
      MessageDigest copy = (MessageDigest) sha256.clone();
      last = HexFormat.of().formatHex(copy.digest(), 0, 8);
    } catch (CloneNotSupportedException e) {
      throw new IllegalStateException("the JDK's SHA-256 can be cloned", e);
    }
    lastIndex = index;
    return last;
  }
}
