package io.etcsql.server;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcdserverpb.DeleteRangeRequest;
import io.etcsql.grpcapi.etcdserverpb.PutRequest;
import io.etcsql.grpcapi.etcdserverpb.RequestOp;
import io.etcsql.grpcapi.etcdserverpb.ResponseHeader;
import io.etcsql.grpcapi.etcdserverpb.TxnRequest;
import io.etcsql.grpcapi.etcdserverpb.TxnResponse;
import io.etcsql.grpcapi.mvccpb.KeyValue;
import io.etcsql.grpcapi.v3electionpb.CampaignRequest;
import io.etcsql.grpcapi.v3electionpb.CampaignResponse;
import io.etcsql.grpcapi.v3electionpb.ElectionGrpc;
import io.etcsql.grpcapi.v3electionpb.LeaderKey;
import io.etcsql.grpcapi.v3electionpb.LeaderRequest;
import io.etcsql.grpcapi.v3electionpb.LeaderResponse;
import io.etcsql.grpcapi.v3electionpb.ProclaimRequest;
import io.etcsql.grpcapi.v3electionpb.ProclaimResponse;
import io.etcsql.grpcapi.v3electionpb.ResignRequest;
import io.etcsql.grpcapi.v3electionpb.ResignResponse;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * etcd's v3election service ({@code v3election/election.go} over {@code concurrency.Election}).
 * A candidate of election {@code name} owns the key {@code name/<hex lease>}; the one created first
 * is the leader.
 *
 * <ul>
 *   <li>Campaign puts the candidate's key with the value and lease (lease 0: a new 60-second lease
 *       nobody keeps alive, as etcd); if the key exists with another value, proclaims the new value.
 *       Answers once every key created before it is gone: the LeaderKey (name, key, create
 *       revision, lease) and the header of the first Txn. A client that cancels while waiting
 *       resigns.
 *   <li>Proclaim and Resign act only while the leader key still has the LeaderKey's create
 *       revision: Proclaim puts the value (else {@code election: not leader}), Resign deletes the
 *       key (else nothing, successfully).
 *   <li>Leader answers with the first-created key ({@code election: no leader} if none); Observe
 *       streams it, then each change of it, and the next leader after it is deleted.
 * </ul>
 *
 * Errors are {@code UNKNOWN} with etcd's text, as etcd 3.4 answers (see {@link ConcurrencyClient});
 * a request without a leader key fails with {@code "leader" field must be provided}.
 */
final class ElectionService extends ElectionGrpc.ElectionImplBase {
  static final String NOT_LEADER = "election: not leader";
  static final String NO_LEADER = "election: no leader";
  static final String MISSING_LEADER_KEY = "\"leader\" field must be provided";

  private final ConcurrencyClient client;
  /** Set on the per-call instance that acts for one caller (see {@link #forCaller()}). */
  private final boolean perCall;

  ElectionService(ConcurrencyClient client) {
    this(client, false);
  }

  private ElectionService(ConcurrencyClient client, boolean perCall) {
    this.perCall = perCall;
    this.client = client;
  }

  @Override
  public void campaign(CampaignRequest request, StreamObserver<CampaignResponse> observer) {
    if (!perCall) {
      forCaller().campaign(request, observer);
      return;
    }
    Context ctx = Context.current();
    ConcurrencyClient.reply(() -> client.session(request.getLease())
        .thenCompose(lease -> campaign(request, lease, ctx)), observer);
  }

  /** concurrency.Election.Campaign. */
  private CompletableFuture<CampaignResponse> campaign(CampaignRequest request, long lease, Context ctx) {
    ByteString prefix = ConcurrencyClient.prefix(request.getName());
    ByteString key = ConcurrencyClient.ownKey(prefix, lease);
    TxnRequest txn = TxnRequest.newBuilder()
        .addCompare(ConcurrencyClient.createRevisionIs(key, 0))
        .addSuccess(put(key, request.getValue(), lease))
        .addFailure(ConcurrencyClient.get(key))
        .build();
    return client.txn(txn).thenCompose(r -> {
      LeaderKey leader = LeaderKey.newBuilder().setName(request.getName()).setKey(key).setLease(lease)
          .setRev(r.getSucceeded() ? r.getHeader().getRevision()
              : r.getResponses(0).getResponseRange().getKvs(0).getCreateRevision())
          .build();
      CompletableFuture<Void> valueSet = CompletableFuture.completedFuture(null);
      if (!r.getSucceeded() && !r.getResponses(0).getResponseRange().getKvs(0).getValue().equals(request.getValue())) {
        valueSet = proclaim(leader, request.getValue())
            .exceptionallyCompose(e -> resign(leader).handle((x, ignored) -> {
              throw ConcurrencyClient.rethrow(e);
            }))
            .thenApply(x -> null);
      }
      return valueSet
          .thenCompose(v -> client.waitDeletes(prefix, leader.getRev() - 1, ctx)
              // a client that gave up resigns; any other failure leaves the key to its lease
              .exceptionallyCompose(e -> ctx.isCancelled()
                  ? resign(leader).handle((x, ignored) -> {
                    throw ConcurrencyClient.rethrow(e);
                  })
                  : CompletableFuture.failedFuture(e)))
          .thenApply(h -> CampaignResponse.newBuilder().setHeader(r.getHeader()).setLeader(leader).build());
    });
  }

  private static RequestOp put(ByteString key, ByteString value, long lease) {
    return RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(key).setValue(value).setLease(lease)).build();
  }

  /** concurrency.Election.Proclaim: the value, only while the leader key is the one campaigned. */
  private CompletableFuture<TxnResponse> proclaim(LeaderKey leader, ByteString value) {
    TxnRequest txn = TxnRequest.newBuilder()
        .addCompare(ConcurrencyClient.createRevisionIs(leader.getKey(), leader.getRev()))
        .addSuccess(put(leader.getKey(), value, leader.getLease()))
        .build();
    return client.txn(txn).thenApply(r -> {
      if (!r.getSucceeded()) {
        throw Status.UNKNOWN.withDescription(NOT_LEADER).asRuntimeException();
      }
      return r;
    });
  }

  /** concurrency.Election.Resign: deletes the leader key if it is still the one campaigned. */
  private CompletableFuture<TxnResponse> resign(LeaderKey leader) {
    return client.txn(TxnRequest.newBuilder()
        .addCompare(ConcurrencyClient.createRevisionIs(leader.getKey(), leader.getRev()))
        .addSuccess(RequestOp.newBuilder().setRequestDeleteRange(DeleteRangeRequest.newBuilder().setKey(leader.getKey())))
        .build());
  }

  @Override
  public void proclaim(ProclaimRequest request, StreamObserver<ProclaimResponse> observer) {
    if (!perCall) {
      forCaller().proclaim(request, observer);
      return;
    }
    ConcurrencyClient.reply(() -> withLeader(request.hasLeader(), request.getLeader(), leader ->
        proclaim(leader, request.getValue())
            .thenApply(r -> ProclaimResponse.newBuilder().setHeader(r.getHeader()).build())), observer);
  }

  @Override
  public void resign(ResignRequest request, StreamObserver<ResignResponse> observer) {
    if (!perCall) {
      forCaller().resign(request, observer);
      return;
    }
    ConcurrencyClient.reply(() -> withLeader(request.hasLeader(), request.getLeader(), leader ->
        resign(leader).thenApply(r -> ResignResponse.newBuilder().setHeader(r.getHeader()).build())), observer);
  }

  /**
   * etcd's ResumeElection on a request's leader key: its session is the key's lease (for lease 0,
   * a new one, as etcd's server opens a session before looking at anything else).
   */
  private <T> CompletableFuture<T> withLeader(boolean present, LeaderKey leader,
      Function<LeaderKey, CompletableFuture<T>> action) {
    if (!present) {
      return CompletableFuture.failedFuture(Status.UNKNOWN.withDescription(MISSING_LEADER_KEY).asRuntimeException());
    }
    return client.session(leader.getLease())
        .thenCompose(lease -> action.apply(leader.toBuilder().setLease(lease).build()));
  }

  @Override
  public void leader(LeaderRequest request, StreamObserver<LeaderResponse> observer) {
    if (!perCall) {
      forCaller().leader(request, observer);
      return;
    }
    ConcurrencyClient.reply(() -> client.range(ConcurrencyClient.firstCreated(ConcurrencyClient.prefix(request.getName())))
        .thenApply(r -> {
          if (r.getKvsCount() == 0) {
            throw Status.UNKNOWN.withDescription(NO_LEADER).asRuntimeException();
          }
          return leaderResponse(r.getHeader(), r.getKvs(0));
        }), observer);
  }

  static LeaderResponse leaderResponse(ResponseHeader header, KeyValue kv) {
    return LeaderResponse.newBuilder().setHeader(header).setKv(kv).build();
  }

  @Override
  public void observe(LeaderRequest request, StreamObserver<LeaderResponse> observer) {
    if (!perCall) {
      forCaller().observe(request, observer);
      return;
    }
    new LeaderObserver(client, ConcurrencyClient.prefix(request.getName()),
        (io.grpc.stub.ServerCallStreamObserver<LeaderResponse>) observer).start();
  }

  /** This service acting for the current call's user: every step it takes has their permissions. */
  private ElectionService forCaller() {
    return new ElectionService(client.forCurrentCaller(), true);
  }
}
