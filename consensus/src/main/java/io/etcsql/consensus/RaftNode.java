package io.etcsql.consensus;

import io.etcsql.grpcapi.etcsqlpb.CommandResult;
import io.etcsql.grpcapi.etcsqlpb.LeaderQuery;
import io.etcsql.grpcapi.etcsqlpb.LeaderQueryResult;
import io.etcsql.grpcapi.etcsqlpb.ReplicatedCommand;
import io.etcsql.kvstore.EtcdError;
import io.etcsql.kvstore.EtcdException;
import io.etcsql.kvstore.KvStore;
import java.io.Closeable;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.ratis.RaftConfigKeys;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.client.retry.RequestTypeDependentRetryPolicy;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.proto.RaftProtos.RaftClientRequestProto;
import org.apache.ratis.proto.RaftProtos.RaftPeerRole;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.exceptions.LeaderNotReadyException;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.SetConfigurationRequest;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.retry.RetryPolicy;
import org.apache.ratis.rpc.CallId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.SizeInBytes;
import org.apache.ratis.util.TimeDuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One member of the Raft group that replicates a {@link KvStore}: the consensus facade the
 * server uses. Writes are {@linkplain #propose proposed} (from any member; Ratis forwards to the
 * leader and many concurrent proposals share log flushes and append batches); linearizable reads
 * wait on a {@linkplain #readBarrier ReadIndex barrier} and then read the local store.
 *
 * <p>Every future fails with an {@link EtcdException} on error: {@code TIMEOUT} when the group
 * cannot commit in time (no quorum, no leader), {@code STOPPED} after {@link #close()}.
 */
public final class RaftNode implements Closeable {
  private static final Logger LOG = LoggerFactory.getLogger(RaftNode.class);
  private static final int PROPOSAL_THREADS = 128;
  /** Entries of grouped proposals a member replicates at a time (see {@link ProposalBatcher}). */
  private static final int BATCHES_IN_FLIGHT = 4;
  private static final ReplicatedCommand READ_BARRIER = ReplicatedCommand.newBuilder()
      .setReadBarrier(io.etcsql.grpcapi.etcsqlpb.ReadBarrier.getDefaultInstance()).build();
  private static final long RETRY_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

  private final RaftNodeConfig config;
  private final KvStore store;
  private final RaftPeerId selfId;
  private final RaftGroup group;
  private final RaftServer server;
  private final KvStateMachine stateMachine;
  private final LeaseKeeper leaseKeeper;
  /**
   * Where shared read rounds and leader-query batches hand out their answers and start the next
   * round or batch (never on the Ratis thread that completed the last one).
   */
  private final java.util.concurrent.ExecutorService rounds = java.util.concurrent.Executors.newFixedThreadPool(2, r -> {
    Thread t = new Thread(r, "raft-read-rounds");
    t.setDaemon(true);
    return t;
  });
  /** Barrier rounds shared by followers' linearizable reads in groups of five voters or more. */
  private final ReadBarriers readBarriers = new ReadBarriers(this::barrierRound, rounds);
  /**
   * ReadIndex rounds shared by all other linearizable reads, as etcd's linearizableReadLoop
   * shares one ReadIndex among the reads that arrived while the previous one ran: a follower
   * otherwise sends the leader one ReadIndex request per read.
   */
  private final ReadBarriers readIndexRounds = new ReadBarriers(this::readIndexRound, rounds);
  /** A follower's keep-alives and other leader queries, several per request to the leader. */
  private final LeaderQueryBatcher leaderQueries = new LeaderQueryBatcher(this::sendToLeader, rounds, 4, 1000);
  /** Per peer, a client that first tries that peer as the leader (see {@link #client()}). */
  private final Map<RaftPeerId, RaftClient> clients = new java.util.concurrent.ConcurrentHashMap<>();
  private final RaftProperties props;
  /** Ratis parameters of the server and of every client this member makes (TLS, interceptors). */
  private final Parameters parameters;
  /** Client id of the requests this member hands to its own Raft server in process. */
  private final ClientId localClientId = ClientId.randomId();
  /** Every client id this member's proposals were sent with (retired clients' too). */
  private final java.util.Set<ByteString> ownClientIds = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private final java.util.concurrent.atomic.AtomicLong slowReadIndexes = new java.util.concurrent.atomic.AtomicLong();
  private final java.util.concurrent.atomic.AtomicLong readIndexesFailed = new java.util.concurrent.atomic.AtomicLong();
  private final java.util.concurrent.ExecutorService proposals;
  /** Groups concurrent Put, DeleteRange and Txn proposals into entries. */
  private final ProposalBatcher batcher;
  /** A leader lease found held in a term, and until when (System.nanoTime) that still holds. */
  private record LeaseHeld(long term, long untilNanos) {}

  /** The last lease check of this member as leader that found the lease held (see leaderLeaseLost). */
  private volatile LeaseHeld leaseHeld;
  private volatile boolean closed;
  private ConfigurationSync configurationSync;
  private ReplicationWatchdog watchdog;
  /** Holds back follower acknowledgements of entries not yet flushed (see DurableAppendAcks). */
  private final DurableAppendAcks durableAcks;
  /** This member's Raft log, once its division exists (read for the flush index). */
  private volatile org.apache.ratis.server.raftlog.RaftLog raftLog;

  private RaftNode(RaftNodeConfig config, KvStore store, SnapshotSource snapshots) throws IOException {
    this.config = config;
    this.store = store;
    this.selfId = RaftPeerId.valueOf(config.selfPeerId());
    List<RaftPeer> peers = new ArrayList<>();
    for (Map.Entry<String, java.net.InetSocketAddress> p : config.peers().entrySet()) {
      peers.add(RaftPeer.newBuilder()
          .setId(p.getKey())
          .setAddress(p.getValue().getHostString() + ":" + p.getValue().getPort())
          .build());
    }
    RaftGroupId groupId = RaftGroupId.valueOf(
        UUID.nameUUIDFromBytes(("etcsql-group:" + config.clusterToken()).getBytes(StandardCharsets.UTF_8)));
    this.group = RaftGroup.valueOf(groupId, peers);
    this.props = properties(config);
    this.leaseKeeper = new LeaseKeeper(store, this::proposeInBackground, config.leaseCheckpointIntervalMs());
    this.stateMachine = new KvStateMachine(store, leaseKeeper, snapshots, this::clientAddressOf, ownClientIds::contains);
    File storage = config.storageDir().toFile();
    boolean existing = storage.isDirectory() && storage.list() != null && storage.list().length > 0;
    Files.createDirectories(config.storageDir());
    // a member joining a running cluster starts with an empty group: the leader adds it, and its
    // configuration (with every member's addresses) arrives through the log or a snapshot notice
    boolean join = config.join() && !existing;
    this.durableAcks = new DurableAppendAcks(this::flushIndex);
    this.parameters = new Parameters();
    GrpcConfigKeys.Server.setServicesCustomizer(parameters, (builder, types) -> builder.intercept(durableAcks));
    if (config.peerTls() != null) {
      // one TLS configuration for the Raft port (server, admin and client services share it) and
      // for this member's calls to the others
      GrpcConfigKeys.TLS.setConf(parameters, tlsConfig(config.peerTls()));
    }
    this.server = RaftServer.newBuilder()
        .setServerId(selfId)
        .setGroup(join ? RaftGroup.valueOf(groupId) : group)
        .setStateMachine(stateMachine)
        .setProperties(props)
        .setParameters(parameters)
        .setOption(existing ? RaftStorage.StartupOption.RECOVER : RaftStorage.StartupOption.FORMAT)
        .build();
    AtomicInteger threadNo = new AtomicInteger();
    this.proposals = new java.util.concurrent.ThreadPoolExecutor(PROPOSAL_THREADS, PROPOSAL_THREADS, 60, TimeUnit.SECONDS,
        new java.util.concurrent.LinkedBlockingQueue<>(), r -> {
          Thread t = new Thread(r, "raft-proposal-" + threadNo.incrementAndGet());
          t.setDaemon(true);
          return t;
        });
    this.batcher = new ProposalBatcher(this::replicate, proposals, BATCHES_IN_FLIGHT, 512, config.maxRequestBytes());
    for (RaftPeer peer : peers) {
      // one client per peer, each first trying that peer as the leader: a proposal goes to the
      // client of the leader this member knows, so no request waits on a dead leader guess
      clients.put(peer.getId(), newClient(peer.getId(), group));
    }
  }

  private static org.apache.ratis.grpc.GrpcTlsConfig tlsConfig(PeerTls tls) {
    org.apache.ratis.grpc.GrpcTlsConfig.Builder b = org.apache.ratis.grpc.GrpcTlsConfig.newBuilder()
        .setKeyManager(tls.keyManager())
        .setTrustManager(tls.trustManager())
        .setMutualTls(tls.mutual())
        .setSslProvider(org.apache.ratis.thirdparty.io.netty.handler.ssl.SslProvider.JDK)
        .setProtocols("TLSv1.3", "TLSv1.2"); // etcd's minimum is TLS 1.2
    if (!tls.cipherSuites().isEmpty()) {
      b.setCipherSuites(tls.cipherSuites());
    }
    return b.build();
  }

  private RaftClient newClient(RaftPeerId leader, RaftGroup peers) {
    ClientId id = ClientId.randomId();
    ownClientIds.add(id.toByteString());
    return RaftClient.newBuilder()
        .setParameters(parameters)
        .setClientId(id)
        .setRaftGroup(peers)
        .setLeaderId(leader)
        .setProperties(props)
        .setRetryPolicy(retryPolicy(config.requestTimeoutMs()))
        .build();
  }

  /**
   * Retries a request (new leader, redirect) every 100 ms, but never once it has been pending
   * for the request timeout: by then the caller was answered "request timed out", and a retry
   * sent later could still apply a write the client gave up on, seconds afterwards (the fault
   * harness saw one land after the cluster had healed and converged). A count alone does not
   * bound the time, as each attempt may itself wait for its RPC timeout.
   */
  private static RetryPolicy retryPolicy(long requestTimeoutMs) {
    RetryPolicy everyTenthSecond = RetryPolicies.retryForeverWithSleep(TimeDuration.valueOf(100, TimeUnit.MILLISECONDS));
    TimeDuration timeout = TimeDuration.valueOf(requestTimeoutMs, TimeUnit.MILLISECONDS);
    RequestTypeDependentRetryPolicy.Builder b = RequestTypeDependentRetryPolicy.newBuilder();
    for (RaftClientRequestProto.TypeCase type : RaftClientRequestProto.TypeCase.values()) {
      b.setRetryPolicy(type, everyTenthSecond).setTimeout(type, timeout);
    }
    return b.build();
  }

  private static RaftProperties properties(RaftNodeConfig c) {
    RaftProperties p = new RaftProperties();
    // Ratis' gRPC transport with a log appender that believes a follower whose log is shorter than
    // the leader recorded (see FollowerResyncLogAppender)
    RaftConfigKeys.Rpc.setType(p, new FollowerResyncLogAppender.Type());
    // Ratis 3.3.0's "compose" path on followers treats a resent request that starts at the same
    // index as one still being appended as appended already, and acknowledges all its entries once
    // the pending (possibly shorter) one is written: the leader then counts entries the follower
    // never wrote, and replication to it loops on INCONSISTENCY. Appending each request in turn
    // has no such shortcut.
    RaftServerConfigKeys.Log.setAppendEntriesComposeEnabled(p, false);
    GrpcConfigKeys.Server.setPort(p, c.listenAddress().getPort());
    GrpcConfigKeys.Server.setHost(p, c.listenAddress().getHostString());
    RaftServerConfigKeys.setStorageDir(p, List.of(c.storageDir().toFile()));
    long election = c.electionTimeoutMs();
    RaftServerConfigKeys.Rpc.setTimeoutMin(p, TimeDuration.valueOf(election, TimeUnit.MILLISECONDS));
    RaftServerConfigKeys.Rpc.setTimeoutMax(p, TimeDuration.valueOf(election * 2, TimeUnit.MILLISECONDS));
    RaftServerConfigKeys.Rpc.setRequestTimeout(p, TimeDuration.valueOf(Math.max(3000, election * 3), TimeUnit.MILLISECONDS));
    RaftServerConfigKeys.Read.setOption(p, RaftServerConfigKeys.Read.Option.LINEARIZABLE);
    // a peer being added that does not answer for this long fails the change (it is retried
    // from the registry): an added member that is never started must not block later changes
    RaftServerConfigKeys.setStagingTimeout(p, TimeDuration.valueOf(Math.max(3000, election * 3), TimeUnit.MILLISECONDS));
    RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(p, true);
    RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(p, c.snapshotCount());
    RaftServerConfigKeys.Log.setPurgeUptoSnapshotIndex(p, true);
    RaftServerConfigKeys.Log.setPurgePreservationLogNum(p, Math.min(c.snapshotCount(), 50_000));
    RaftServerConfigKeys.Log.setPurgeGap(p, (int) Math.max(1, Math.min(1024, c.snapshotCount())));
    // the store is its own snapshot: lagging followers are notified rather than sent files
    RaftServerConfigKeys.Log.Appender.setInstallSnapshotEnabled(p, false);
    SizeInBytes entryMax = SizeInBytes.valueOf(c.maxRequestBytes() + 1024 * 1024L);
    long appenderBytes = Math.max(entryMax.getSize() * 2, 8 * 1024 * 1024L);
    RaftServerConfigKeys.Log.Appender.setBufferByteLimit(p, SizeInBytes.valueOf(appenderBytes));
    // Ratis requires the log write buffer to hold a whole append batch
    RaftServerConfigKeys.Log.setWriteBufferSize(p, SizeInBytes.valueOf(appenderBytes + 1024));
    RaftServerConfigKeys.Log.Appender.setWaitTimeMin(p, TimeDuration.valueOf(1, TimeUnit.MILLISECONDS));
    GrpcConfigKeys.setMessageSizeMax(p, SizeInBytes.valueOf(Math.max(entryMax.getSize() * 4, 64 * 1024 * 1024L)));
    // one attempt's timeout; the client retries (same call id, deduplicated by the retry cache)
    RaftClientConfigKeys.Rpc.setRequestTimeout(p, TimeDuration.valueOf(Math.max(1000, 2 * election), TimeUnit.MILLISECONDS));
    return p;
  }

  /**
   * Builds and starts the member: opens the Raft log, replays it into the store, joins the group.
   *
   * @param snapshots where to fetch a snapshot when this member falls behind the leader's log
   */
  public static RaftNode start(RaftNodeConfig config, KvStore store, SnapshotSource snapshots) throws IOException {
    RaftNode node = new RaftNode(config, store, snapshots);
    node.server.start();
    node.configurationSync = new ConfigurationSync(node, store);
    long election = config.electionTimeoutMs();
    node.watchdog = new ReplicationWatchdog(new ReplicationWatchdog.Member() {
      @Override
      public RaftServer.Division division() {
        return node.closed ? null : node.division();
      }

      @Override
      public void stepDown() throws IOException {
        RaftClientReply reply = node.client().admin().transferLeadership(null, node.selfId, node.config.requestTimeoutMs());
        if (!reply.isSuccess()) {
          throw new IOException("stepping down failed", reply.getException());
        }
      }
    }, Math.max(15_000, 15 * election), 2 * election, System::currentTimeMillis, true);
    LOG.info("raft member {} started in group {} with peers {}", config.selfPeerId(), node.group.getGroupId(),
        config.peers());
    return node;
  }

  public KvStore store() {
    return store;
  }

  /**
   * The client that first tries the leader this member currently knows (else this member).
   *
   * <p>A Ratis client moves its leader guess on every failure and redirect, to a peer it knows
   * from its group or from the configurations that redirects carry. After membership changes that
   * guess can be a removed member, and its fail-over can cycle through removed members only: the
   * new leader's own proposals and configuration changes then failed until "request timed out".
   * So a client whose guess has left the Raft configuration is replaced by one that first tries
   * the known leader and knows the current configuration's peers; clients of peers that left are
   * closed.
   */
  private RaftClient client() {
    RaftPeerId leader = null;
    List<RaftPeer> members = List.of();
    try {
      RaftServer.Division d = division();
      leader = d.getInfo().getLeaderId();
      members = currentPeers(d);
    } catch (RuntimeException e) {
      // not started yet: fall through
    }
    RaftPeerId target = leader != null ? leader : selfId;
    RaftClient c = clients.get(target);
    if (c != null && (members.isEmpty() || contains(members, c.getLeaderId()))) {
      return c;
    }
    return retarget(target, members);
  }

  /** The current configuration's voters and listeners, each with its Raft address only. */
  private static List<RaftPeer> currentPeers(RaftServer.Division d) {
    List<RaftPeer> out = new ArrayList<>();
    for (RaftPeerRole role : new RaftPeerRole[] {RaftPeerRole.FOLLOWER, RaftPeerRole.LISTENER}) {
      for (RaftPeer p : d.getRaftConf().getCurrentPeers(role)) {
        out.add(RaftPeer.newBuilder().setId(p.getId()).setAddress(p.getAddress()).build());
      }
    }
    return out;
  }

  private static boolean contains(List<RaftPeer> peers, RaftPeerId id) {
    return peers.stream().anyMatch(p -> p.getId().equals(id));
  }

  private synchronized RaftClient retarget(RaftPeerId target, List<RaftPeer> members) {
    RaftClient c = clients.get(target);
    if (c != null && (members.isEmpty() || contains(members, c.getLeaderId()))) {
      return c;
    }
    RaftGroup peers = contains(members, target) ? RaftGroup.valueOf(group.getGroupId(), members) : group;
    if (peers.getPeer(target) == null) {
      return c != null ? c : clients.get(selfId); // a leader this member cannot address yet
    }
    RaftClient fresh = newClient(target, peers);
    retire(clients.put(target, fresh));
    for (RaftPeerId id : new ArrayList<>(clients.keySet())) {
      if (!id.equals(selfId) && !contains(members, id)) {
        retire(clients.remove(id));
      }
    }
    return fresh;
  }

  /** Closes a replaced client once the requests it may still carry have timed out. */
  private void retire(RaftClient c) {
    if (c != null) {
      CompletableFuture.delayedExecutor(config.requestTimeoutMs() + 1000, TimeUnit.MILLISECONDS).execute(() -> {
        try {
          c.close();
        } catch (IOException e) {
          LOG.debug("closing raft client", e);
        }
      });
    }
  }

  private <T> CompletableFuture<T> bounded(CompletableFuture<T> f) {
    return f.orTimeout(config.requestTimeoutMs(), TimeUnit.MILLISECONDS).exceptionallyCompose(e -> {
      Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
      if (cause instanceof EtcdException ee) {
        return CompletableFuture.failedFuture(ee);
      }
      if (closed) {
        return CompletableFuture.failedFuture(EtcdError.STOPPED.exception());
      }
      if (!(cause instanceof TimeoutException)) {
        LOG.debug("raft request failed", cause);
      }
      return CompletableFuture.failedFuture(EtcdError.TIMEOUT.exception());
    });
  }

  /**
   * Replicates a command and completes with what applying it produced. An apply-time error
   * (e.g. lease not found) is a normal result: {@code CommandResult.error}.
   */
  public CompletableFuture<CommandResult> propose(ReplicatedCommand command) {
    if (closed) {
      return CompletableFuture.failedFuture(EtcdError.STOPPED.exception());
    }
    return bounded(KvStore.batchable(command) ? batcher.propose(command) : replicate(command));
  }

  /** Replicates one entry; completes with what applying it produced. */
  private CompletableFuture<CommandResult> replicate(ReplicatedCommand command) {
    return send(command).thenApply(reply -> {
      check(reply);
      try {
        return CommandResult.parseFrom(reply.getMessage().getContent().asReadOnlyByteBuffer());
      } catch (IOException e) {
        throw new CompletionException(e);
      }
    });
  }

  /** Sends a command to the leader; completes with the reply once the leader applied it. */
  private CompletableFuture<RaftClientReply> send(ReplicatedCommand command) {
    Message msg = Message.valueOf(ByteString.copyFrom(command.toByteArray()));
    if (isLeader()) {
      return submitToSelf(msg);
    }
    return sendThroughClient(msg);
  }

  /**
   * The leader's own proposals go straight to its Raft server, in process: no client channel,
   * no thread blocked per proposal. The answer is handed to the proposal pool so that the apply
   * thread, which completes it, goes on applying. A leader that is not ready yet (its first entry
   * of the term not committed) has not appended the command: it goes the client's way, which
   * waits for a leader. A leader that stepped down may have appended it, and the next leader may
   * commit it: it is not sent again but fails with etcd's "leader changed", as etcd does for
   * proposals pending when leadership changes.
   */
  private CompletableFuture<RaftClientReply> submitToSelf(Message msg) {
    return submitLocally(msg, RaftClientRequest.writeRequestType()).thenComposeAsync(reply -> {
      if (reply.isSuccess()) {
        return CompletableFuture.completedFuture(reply);
      }
      if (reply.getException() instanceof LeaderNotReadyException) {
        return sendThroughClient(msg);
      }
      if (reply.getNotLeaderException() != null) {
        return CompletableFuture.failedFuture(EtcdError.LEADER_CHANGED.exception());
      }
      return CompletableFuture.completedFuture(reply);
    }, proposals);
  }

  /** A proposal of a member that is not the leader: Ratis' client forwards it to the leader. */
  private CompletableFuture<RaftClientReply> sendThroughClient(Message msg) {
    // Ratis' ordered async stream can stay closed after a NotLeader reply; blocking sends are
    // independent requests (each with its own retries), run on a bounded pool.
    long start = System.nanoTime();
    return CompletableFuture.supplyAsync(() -> {
      if (System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(config.requestTimeoutMs())) {
        // queued behind other proposals until the caller was already answered: never send it
        throw new CompletionException(new TimeoutException("proposal not sent within the request timeout"));
      }
      try {
        return client().io().send(msg);
      } catch (IOException e) {
        throw new CompletionException(e);
      }
    }, proposals);
  }

  /**
   * One round of {@link #readBarriers}: commits a {@code ReadBarrier} entry and waits until this
   * member has applied it.
   */
  private CompletableFuture<Void> barrierRound() {
    return send(READ_BARRIER).thenCompose(reply -> {
      check(reply);
      return stateMachine.whenApplied(reply.getLogIndex());
    }).orTimeout(config.requestTimeoutMs(), TimeUnit.MILLISECONDS);
  }

  private void proposeInBackground(ReplicatedCommand command) {
    propose(command).whenComplete((r, e) -> {
      if (e != null) {
        LOG.debug("background proposal {} failed: {}", command.getRequestCase(), e.toString());
      }
    });
  }

  private static void check(RaftClientReply reply) {
    if (!reply.isSuccess()) {
      Throwable e = reply.getException();
      throw new CompletionException(e != null ? e : new IOException("raft request failed"));
    }
  }

  /**
   * Completes once this member has applied everything the group had committed when the call
   * was made, so a read of the local store after it is linearizable. The leader and the
   * followers of groups under five voters use Raft's ReadIndex (the leader also checks its
   * lease); followers of five voters or more commit a barrier entry. Either way concurrent reads
   * share rounds (see {@link ReadBarriers}).
   */
  public CompletableFuture<Void> readBarrier() {
    CompletableFuture<Void> read = confirmReadIndex();
    read.whenComplete((v, e) -> countReadIndexFailure(e));
    return read;
  }

  /** etcd's read index metrics: a timeout is slow, any other failure but a stop failed. */
  private void countReadIndexFailure(Throwable e) {
    if (e == null) {
      return;
    }
    Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
    EtcdError error = cause instanceof EtcdException ee ? ee.error() : null;
    if (error == EtcdError.TIMEOUT) {
      slowReadIndexes.incrementAndGet();
    } else if (error != EtcdError.STOPPED) {
      readIndexesFailed.incrementAndGet();
    }
  }

  /** Linearizable reads that timed out (etcd_server_slow_read_indexes_total). */
  public long slowReadIndexes() {
    return slowReadIndexes.get();
  }

  /** Linearizable reads that failed otherwise, e.g. on a leader change (etcd_server_read_indexes_failed_total). */
  public long readIndexesFailed() {
    return readIndexesFailed.get();
  }

  /** Keep-alives this member renewed a lease for while leader (etcd_debugging_lease_renewed_total). */
  public long leasesRenewed() {
    return leaseKeeper.renewed();
  }

  /** Leases this member revoked as leader because they expired (etcd_debugging_server_lease_expired_total). */
  public long leasesExpired() {
    return leaseKeeper.expired();
  }

  /** Whether a snapshot from the leader is being installed (etcd_server_snapshot_apply_in_progress_total). */
  public boolean installingSnapshot() {
    return stateMachine.installingSnapshot();
  }

  /** Applied entries that took longer than etcd's warning apply duration, 100 ms (etcd_server_slow_apply_total). */
  public long slowApplies() {
    return stateMachine.slowApplies();
  }

  private CompletableFuture<Void> confirmReadIndex() {
    if (closed) {
      return CompletableFuture.failedFuture(EtcdError.STOPPED.exception());
    }
    if (!isLeader() && voterCount() >= 5) {
      // a deposed leader may still have a follower on its side of a partition (two of five), and
      // Ratis would give that follower the deposed leader's stale read index: commit a barrier
      return bounded(readBarriers.await());
    }
    return bounded(untilDeadline(readIndexRounds::await,
        System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.requestTimeoutMs())));
  }

  /**
   * One round of {@link #readIndexRounds}: a ReadIndex of this member's own Raft server, which
   * completes once this member has applied up to the read index.
   */
  private CompletableFuture<Void> readIndexRound() {
    return localReadIndex().thenAccept(reply -> {
      check(reply);
      // a leader also confirms its lease (see leaderLeaseLost): Ratis alone may hand out a
      // deposed leader's stale read index
      if (leaderLeaseLost()) {
        throw new CompletionException(EtcdError.LEADER_CHANGED.exception());
      }
    }).orTimeout(config.requestTimeoutMs(), TimeUnit.MILLISECONDS);
  }

  /**
   * A linearizable read-only request handed to this member's own Raft server in process (no
   * client channel to itself, which a Ratis client may keep resetting): ReadIndex, then a wait
   * until this member has applied that far.
   */
  private CompletableFuture<RaftClientReply> localReadIndex() {
    return submitLocally(Message.EMPTY, RaftClientRequest.readRequestType());
  }

  /** A client request of this member's own, handed to its Raft server in process. */
  private CompletableFuture<RaftClientReply> submitLocally(Message msg, RaftClientRequest.Type type) {
    RaftClientRequest request = RaftClientRequest.newBuilder()
        .setClientId(localClientId)
        .setServerId(selfId)
        .setGroupId(group.getGroupId())
        .setCallId(CallId.getAndIncrement())
        .setMessage(msg)
        .setType(type)
        .setTimeoutMs(config.requestTimeoutMs())
        .build();
    try {
      return server.submitClientRequestAsync(request);
    } catch (IOException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  private int voterCount() {
    return division().getRaftConf().getCurrentPeers(RaftPeerRole.FOLLOWER).size();
  }

  /**
   * True when this member is the leader but fewer than a majority of the voters (itself
   * included) answered it within 90% of the minimum election timeout. A follower that answered
   * does not start or grant an election before that timeout, so while the lease holds no other
   * leader can have committed anything.
   *
   * <p>Ratis 3.3's ReadIndex answers at once when the leader's commit index was already confirmed
   * by a majority at any earlier time: a leader cut off from the others kept serving reads at its
   * old commit index until it noticed, while a new leader took writes (the fault harness found
   * such stale reads after partitions). A read on the leader therefore also checks the lease.
   * A check that found it held stands for a tenth of the lease (same term) without a new one.
   */
  private boolean leaderLeaseLost() {
    RaftServer.Division division = division();
    if (!division.getInfo().isLeader()) {
      return false; // a follower's read index came from the leader's ReadIndex round
    }
    long term = division.getInfo().getCurrentTerm();
    long now = System.nanoTime();
    LeaseHeld held = leaseHeld;
    if (held != null && held.term() == term && now - held.untilNanos() < 0) {
      return false;
    }
    long leaseMs = (long) (division.properties().minRpcTimeoutMs() * 0.9);
    // a lease found held is taken as held for the next reuseMs without a new check (keep-alives
    // and read rounds come thousands a second; each check builds Ratis' role information): the
    // followers must then have answered within leaseMs - reuseMs, so that at the end of the
    // reuse they still answered within leaseMs
    long reuseMs = leaseMs / 10;
    long answeredWithinMs = leaseMs - reuseMs;
    java.util.Set<String> voters = new java.util.HashSet<>();
    for (RaftPeer p : division.getRaftConf().getCurrentPeers(RaftPeerRole.FOLLOWER)) {
      voters.add(p.getId().toString());
    }
    String self = selfId.toString();
    int answered = voters.contains(self) ? 1 : 0;
    org.apache.ratis.proto.RaftProtos.RoleInfoProto role = division.getInfo().getRoleInfoProto();
    if (role.hasLeaderInfo()) {
      for (org.apache.ratis.proto.RaftProtos.ServerRpcProto f : role.getLeaderInfo().getFollowerInfoList()) {
        String id = f.getId().getId().toStringUtf8();
        if (!id.equals(self) && voters.contains(id) && f.getLastRpcElapsedTimeMs() < answeredWithinMs) {
          answered++;
        }
      }
    }
    if (2 * answered > voters.size()) {
      leaseHeld = new LeaseHeld(term, now + TimeUnit.MILLISECONDS.toNanos(reuseMs));
      return false;
    }
    LOG.info("leader lease not held: {} of voters {} answered within {} ms", answered, voters, answeredWithinMs);
    return true;
  }

  /**
   * Runs a read-only request again (after a short pause) while it fails and time is left: right
   * after a restart or an election a member answers "leader unknown" at once, and the request
   * should wait for the new leader rather than fail.
   */
  private <T> CompletableFuture<T> untilDeadline(java.util.function.Supplier<CompletableFuture<T>> request, long deadline) {
    return request.get().handle((value, error) -> {
      if (error == null) {
        return CompletableFuture.completedFuture(value);
      }
      if (closed || System.nanoTime() + RETRY_PAUSE_NANOS >= deadline) {
        return CompletableFuture.<T>failedFuture(error);
      }
      return CompletableFuture.supplyAsync(() -> null,
              CompletableFuture.delayedExecutor(RETRY_PAUSE_NANOS, TimeUnit.NANOSECONDS))
          .thenCompose(v -> untilDeadline(request, deadline));
    }).thenCompose(f -> f);
  }

  /** Sends a query only the leader can answer (lease keep-alive, time-to-live) to the leader. */
  public CompletableFuture<LeaderQueryResult> askLeader(LeaderQuery query) {
    if (closed) {
      return CompletableFuture.failedFuture(EtcdError.STOPPED.exception());
    }
    if (isLeader() && !leaderLeaseLost()) {
      Message msg = Message.valueOf(ByteString.copyFrom(query.toByteArray()));
      // the leader answers itself, as etcd's leader renews a lease in memory once it has applied
      // what it committed (waitAppliedIndex): no ReadIndex round, no client channel to itself
      long committed = division().getRaftLog().getLastCommittedIndex();
      return bounded(stateMachine.whenApplied(committed)
          .thenCompose(v -> stateMachine.query(msg))
          .thenApply(RaftNode::leaderQueryResult));
    }
    return bounded(leaderQueries.submit(query));
  }

  /** Sends a query (one or a batch, see {@link #leaderQueries}) to the leader as a Ratis read. */
  private CompletableFuture<LeaderQueryResult> sendToLeader(LeaderQuery query) {
    Message msg = Message.valueOf(ByteString.copyFrom(query.toByteArray()));
    return untilDeadline(() -> client().async().sendReadOnlyUnordered(msg).thenApply(reply -> {
      check(reply);
      return leaderQueryResult(reply.getMessage());
    }), System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.requestTimeoutMs()))
        .orTimeout(config.requestTimeoutMs(), TimeUnit.MILLISECONDS);
  }

  private static LeaderQueryResult leaderQueryResult(Message answer) {
    try {
      return LeaderQueryResult.parseFrom(answer.getContent().asReadOnlyByteBuffer());
    } catch (IOException e) {
      throw new CompletionException(e);
    }
  }

  /**
   * Member {@code peerId}'s etcd client address ("host:port", "" if it has none or does not
   * answer), asked of that member itself at its Raft address with a Ratis stale read.
   */
  private String clientAddressOf(String peerId, String raftAddress) {
    RaftPeer peer = RaftPeer.newBuilder().setId(peerId).setAddress(raftAddress).build();
    LeaderQuery q = LeaderQuery.newBuilder()
        .setClientAddress(io.etcsql.grpcapi.etcsqlpb.ClientAddressQuery.getDefaultInstance()).build();
    try (RaftClient c = newClient(peer.getId(), RaftGroup.valueOf(group.getGroupId(), peer))) {
      RaftClientReply reply = c.io().sendStaleRead(Message.valueOf(ByteString.copyFrom(q.toByteArray())), 0, peer.getId());
      check(reply);
      return LeaderQueryResult.parseFrom(reply.getMessage().getContent().asReadOnlyByteBuffer()).getClientAddress();
    } catch (IOException | RuntimeException e) {
      LOG.info("asking {} at {} for its client address: {}", peerId, raftAddress, e.toString());
      return "";
    }
  }

  private RaftServer.Division division() {
    try {
      return server.getDivision(group.getGroupId());
    } catch (IOException e) {
      throw EtcdError.STOPPED.exception();
    }
  }

  /** This member's Raft peer id (its etcd member id in hex). */
  public String selfPeerId() {
    return selfId.toString();
  }

  /** The current leader's Raft peer id (etcd member id in hex), or null while there is none. */
  public String leaderPeerId() {
    RaftPeerId id = division().getInfo().getLeaderId();
    return id == null ? null : id.toString();
  }

  /**
   * The committed Raft configuration's voters or listeners: peer id -> "peerHost:port" or
   * "peerHost:port|clientHost:port" when the peer's etcd client address is recorded.
   *
   * <p>The etcd client address travels as the Raft peer's data-stream address: Ratis' DataStream
   * API is off, so nothing ever dials it. It must not be the peer's client address, to which
   * Ratis' own clients send their requests (an etcd port answers them "method not found", and
   * proposals through a member that learnt a peer from the configuration would time out).
   */
  public Map<String, String> configuration(boolean listeners) {
    Map<String, String> out = new java.util.TreeMap<>();
    for (RaftPeer p : division().getRaftConf().getCurrentPeers(
        listeners ? RaftPeerRole.LISTENER : RaftPeerRole.FOLLOWER)) {
      String client = p.getDataStreamAddress();
      out.put(p.getId().toString(), client == null || client.isEmpty() ? p.getAddress() : p.getAddress() + "|" + client);
    }
    return out;
  }

  /**
   * Completes once this member's view of the Raft configuration has {@code memberId} in the given
   * role ({@code voter}: a voter; {@code false}: not a voter; {@code null}: absent entirely), or
   * after the request timeout, whichever is first. The leader's ConfigurationSync makes Raft follow
   * the member registry within a moment; a membership RPC waits for it, as etcd's returns once
   * the configuration change is applied.
   *
   * @return whether the configuration got there in time
   */
  public CompletableFuture<Boolean> awaitConfiguration(long memberId, Boolean voter) {
    String id = ConfigurationSync.peerId(memberId);
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.requestTimeoutMs());
    CompletableFuture<Boolean> done = new CompletableFuture<>();
    Runnable[] check = new Runnable[1];
    check[0] = () -> {
      boolean there;
      try {
        boolean isVoter = configuration(false).containsKey(id);
        boolean isListener = configuration(true).containsKey(id);
        there = voter == null ? !isVoter && !isListener : voter ? isVoter : !isVoter;
      } catch (RuntimeException e) {
        there = false;
      }
      if (there || closed || System.nanoTime() >= deadline) {
        done.complete(there);
      } else {
        CompletableFuture.delayedExecutor(50, TimeUnit.MILLISECONDS).execute(check[0]);
      }
    };
    check[0].run();
    return done;
  }

  private static RaftPeer peer(String id, String addresses, RaftPeerRole role) {
    String[] a = addresses.split("\\|", 2);
    RaftPeer.Builder b = RaftPeer.newBuilder().setId(id).setAddress(a[0]).setStartupRole(role);
    if (a.length > 1) {
      b.setDataStreamAddress(a[1]); // the etcd client address: see configuration()
    }
    return b.build();
  }

  /**
   * Replaces the Raft configuration (voters and non-voting listeners, peer id -> addresses as
   * returned by {@link #configuration}). Only the leader can: this member's own server applies
   * it, not a client (whose leader guess could be any peer, even a removed one). Blocks until the
   * leader has committed it, or the request timeout; new peers must first catch up (Ratis staging).
   *
   * @throws IOException if the group could not change its configuration (or this member is not
   *     the leader)
   */
  public void setConfiguration(Map<String, String> voters, Map<String, String> listeners) throws IOException {
    List<RaftPeer> v = new ArrayList<>();
    voters.forEach((id, addr) -> v.add(peer(id, addr, RaftPeerRole.FOLLOWER)));
    List<RaftPeer> l = new ArrayList<>();
    listeners.forEach((id, addr) -> l.add(peer(id, addr, RaftPeerRole.LISTENER)));
    RaftClientReply reply;
    try {
      reply = server.setConfigurationAsync(new SetConfigurationRequest(localClientId, selfId, group.getGroupId(),
          CallId.getAndIncrement(), v, l)).get(config.requestTimeoutMs(), TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IOException("configuration change failed", e.getCause());
    } catch (TimeoutException e) {
      throw new IOException("configuration change not committed within " + config.requestTimeoutMs() + " ms");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("configuration change interrupted");
    }
    if (!reply.isSuccess()) {
      throw new IOException("configuration change failed", reply.getException());
    }
  }

  /**
   * Asks the leader to hand leadership to peer {@code peerId} (etcd's MoveLeader) and waits up to
   * {@code timeoutMs} for it to take over.
   *
   * @throws IOException if the transfer failed or did not finish in time
   */
  public void transferLeadership(String peerId, long timeoutMs) throws IOException {
    RaftClientReply reply = client().admin().transferLeadership(RaftPeerId.valueOf(peerId), timeoutMs);
    if (!reply.isSuccess()) {
      throw new IOException("leadership transfer to " + peerId + " failed", reply.getException());
    }
  }

  public boolean isLeader() {
    return division().getInfo().isLeader();
  }

  public boolean isLearner() {
    return division().getInfo().getCurrentRole() == RaftPeerRole.LISTENER;
  }

  public long term() {
    return division().getInfo().getCurrentTerm();
  }

  /** Index of the last committed Raft entry known to this member. */
  public long commitIndex() {
    return Math.max(0, division().getRaftLog().getLastCommittedIndex());
  }

  public long appliedIndex() {
    return division().getInfo().getLastAppliedIndex();
  }

  /** How many times this member has seen the leader change to another known leader (the first included). */
  public long leaderChangesSeen() {
    return stateMachine.leaderChangesSeen();
  }

  @Override
  public void close() throws IOException {
    closed = true;
    leaseKeeper.close();
    if (watchdog != null) {
      watchdog.close();
    }
    if (configurationSync != null) {
      configurationSync.close();
    }
    proposals.shutdownNow();
    for (RaftClient c : clients.values()) {
      try {
        c.close();
      } catch (IOException e) {
        LOG.debug("closing raft client", e);
      }
    }
    server.close();
    durableAcks.close();
    rounds.shutdown(); // after the server: rounds it failed still answer their readers
  }

  /** This member's Raft log flush index; Long.MAX_VALUE before its division exists. */
  private long flushIndex() {
    org.apache.ratis.server.raftlog.RaftLog log = raftLog;
    if (log == null) {
      try {
        log = server.getDivision(group.getGroupId()).getRaftLog();
        raftLog = log;
      } catch (IOException | RuntimeException e) {
        return Long.MAX_VALUE;
      }
    }
    return log.getFlushIndex();
  }
}
