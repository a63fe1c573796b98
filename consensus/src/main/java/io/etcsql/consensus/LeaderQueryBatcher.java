package io.etcsql.consensus;

import io.etcsql.grpcapi.etcsqlpb.LeaderQueries;
import io.etcsql.grpcapi.etcsqlpb.LeaderQuery;
import io.etcsql.grpcapi.etcsqlpb.LeaderQueryResult;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Function;

/**
 * A follower's queries for the leader (lease keep-alives, time-to-live), sent several at a time
 * as one {@link LeaderQueries} batch (see {@link InFlightBatcher}). Each request costs the leader
 * a ReadIndex and a Raft client call, so one per keep-alive left 100 keep-alive streams on a
 * follower at a tenth of the leader's rate. A batch is answered in its order; an error answer to
 * a batch (e.g. not the leader) goes to each of its queries, whose callers decide.
 */
final class LeaderQueryBatcher extends InFlightBatcher<LeaderQuery, LeaderQueryResult> {
  LeaderQueryBatcher(Function<LeaderQuery, CompletableFuture<LeaderQueryResult>> send, Executor executor,
      int maxInFlight, int maxBatch) {
    super(send, executor, maxInFlight, maxBatch, Long.MAX_VALUE);
  }

  @Override
  int size(LeaderQuery query) {
    return 0; // batches are bounded by count only
  }

  @Override
  LeaderQuery pack(List<LeaderQuery> queries) {
    return LeaderQuery.newBuilder().setBatch(LeaderQueries.newBuilder().addAllQueries(queries)).build();
  }

  @Override
  List<LeaderQueryResult> split(LeaderQueryResult r, int count) {
    if (r.hasBatch() && r.getBatch().getResultsCount() == count) {
      return r.getBatch().getResultsList();
    }
    if (r.hasError()) {
      return Collections.nCopies(count, r);
    }
    throw new IllegalStateException("the leader answered a batch of " + count + " queries with "
        + (r.hasBatch() ? r.getBatch().getResultsCount() + " answers" : r.getResultCase()));
  }
}
