package io.etcsql.consensus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class ReadBarriersTest {
  private final List<CompletableFuture<Void>> rounds = new ArrayList<>();
  private final ReadBarriers barriers = new ReadBarriers(() -> {
    CompletableFuture<Void> f = new CompletableFuture<>();
    rounds.add(f);
    return f;
  }, Runnable::run);

  @Test
  void aReadWaitsForARoundStartedAfterItArrivedAndReadsShareRounds() {
    CompletableFuture<Void> first = barriers.await();
    assertEquals(1, rounds.size(), "the first read starts a round");
    // these arrive while round 1 runs: round 1 may be ordered before writes they must see
    CompletableFuture<Void> second = barriers.await();
    CompletableFuture<Void> third = barriers.await();
    assertEquals(1, rounds.size(), "one round at a time");

    rounds.get(0).complete(null);
    assertTrue(first.isDone());
    assertFalse(second.isDone() || third.isDone(), "later reads are not answered by the earlier round");
    assertEquals(2, rounds.size(), "the waiting reads get one round together");

    rounds.get(1).complete(null);
    assertTrue(second.isDone() && third.isDone());
    assertEquals(2, rounds.size(), "no round without readers");
  }

  @Test
  void readersAreAnsweredAndTheNextRoundStartedByTheExecutorNotByTheThreadThatCompletedTheRound() {
    List<Runnable> tasks = new ArrayList<>();
    ReadBarriers queued = new ReadBarriers(() -> {
      CompletableFuture<Void> f = new CompletableFuture<>();
      rounds.add(f);
      return f;
    }, tasks::add);
    CompletableFuture<Void> first = queued.await();
    CompletableFuture<Void> second = queued.await();
    rounds.get(0).complete(null); // e.g. by a Ratis thread holding its own locks
    assertFalse(first.isDone(), "not answered on the completing thread");
    assertEquals(1, rounds.size(), "no round started on the completing thread");
    assertEquals(1, tasks.size());
    tasks.remove(0).run();
    assertTrue(first.isDone());
    assertEquals(2, rounds.size(), "the executor started the next round");
    rounds.get(1).complete(null);
    tasks.remove(0).run();
    assertTrue(second.isDone());
  }

  @Test
  void aFailedRoundFailsItsReadsOnlyAndTheNextReadStartsAFreshRound() {
    CompletableFuture<Void> first = barriers.await();
    CompletableFuture<Void> second = barriers.await();
    rounds.get(0).completeExceptionally(new IllegalStateException("no leader"));
    assertTrue(first.isCompletedExceptionally());
    assertFalse(second.isDone());
    rounds.get(1).complete(null);
    assertTrue(second.isDone() && !second.isCompletedExceptionally());

    CompletableFuture<Void> third = barriers.await();
    assertEquals(3, rounds.size());
    rounds.get(2).complete(null);
    assertTrue(third.isDone());
  }
}
