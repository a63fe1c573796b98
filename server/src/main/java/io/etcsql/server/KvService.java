package io.etcsql.server;

import io.etcsql.consensus.RaftNode;
import io.etcsql.grpcapi.etcdserverpb.CompactionRequest;
import io.etcsql.grpcapi.etcdserverpb.CompactionResponse;
import io.etcsql.grpcapi.etcdserverpb.DeleteRangeRequest;
import io.etcsql.grpcapi.etcdserverpb.DeleteRangeResponse;
import io.etcsql.grpcapi.etcdserverpb.KVGrpc;
import io.etcsql.grpcapi.etcdserverpb.PutRequest;
import io.etcsql.grpcapi.etcdserverpb.PutResponse;
import io.etcsql.grpcapi.etcdserverpb.RangeRequest;
import io.etcsql.grpcapi.etcdserverpb.RangeResponse;
import io.etcsql.grpcapi.etcdserverpb.TxnRequest;
import io.etcsql.grpcapi.etcdserverpb.TxnResponse;
import io.etcsql.grpcapi.etcsqlpb.AuthHeader;
import io.etcsql.server.auth.AuthContext;
import io.etcsql.server.auth.Authz;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;

/** etcd's KV service: Range, Put, DeleteRange, Txn and Compact over the replicated store. */
final class KvService extends KVGrpc.KVImplBase {
  private final RaftNode node;
  private final Proposer proposer;
  private final ResponseHeaders headers;
  private final int maxTxnOps;
  private final java.util.concurrent.Executor reads;
  private final QuotaGuard quota;

  /**
   * @param reads runs range reads (never on Raft or gRPC transport threads: a large scan must
   *     not hold up other replies)
   */
  KvService(RaftNode node, Proposer proposer, ResponseHeaders headers, int maxTxnOps,
      java.util.concurrent.Executor reads, QuotaGuard quota) {
    this.quota = quota;
    this.node = node;
    this.proposer = proposer;
    this.headers = headers;
    this.maxTxnOps = maxTxnOps;
    this.reads = reads;
  }

  @Override
  public void range(RangeRequest request, StreamObserver<RangeResponse> observer) {
    Replies.now(() -> {
      RequestChecks.checkRange(request);
      AuthHeader who = AuthContext.current();
      CompletableFuture<Void> ready = request.getSerializable()
          ? CompletableFuture.completedFuture(null)
          : node.readBarrier();
      return ready.thenApplyAsync(v -> {
        Authz.checkRead(node.store().auth(), who, request.getKey(), request.getRangeEnd());
        RangeResponse r = node.store().range(request);
        Authz.checkUnchanged(node.store().auth(), who);
        return r.toBuilder().setHeader(headers.at(r.getHeader().getRevision())).build();
      }, reads);
    }, observer);
  }

  @Override
  public void put(PutRequest request, StreamObserver<PutResponse> observer) {
    Replies.now(() -> {
      RequestChecks.checkPut(request);
      return quota.admit(request, () -> proposer.put(request)).thenApply(r ->
          r.toBuilder().setHeader(headers.at(r.getHeader().getRevision())).build());
    }, observer);
  }

  @Override
  public void deleteRange(DeleteRangeRequest request, StreamObserver<DeleteRangeResponse> observer) {
    Replies.now(() -> {
      RequestChecks.checkDelete(request);
      return proposer.deleteRange(request).thenApply(r ->
          r.toBuilder().setHeader(headers.at(r.getHeader().getRevision())).build());
    }, observer);
  }

  @Override
  public void txn(TxnRequest request, StreamObserver<TxnResponse> observer) {
    Replies.now(() -> {
      RequestChecks.checkTxn(request, maxTxnOps);
      return quota.admit(request, () -> proposer.txn(request)).thenApply(r ->
          r.toBuilder().setHeader(headers.at(r.getHeader().getRevision())).build());
    }, observer);
  }

  @Override
  public void compact(CompactionRequest request, StreamObserver<CompactionResponse> observer) {
    Replies.now(() -> proposer.compact(request).thenApply(r ->
        r.toBuilder().setHeader(headers.at(r.getHeader().getRevision())).build()), observer);
  }
}
