package dev.waymark.ingest.coord;

import java.util.Optional;

/**
 * A partition this worker owns at an epoch. The epoch grows by one on every claim, so an owner that
 * lost its lease (paused, cut off) holds a smaller epoch than the one recorded, and its commits are
 * refused. Immutable.
 *
 * @param partition the partition's id
 * @param epoch the epoch this worker owns it at
 * @param previousOwner the worker whose expired lease this claim took over, if any
 */
public record Lease(String partition, long epoch, Optional<String> previousOwner) {}
