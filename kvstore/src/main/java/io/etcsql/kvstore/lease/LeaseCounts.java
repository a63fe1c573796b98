package io.etcsql.kvstore.lease;

import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongConsumer;

/**
 * Leases this member's store granted and revoked, as etcd's lessor counts them ({@code
 * etcd_debugging_lease_granted_total}, {@code _revoked_total}, and each granted TTL for {@code
 * etcd_debugging_lease_ttl_total}). Counted as commands are applied, on every member; never
 * stored or replicated.
 */
public final class LeaseCounts {
  private final LongAdder granted = new LongAdder();
  private final LongAdder revoked = new LongAdder();
  private volatile LongConsumer grantedTtls = ttl -> { };

  /** Hands the TTL in seconds of every later grant to {@code ttls}, on the apply thread (so it must be quick). */
  public void onGrant(LongConsumer ttls) {
    this.grantedTtls = ttls;
  }

  /** A lease of {@code ttl} seconds was granted. */
  public void recordGrant(long ttl) {
    granted.increment();
    grantedTtls.accept(ttl);
  }

  /** A lease was revoked. */
  public void recordRevoke() {
    revoked.increment();
  }

  public long granted() {
    return granted.sum();
  }

  public long revoked() {
    return revoked.sum();
  }
}
