package io.etcsql.server;

import io.etcsql.consensus.RaftNode;
import io.etcsql.grpcapi.etcsqlpb.ChangesRequest;
import io.etcsql.grpcapi.etcsqlpb.ChangesResponse;
import io.etcsql.grpcapi.etcsqlpb.HistoryGrpc;
import io.etcsql.grpcapi.etcsqlpb.RevisionAtRequest;
import io.etcsql.grpcapi.etcsqlpb.RevisionAtResponse;
import io.etcsql.kvstore.EtcdError;
import io.etcsql.kvstore.mvcc.MvccStore;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * etcsql's History service (not in etcd): the changes still held, with commit time and principal,
 * and the revision current at a moment. Reads are linearizable unless asked serializable, like
 * Range, and run on the read executor.
 */
final class HistoryService extends HistoryGrpc.HistoryImplBase {
  /** Changes per page when the request gives no limit, and the most a page may ask for. */
  static final int DEFAULT_PAGE = 1000;
  static final int MAX_PAGE = 10_000;

  private final RaftNode node;
  private final ResponseHeaders headers;
  private final Executor reads;

  HistoryService(RaftNode node, ResponseHeaders headers, Executor reads) {
    this.node = node;
    this.headers = headers;
    this.reads = reads;
  }

  private CompletableFuture<Void> ready(boolean serializable) {
    return serializable ? CompletableFuture.completedFuture(null) : node.readBarrier();
  }

  @Override
  public void changes(ChangesRequest request, StreamObserver<ChangesResponse> observer) {
    Replies.now(() -> {
      if (request.getKey().isEmpty()) {
        throw EtcdError.EMPTY_KEY.exception();
      }
      int limit = request.getLimit() <= 0 ? DEFAULT_PAGE : (int) Math.min(request.getLimit(), MAX_PAGE);
      io.etcsql.grpcapi.etcsqlpb.AuthHeader who = io.etcsql.server.auth.AuthContext.current();
      return ready(request.getSerializable()).thenApplyAsync(v -> {
        // history is a read of the range: the same permission as a Range of it
        io.etcsql.server.auth.Authz.checkRead(node.store().auth(), who, request.getKey(), request.getRangeEnd());
        MvccStore mvcc = node.store().mvcc();
        long current = mvcc.currentRevision();
        MvccStore.ChangesPage page = mvcc.changes(request.getKey(), request.getRangeEnd(), request.getMinRevision(),
            request.getMaxRevision() == 0 ? current : request.getMaxRevision(), limit, request.getPrevKv());
        return ChangesResponse.newBuilder().setHeader(headers.at(current)).addAllChanges(page.changes())
            .setMore(page.nextRevision() != 0).setNextRevision(page.nextRevision()).build();
      }, reads);
    }, observer);
  }

  @Override
  public void revisionAt(RevisionAtRequest request, StreamObserver<RevisionAtResponse> observer) {
    Replies.now(() -> ready(request.getSerializable()).thenApplyAsync(v -> {
      MvccStore mvcc = node.store().mvcc();
      long current = mvcc.currentRevision();
      long[] at = mvcc.revisionAt(request.getUnixMs());
      return RevisionAtResponse.newBuilder().setHeader(headers.at(current)).setRevision(at[0])
          .setCommittedAtUnixMs(at[1]).setCompactRevision(mvcc.compactRevision()).build();
    }, reads), observer);
  }
}
