package io.etcsql.server;

import io.etcsql.consensus.RaftNode;
import io.etcsql.grpcapi.etcdserverpb.AlarmMember;
import io.etcsql.grpcapi.etcdserverpb.AlarmType;
import io.etcsql.kvstore.KvStore;
import io.etcsql.kvstore.QuotaCost;
import io.etcsql.server.metrics.MemberStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** A member's state for metrics and health, read from its Raft node, store and proposer when asked. */
final class NodeStatus implements MemberStatus {
  private final RaftNode raft;
  private final KvStore store;
  private final Proposer proposer;
  private final long quotaBytes;

  NodeStatus(RaftNode raft, KvStore store, Proposer proposer, long quotaBackendBytes) {
    this.raft = raft;
    this.store = store;
    this.proposer = proposer;
    this.quotaBytes = new QuotaCost(quotaBackendBytes).maxBytes();
  }

  @Override
  public boolean hasLeader() {
    return raft.leaderPeerId() != null;
  }

  @Override
  public boolean isLeader() {
    return raft.isLeader();
  }

  @Override
  public boolean isLearner() {
    return raft.isLearner();
  }

  @Override
  public long leaderChangesSeen() {
    return raft.leaderChangesSeen();
  }

  @Override
  public long committedIndex() {
    return raft.commitIndex();
  }

  @Override
  public long appliedIndex() {
    return raft.appliedIndex();
  }

  @Override
  public long proposalsPending() {
    return proposer.pending();
  }

  @Override
  public long proposalsFailed() {
    return proposer.failed();
  }

  @Override
  public long dbSizeBytes() {
    return store.sizeOnDisk();
  }

  @Override
  public long dbSizeInUseBytes() {
    return Math.min(store.sizeOnDisk(), store.sizeInUse()); // as Status.dbSizeInUse
  }

  @Override
  public long authRevision() {
    return store.auth().revision();
  }

  @Override
  public long keys() {
    return store.mvcc().indexedKeys();
  }

  @Override
  public long currentRevision() {
    return store.mvcc().currentRevision();
  }

  @Override
  public long compactRevision() {
    long rev = store.mvcc().compactRevision();
    return rev == 0 ? -1 : rev; // as etcd (and HashKV): -1 until the first compaction
  }

  @Override
  public long ranges() {
    return store.opCounts().ranges();
  }

  @Override
  public long puts() {
    return store.opCounts().puts();
  }

  @Override
  public long deletes() {
    return store.opCounts().deletes();
  }

  @Override
  public long txns() {
    return store.opCounts().txns();
  }

  @Override
  public long putBytes() {
    return store.opCounts().putBytes();
  }

  @Override
  public long leasesExpired() {
    return raft.leasesExpired();
  }

  @Override
  public boolean installingSnapshot() {
    return raft.installingSnapshot();
  }

  @Override
  public io.etcsql.kvstore.watch.WatchStats watches() {
    return store.watchHub().stats();
  }

  @Override
  public long leasesGranted() {
    return store.leaseCounts().granted();
  }

  @Override
  public long leasesRevoked() {
    return store.leaseCounts().revoked();
  }

  @Override
  public long leasesRenewed() {
    return raft.leasesRenewed();
  }

  @Override
  public long slowApplies() {
    return raft.slowApplies();
  }

  @Override
  public long slowReadIndexes() {
    return raft.slowReadIndexes();
  }

  @Override
  public long readIndexesFailed() {
    return raft.readIndexesFailed();
  }

  @Override
  public long quotaBackendBytes() {
    return quotaBytes;
  }

  @Override
  public String memberIdHex() {
    return raft.selfPeerId();
  }

  @Override
  public List<String> alarms() {
    List<String> out = new ArrayList<>();
    for (AlarmMember a : store.alarms(AlarmType.NONE)) {
      out.add(a.getAlarm().name());
    }
    return out;
  }

  @Override
  public CompletableFuture<Void> linearizableRead() {
    return raft.readBarrier();
  }
}
