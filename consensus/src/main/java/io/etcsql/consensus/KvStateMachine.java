package io.etcsql.consensus;

import com.google.protobuf.InvalidProtocolBufferException;
import io.etcsql.grpcapi.etcsqlpb.CommandResult;
import io.etcsql.grpcapi.etcsqlpb.LeaderQuery;
import io.etcsql.grpcapi.etcsqlpb.LeaderQueryResult;
import io.etcsql.grpcapi.etcsqlpb.LeaderQueryResults;
import io.etcsql.grpcapi.etcsqlpb.ReplicatedCommand;
import io.etcsql.kvstore.KvStore;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.SnapshotInfo;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.LifeCycle;
import org.apache.ratis.util.MD5FileUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Ratis state machine over a {@link KvStore}: a thin adapter that decodes each committed
 * entry, hands it to the store and records the applied term and index.
 *
 * <ul>
 *   <li>{@link #startTransaction} runs on the leader before replication: it stamps the commit
 *       time and picks the id of a lease granted with id 0, so that applying is deterministic.
 *   <li>{@link #applyTransaction} never reads a clock, random source or network; request errors
 *       are results, not exceptions.
 *   <li>Snapshots: the store is itself persistent, so a snapshot forces it to disk and writes a
 *       marker file {@code snapshot.<term>_<index>} with an MD5 beside it; Ratis may then purge
 *       the log up to that index. Restart = the store as persisted + replay of the log after its
 *       applied index.
 *   <li>{@link #query}: an empty message is the linearizable-read barrier (Ratis calls it once
 *       the member has applied up to the leader's read index); a {@link LeaderQuery} is answered
 *       by the {@link LeaseKeeper} on the leader.
 * </ul>
 */
final class KvStateMachine extends BaseStateMachine {
  private static final Logger LOG = LoggerFactory.getLogger(KvStateMachine.class);

  private final KvStore store;
  private final LeaseKeeper leaseKeeper;
  private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage();

  private final SnapshotSource snapshots;
  private final java.util.concurrent.ExecutorService installer = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "snapshot-installer");
    t.setDaemon(true);
    return t;
  });

  /** Waiters for an applied index, by index (see {@link #whenApplied}). */
  private final ConcurrentSkipListMap<Long, CompletableFuture<Void>> appliedWaiters = new ConcurrentSkipListMap<>();
  /** Asks a member (peer id, Raft address) for its client address; see {@link #ownClientAddress}. */
  private final java.util.function.BiFunction<String, String, String> clientAddressOf;
  private final java.util.concurrent.atomic.AtomicLong leaderChanges = new java.util.concurrent.atomic.AtomicLong();
  private volatile RaftPeerId lastLeader;
  /** etcd's default --experimental-warning-apply-duration. */
  private static final long SLOW_APPLY_NANOS = java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(100);
  private final java.util.concurrent.atomic.AtomicLong slowApplies = new java.util.concurrent.atomic.AtomicLong();
  /** A snapshot from the leader is being fetched and installed. */
  private volatile boolean installing;

  /** Whether a Raft client id (its bytes) is one of this member's: it proposed the entry. */
  private final java.util.function.Predicate<ByteString> ownClient;

  KvStateMachine(KvStore store, LeaseKeeper leaseKeeper, SnapshotSource snapshots,
      java.util.function.BiFunction<String, String, String> clientAddressOf,
      java.util.function.Predicate<ByteString> ownClient) {
    this.ownClient = ownClient;
    this.clientAddressOf = clientAddressOf;
    this.store = store;
    this.leaseKeeper = leaseKeeper;
    this.snapshots = snapshots;
  }

  @Override
  public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage) throws IOException {
    super.initialize(server, groupId, raftStorage);
    storage.init(raftStorage);
    lastCommitTime.accumulateAndGet(store.mvcc().revisionAt(Long.MAX_VALUE)[1], Math::max);
    // Ratis replays the log from the latest snapshot; entries the store already applied are
    // skipped by the store (it knows its own applied index), so start from the snapshot.
    SnapshotInfo snapshot = storage.getLatestSnapshot();
    if (snapshot != null) {
      if (store.appliedIndex() < snapshot.getIndex()) {
        // only after an interrupted snapshot installation: the log before the snapshot is gone
        throw new IOException("the key-value store (applied index " + store.appliedIndex()
            + ") is behind this member's Raft snapshot (index " + snapshot.getIndex()
            + "); remove the member's data directory and let it catch up from the leader again");
      }
      setLastAppliedTermIndex(snapshot.getTermIndex());
    }
    getLifeCycle().transition(LifeCycle.State.STARTING);
    getLifeCycle().transition(LifeCycle.State.RUNNING);
  }

  /** Stops applying while a snapshot replaces the store (Ratis reloads only a paused machine). */
  @Override
  public void pause() {
    if (getLifeCycleState() == LifeCycle.State.RUNNING) {
      getLifeCycle().transition(LifeCycle.State.PAUSING);
      getLifeCycle().transition(LifeCycle.State.PAUSED);
    }
  }

  /**
   * The leader has purged the log entries this member still needs: fetch the leader's whole
   * store, replace ours with it, and continue from the snapshot's index.
   */
  @Override
  public CompletableFuture<TermIndex> notifyInstallSnapshotFromLeader(
      org.apache.ratis.proto.RaftProtos.RoleInfoProto roleInfo, TermIndex firstTermIndexInLog) {
    long logNext = raftLogNextIndex();
    if (firstTermIndexInLog.getIndex() <= logNext || (store.appliedIndex() == 0 && firstTermIndexInLog.getIndex() <= 1)) {
      // this member's log reaches the leader's first entry (Ratis notifies every member it adds,
      // a new one of a young cluster or a learner rejoining as a voter): null tells Ratis to
      // replicate the log from there
      LOG.info("the leader's log starts at {}, this member's log ends before {}: catching up from the log",
          firstTermIndexInLog, logNext);
      return CompletableFuture.completedFuture(null);
    }
    if (firstTermIndexInLog.getIndex() <= store.appliedIndex() + 1) {
      // The leader still has every entry the store lacks, but this member's Raft log ends before
      // the leader's first entry: the store applied entries that the log lost (its unsynced tail
      // at a crash). Answering "no snapshot" (null) would leave the leader's log appender unable
      // to send anything, forever. The store itself is the snapshot: record it as Ratis'
      // snapshot, so that the log continues after it and the leader replicates from there.
      LOG.info("the leader's log starts at {}, the store has applied up to {}: continuing from the store",
          firstTermIndexInLog, store.appliedIndex());
      return CompletableFuture.supplyAsync(() -> {
        try {
          pause();
          TermIndex ti = TermIndex.valueOf(store.appliedTerm(), store.appliedIndex());
          setLastAppliedTermIndex(ti);
          releaseWaiters();
          takeSnapshot();
          return ti;
        } catch (IOException e) {
          LOG.warn("recording the store as a snapshot failed", e);
          throw new java.util.concurrent.CompletionException(e);
        }
      }, installer);
    }
    String leader = roleInfo.getFollowerInfo().getLeaderInfo().getId().getId().toStringUtf8();
    // the leader's etcd client address, recorded as its data-stream address (see RaftNode.configuration)
    String recorded = roleInfo.getFollowerInfo().getLeaderInfo().getId().getDataStreamAddress();
    String leaderRaftAddress = roleInfo.getFollowerInfo().getLeaderInfo().getId().getAddress();
    LOG.info("behind the leader's log (it starts at {}): installing a snapshot from {}", firstTermIndexInLog, leader);
    return CompletableFuture.supplyAsync(() -> {
      // Ratis keeps a configuration change that only changes addresses out of its log, so a
      // member that joins before any other change does not find the leader's client address
      // there: it asks the leader itself, over the Raft port
      String leaderClientAddress = recorded.isEmpty() && store.member(ConfigurationSync.memberIdOf(leader)) == null
          ? clientAddressOf.apply(leader, leaderRaftAddress) : recorded;
      installing = true;
      try (java.io.InputStream in = snapshots.open(leader, leaderClientAddress)) {
        // Ratis reloads a paused state machine once it has the snapshot's index (see reinitialize)
        pause();
        long[] at = store.installSnapshot(in);
        TermIndex ti = TermIndex.valueOf(at[0], at[1]);
        setLastAppliedTermIndex(ti);
        releaseWaiters();
        takeSnapshot();
        return ti;
      } catch (IOException e) {
        LOG.warn("snapshot installation from {} failed", leader, e);
        throw new java.util.concurrent.CompletionException(e);
      } finally {
        installing = false;
      }
    }, installer);
  }

  private void advance(long term, long index) {
    if (index > getLastAppliedTermIndex().getIndex()) {
      updateLastAppliedTermIndex(term, index);
    }
    releaseWaiters();
  }

  /** Completes (on another thread) once this member has applied {@code index}. */
  CompletableFuture<Void> whenApplied(long index) {
    if (getLastAppliedTermIndex().getIndex() >= index) {
      return CompletableFuture.completedFuture(null);
    }
    CompletableFuture<Void> f = appliedWaiters.computeIfAbsent(index, i -> new CompletableFuture<>());
    releaseWaiters(); // the index may have been applied while the waiter was being registered
    return f;
  }

  private void releaseWaiters() {
    long applied = getLastAppliedTermIndex().getIndex();
    for (Map.Entry<Long, CompletableFuture<Void>> e = appliedWaiters.firstEntry(); e != null && e.getKey() <= applied;
        e = appliedWaiters.firstEntry()) {
      if (appliedWaiters.remove(e.getKey(), e.getValue())) {
        e.getValue().completeAsync(() -> null);
      }
    }
  }

  @Override
  public StateMachineStorage getStateMachineStorage() {
    return storage;
  }

  @Override
  public SnapshotInfo getLatestSnapshot() {
    return storage.getLatestSnapshot();
  }

  @Override
  public long takeSnapshot() throws IOException {
    TermIndex last = getLastAppliedTermIndex();
    if (last.getIndex() <= 0) {
      return -1;
    }
    store.sync();
    File marker = storage.getSnapshotFile(last.getTerm(), last.getIndex());
    String body = "applied " + last.getTerm() + " " + last.getIndex() + " revision "
        + store.mvcc().currentRevision() + "\n";
    Files.write(marker.toPath(), body.getBytes(StandardCharsets.UTF_8));
    MD5FileUtil.computeAndSaveMd5ForFile(marker);
    storage.updateLatestSnapshot(new SingleFileSnapshotInfo(
        new org.apache.ratis.server.storage.FileInfo(marker.toPath(), MD5FileUtil.readStoredMd5ForFile(marker)),
        last));
    storage.cleanupOldSnapshots(new org.apache.ratis.statemachine.SnapshotRetentionPolicy() {
      @Override
      public int getNumSnapshotsRetained() {
        return 2;
      }
    });
    LOG.info("snapshot at {} (revision {})", last, store.mvcc().currentRevision());
    return last.getIndex();
  }

  /**
   * The newest commit time this member stamped or applied: a leader stamps no earlier time, so
   * {@code committed_at} never decreases along the log (reads of it as of a time search on that).
   */
  private final java.util.concurrent.atomic.AtomicLong lastCommitTime = new java.util.concurrent.atomic.AtomicLong();

  @Override
  public TransactionContext startTransaction(RaftClientRequest request) throws IOException {
    ByteString proposed = request.getMessage().getContent();
    ReplicatedCommand cmd = ReplicatedCommand.parseFrom(proposed.asReadOnlyByteBuffer());
    // commit times never go back along the log, even when a new leader's clock is behind
    long stamp = lastCommitTime.accumulateAndGet(System.currentTimeMillis(), Math::max);
    ByteString logData;
    if (cmd.hasLeaseGrant() && cmd.getLeaseGrant().getID() == 0) {
      ReplicatedCommand.Builder b = cmd.toBuilder().setCommittedAtUnixMs(stamp);
      b.getLeaseGrantBuilder().setID(newLeaseId());
      logData = ByteString.copyFrom(b.build().toByteArray());
    } else {
      // a parser keeps the last value of a scalar field: the stamp appended to the proposed bytes
      // sets committed_at_unix_ms without encoding the whole command again
      logData = proposed.concat(ByteString.copyFrom(stampField(stamp)));
    }
    return TransactionContext.newBuilder()
        .setStateMachine(this)
        .setClientRequest(request)
        .setLogData(logData)
        .build();
  }

  /** The encoded field {@code committed_at_unix_ms = stamp} of a ReplicatedCommand. */
  static byte[] stampField(long stamp) {
    int field = ReplicatedCommand.COMMITTED_AT_UNIX_MS_FIELD_NUMBER;
    byte[] out = new byte[com.google.protobuf.CodedOutputStream.computeInt64Size(field, stamp)];
    com.google.protobuf.CodedOutputStream o = com.google.protobuf.CodedOutputStream.newInstance(out);
    try {
      o.writeInt64(field, stamp);
      o.checkNoSpaceLeft();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return out;
  }

  private long newLeaseId() {
    while (true) {
      long id = ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE;
      if (id != 0 && store.lessor().lookup(id) == null) {
        return id;
      }
    }
  }

  /**
   * Called by Ratis after a snapshot installation, on the paused state machine: the store was
   * already replaced by {@link #notifyInstallSnapshotFromLeader}, so only resume.
   */
  @Override
  public void reinitialize() throws IOException {
    if (getLifeCycleState() == LifeCycle.State.PAUSED) {
      getLifeCycle().transition(LifeCycle.State.STARTING);
      getLifeCycle().transition(LifeCycle.State.RUNNING);
    }
  }

  @Override
  public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
    LogEntryProto entry = trx.getLogEntry();
    long term = entry.getTerm();
    long index = entry.getIndex();
    ReplicatedCommand cmd;
    try {
      cmd = ReplicatedCommand.parseFrom(entry.getStateMachineLogEntry().getLogData().asReadOnlyByteBuffer());
    } catch (InvalidProtocolBufferException e) {
      return CompletableFuture.failedFuture(new IllegalStateException("corrupt log entry " + index, e));
    }
    // metrics only: a read-only Txn counts where it was proposed (see OpCounts)
    store.opCounts().proposedHere(ownClient.test(entry.getStateMachineLogEntry().getClientId()));
    long start = System.nanoTime(); // for etcd_server_slow_apply_total only: never stored
    CommandResult result = store.apply(term, index, cmd);
    if (System.nanoTime() - start > SLOW_APPLY_NANOS) {
      slowApplies.incrementAndGet();
    }
    lastCommitTime.accumulateAndGet(cmd.getCommittedAtUnixMs(), Math::max); // a floor for stamps, not state
    advance(term, index);
    leaseKeeper.applied(cmd, result);
    return CompletableFuture.completedFuture(Message.valueOf(ByteString.copyFrom(result.toByteArray())));
  }

  boolean installingSnapshot() {
    return installing;
  }

  /** Applied entries that took longer than {@link #SLOW_APPLY_NANOS}. */
  long slowApplies() {
    return slowApplies.get();
  }

  @Override
  public void notifyTermIndexUpdated(long term, long index) {
    store.applyNoop(term, index);
    advance(term, index);
  }

  @Override
  public CompletableFuture<Message> query(Message request) {
    ByteString content = request.getContent();
    if (content.isEmpty()) {
      return CompletableFuture.completedFuture(Message.EMPTY);
    }
    try {
      LeaderQuery q = LeaderQuery.parseFrom(content.asReadOnlyByteBuffer());
      LeaderQueryResult answer;
      if (q.hasBatch()) {
        LeaderQueryResults.Builder results = LeaderQueryResults.newBuilder();
        for (LeaderQuery one : q.getBatch().getQueriesList()) {
          results.addResults(answer(one));
        }
        answer = LeaderQueryResult.newBuilder().setBatch(results).build();
      } else {
        answer = answer(q);
      }
      return CompletableFuture.completedFuture(Message.valueOf(ByteString.copyFrom(answer.toByteArray())));
    } catch (InvalidProtocolBufferException | IllegalArgumentException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  private LeaderQueryResult answer(LeaderQuery q) {
    if (q.hasPeerProgress()) {
      return LeaderQueryResult.newBuilder().setPeerProgress(peerProgress()).build();
    }
    if (q.hasClientAddress()) {
      return LeaderQueryResult.newBuilder().setClientAddress(ownClientAddress()).build();
    }
    if (q.hasBatch()) {
      throw new IllegalArgumentException("a batch of leader queries inside a batch");
    }
    return leaseKeeper.answer(q);
  }

  /** The index after the last entry of this member's Raft log, or 0 before it started. */
  private long raftLogNextIndex() {
    try {
      return getServer().join().getDivision(getGroupId()).getRaftLog().getNextIndex();
    } catch (IOException | RuntimeException e) {
      return 0;
    }
  }

  /** This member's first published client URL as "host:port", or "" before it published one. */
  private String ownClientAddress() {
    io.etcsql.grpcapi.etcdserverpb.Member self = store.member(ConfigurationSync.memberIdOf(getId().toString()));
    if (self == null || self.getClientURLsCount() == 0) {
      return "";
    }
    java.net.URI u = java.net.URI.create(self.getClientURLs(0));
    return u.getHost() + ":" + u.getPort();
  }

  /** This leader's view of its peers: their commit indexes and when it last heard from each. */
  private io.etcsql.grpcapi.etcsqlpb.PeerProgress peerProgress() {
    RaftServer.Division division;
    try {
      division = getServer().join().getDivision(getGroupId());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    java.util.Map<String, Long> contact = new java.util.HashMap<>();
    org.apache.ratis.proto.RaftProtos.RoleInfoProto role = division.getInfo().getRoleInfoProto();
    if (role.hasLeaderInfo()) {
      for (org.apache.ratis.proto.RaftProtos.ServerRpcProto f : role.getLeaderInfo().getFollowerInfoList()) {
        contact.put(f.getId().getId().toStringUtf8(), f.getLastRpcElapsedTimeMs());
      }
    }
    String self = division.getId().toString();
    io.etcsql.grpcapi.etcsqlpb.PeerProgress.Builder out = io.etcsql.grpcapi.etcsqlpb.PeerProgress.newBuilder()
        .setLeaderId(ConfigurationSync.memberIdOf(self))
        .setLeaderCommitIndex(division.getRaftLog().getLastCommittedIndex())
        .setLeaderElapsedMs(role.hasLeaderInfo() ? role.getRoleElapsedTimeMs() : 0);
    for (org.apache.ratis.proto.RaftProtos.CommitInfoProto c : division.getCommitInfos()) {
      String peer = c.getServer().getId().toStringUtf8();
      if (peer.equals(self)) {
        continue;
      }
      out.addPeers(io.etcsql.grpcapi.etcsqlpb.PeerProgress.Peer.newBuilder()
          .setMemberId(ConfigurationSync.memberIdOf(peer))
          .setCommitIndex(c.getCommitIndex())
          .setLastContactMs(contact.getOrDefault(peer, Long.MAX_VALUE)));
    }
    return out.build();
  }

  /** Leader changes this member has seen (etcd's etcd_server_leader_changes_seen_total). */
  long leaderChangesSeen() {
    return leaderChanges.get();
  }

  @Override
  public void notifyLeaderChanged(RaftGroupMemberId groupMemberId, RaftPeerId newLeaderId) {
    // as etcd: a change to a known leader other than the last one seen counts (the first one too)
    if (newLeaderId != null && !newLeaderId.equals(lastLeader)) {
      leaderChanges.incrementAndGet();
    }
    lastLeader = newLeaderId;
    if (!groupMemberId.getPeerId().equals(newLeaderId)) {
      leaseKeeper.stepDown();
    }
  }

  @Override
  public void notifyLeaderReady() {
    leaseKeeper.becomeLeader();
  }

  @Override
  public void close() throws IOException {
    leaseKeeper.stepDown();
    installer.shutdownNow();
    super.close();
  }
}
