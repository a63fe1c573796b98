package io.etcsql.consensus;

import io.etcsql.grpcapi.etcsqlpb.Batch;
import io.etcsql.grpcapi.etcsqlpb.CommandResult;
import io.etcsql.grpcapi.etcsqlpb.ReplicatedCommand;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Function;

/**
 * Groups concurrent proposals into Raft entries (group commit of commands, see {@link
 * InFlightBatcher}): at most {@code maxInFlight} entries of a member are being replicated at a
 * time, and the proposals that arrive meanwhile go together in the next one, as a {@link Batch}
 * (one proposal alone goes as itself).
 * A lone proposal therefore leaves at once; under load each entry carries many, so Ratis' work
 * per entry (request, retry cache, pending request, log entry, apply call, reply) is shared.
 *
 * <p>Only Put, DeleteRange and Txn are batched ({@link io.etcsql.kvstore.KvStore#batchable}); every proposal gets its own
 * result, in order. A failed entry fails each of its proposals with the same error.
 */
final class ProposalBatcher extends InFlightBatcher<ReplicatedCommand, CommandResult> {
  /**
   * @param replicate replicates one entry and completes with its result
   * @param executor where an entry's answer is handed out and the next entry started
   * @param maxBytes the most bytes of proposals in one entry (a bigger proposal goes alone)
   */
  ProposalBatcher(Function<ReplicatedCommand, CompletableFuture<CommandResult>> replicate, Executor executor,
      int maxInFlight, int maxCommands, long maxBytes) {
    super(replicate, executor, maxInFlight, maxCommands, maxBytes);
  }

  /** Proposes {@code command}; completes with its own result once its entry was applied here. */
  CompletableFuture<CommandResult> propose(ReplicatedCommand command) {
    return submit(command);
  }

  @Override
  int size(ReplicatedCommand command) {
    return command.getSerializedSize();
  }

  @Override
  ReplicatedCommand pack(List<ReplicatedCommand> commands) {
    return ReplicatedCommand.newBuilder().setBatch(Batch.newBuilder().addAllCommands(commands)).build();
  }

  @Override
  List<CommandResult> split(CommandResult result, int count) {
    if (!result.hasBatch()) {
      // an entry this member had applied already (a replay): no results, as for a lone command
      return Collections.nCopies(count, result);
    }
    if (result.getBatch().getResultsCount() != count) {
      throw new IllegalStateException("a batch of " + count + " proposals got "
          + result.getBatch().getResultsCount() + " results");
    }
    return result.getBatch().getResultsList();
  }
}
