package io.etcsql.kvstore.watch;

import java.util.Arrays;

/**
 * What a watcher watches, with etcd's conventions.
 *
 * <p>Keys: an empty {@code rangeEnd} watches the single {@code key}; {@code rangeEnd = "\0"}
 * (one zero byte) watches every key {@code >= key}, so {@code key = "\0", rangeEnd = "\0"} watches
 * everything; any other {@code rangeEnd} watches {@code [key, rangeEnd)}. Keys compare as unsigned
 * bytes. A range whose end is not above its key is empty ({@link #isEmptyRange()}) and cannot be
 * watched.
 *
 * <p>{@code startRevision}: the first revision whose events are delivered; 0 (or less) means the
 * current revision + 1 (only future changes). {@code noPut}/{@code noDelete} drop PUT/DELETE events;
 * {@code prevKv} fills each event's previous key-value; {@code progressNotify} asks for periodic
 * progress notifications while the watcher is synced and idle.
 *
 * <p>The arrays are not copied: do not change them after creating the spec. Null arrays are
 * treated as empty.
 */
public record WatchSpec(
    byte[] key,
    byte[] rangeEnd,
    long startRevision,
    boolean prevKv,
    boolean noPut,
    boolean noDelete,
    boolean progressNotify) {

  private static final byte[] EMPTY = new byte[0];

  public WatchSpec {
    key = key == null ? EMPTY : key;
    rangeEnd = rangeEnd == null ? EMPTY : rangeEnd;
  }

  /** A spec for one key (or range) from {@code startRevision}, with no options. */
  public static WatchSpec of(byte[] key, byte[] rangeEnd, long startRevision) {
    return new WatchSpec(key, rangeEnd, startRevision, false, false, false, false);
  }

  /** Whether this watches exactly one key (empty {@code rangeEnd}). */
  public boolean isSingleKey() {
    return rangeEnd.length == 0;
  }

  /** Whether this watches every key {@code >= key} ({@code rangeEnd = "\0"}). */
  public boolean isOpenEnded() {
    return rangeEnd.length == 1 && rangeEnd[0] == 0;
  }

  /** Whether the range {@code [key, rangeEnd)} is empty (etcd's "watcher range is empty"). */
  public boolean isEmptyRange() {
    return !isSingleKey() && !isOpenEnded() && Arrays.compareUnsigned(key, rangeEnd) >= 0;
  }

  /** Whether {@code k} is one of the watched keys. */
  public boolean contains(byte[] k) {
    if (isSingleKey()) {
      return Arrays.equals(key, k);
    }
    return Arrays.compareUnsigned(k, key) >= 0
        && (isOpenEnded() || Arrays.compareUnsigned(k, rangeEnd) < 0);
  }

  @Override
  public String toString() {
    return "WatchSpec[key=" + Arrays.toString(key) + ", rangeEnd=" + Arrays.toString(rangeEnd)
        + ", startRevision=" + startRevision + ", prevKv=" + prevKv + ", noPut=" + noPut
        + ", noDelete=" + noDelete + ", progressNotify=" + progressNotify + "]";
  }
}
