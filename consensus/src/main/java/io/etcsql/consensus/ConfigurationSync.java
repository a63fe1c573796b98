package io.etcsql.consensus;

import io.etcsql.grpcapi.etcdserverpb.Member;
import io.etcsql.kvstore.KvStore;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps Raft's configuration equal to the replicated member registry (etcd's membership): on
 * the leader, five times a second, voters = registered members, listeners = learners, each at its
 * first peer URL. A membership change is first applied to the registry (one replicated command,
 * answered at once, as etcd's MemberAdd is), then Raft follows: a new peer is staged until it
 * has caught up, so an added member that is not running yet never weakens the quorum.
 */
public final class ConfigurationSync implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ConfigurationSync.class);

  private final RaftNode node;
  private final KvStore store;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "raft-configuration-sync");
    t.setDaemon(true);
    return t;
  });

  ConfigurationSync(RaftNode node, KvStore store) {
    this.node = node;
    this.store = store;
    timer.scheduleWithFixedDelay(this::sync, 200, 200, TimeUnit.MILLISECONDS);
  }

  /** "peerHost:port", plus "|clientHost:port" once the member has published a client URL. */
  private static String address(Member m) {
    URI u = URI.create(m.getPeerURLs(0));
    String peer = u.getHost() + ":" + u.getPort();
    if (m.getClientURLsCount() == 0) {
      return peer;
    }
    URI c = URI.create(m.getClientURLs(0));
    return peer + "|" + c.getHost() + ":" + c.getPort();
  }

  /** A member's Raft peer id: its etcd member id in hex. */
  public static String peerId(long memberId) {
    return Long.toHexString(memberId);
  }

  /** The member id behind a Raft peer id, or 0 for null. */
  public static long memberIdOf(String peerId) {
    return peerId == null ? 0 : Long.parseUnsignedLong(peerId, 16);
  }

  private void sync() {
    try {
      if (!node.isLeader()) {
        return;
      }
      List<Member> members = store.members();
      if (members.isEmpty()) {
        return; // not bootstrapped yet
      }
      Map<String, String> voters = new TreeMap<>();
      Map<String, String> listeners = new TreeMap<>();
      for (Member m : members) {
        if (m.getPeerURLsCount() > 0) {
          (m.getIsLearner() ? listeners : voters).put(peerId(m.getID()), address(m));
        }
      }
      Map<String, String> currentVoters = node.configuration(false);
      Map<String, String> currentListeners = node.configuration(true);
      if (voters.isEmpty() || (voters.equals(currentVoters) && listeners.equals(currentListeners))) {
        return;
      }
      // First leave out whoever the registry no longer has as a voter or listener: that change
      // adds no peer, so no staging, and commits even while a newly registered member is not
      // running yet (whose addition would fail until it is). It is also the first half of a
      // promotion: Ratis keeps sending a listener made a voter in place the "initializing" flag,
      // so a member that joined as a learner would never start its follower state; leaving and
      // rejoining as a voter goes through staging, which marks it caught up.
      Map<String, String> keptVoters = new TreeMap<>(voters);
      keptVoters.keySet().retainAll(currentVoters.keySet());
      Map<String, String> keptListeners = new TreeMap<>(listeners);
      keptListeners.keySet().retainAll(currentListeners.keySet());
      if (!keptVoters.isEmpty() && !(peersOnly(keptVoters).equals(peersOnly(currentVoters))
          && peersOnly(keptListeners).equals(peersOnly(currentListeners)))) {
        LOG.info("changing the Raft configuration to voters {} listeners {} (leaving members out first)",
            keptVoters, keptListeners);
        node.setConfiguration(keptVoters, keptListeners);
        currentVoters = keptVoters;
        currentListeners = keptListeners;
        if (voters.equals(currentVoters) && listeners.equals(currentListeners)) {
          return;
        }
      }
      if (peersOnly(voters).equals(peersOnly(currentVoters)) && peersOnly(listeners).equals(peersOnly(currentListeners))) {
        // only client addresses differ: Ratis keeps such a change out of its log (it compares
        // peer ids), so they are recorded with the next change of peers
        return;
      }
      LOG.info("changing the Raft configuration to voters {} listeners {}", voters, listeners);
      node.setConfiguration(voters, listeners);
    } catch (Exception e) {
      LOG.info("Raft configuration change not done yet: {}", e.toString());
    }
  }

  /** Peer id -> peer address, without the client address part. */
  private static Map<String, String> peersOnly(Map<String, String> conf) {
    Map<String, String> out = new TreeMap<>();
    conf.forEach((id, addr) -> out.put(id, addr.split("\\|", 2)[0]));
    return out;
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
