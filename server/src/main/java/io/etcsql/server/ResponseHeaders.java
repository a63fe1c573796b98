package io.etcsql.server;

import io.etcsql.consensus.RaftNode;
import io.etcsql.grpcapi.etcdserverpb.ResponseHeader;

/** Fills etcd's response header: cluster id, this member's id, the Raft term and a revision. */
final class ResponseHeaders {
  private final ClusterIdentity identity;
  private final RaftNode node;

  ResponseHeaders(ClusterIdentity identity, RaftNode node) {
    this.identity = identity;
    this.node = node;
  }

  /** Header with the store's current revision. */
  ResponseHeader current() {
    return at(node.store().mvcc().currentRevision());
  }

  ResponseHeader at(long revision) {
    return ResponseHeader.newBuilder()
        .setClusterId(identity.clusterId())
        .setMemberId(identity.selfId())
        .setRaftTerm(node.term())
        .setRevision(revision)
        .build();
  }
}
