package io.etcsql.consensus;

import io.etcsql.grpcapi.etcdserverpb.LeaseCheckpoint;
import io.etcsql.grpcapi.etcdserverpb.LeaseCheckpointRequest;
import io.etcsql.grpcapi.etcdserverpb.LeaseKeepAliveResponse;
import io.etcsql.grpcapi.etcdserverpb.LeaseRevokeRequest;
import io.etcsql.grpcapi.etcdserverpb.LeaseTimeToLiveRequest;
import io.etcsql.grpcapi.etcdserverpb.LeaseTimeToLiveResponse;
import io.etcsql.grpcapi.etcsqlpb.ApplyError;
import io.etcsql.grpcapi.etcsqlpb.CommandResult;
import io.etcsql.grpcapi.etcsqlpb.LeaderQuery;
import io.etcsql.grpcapi.etcsqlpb.LeaderQueryResult;
import io.etcsql.grpcapi.etcsqlpb.ReplicatedCommand;
import io.etcsql.kvstore.EtcdError;
import io.etcsql.kvstore.lease.Lease;
import io.etcsql.kvstore.KvStore;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The leader's lease clock. Only the leader knows when a lease expires: it keeps a deadline per
 * lease, renews it on keep-alive, and turns an expired lease into a replicated {@code
 * LeaseRevoke} command. Every few seconds it replicates a {@code LeaseCheckpoint} with each
 * lease's remaining TTL, so a new leader (or the whole cluster after a restart) continues from
 * the remaining TTL instead of granting a fresh one.
 *
 * <p>Nothing here affects applied state directly: it only proposes commands, like a client.
 */
final class LeaseKeeper implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LeaseKeeper.class);
  private static final int MAX_CHECKPOINTS_PER_COMMAND = 1000;
  private static final long REVOKE_RETRY_NANOS = TimeUnit.SECONDS.toNanos(3);

  private final KvStore store;
  private final Consumer<ReplicatedCommand> proposer;
  private final Map<Long, Long> deadlines = new ConcurrentHashMap<>();
  private final Map<Long, Long> revoking = new ConcurrentHashMap<>();
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "lease-keeper");
    t.setDaemon(true);
    return t;
  });
  private volatile boolean leader;
  private final java.util.concurrent.atomic.AtomicLong renewed = new java.util.concurrent.atomic.AtomicLong();
  private final java.util.concurrent.atomic.AtomicLong expired = new java.util.concurrent.atomic.AtomicLong();

  /**
   * @param proposer submits a command to Raft (asynchronously; failures are retried later)
   */
  LeaseKeeper(KvStore store, Consumer<ReplicatedCommand> proposer, long checkpointIntervalMs) {
    this.store = store;
    this.proposer = proposer;
    timer.scheduleWithFixedDelay(this::expire, 500, 500, TimeUnit.MILLISECONDS);
    timer.scheduleWithFixedDelay(this::checkpoint, checkpointIntervalMs, checkpointIntervalMs, TimeUnit.MILLISECONDS);
  }

  /** Called when this member has become a ready leader: start every lease's clock. */
  void becomeLeader() {
    long now = System.nanoTime();
    deadlines.clear();
    revoking.clear();
    for (Lease l : store.lessor().leases()) {
      long seconds = l.remainingTtl() > 0 ? l.remainingTtl() : l.ttl();
      deadlines.put(l.id(), now + TimeUnit.SECONDS.toNanos(seconds));
    }
    leader = true;
    LOG.info("leader: tracking {} leases", deadlines.size());
  }

  void stepDown() {
    leader = false;
    deadlines.clear();
    revoking.clear();
  }

  /** Observes every applied command (apply thread): new leases start their clock here. */
  void applied(ReplicatedCommand cmd, CommandResult result) {
    if (!leader) {
      return;
    }
    if (cmd.hasLeaseGrant() && result.hasLeaseGrant()) {
      deadlines.put(result.getLeaseGrant().getID(),
          System.nanoTime() + TimeUnit.SECONDS.toNanos(result.getLeaseGrant().getTTL()));
    } else if (cmd.hasLeaseRevoke()) {
      deadlines.remove(cmd.getLeaseRevoke().getID());
      if (revoking.remove(cmd.getLeaseRevoke().getID()) != null && !result.hasError()) {
        expired.incrementAndGet(); // a lease this leader found expired is gone
      }
    }
  }

  /** Keep-alives this member renewed a lease for while leader (etcd's lessor.Renew successes). */
  long renewed() {
    return renewed.get();
  }

  /** Leases this member revoked as leader because they expired. */
  long expired() {
    return expired.get();
  }

  /** Answers a keep-alive or time-to-live query; only valid on the leader. */
  LeaderQueryResult answer(LeaderQuery q) {
    if (!leader) {
      return LeaderQueryResult.newBuilder().setError(ApplyError.newBuilder()
          .setCode(EtcdError.NOT_LEADER.name()).setMessage(EtcdError.NOT_LEADER.message())).build();
    }
    return switch (q.getQueryCase()) {
      case KEEP_ALIVE -> LeaderQueryResult.newBuilder().setKeepAlive(renew(q.getKeepAlive().getID())).build();
      case TIME_TO_LIVE -> LeaderQueryResult.newBuilder().setTimeToLive(timeToLive(q.getTimeToLive())).build();
      default -> throw new IllegalArgumentException("unknown leader query " + q.getQueryCase());
    };
  }

  private LeaseKeepAliveResponse renew(long id) {
    Lease l = store.lessor().lookup(id);
    if (l == null || revoking.containsKey(id)) {
      return LeaseKeepAliveResponse.newBuilder().setID(id).setTTL(0).build();
    }
    Long deadline = deadlines.get(id);
    if (deadline != null && deadline - System.nanoTime() <= 0) {
      return LeaseKeepAliveResponse.newBuilder().setID(id).setTTL(0).build(); // already expired
    }
    deadlines.put(id, System.nanoTime() + TimeUnit.SECONDS.toNanos(l.ttl()));
    renewed.incrementAndGet();
    if (l.remainingTtl() > 0) {
      // a stale checkpoint must not shorten the renewed lease after a leader change
      proposer.accept(ReplicatedCommand.newBuilder().setLeaseCheckpoint(LeaseCheckpointRequest.newBuilder()
          .addCheckpoints(LeaseCheckpoint.newBuilder().setID(id).setRemainingTTL(0))).build());
    }
    return LeaseKeepAliveResponse.newBuilder().setID(id).setTTL(l.ttl()).build();
  }

  private LeaseTimeToLiveResponse timeToLive(LeaseTimeToLiveRequest r) {
    Lease l = store.lessor().lookup(r.getID());
    Long deadline = deadlines.get(r.getID());
    if (l == null || deadline == null) {
      return LeaseTimeToLiveResponse.newBuilder().setID(r.getID()).setTTL(-1).build();
    }
    long remaining = Math.max(0, TimeUnit.NANOSECONDS.toSeconds(deadline - System.nanoTime()));
    LeaseTimeToLiveResponse.Builder b = LeaseTimeToLiveResponse.newBuilder()
        .setID(l.id()).setTTL(remaining).setGrantedTTL(l.ttl());
    if (r.getKeys()) {
      b.addAllKeys(l.keys());
    }
    return b.build();
  }

  private void expire() {
    if (!leader) {
      return;
    }
    try {
      long now = System.nanoTime();
      for (Map.Entry<Long, Long> e : deadlines.entrySet()) {
        long id = e.getKey();
        if (e.getValue() - now > 0) {
          continue;
        }
        Long since = revoking.get(id);
        if (since != null && now - since < REVOKE_RETRY_NANOS) {
          continue;
        }
        revoking.put(id, now);
        LOG.debug("lease {} expired; revoking", Long.toHexString(id));
        proposer.accept(ReplicatedCommand.newBuilder().setLeaseRevoke(LeaseRevokeRequest.newBuilder().setID(id)).build());
      }
    } catch (RuntimeException e) {
      LOG.warn("lease expiry check failed", e);
    }
  }

  private void checkpoint() {
    if (!leader || deadlines.isEmpty()) {
      return;
    }
    try {
      long now = System.nanoTime();
      List<LeaseCheckpoint> batch = new ArrayList<>();
      for (Map.Entry<Long, Long> e : deadlines.entrySet()) {
        long remaining = Math.max(1, TimeUnit.NANOSECONDS.toSeconds(e.getValue() - now));
        Lease l = store.lessor().lookup(e.getKey());
        if (l == null || revoking.containsKey(e.getKey()) || (l.remainingTtl() == 0 && remaining >= l.ttl())) {
          continue;
        }
        batch.add(LeaseCheckpoint.newBuilder().setID(e.getKey()).setRemainingTTL(remaining).build());
        if (batch.size() == MAX_CHECKPOINTS_PER_COMMAND) {
          propose(batch);
          batch = new ArrayList<>();
        }
      }
      if (!batch.isEmpty()) {
        propose(batch);
      }
    } catch (RuntimeException e) {
      LOG.warn("lease checkpoint failed", e);
    }
  }

  private void propose(List<LeaseCheckpoint> batch) {
    proposer.accept(ReplicatedCommand.newBuilder()
        .setLeaseCheckpoint(LeaseCheckpointRequest.newBuilder().addAllCheckpoints(batch)).build());
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
