package io.etcsql.consensus;

import io.etcsql.grpcapi.etcsqlpb.Batch;
import io.etcsql.grpcapi.etcsqlpb.CommandResult;
import io.etcsql.grpcapi.etcsqlpb.ReplicatedCommand;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Function;

/**
 * Groups concurrent proposals into Raft entries (group commit of commands): at most {@code
 * maxInFlight} entries of a member are being replicated at a time, and the proposals that arrive
 * meanwhile go together in the next one, as a {@link Batch} (one proposal alone goes as itself).
 * A lone proposal therefore leaves at once; under load each entry carries many, so Ratis' work
 * per entry (request, retry cache, pending request, log entry, apply call, reply) is shared.
 *
 * <p>Only Put, DeleteRange and Txn are batched ({@link io.etcsql.kvstore.KvStore#batchable}); every proposal gets its own
 * result, in order. A failed entry fails each of its proposals with the same error.
 */
final class ProposalBatcher {
  private record Pending(ReplicatedCommand command, int bytes, CompletableFuture<CommandResult> result) {}

  private final Function<ReplicatedCommand, CompletableFuture<CommandResult>> replicate;
  private final Executor executor;
  private final int maxInFlight;
  private final int maxCommands;
  private final long maxBytes;
  private final ArrayDeque<Pending> queue = new ArrayDeque<>();
  private int inFlight;

  /**
   * @param replicate replicates one entry and completes with its result
   * @param executor where an entry's answer is handed out and the next entry started
   * @param maxBytes the most bytes of proposals in one entry (a bigger proposal goes alone)
   */
  ProposalBatcher(Function<ReplicatedCommand, CompletableFuture<CommandResult>> replicate, Executor executor,
      int maxInFlight, int maxCommands, long maxBytes) {
    this.replicate = replicate;
    this.executor = executor;
    this.maxInFlight = maxInFlight;
    this.maxCommands = maxCommands;
    this.maxBytes = maxBytes;
  }

  /** Proposes {@code command}; completes with its own result once its entry was applied here. */
  CompletableFuture<CommandResult> propose(ReplicatedCommand command) {
    Pending p = new Pending(command, command.getSerializedSize(), new CompletableFuture<>());
    List<Pending> next;
    synchronized (this) {
      queue.add(p);
      next = nextEntry();
    }
    if (next != null) {
      start(next);
    }
    return p.result();
  }

  /** The proposals of the next entry if one may start now (counted in flight), else null. */
  private List<Pending> nextEntry() {
    if (inFlight >= maxInFlight || queue.isEmpty()) {
      return null;
    }
    List<Pending> out = new ArrayList<>();
    long bytes = 0;
    while (!queue.isEmpty() && out.size() < maxCommands) {
      Pending p = queue.peek();
      if (!out.isEmpty() && bytes + p.bytes() > maxBytes) {
        break;
      }
      out.add(queue.poll());
      bytes += p.bytes();
    }
    inFlight++;
    return out;
  }

  private void start(List<Pending> entry) {
    ReplicatedCommand command = entry.size() == 1 ? entry.get(0).command()
        : ReplicatedCommand.newBuilder().setBatch(Batch.newBuilder()
            .addAllCommands(entry.stream().map(Pending::command).toList())).build();
    CompletableFuture<CommandResult> sent;
    try {
      sent = replicate.apply(command);
    } catch (RuntimeException e) {
      sent = CompletableFuture.failedFuture(e);
    }
    sent.whenCompleteAsync((result, error) -> {
      answer(entry, result, error);
      List<Pending> next;
      synchronized (this) {
        inFlight--;
        next = nextEntry();
      }
      if (next != null) {
        start(next);
      }
    }, executor);
  }

  private static void answer(List<Pending> entry, CommandResult result, Throwable error) {
    if (error != null) {
      entry.forEach(p -> p.result().completeExceptionally(error));
    } else if (entry.size() == 1) {
      entry.get(0).result().complete(result);
    } else if (!result.hasBatch()) {
      // an entry this member had applied already (a replay): no results, as for a lone command
      entry.forEach(p -> p.result().complete(result));
    } else if (result.getBatch().getResultsCount() != entry.size()) {
      IllegalStateException e = new IllegalStateException("a batch of " + entry.size() + " proposals got "
          + result.getBatch().getResultsCount() + " results");
      entry.forEach(p -> p.result().completeExceptionally(e));
    } else {
      for (int i = 0; i < entry.size(); i++) {
        entry.get(i).result().complete(result.getBatch().getResults(i));
      }
    }
  }
}
