package io.etcsql.server;

import io.etcsql.consensus.RaftNode;
import io.etcsql.grpcapi.etcdserverpb.LeaseGrantRequest;
import io.etcsql.grpcapi.etcdserverpb.LeaseGrantResponse;
import io.etcsql.grpcapi.etcdserverpb.LeaseGrpc;
import io.etcsql.grpcapi.etcdserverpb.LeaseKeepAliveRequest;
import io.etcsql.grpcapi.etcdserverpb.LeaseKeepAliveResponse;
import io.etcsql.grpcapi.etcdserverpb.LeaseLeasesRequest;
import io.etcsql.grpcapi.etcdserverpb.LeaseLeasesResponse;
import io.etcsql.grpcapi.etcdserverpb.LeaseRevokeRequest;
import io.etcsql.grpcapi.etcdserverpb.LeaseRevokeResponse;
import io.etcsql.grpcapi.etcdserverpb.LeaseStatus;
import io.etcsql.grpcapi.etcdserverpb.LeaseTimeToLiveRequest;
import io.etcsql.grpcapi.etcdserverpb.LeaseTimeToLiveResponse;
import io.etcsql.grpcapi.etcsqlpb.LeaderQuery;
import io.etcsql.grpcapi.etcsqlpb.LeaderQueryResult;
import io.etcsql.kvstore.EtcdError;
import io.etcsql.kvstore.lease.Lease;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * etcd's Lease service. Grants and revocations are replicated commands; keep-alive and
 * time-to-live are answered by the leader, which alone keeps lease deadlines.
 */
final class LeaseService extends LeaseGrpc.LeaseImplBase {
  private static final int LEADER_RETRIES = 3;

  private final RaftNode node;
  private final Proposer proposer;
  private final ResponseHeaders headers;
  private final long minTtlSeconds;
  private final QuotaGuard quota;

  /**
   * @param minTtlSeconds etcd's minimum lease TTL: ceil(1.5 election timeouts), so a lease
   *     cannot expire during a leader election
   */
  LeaseService(RaftNode node, Proposer proposer, ResponseHeaders headers, long minTtlSeconds, QuotaGuard quota) {
    this.quota = quota;
    this.node = node;
    this.proposer = proposer;
    this.headers = headers;
    this.minTtlSeconds = minTtlSeconds;
  }

  @Override
  public void leaseGrant(LeaseGrantRequest request, StreamObserver<LeaseGrantResponse> observer) {
    LeaseGrantRequest r = request.getTTL() < minTtlSeconds ? request.toBuilder().setTTL(minTtlSeconds).build() : request;
    Replies.now(() -> quota.admit(r, () -> proposer.leaseGrant(r)).thenApply(resp ->
        resp.toBuilder().setHeader(headers.at(resp.getHeader().getRevision())).build()), observer);
  }

  @Override
  public void leaseRevoke(LeaseRevokeRequest request, StreamObserver<LeaseRevokeResponse> observer) {
    Replies.now(() -> proposer.leaseRevoke(request).thenApply(resp ->
        resp.toBuilder().setHeader(headers.at(resp.getHeader().getRevision())).build()), observer);
  }

  private CompletableFuture<LeaderQueryResult> askLeader(LeaderQuery q, int retries) {
    return node.askLeader(q).thenCompose(r -> {
      if (r.hasError()) {
        if (EtcdError.NOT_LEADER.name().equals(r.getError().getCode()) && retries > 0) {
          return askLeader(q, retries - 1);
        }
        throw new CompletionException(GrpcErrors.fromCode(r.getError().getCode(), r.getError().getMessage()));
      }
      return CompletableFuture.completedFuture(r);
    });
  }

  @Override
  public void leaseTimeToLive(LeaseTimeToLiveRequest request, StreamObserver<LeaseTimeToLiveResponse> observer) {
    Replies.now(() -> askLeader(LeaderQuery.newBuilder().setTimeToLive(request).build(), LEADER_RETRIES)
        .thenApply(r -> r.getTimeToLive().toBuilder().setHeader(headers.current()).build()), observer);
  }

  @Override
  public void leaseLeases(LeaseLeasesRequest request, StreamObserver<LeaseLeasesResponse> observer) {
    LeaseLeasesResponse.Builder b = LeaseLeasesResponse.newBuilder().setHeader(headers.current());
    for (Lease l : node.store().lessor().leases()) {
      b.addLeases(LeaseStatus.newBuilder().setID(l.id()));
    }
    observer.onNext(b.build());
    observer.onCompleted();
  }

  @Override
  public StreamObserver<LeaseKeepAliveRequest> leaseKeepAlive(StreamObserver<LeaseKeepAliveResponse> observer) {
    return new StreamObserver<>() {
      private CompletableFuture<Void> last = CompletableFuture.completedFuture(null);
      private boolean done;

      @Override
      public synchronized void onNext(LeaseKeepAliveRequest request) {
        // answers go out in request order, one renewal at a time per stream
        last = last.thenCompose(v -> askLeader(LeaderQuery.newBuilder().setKeepAlive(request).build(), LEADER_RETRIES))
            .thenAccept(r -> send(r.getKeepAlive().toBuilder().setHeader(headers.current()).build()))
            .exceptionally(e -> {
              fail(e);
              return null;
            });
      }

      private synchronized void send(LeaseKeepAliveResponse resp) {
        if (!done) {
          observer.onNext(resp);
        }
      }

      private synchronized void fail(Throwable e) {
        if (!done) {
          done = true;
          observer.onError(GrpcErrors.toStatus(e));
        }
      }

      @Override
      public synchronized void onError(Throwable t) {
        done = true;
      }

      @Override
      public synchronized void onCompleted() {
        last.whenComplete((v, e) -> {
          synchronized (this) {
            if (!done) {
              done = true;
              observer.onCompleted();
            }
          }
        });
      }
    };
  }
}
