package dev.waymark.ingest;

import dev.waymark.WaymarkException;

/**
 * A worker of a job that many processes share stopped because another worker recorded the job
 * failed: its committed work stays committed, and it claims nothing more. Exit 6, as {@code waymark
 * wait} on a failed job.
 */
public final class JobFailedException extends WaymarkException {
  public JobFailedException(String message) {
    super(Kind.JOB_FAILED, message, null);
  }
}
