package io.etcsql.consensus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcsql.grpcapi.etcdserverpb.LeaseKeepAliveRequest;
import io.etcsql.grpcapi.etcdserverpb.LeaseKeepAliveResponse;
import io.etcsql.grpcapi.etcsqlpb.ApplyError;
import io.etcsql.grpcapi.etcsqlpb.LeaderQuery;
import io.etcsql.grpcapi.etcsqlpb.LeaderQueryResult;
import io.etcsql.grpcapi.etcsqlpb.LeaderQueryResults;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

class LeaderQueryBatcherTest {
  /** What was sent to the "leader", and the futures it has not answered yet. */
  private final List<LeaderQuery> sent = new ArrayList<>();
  private final List<CompletableFuture<LeaderQueryResult>> open = new ArrayList<>();
  private final LeaderQueryBatcher batcher = new LeaderQueryBatcher(q -> {
    sent.add(q);
    CompletableFuture<LeaderQueryResult> f = new CompletableFuture<>();
    open.add(f);
    return f;
  }, Runnable::run, 2, 3);

  private static LeaderQuery keepAlive(long id) {
    return LeaderQuery.newBuilder().setKeepAlive(LeaseKeepAliveRequest.newBuilder().setID(id)).build();
  }

  private static LeaderQueryResult renewed(long id) {
    return LeaderQueryResult.newBuilder().setKeepAlive(LeaseKeepAliveResponse.newBuilder().setID(id).setTTL(5)).build();
  }

  /** The leader's answer to a sent query: each keep-alive renewed, a batch answered in order. */
  private static LeaderQueryResult answer(LeaderQuery q) {
    if (!q.hasBatch()) {
      return renewed(q.getKeepAlive().getID());
    }
    LeaderQueryResults.Builder b = LeaderQueryResults.newBuilder();
    q.getBatch().getQueriesList().forEach(one -> b.addResults(renewed(one.getKeepAlive().getID())));
    return LeaderQueryResult.newBuilder().setBatch(b).build();
  }

  @Test
  void queriesThatArriveWhileRequestsAreUnderWayGoTogetherAndEachGetsItsOwnAnswer() throws Exception {
    CompletableFuture<LeaderQueryResult> a = batcher.submit(keepAlive(1));
    CompletableFuture<LeaderQueryResult> b = batcher.submit(keepAlive(2));
    assertEquals(List.of(keepAlive(1), keepAlive(2)), sent, "up to two requests go at once, each alone");
    List<CompletableFuture<LeaderQueryResult>> later = new ArrayList<>();
    for (long id = 3; id <= 7; id++) {
      later.add(batcher.submit(keepAlive(id)));
    }
    assertEquals(2, sent.size(), "the others wait for a request to finish");

    open.get(0).complete(answer(sent.get(0)));
    assertEquals(1, a.get().getKeepAlive().getID());
    assertFalse(b.isDone());
    assertEquals(3, sent.size());
    assertEquals(List.of(keepAlive(3), keepAlive(4), keepAlive(5)), sent.get(2).getBatch().getQueriesList(),
        "the next request carries the waiting queries in their order, at most three");

    open.get(1).complete(answer(sent.get(1)));
    open.get(2).complete(answer(sent.get(2)));
    assertEquals(List.of(keepAlive(6), keepAlive(7)), sent.get(3).getBatch().getQueriesList());
    open.get(3).complete(answer(sent.get(3)));
    for (int i = 0; i < later.size(); i++) {
      assertEquals(3 + i, later.get(i).get().getKeepAlive().getID(), "each query gets the answer to itself");
    }
    assertEquals(2, b.get().getKeepAlive().getID());
    assertEquals(4, sent.size(), "nothing is sent without a query");

    batcher.submit(keepAlive(8));
    assertEquals(keepAlive(8), sent.get(4), "an idle batcher sends a new query at once");
  }

  @Test
  void aFailedRequestFailsEachOfItsQueriesAndLaterQueriesStillGo() {
    List<CompletableFuture<LeaderQueryResult>> batch = aBatchOfTwoUnderWay();
    open.get(2).completeExceptionally(new IllegalStateException("no leader"));
    ExecutionException e = assertThrows(ExecutionException.class, batch.get(0)::get);
    assertEquals("no leader", e.getCause().getMessage());
    assertTrue(batch.get(1).isCompletedExceptionally(), "the whole batch failed");

    CompletableFuture<LeaderQueryResult> after = batcher.submit(keepAlive(5));
    assertEquals(keepAlive(5), sent.get(3));
    open.get(3).complete(renewed(5));
    assertEquals(5, after.join().getKeepAlive().getID());
  }

  /** Keep-alives 1 and 2 sent alone, 3 and 4 sent as a batch (request 2) once 1 is answered. */
  private List<CompletableFuture<LeaderQueryResult>> aBatchOfTwoUnderWay() {
    batcher.submit(keepAlive(1));
    batcher.submit(keepAlive(2));
    List<CompletableFuture<LeaderQueryResult>> batch = List.of(batcher.submit(keepAlive(3)), batcher.submit(keepAlive(4)));
    open.get(0).complete(renewed(1));
    assertEquals(2, sent.get(2).getBatch().getQueriesCount());
    return batch;
  }

  @Test
  void anErrorAnswerToABatchGoesToEachOfItsQueries() {
    List<CompletableFuture<LeaderQueryResult>> batch = aBatchOfTwoUnderWay();
    LeaderQueryResult notLeader = LeaderQueryResult.newBuilder()
        .setError(ApplyError.newBuilder().setCode("NOT_LEADER")).build();
    open.get(2).complete(notLeader);
    assertSame(notLeader, batch.get(0).join());
    assertSame(notLeader, batch.get(1).join());
  }

  @Test
  void aBatchAnsweredWithTheWrongNumberOfAnswersFailsItsQueries() {
    List<CompletableFuture<LeaderQueryResult>> batch = aBatchOfTwoUnderWay();
    open.get(2).complete(renewed(3)); // one answer, not a batch of two
    assertTrue(batch.get(0).isCompletedExceptionally() && batch.get(1).isCompletedExceptionally());
  }
}
