package io.etcsql.consensus;

import io.etcsql.grpcapi.etcsqlpb.LeaderQueries;
import io.etcsql.grpcapi.etcsqlpb.LeaderQuery;
import io.etcsql.grpcapi.etcsqlpb.LeaderQueryResult;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Function;

/**
 * A follower's queries for the leader (lease keep-alives, time-to-live), sent several at a time:
 * at most {@code maxInFlight} requests are under way, and the queries that arrive meanwhile go
 * together in the next one (at most {@code maxBatch} each). Each request costs the leader a
 * ReadIndex and a Raft client call, so one per keep-alive left 100 keep-alive streams on a
 * follower at a tenth of the leader's rate. A batch's answers come back in its order; a batch
 * that fails fails each of its queries.
 */
final class LeaderQueryBatcher {
  private final Function<LeaderQuery, CompletableFuture<LeaderQueryResult>> send;
  private final Executor executor;
  private final int maxInFlight;
  private final int maxBatch;
  private final ArrayDeque<Pending> queue = new ArrayDeque<>();
  private int inFlight;

  /**
   * @param send sends one query (a single one or a batch) to the leader; its future must complete
   *     or fail within a bounded time
   * @param executor where answers are handed out and the next request is sent (not on the thread
   *     that completed the last one, which may be one of Ratis' own)
   */
  LeaderQueryBatcher(Function<LeaderQuery, CompletableFuture<LeaderQueryResult>> send, Executor executor,
      int maxInFlight, int maxBatch) {
    if (maxInFlight < 1 || maxBatch < 1) {
      throw new IllegalArgumentException("maxInFlight and maxBatch must be positive");
    }
    this.send = send;
    this.executor = executor;
    this.maxInFlight = maxInFlight;
    this.maxBatch = maxBatch;
  }

  /** The leader's answer to {@code query}, sent alone or in a batch. */
  CompletableFuture<LeaderQueryResult> submit(LeaderQuery query) {
    Pending p = new Pending(query);
    boolean start;
    synchronized (this) {
      queue.add(p);
      start = inFlight < maxInFlight;
      if (start) {
        inFlight++;
      }
    }
    if (start) {
      sendNext();
    }
    return p.answer;
  }

  /** Sends what is queued, as long as something is; the caller holds one in-flight slot. */
  private void sendNext() {
    List<Pending> batch = new ArrayList<>();
    synchronized (this) {
      while (batch.size() < maxBatch && !queue.isEmpty()) {
        batch.add(queue.poll());
      }
      if (batch.isEmpty()) {
        inFlight--;
        return;
      }
    }
    LeaderQuery q;
    if (batch.size() == 1) {
      q = batch.get(0).query;
    } else {
      LeaderQueries.Builder b = LeaderQueries.newBuilder();
      for (Pending p : batch) {
        b.addQueries(p.query);
      }
      q = LeaderQuery.newBuilder().setBatch(b).build();
    }
    CompletableFuture<LeaderQueryResult> f;
    try {
      f = send.apply(q);
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    f.whenCompleteAsync((r, e) -> {
      deliver(batch, r, e);
      sendNext();
    }, executor);
  }

  private static void deliver(List<Pending> batch, LeaderQueryResult r, Throwable e) {
    if (e != null) {
      batch.forEach(p -> p.answer.completeExceptionally(e));
    } else if (batch.size() == 1) {
      batch.get(0).answer.complete(r);
    } else if (r.hasBatch() && r.getBatch().getResultsCount() == batch.size()) {
      for (int i = 0; i < batch.size(); i++) {
        batch.get(i).answer.complete(r.getBatch().getResults(i));
      }
    } else if (r.hasError()) {
      batch.forEach(p -> p.answer.complete(r)); // e.g. not the leader: each caller decides
    } else {
      IllegalStateException bad = new IllegalStateException("the leader answered a batch of " + batch.size()
          + " queries with " + (r.hasBatch() ? r.getBatch().getResultsCount() + " answers" : r.getResultCase()));
      batch.forEach(p -> p.answer.completeExceptionally(bad));
    }
  }

  private static final class Pending {
    final LeaderQuery query;
    final CompletableFuture<LeaderQueryResult> answer = new CompletableFuture<>();

    Pending(LeaderQuery query) {
      this.query = query;
    }
  }
}
