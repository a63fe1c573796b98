package io.etcsql.server;

import io.etcsql.grpcapi.etcdserverpb.Member;
import io.etcsql.grpcapi.etcsqlpb.MemberBootstrap;
import io.etcsql.kvstore.KvStore;
import io.etcsql.server.config.NodeConfig;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Who is in the cluster. Bootstrap ids are computed exactly as etcd computes them for a cluster
 * started with the same flags: a member id is the first 8 bytes (big-endian) of SHA-1 over its
 * sorted peer URLs followed by the cluster token; the cluster id is the same over the sorted
 * member ids. After bootstrap, membership is the replicated registry in the store (changed by
 * the Cluster service); a member's Raft peer id is its member id in hex.
 */
public final class ClusterIdentity {
  private final KvStore store;
  private final Map<String, Long> bootstrapIds = new LinkedHashMap<>();
  private final List<Member> bootstrapMembers = new ArrayList<>();
  private final long bootstrapClusterId;
  private final long selfId;

  public ClusterIdentity(NodeConfig config, KvStore store) {
    this.store = store;
    for (Map.Entry<String, List<URI>> e : config.initialCluster().entrySet()) {
      List<String> urls = new ArrayList<>();
      for (URI u : e.getValue()) {
        urls.add(u.toString());
      }
      urls.sort(null);
      long id = memberId(urls, config.initialClusterToken());
      bootstrapIds.put(e.getKey(), id);
      bootstrapMembers.add(Member.newBuilder().setID(id).addAllPeerURLs(urls).build());
    }
    this.bootstrapClusterId = clusterId(bootstrapIds.values());
    this.selfId = bootstrapIds.get(config.name());
  }

  static long memberId(List<String> sortedPeerUrls, String token) {
    StringBuilder b = new StringBuilder();
    for (String u : sortedPeerUrls) {
      b.append(u);
    }
    b.append(token);
    return ByteBuffer.wrap(sha1(b.toString().getBytes(StandardCharsets.UTF_8))).getLong();
  }

  static long clusterId(Iterable<Long> ids) {
    List<Long> sorted = new ArrayList<>();
    ids.forEach(sorted::add);
    sorted.sort(Long::compareUnsigned);
    ByteBuffer b = ByteBuffer.allocate(8 * sorted.size());
    sorted.forEach(b::putLong);
    return ByteBuffer.wrap(sha1(b.array())).getLong();
  }

  private static byte[] sha1(byte[] data) {
    try {
      return MessageDigest.getInstance("SHA-1").digest(data);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A Raft peer id for a member id (the consensus layer's naming). */
  public static String peerId(long memberId) {
    return io.etcsql.consensus.ConfigurationSync.peerId(memberId);
  }

  /** The member id behind a Raft peer id, or 0 for null. */
  public static long memberIdOf(String peerId) {
    return io.etcsql.consensus.ConfigurationSync.memberIdOf(peerId);
  }

  /** The bootstrap members' Raft peer ids -> their first peer URL (from --initial-cluster). */
  public Map<String, URI> bootstrapPeers(NodeConfig config) {
    Map<String, URI> out = new LinkedHashMap<>();
    for (Map.Entry<String, Long> e : bootstrapIds.entrySet()) {
      out.put(peerId(e.getValue()), config.initialCluster().get(e.getKey()).get(0));
    }
    return out;
  }

  /** The command that records the bootstrapped cluster in the replicated registry. */
  public MemberBootstrap bootstrap() {
    return MemberBootstrap.newBuilder().setClusterId(bootstrapClusterId).addAllMembers(bootstrapMembers).build();
  }

  public long clusterId() {
    long id = store.clusterId();
    return id != 0 ? id : bootstrapClusterId;
  }

  public long selfId() {
    return selfId;
  }

  /** The current members (before the bootstrap is applied: the bootstrap members, unstarted). */
  public List<Member> members() {
    List<Member> registered = store.members();
    return registered.isEmpty() ? bootstrapMembers : registered;
  }
}
