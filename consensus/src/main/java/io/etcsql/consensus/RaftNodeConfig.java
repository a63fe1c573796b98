package io.etcsql.consensus;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Map;

/**
 * What a {@link RaftNode} needs to know: its own member name, every initial member's name and
 * peer address (where its Raft endpoint listens), the group identity and the timing settings.
 * Mapped from etcd's flags by the server; the one source of truth for consensus settings.
 *
 * @param selfPeerId this member's Raft peer id: its etcd member id in hex
 * @param peers Raft peer id -> advertised Raft peer address (from --initial-cluster)
 * @param listenAddress where this member's Raft endpoint binds (--listen-peer-urls)
 * @param clusterToken etcd's --initial-cluster-token; names the Raft group
 * @param storageDir where Ratis keeps its log and snapshot markers
 * @param heartbeatIntervalMs etcd --heartbeat-interval
 * @param electionTimeoutMs etcd --election-timeout
 * @param snapshotCount etcd --snapshot-count: applied entries between snapshots (log purges)
 * @param maxRequestBytes etcd --max-request-bytes: sizes Raft's log and message buffers
 * @param requestTimeoutMs how long a proposal or read barrier may wait before "request timed out"
 * @param leaseCheckpointIntervalMs how often the leader replicates remaining lease TTLs
 * @param join true when this member joins a running cluster (etcd's --initial-cluster-state
 *     existing): with no Raft state yet it starts outside the group until the leader adds it
 * @param peerTls TLS of the Raft endpoint and of the calls to the other members' (null: plain text)
 */
public record RaftNodeConfig(
    String selfPeerId,
    Map<String, InetSocketAddress> peers,
    InetSocketAddress listenAddress,
    String clusterToken,
    Path storageDir,
    long heartbeatIntervalMs,
    long electionTimeoutMs,
    long snapshotCount,
    int maxRequestBytes,
    long requestTimeoutMs,
    long leaseCheckpointIntervalMs,
    boolean join,
    PeerTls peerTls) {

  /** A configuration whose Raft traffic is plain text. */
  public RaftNodeConfig(String selfPeerId, Map<String, InetSocketAddress> peers, InetSocketAddress listenAddress,
      String clusterToken, Path storageDir, long heartbeatIntervalMs, long electionTimeoutMs, long snapshotCount,
      int maxRequestBytes, long requestTimeoutMs, long leaseCheckpointIntervalMs, boolean join) {
    this(selfPeerId, peers, listenAddress, clusterToken, storageDir, heartbeatIntervalMs, electionTimeoutMs,
        snapshotCount, maxRequestBytes, requestTimeoutMs, leaseCheckpointIntervalMs, join, null);
  }
}
