package io.etcsql.server;

import io.etcsql.grpcapi.etcdserverpb.Member;
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
 * Member and cluster ids, computed exactly as etcd computes them for a cluster bootstrapped with
 * the same flags: a member id is the first 8 bytes (big-endian) of SHA-1 over its sorted peer
 * URLs followed by the cluster token; the cluster id is the same over the sorted member ids.
 */
public final class ClusterIdentity {
  private final Map<String, Long> memberIds = new LinkedHashMap<>();
  private final Map<String, List<String>> peerUrls = new LinkedHashMap<>();
  private final long clusterId;
  private final long selfId;

  public ClusterIdentity(NodeConfig config) {
    for (Map.Entry<String, List<URI>> e : config.initialCluster().entrySet()) {
      List<String> urls = new ArrayList<>();
      for (URI u : e.getValue()) {
        urls.add(u.toString());
      }
      urls.sort(null);
      peerUrls.put(e.getKey(), urls);
      memberIds.put(e.getKey(), memberId(urls, config.initialClusterToken()));
    }
    this.clusterId = clusterId(memberIds.values());
    this.selfId = memberIds.get(config.name());
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

  public long clusterId() {
    return clusterId;
  }

  public long selfId() {
    return selfId;
  }

  /** The member id of the member named {@code name}, or 0 if unknown. */
  public long idOf(String name) {
    Long id = name == null ? null : memberIds.get(name);
    return id == null ? 0 : id;
  }

  /** Every member, with the client URLs each has announced (none yet: "unstarted"). */
  public List<Member> members(java.util.function.Function<String, List<String>> clientUrls) {
    List<Member> out = new ArrayList<>();
    for (Map.Entry<String, Long> e : memberIds.entrySet()) {
      List<String> urls = clientUrls.apply(e.getKey());
      Member.Builder m = Member.newBuilder().setID(e.getValue()).addAllPeerURLs(peerUrls.get(e.getKey()));
      if (!urls.isEmpty()) {
        m.setName(e.getKey()).addAllClientURLs(urls);
      }
      out.add(m.build());
    }
    return out;
  }
}
