package io.etcsql.server;

import com.google.protobuf.ByteString;
import io.etcsql.consensus.RaftNode;
import io.etcsql.grpcapi.etcdserverpb.Compare;
import io.etcsql.grpcapi.etcdserverpb.DeleteRangeRequest;
import io.etcsql.grpcapi.etcdserverpb.DeleteRangeResponse;
import io.etcsql.grpcapi.etcdserverpb.LeaseGrantRequest;
import io.etcsql.grpcapi.etcdserverpb.RangeRequest;
import io.etcsql.grpcapi.etcdserverpb.RangeResponse;
import io.etcsql.grpcapi.etcdserverpb.RequestOp;
import io.etcsql.grpcapi.etcdserverpb.ResponseHeader;
import io.etcsql.grpcapi.etcdserverpb.TxnRequest;
import io.etcsql.grpcapi.etcdserverpb.TxnResponse;
import io.etcsql.grpcapi.mvccpb.Event;
import io.etcsql.kvstore.EtcdError;
import io.etcsql.kvstore.watch.WatchListener;
import io.etcsql.kvstore.watch.WatchSpec;
import io.etcsql.kvstore.watch.Watcher;
import io.etcsql.sqlfrontend.EtcdClient;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/**
 * What etcd's {@code clientv3/concurrency} package needs from a client, served from this member's
 * own write and read paths: the lock and election services are built on it, as etcd builds its
 * {@code v3lock} and {@code v3election} servers on an in-process clientv3. Nothing here runs
 * inside the replicated apply: every write is an ordinary Txn, DeleteRange or LeaseGrant command.
 *
 * <p>The keys of one lock or election live under a prefix ({@code name + "/"}); each contender owns
 * {@code prefix + hex(lease)}; the contender whose key has the lowest create revision holds the lock
 * (is the leader), and the others wait until every key created before theirs is deleted.
 *
 * <p>Errors reach the caller as etcd 3.4 returns them from these services: code {@code UNKNOWN}
 * with the text of the underlying error (etcd's clientv3 turns server statuses into plain errors,
 * which its gRPC server then reports as unknown).
 */
final class ConcurrencyClient {
  /** clientv3/concurrency's defaultSessionTTL: the lease granted for a request without one. */
  static final long SESSION_TTL_SECONDS = 60;

  private final RaftNode node;
  private final Proposer proposer;
  private final ResponseHeaders headers;
  private final QuotaGuard quota;
  private final int maxTxnOps;
  private final Executor reads;

  /** @param reads runs reads and the steps that follow a watch callback (never a delivery thread) */
  ConcurrencyClient(RaftNode node, Proposer proposer, ResponseHeaders headers, QuotaGuard quota,
      int maxTxnOps, Executor reads) {
    this.node = node;
    this.proposer = proposer;
    this.headers = headers;
    this.quota = quota;
    this.maxTxnOps = maxTxnOps;
    this.reads = reads;
  }

  /**
   * This client acting for the caller of the current gRPC call, as etcd's lock and election
   * servers act with their caller's token: its permissions apply to every step, on any thread.
   */
  ConcurrencyClient forCurrentCaller() {
    return new ConcurrencyClient(node, proposer.forCurrentCaller(), headers, quota, maxTxnOps, reads);
  }

  ResponseHeaders headers() {
    return headers;
  }

  /**
   * concurrency.NewSession with {@code WithLease(lease)}: the lease itself, or for 0 a new lease
   * of {@link #SESSION_TTL_SECONDS} that nobody keeps alive (etcd's servers orphan the session).
   */
  CompletableFuture<Long> session(long lease) {
    if (lease != 0) {
      return CompletableFuture.completedFuture(lease);
    }
    LeaseGrantRequest grant = LeaseGrantRequest.newBuilder().setTTL(SESSION_TTL_SECONDS).build();
    return quota.admit(grant, () -> proposer.leaseGrant(grant)).thenApply(r -> r.getID());
  }

  /** The key a session owns under {@code prefix}: Go's {@code fmt.Sprintf("%s%x", prefix, lease)}. */
  static ByteString ownKey(ByteString prefix, long lease) {
    String hex = lease < 0 ? "-" + Long.toHexString(-lease) : Long.toHexString(lease);
    return prefix.concat(ByteString.copyFromUtf8(hex));
  }

  /** The key prefix of lock or election {@code name}. */
  static ByteString prefix(ByteString name) {
    return name.concat(ByteString.copyFromUtf8("/"));
  }

  /** Compare {@code create_revision(key) == revision}. */
  static Compare createRevisionIs(ByteString key, long revision) {
    return Compare.newBuilder().setKey(key).setTarget(Compare.CompareTarget.CREATE)
        .setResult(Compare.CompareResult.EQUAL).setCreateRevision(revision).build();
  }

  static RequestOp get(ByteString key) {
    return RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(key)).build();
  }

  /** clientv3's {@code WithFirstCreate()} on a prefix: the key created first, if any. */
  static RangeRequest firstCreated(ByteString prefix) {
    return RangeRequest.newBuilder().setKey(prefix).setRangeEnd(EtcdClient.prefixEnd(prefix)).setLimit(1)
        .setSortTarget(RangeRequest.SortTarget.CREATE).setSortOrder(RangeRequest.SortOrder.ASCEND).build();
  }

  CompletableFuture<TxnResponse> txn(TxnRequest request) {
    RequestChecks.checkTxn(request, maxTxnOps);
    return quota.admit(request, () -> proposer.txn(request)).thenApply(r ->
        r.toBuilder().setHeader(headers.at(r.getHeader().getRevision())).build());
  }

  /** A linearizable Range. */
  CompletableFuture<RangeResponse> range(RangeRequest request) {
    RequestChecks.checkRange(request);
    return node.readBarrier().thenApplyAsync(v -> {
      io.etcsql.server.auth.Authz.checkRead(node.store().auth(), proposer.caller(), request.getKey(),
          request.getRangeEnd());
      RangeResponse r = node.store().range(request);
      return r.toBuilder().setHeader(headers.at(r.getHeader().getRevision())).build();
    }, reads);
  }

  CompletableFuture<DeleteRangeResponse> delete(ByteString key) {
    DeleteRangeRequest request = DeleteRangeRequest.newBuilder().setKey(key).build();
    RequestChecks.checkDelete(request);
    return proposer.deleteRange(request).thenApply(r ->
        r.toBuilder().setHeader(headers.at(r.getHeader().getRevision())).build());
  }

  /**
   * Registers a watcher on the store's watch hub; the caller cancels it.
   *
   * @throws io.etcsql.kvstore.EtcdException etcd's "server stopped" when the hub is closed
   */
  Watcher watch(WatchSpec spec, WatchListener listener) {
    try {
      return node.store().watchHub().watch(spec, listener);
    } catch (IllegalStateException closedHub) {
      throw EtcdError.STOPPED.exception();
    }
  }

  /**
   * concurrency's waitDeletes: returns once no key under {@code prefix} has a create revision at
   * or below {@code maxCreateRevision}, with the header of the read that found none. Waits for the
   * deletion of the newest such key, then looks again. Fails with CANCELLED when {@code ctx} is.
   */
  CompletableFuture<ResponseHeader> waitDeletes(ByteString prefix, long maxCreateRevision, Context ctx) {
    if (ctx.isCancelled()) {
      return CompletableFuture.failedFuture(cancelled(ctx));
    }
    RangeRequest lastCreated = RangeRequest.newBuilder().setKey(prefix).setRangeEnd(EtcdClient.prefixEnd(prefix))
        .setLimit(1).setSortTarget(RangeRequest.SortTarget.CREATE)
        .setSortOrder(RangeRequest.SortOrder.DESCEND).setMaxCreateRevision(maxCreateRevision).build();
    return range(lastCreated).thenCompose(r -> {
      if (r.getKvsCount() == 0) {
        return CompletableFuture.completedFuture(r.getHeader());
      }
      return waitDelete(r.getKvs(0).getKey(), r.getHeader().getRevision(), ctx)
          .thenCompose(v -> waitDeletes(prefix, maxCreateRevision, ctx));
    });
  }

  /** concurrency's waitDelete: completes at the first deletion of {@code key} from {@code revision} on. */
  private CompletableFuture<Void> waitDelete(ByteString key, long revision, Context ctx) {
    CompletableFuture<Void> deleted = new CompletableFuture<>();
    Watcher w = watch(WatchSpec.of(key.toByteArray(), null, revision), new WatchListener() {
      @Override
      public void onEvents(long rev, List<Event> events) {
        if (events.stream().anyMatch(e -> e.getType() == Event.EventType.DELETE)) {
          deleted.complete(null);
        }
      }

      @Override
      public void onCompacted(long compactRevision) {
        deleted.completeExceptionally(EtcdError.COMPACTED.exception());
      }
    });
    Context.CancellationListener onCancel = c -> deleted.completeExceptionally(cancelled(c));
    ctx.addListener(onCancel, Runnable::run);
    return deleted.whenCompleteAsync((v, e) -> {
      w.cancel();
      ctx.removeListener(onCancel);
    }, reads);
  }

  private static StatusRuntimeException cancelled(Context ctx) {
    return Status.CANCELLED.withDescription("context canceled").withCause(ctx.cancellationCause())
        .asRuntimeException();
  }

  /**
   * The status a lock or election call fails with: as etcd 3.4, {@code UNKNOWN} with the text of
   * the underlying error (a cancellation stays CANCELLED: the caller has gone).
   */
  static StatusRuntimeException status(Throwable t) {
    StatusRuntimeException s = GrpcErrors.toStatus(t);
    if (s.getStatus().getCode() == Status.Code.CANCELLED || s.getStatus().getCode() == Status.Code.UNKNOWN) {
      return s;
    }
    return Status.UNKNOWN.withDescription(s.getStatus().getDescription()).asRuntimeException();
  }

  /** Runs a unary handler and answers with its result or {@link #status(Throwable)}. */
  static <T> void reply(Supplier<CompletableFuture<T>> handler, StreamObserver<T> observer) {
    CompletableFuture<T> f;
    try {
      f = handler.get();
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    Replies.send(f.handle((v, e) -> {
      if (e != null) {
        throw status(e);
      }
      return v;
    }), observer);
  }

  /** Unwraps a future's failure to throw it again from a later stage. */
  static CompletionException rethrow(Throwable e) {
    return e instanceof CompletionException c ? c : new CompletionException(e);
  }
}
