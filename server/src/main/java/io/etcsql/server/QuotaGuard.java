package io.etcsql.server;

import io.etcsql.consensus.RaftNode;
import io.etcsql.grpcapi.etcdserverpb.AlarmRequest;
import io.etcsql.grpcapi.etcdserverpb.AlarmType;
import io.etcsql.grpcapi.etcsqlpb.ReplicatedCommand;
import io.etcsql.kvstore.EtcdError;
import io.etcsql.kvstore.QuotaCost;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * etcd's quota check in front of Put, Txn and LeaseGrant ({@code v3rpc/quota.go}): a request that
 * would take the store past {@code --quota-backend-bytes} is refused with {@code etcdserver: mvcc:
 * database space exceeded}, after this member has raised the NOSPACE alarm through Raft (so every
 * member then refuses such writes at apply, until {@code etcdctl alarm disarm}).
 *
 * <p>The size compared is the bytes the stored data takes ({@link
 * io.etcsql.kvstore.KvStore#sizeInUse()}), not the files' allocated size: Chronicle Map files are
 * preallocated and sparse, so their length says little about how much data they hold.
 *
 * <p>Adding that size up walks the meta store, too slow for every write: a request is admitted on
 * a size read at most {@value #SIZE_REFRESH_MS} ms ago when even that size plus {@value
 * #SIZE_SLACK} bytes leaves room for it (etcd's own backend size is as stale: it grows when bbolt
 * commits, every 100 ms); nearer the quota the size is added up for each request.
 */
final class QuotaGuard {
  private static final Logger LOG = LoggerFactory.getLogger(QuotaGuard.class);

  private final RaftNode node;
  private final Proposer proposer;
  private final Supplier<Long> selfId;
  private final QuotaCost quota;
  static final long SIZE_REFRESH_MS = 100;
  static final long SIZE_SLACK = 64L * 1024 * 1024;
  private volatile long recentSize;
  private volatile long recentSizeNanos = System.nanoTime() - 2 * SIZE_REFRESH_MS * 1_000_000;

  QuotaGuard(RaftNode node, Proposer proposer, Supplier<Long> selfId, long quotaBackendBytes) {
    this.node = node;
    this.proposer = proposer;
    this.selfId = selfId;
    this.quota = new QuotaCost(quotaBackendBytes);
    if (quotaBackendBytes < 0) {
      LOG.info("disabled backend quota");
    } else {
      LOG.info("backend quota: {} bytes", quota.maxBytes());
    }
  }

  /**
   * Runs {@code write} if {@code request} fits the quota; otherwise raises NOSPACE (replicated)
   * and fails with {@link EtcdError#NO_SPACE}.
   */
  private long recentSize() {
    long now = System.nanoTime();
    if (now - recentSizeNanos > SIZE_REFRESH_MS * 1_000_000) {
      recentSize = node.store().sizeInUse();
      recentSizeNanos = now;
    }
    return recentSize;
  }

  <T> CompletableFuture<T> admit(Object request, Supplier<CompletableFuture<T>> write) {
    if (quota.available(request, recentSize() + SIZE_SLACK) || quota.available(request, node.store().sizeInUse())) {
      return write.get();
    }
    ReplicatedCommand alarm = ReplicatedCommand.newBuilder().setAlarm(AlarmRequest.newBuilder()
        .setAction(AlarmRequest.AlarmAction.ACTIVATE)
        .setMemberID(selfId.get())
        .setAlarm(AlarmType.NOSPACE)).build();
    if (node.store().alarms(AlarmType.NOSPACE).isEmpty()) {
      LOG.warn("request exceeds the backend quota ({} bytes); raising the NOSPACE alarm", quota.maxBytes());
    }
    return proposer.raw(alarm).handle((r, e) -> {
      throw EtcdError.NO_SPACE.exception();
    });
  }
}
