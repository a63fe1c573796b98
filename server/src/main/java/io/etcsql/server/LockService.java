package io.etcsql.server;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcdserverpb.PutRequest;
import io.etcsql.grpcapi.etcdserverpb.RequestOp;
import io.etcsql.grpcapi.etcdserverpb.ResponseHeader;
import io.etcsql.grpcapi.etcdserverpb.TxnRequest;
import io.etcsql.grpcapi.etcdserverpb.TxnResponse;
import io.etcsql.grpcapi.mvccpb.KeyValue;
import io.etcsql.grpcapi.v3lockpb.LockGrpc;
import io.etcsql.grpcapi.v3lockpb.LockRequest;
import io.etcsql.grpcapi.v3lockpb.LockResponse;
import io.etcsql.grpcapi.v3lockpb.UnlockRequest;
import io.etcsql.grpcapi.v3lockpb.UnlockResponse;
import io.grpc.Context;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * etcd's v3lock service ({@code v3lock/lock.go} over {@code concurrency.Mutex}):
 *
 * <ul>
 *   <li>Lock(name, lease) puts {@code name/<hex lease>} with the lease (or, for lease 0, a new
 *       60-second lease nobody keeps alive, as etcd), unless that key exists already, and answers
 *       once no key under {@code name/} was created before it: with the key and the header of
 *       that Txn (uncontended) or of the last read that found no older key. A client that cancels
 *       while waiting has its key deleted. A lease that does not exist fails with {@code
 *       etcdserver: requested lease not found}.
 *   <li>Unlock(key) deletes the key (whether or not it exists) and answers with that header.
 * </ul>
 *
 * Errors are {@code UNKNOWN} with etcd's text, as etcd 3.4 answers (see {@link ConcurrencyClient}).
 */
final class LockService extends LockGrpc.LockImplBase {
  private final ConcurrencyClient client;
  /** Set on the per-call instance that acts for one caller (see {@link #forCaller()}). */
  private final boolean perCall;

  LockService(ConcurrencyClient client) {
    this(client, false);
  }

  private LockService(ConcurrencyClient client, boolean perCall) {
    this.perCall = perCall;
    this.client = client;
  }

  @Override
  public void lock(LockRequest request, StreamObserver<LockResponse> observer) {
    if (!perCall) {
      forCaller().lock(request, observer);
      return;
    }
    Context ctx = Context.current();
    ConcurrencyClient.reply(() -> client.session(request.getLease())
        .thenCompose(lease -> lock(ConcurrencyClient.prefix(request.getName()), lease, ctx)), observer);
  }

  /** concurrency.Mutex.Lock. */
  private CompletableFuture<LockResponse> lock(ByteString prefix, long lease, Context ctx) {
    ByteString myKey = ConcurrencyClient.ownKey(prefix, lease);
    RequestOp owner = RequestOp.newBuilder().setRequestRange(ConcurrencyClient.firstCreated(prefix)).build();
    TxnRequest txn = TxnRequest.newBuilder()
        .addCompare(ConcurrencyClient.createRevisionIs(myKey, 0))
        .addSuccess(RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(myKey).setLease(lease)))
        .addSuccess(owner)
        // the session holds the key already: reuse it
        .addFailure(ConcurrencyClient.get(myKey))
        .addFailure(owner)
        .build();
    return client.txn(txn).thenCompose(r -> {
      long myRev = myRevision(r);
      List<KeyValue> first = r.getResponses(1).getResponseRange().getKvsList();
      if (first.isEmpty() || first.get(0).getCreateRevision() == myRev) {
        return CompletableFuture.completedFuture(locked(r.getHeader(), myKey));
      }
      return client.waitDeletes(prefix, myRev - 1, ctx)
          .thenApply(header -> locked(header, myKey))
          // release the key if the wait failed (a cancelled client among others)
          .exceptionallyCompose(e -> client.delete(myKey).handle((d, de) -> {
            throw ConcurrencyClient.rethrow(e);
          }));
    });
  }

  private static long myRevision(TxnResponse r) {
    return r.getSucceeded()
        ? r.getHeader().getRevision()
        : r.getResponses(0).getResponseRange().getKvs(0).getCreateRevision();
  }

  private static LockResponse locked(ResponseHeader header, ByteString key) {
    return LockResponse.newBuilder().setHeader(header).setKey(key).build();
  }

  @Override
  public void unlock(UnlockRequest request, StreamObserver<UnlockResponse> observer) {
    if (!perCall) {
      forCaller().unlock(request, observer);
      return;
    }
    ConcurrencyClient.reply(() -> client.delete(request.getKey())
        .thenApply(r -> UnlockResponse.newBuilder().setHeader(r.getHeader()).build()), observer);
  }

  /** This service acting for the current call's user: every step it takes has their permissions. */
  private LockService forCaller() {
    return new LockService(client.forCurrentCaller(), true);
  }
}
