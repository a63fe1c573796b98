package io.etcsql.consensus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcdserverpb.PutRequest;
import io.etcsql.grpcapi.etcdserverpb.PutResponse;
import io.etcsql.grpcapi.etcdserverpb.ResponseHeader;
import io.etcsql.grpcapi.etcsqlpb.BatchResult;
import io.etcsql.grpcapi.etcsqlpb.CommandResult;
import io.etcsql.grpcapi.etcsqlpb.ReplicatedCommand;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

/** Proposals share entries while others are in flight, and each gets its own answer. */
class ProposalBatcherTest {
  private final List<ReplicatedCommand> entries = new ArrayList<>();
  private final List<CompletableFuture<CommandResult>> pending = new ArrayList<>();

  private synchronized CompletableFuture<CommandResult> replicate(ReplicatedCommand entry) {
    entries.add(entry);
    CompletableFuture<CommandResult> f = new CompletableFuture<>();
    pending.add(f);
    return f;
  }

  private static ReplicatedCommand put(int i) {
    return ReplicatedCommand.newBuilder().setPut(PutRequest.newBuilder()
        .setKey(ByteString.copyFromUtf8("k" + i)).setValue(ByteString.copyFromUtf8("v"))).build();
  }

  /** What applying an entry would answer: revision 100 + position of each put. */
  private static CommandResult applied(ReplicatedCommand entry) {
    List<ReplicatedCommand> puts = entry.hasBatch() ? entry.getBatch().getCommandsList() : List.of(entry);
    BatchResult.Builder b = BatchResult.newBuilder();
    for (ReplicatedCommand p : puts) {
      int i = Integer.parseInt(p.getPut().getKey().toStringUtf8().substring(1));
      b.addResults(CommandResult.newBuilder().setPut(PutResponse.newBuilder()
          .setHeader(ResponseHeader.newBuilder().setRevision(100 + i))));
    }
    return entry.hasBatch() ? CommandResult.newBuilder().setBatch(b).build() : b.getResults(0);
  }

  @Test
  void proposalsArrivingWhileEntriesAreInFlightGoTogetherAndEachGetsItsResult() throws Exception {
    ProposalBatcher batcher = new ProposalBatcher(this::replicate, Runnable::run, 1, 512, 1 << 20);
    List<CompletableFuture<CommandResult>> answers = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      answers.add(batcher.propose(put(i)));
    }
    // the first left alone at once; the four that came while it was in flight wait
    assertEquals(1, entries.size());
    assertTrue(entries.get(0).hasPut());
    pending.get(0).complete(applied(entries.get(0)));
    assertEquals(100, answers.get(0).get().getPut().getHeader().getRevision());
    // then they leave together, as one batch
    assertEquals(2, entries.size());
    assertEquals(4, entries.get(1).getBatch().getCommandsCount());
    pending.get(1).complete(applied(entries.get(1)));
    for (int i = 1; i < 5; i++) {
      assertEquals(100 + i, answers.get(i).get().getPut().getHeader().getRevision());
    }
  }

  @Test
  void aFailedEntryFailsEachOfItsProposalsAndTheNextEntryStillLeaves() throws Exception {
    ProposalBatcher batcher = new ProposalBatcher(this::replicate, Runnable::run, 1, 2, 1 << 20);
    List<CompletableFuture<CommandResult>> answers = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      answers.add(batcher.propose(put(i)));
    }
    pending.get(0).complete(applied(entries.get(0)));
    assertEquals(2, entries.get(1).getBatch().getCommandsCount()); // at most 2 per entry
    RuntimeException failure = new IllegalStateException("leader changed");
    pending.get(1).completeExceptionally(failure);
    for (int i = 1; i < 3; i++) {
      ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, answers.get(i)::get);
      Throwable cause = e.getCause() instanceof CompletionException c ? c.getCause() : e.getCause();
      assertSame(failure, cause);
    }
    assertTrue(entries.get(2).hasPut()); // the one left over goes next
    pending.get(2).complete(applied(entries.get(2)));
    assertEquals(103, answers.get(3).get().getPut().getHeader().getRevision());
  }

  @Test
  void onlyPutsDeletesAndTxnsAreBatchable() {
    assertTrue(io.etcsql.kvstore.KvStore.batchable(put(1)));
    assertTrue(!io.etcsql.kvstore.KvStore.batchable(ReplicatedCommand.newBuilder()
        .setLeaseGrant(io.etcsql.grpcapi.etcdserverpb.LeaseGrantRequest.newBuilder().setTTL(5)).build()));
  }
}
