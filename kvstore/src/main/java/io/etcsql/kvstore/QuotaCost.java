package io.etcsql.kvstore;

import io.etcsql.grpcapi.etcdserverpb.LeaseGrantRequest;
import io.etcsql.grpcapi.etcdserverpb.PutRequest;
import io.etcsql.grpcapi.etcdserverpb.TxnRequest;

/**
 * etcd's backend quota ({@code etcdserver/quota.go}): what a request costs against
 * {@code --quota-backend-bytes}, and whether it still fits. Requests that add nothing (reads,
 * deletes, a txn without puts) cost 0 and always fit.
 */
public final class QuotaCost {
  /** etcd 3.4's default quota, used when the flag is 0: 2 GiB. */
  public static final long DEFAULT_QUOTA_BYTES = 2L * 1024 * 1024 * 1024;
  /** etcd's estimate of a key's metadata. */
  public static final int KV_OVERHEAD = 256;
  /** etcd's estimate of a lease's cost. */
  public static final int LEASE_OVERHEAD = 64;

  private final long maxBytes;

  /**
   * @param quotaBackendBytes the flag's value: 0 = etcd's default, negative = no quota
   */
  public QuotaCost(long quotaBackendBytes) {
    this.maxBytes = quotaBackendBytes == 0 ? DEFAULT_QUOTA_BYTES : quotaBackendBytes;
  }

  /** The effective quota in bytes, or a negative number when disabled. */
  public long maxBytes() {
    return maxBytes;
  }

  /** The cost of a request: Put, Txn or LeaseGrant (0 for anything else). */
  public static long cost(Object request) {
    if (request instanceof PutRequest p) {
      return KV_OVERHEAD + p.getKey().size() + p.getValue().size();
    }
    if (request instanceof TxnRequest t) {
      return Alarms.putCost(t);
    }
    if (request instanceof LeaseGrantRequest) {
      return LEASE_OVERHEAD;
    }
    return 0;
  }

  /**
   * As etcd's {@code backendQuota.Available}: true if the request adds nothing, or if
   * {@code usedBytes + cost < quota}.
   */
  public boolean available(Object request, long usedBytes) {
    long cost = cost(request);
    if (cost == 0 || maxBytes < 0) {
      return true;
    }
    return usedBytes + cost < maxBytes;
  }
}
