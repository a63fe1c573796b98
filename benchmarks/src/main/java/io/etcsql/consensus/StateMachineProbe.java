package io.etcsql.consensus;

import io.etcsql.kvstore.KvStore;
import java.io.IOException;
import org.apache.ratis.statemachine.StateMachine;

/**
 * The micro-benchmarks' handle on a {@link KvStateMachine} over a store, which consensus keeps
 * package-private. It lives in the benchmarks module, in consensus' package, so that consensus
 * exposes nothing for it. The state machine is built as {@code RaftNode} builds it, with no Raft
 * server around it: a lease keeper that proposes nothing, no snapshot source, every client its own.
 */
public final class StateMachineProbe implements AutoCloseable {
  private final LeaseKeeper leaseKeeper;
  private final KvStateMachine stateMachine;

  public StateMachineProbe(KvStore store) {
    leaseKeeper = new LeaseKeeper(store, cmd -> { }, 60_000);
    stateMachine = new KvStateMachine(store, leaseKeeper,
        (peer, hint) -> {
          throw new IOException("no snapshots in a micro-benchmark");
        },
        (peer, address) -> "",
        clientId -> true);
  }

  public StateMachine stateMachine() {
    return stateMachine;
  }

  @Override
  public void close() throws IOException {
    stateMachine.close();
    leaseKeeper.close();
  }
}
