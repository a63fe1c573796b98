package io.etcsql.server;

import io.etcsql.consensus.RaftNode;
import io.etcsql.grpcapi.etcdserverpb.ClusterGrpc;
import io.etcsql.grpcapi.etcdserverpb.Member;
import io.etcsql.grpcapi.etcdserverpb.MemberAddRequest;
import io.etcsql.grpcapi.etcdserverpb.MemberAddResponse;
import io.etcsql.grpcapi.etcdserverpb.MemberListRequest;
import io.etcsql.grpcapi.etcdserverpb.MemberListResponse;
import io.etcsql.grpcapi.etcdserverpb.MemberPromoteRequest;
import io.etcsql.grpcapi.etcdserverpb.MemberPromoteResponse;
import io.etcsql.grpcapi.etcdserverpb.MemberRemoveRequest;
import io.etcsql.grpcapi.etcdserverpb.MemberRemoveResponse;
import io.etcsql.grpcapi.etcdserverpb.MemberUpdateRequest;
import io.etcsql.grpcapi.etcdserverpb.MemberUpdateResponse;
import io.etcsql.grpcapi.etcsqlpb.MemberChange;
import io.etcsql.grpcapi.etcsqlpb.MemberChangeResult;
import io.etcsql.grpcapi.etcsqlpb.ReplicatedCommand;
import io.etcsql.kvstore.EtcdError;
import io.grpc.stub.StreamObserver;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * etcd's Cluster service. A membership change is one replicated command on the member
 * registry; Raft's own configuration then follows it (see the consensus layer's
 * ConfigurationSync): an added member counts for the quorum once it has caught up.
 */
final class ClusterService extends ClusterGrpc.ClusterImplBase {
  private final RaftNode node;
  private final Proposer proposer;
  private final ResponseHeaders headers;
  private final ClusterIdentity identity;
  private final String clusterToken;
  /** How recently the leader must have heard from a peer for it to count as active. */
  private final long activeWithinMs;

  ClusterService(RaftNode node, Proposer proposer, ResponseHeaders headers, ClusterIdentity identity, String clusterToken,
      long electionTimeoutMs) {
    this.activeWithinMs = electionTimeoutMs;
    this.node = node;
    this.proposer = proposer;
    this.headers = headers;
    this.identity = identity;
    this.clusterToken = clusterToken;
  }

  @Override
  public void memberList(MemberListRequest request, StreamObserver<MemberListResponse> observer) {
    Replies.now(() -> {
      CompletableFuture<Void> ready = request.getLinearizable() ? node.readBarrier() : CompletableFuture.completedFuture(null);
      return ready.thenApply(v -> MemberListResponse.newBuilder()
          .setHeader(headers.current())
          .addAllMembers(identity.members())
          .build());
    }, observer);
  }

  /** etcd's check of peer URLs: each must be an http(s) URL with a host and a port. */
  private static List<String> checkUrls(List<String> urls) {
    if (urls.isEmpty()) {
      throw EtcdError.MEMBER_BAD_URLS.exception();
    }
    List<String> sorted = new ArrayList<>();
    for (String u : urls) {
      try {
        URI uri = new URI(u);
        if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null
            || uri.getPort() < 0 || !(uri.getPath() == null || uri.getPath().isEmpty())) {
          throw EtcdError.MEMBER_BAD_URLS.exception();
        }
      } catch (java.net.URISyntaxException e) {
        throw EtcdError.MEMBER_BAD_URLS.exception();
      }
      sorted.add(u);
    }
    sorted.sort(null);
    return sorted;
  }

  /**
   * Runs {@code check} on the registry and the leader's view of its peers; proposes nothing and
   * fails with the check's error when it gives one.
   */
  private CompletableFuture<Void> precheck(
      java.util.function.BiFunction<List<Member>, io.etcsql.grpcapi.etcsqlpb.PeerProgress, EtcdError> check) {
    io.etcsql.grpcapi.etcsqlpb.LeaderQuery q = io.etcsql.grpcapi.etcsqlpb.LeaderQuery.newBuilder()
        .setPeerProgress(io.etcsql.grpcapi.etcsqlpb.PeerProgressRequest.getDefaultInstance()).build();
    return node.askLeader(q).thenAccept(r -> {
      EtcdError e = check.apply(identity.members(), r.getPeerProgress());
      if (e != null) {
        throw e.exception();
      }
    });
  }

  private CompletableFuture<MemberChangeResult> change(MemberChange change) {
    return proposer.raw(ReplicatedCommand.newBuilder().setMemberChange(change).build())
        .thenApply(r -> r.getMemberChange());
  }

  /**
   * Adds a member. Its id is computed as for a bootstrapped member (SHA-1 of its sorted peer URLs
   * and the cluster token), so the new member, started with {@code --initial-cluster-state
   * existing} and the same {@code --initial-cluster-token}, knows its own id.
   */
  @Override
  public void memberAdd(MemberAddRequest request, StreamObserver<MemberAddResponse> observer) {
    Replies.now(() -> {
      List<String> urls = checkUrls(request.getPeerURLsList());
      Member m = Member.newBuilder()
          .setID(ClusterIdentity.memberId(urls, clusterToken))
          .addAllPeerURLs(request.getPeerURLsList())
          .setIsLearner(request.getIsLearner())
          .build();
      return precheck((members, progress) -> MembershipChecks.add(members, request.getIsLearner(), progress, activeWithinMs))
          .thenCompose(v -> change(MemberChange.newBuilder().setAdd(m).build())).thenApply(r -> MemberAddResponse.newBuilder()
          .setHeader(headers.current()).setMember(r.getMember()).addAllMembers(r.getMembersList()).build());
    }, observer);
  }

  /**
   * Removes a member. The reply waits (up to the request timeout) until Raft has left the member
   * out too, so that losing another member right after a removal counts the quorum without it.
   */
  @Override
  public void memberRemove(MemberRemoveRequest request, StreamObserver<MemberRemoveResponse> observer) {
    Replies.now(() -> precheck((members, progress) -> MembershipChecks.remove(members, request.getID(), identity.selfId(), progress, activeWithinMs))
        .thenCompose(v -> change(MemberChange.newBuilder().setRemove(request.getID()).build()))
        .thenCompose(r -> node.awaitConfiguration(request.getID(), null).thenApply(inTime -> r))
        .thenApply(r -> MemberRemoveResponse.newBuilder().setHeader(headers.current())
            .addAllMembers(r.getMembersList()).build()), observer);
  }

  @Override
  public void memberUpdate(MemberUpdateRequest request, StreamObserver<MemberUpdateResponse> observer) {
    Replies.now(() -> {
      checkUrls(request.getPeerURLsList());
      return change(MemberChange.newBuilder().setUpdate(request).build())
          .thenApply(r -> MemberUpdateResponse.newBuilder().setHeader(headers.current())
              .addAllMembers(r.getMembersList()).build());
    }, observer);
  }

  /** Promotes a learner; the reply waits (up to the request timeout) until Raft counts its vote. */
  @Override
  public void memberPromote(MemberPromoteRequest request, StreamObserver<MemberPromoteResponse> observer) {
    Replies.now(() -> precheck((members, progress) -> MembershipChecks.promote(members, request.getID(), progress))
        .thenCompose(v -> change(MemberChange.newBuilder().setPromote(request.getID()).build()))
        .thenCompose(r -> node.awaitConfiguration(request.getID(), true).thenApply(inTime -> r))
        .thenApply(r -> MemberPromoteResponse.newBuilder().setHeader(headers.current())
            .addAllMembers(r.getMembersList()).build()), observer);
  }
}
