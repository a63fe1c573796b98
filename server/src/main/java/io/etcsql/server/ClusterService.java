package io.etcsql.server;

import io.etcsql.consensus.RaftNode;
import io.etcsql.grpcapi.etcdserverpb.ClusterGrpc;
import io.etcsql.grpcapi.etcdserverpb.MemberListRequest;
import io.etcsql.grpcapi.etcdserverpb.MemberListResponse;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;

/** etcd's Cluster service (MemberList so far; membership changes answer UNIMPLEMENTED). */
final class ClusterService extends ClusterGrpc.ClusterImplBase {
  private final RaftNode node;
  private final ResponseHeaders headers;
  private final ClusterIdentity identity;

  ClusterService(RaftNode node, ResponseHeaders headers, ClusterIdentity identity) {
    this.node = node;
    this.headers = headers;
    this.identity = identity;
  }

  @Override
  public void memberList(MemberListRequest request, StreamObserver<MemberListResponse> observer) {
    Replies.now(() -> {
      CompletableFuture<Void> ready = request.getLinearizable() ? node.readBarrier() : CompletableFuture.completedFuture(null);
      return ready.thenApply(v -> MemberListResponse.newBuilder()
          .setHeader(headers.current())
          .addAllMembers(identity.members(node.store()::memberClientUrls))
          .build());
    }, observer);
  }
}
