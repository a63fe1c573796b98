package io.etcsql.consensus;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/**
 * Shares barrier rounds among concurrent linearizable reads. A read waits for the first round
 * started after it arrived (a round already under way may have been ordered before a write that
 * completed just before the read began), so at most one round runs and one waits at any time,
 * however many reads come in.
 */
final class ReadBarriers {
  private final Supplier<CompletableFuture<Void>> round;
  private final Executor executor;
  /** True while a round runs. */
  private boolean running;
  /** Reads that arrived while a round ran; they get the next one. */
  private CompletableFuture<Void> waiting;

  /**
   * @param round starts one barrier round; it must complete (or fail) within a bounded time
   * @param executor where a round's readers are answered and the next round is started: never
   *     on the thread that completed the round, which may be one of Ratis' own holding a lock
   *     that starting a round needs (a round completed inside Ratis' heartbeat-reply handling
   *     once started the next one there and deadlocked the leader)
   */
  ReadBarriers(Supplier<CompletableFuture<Void>> round, Executor executor) {
    this.round = round;
    this.executor = executor;
  }

  /** Completes once a round started after this call has completed. */
  CompletableFuture<Void> await() {
    CompletableFuture<Void> mine;
    boolean start;
    synchronized (this) {
      if (waiting == null) {
        waiting = new CompletableFuture<>();
      }
      mine = waiting;
      start = !running;
      if (start) {
        running = true;
        waiting = null;
      }
    }
    if (start) {
      run(mine);
    }
    return mine;
  }

  private void run(CompletableFuture<Void> readers) {
    CompletableFuture<Void> f;
    try {
      f = round.get();
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    f.whenCompleteAsync((v, e) -> {
      if (e != null) {
        readers.completeExceptionally(e);
      } else {
        readers.complete(null);
      }
      CompletableFuture<Void> next;
      synchronized (this) {
        next = waiting;
        waiting = null;
        running = next != null;
      }
      if (next != null) {
        run(next);
      }
    }, executor);
  }
}
