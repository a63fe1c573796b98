package io.etcsql.kvstore.lease;

import com.google.protobuf.ByteString;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListSet;

/**
 * A granted lease: its id, granted TTL, the last checkpointed remaining TTL and the keys attached
 * to it. Expiry deadlines are not kept here: they depend on a clock and only the leader tracks
 * them (see the consensus layer).
 */
public final class Lease {
  private final long id;
  private final long ttl;
  private volatile long remainingTtl;
  private final Set<ByteString> keys = new ConcurrentSkipListSet<>(ByteString.unsignedLexicographicalComparator());

  Lease(long id, long ttl, long remainingTtl) {
    this.id = id;
    this.ttl = ttl;
    this.remainingTtl = remainingTtl;
  }

  public long id() {
    return id;
  }

  /** Granted TTL in seconds. */
  public long ttl() {
    return ttl;
  }

  /** Remaining TTL in seconds at the last checkpoint, or 0 if never checkpointed. */
  public long remainingTtl() {
    return remainingTtl;
  }

  void setRemainingTtl(long remaining) {
    this.remainingTtl = remaining;
  }

  /** The attached keys, in key order. */
  public List<ByteString> keys() {
    return List.copyOf(keys);
  }

  Set<ByteString> keySet() {
    return keys;
  }
}
