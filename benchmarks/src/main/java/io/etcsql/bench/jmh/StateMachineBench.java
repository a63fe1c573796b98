package io.etcsql.bench.jmh;

import io.etcsql.consensus.StateMachineProbe;
import io.etcsql.grpcapi.etcsqlpb.ReplicatedCommand;
import java.io.IOException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.proto.RaftProtos.RaftPeerRole;
import org.apache.ratis.proto.RaftProtos.StateMachineLogEntryProto;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.raftlog.LogProtoUtils;
import org.apache.ratis.statemachine.StateMachine;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The Ratis state machine ({@code KvStateMachine}) applying a committed Put of a random key to a
 * store holding the 100,000 keys, with the transaction context built as Ratis builds it (no Raft
 * server, log or network):
 *
 * <ul>
 *   <li>{@link #applyTransaction}: a follower's entry ({@code startTransaction(LogEntryProto,
 *       FOLLOWER)}), then {@code applyTransactionSerial} and {@code applyTransaction}, as Ratis'
 *       StateMachineUpdater calls them;
 *   <li>{@link #startAndApplyTransaction}: the leader's whole state machine work for the same put:
 *       {@code startTransaction(RaftClientRequest)} (parse, stamp the commit time, re-encode),
 *       {@code preAppendTransaction}, the log entry, then the two apply calls.
 * </ul>
 *
 * <p>Run: {@code benchmarks/jmh.sh StateMachineBench} (one benchmark: {@code benchmarks/jmh.sh 'StateMachineBench.applyTransaction$'}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class StateMachineBench {
  private static final ClientId CLIENT = ClientId.randomId();
  private static final RaftPeerId PEER = RaftPeerId.valueOf("n1");
  private static final RaftGroupId GROUP = RaftGroupId.randomId();

  private BenchStore s;
  private StateMachineProbe probe;
  private StateMachine sm;
  private ByteString[] commands;
  private long callId;

  @Setup
  public void open() throws IOException {
    s = new BenchStore().loaded();
    probe = new StateMachineProbe(s.store);
    sm = probe.stateMachine();
    ReplicatedCommand[] puts = BenchStore.putCommands();
    commands = new ByteString[puts.length];
    for (int i = 0; i < puts.length; i++) {
      commands[i] = ByteString.copyFrom(puts[i].toByteArray());
    }
  }

  @TearDown
  public void close() throws IOException {
    try {
      probe.close();
    } finally {
      s.close();
    }
  }

  private ByteString next() {
    return commands[ThreadLocalRandom.current().nextInt(commands.length)];
  }

  @Benchmark
  public Message applyTransaction() throws Exception {
    StateMachineLogEntryProto data = StateMachineLogEntryProto.newBuilder()
        .setLogData(next()).setClientId(CLIENT.toByteString()).setCallId(++callId).build();
    LogEntryProto entry = LogProtoUtils.toLogEntryProto(data, BenchStore.TERM, ++s.index);
    TransactionContext trx = sm.startTransaction(entry, RaftPeerRole.FOLLOWER);
    return sm.applyTransaction(sm.applyTransactionSerial(trx)).join();
  }

  @Benchmark
  public Message startAndApplyTransaction() throws Exception {
    RaftClientRequest request = RaftClientRequest.newBuilder()
        .setClientId(CLIENT).setServerId(PEER).setGroupId(GROUP).setCallId(++callId)
        .setMessage(Message.valueOf(next())).setType(RaftClientRequest.writeRequestType())
        .build();
    TransactionContext trx = sm.startTransaction(request).preAppendTransaction();
    trx.initLogEntry(BenchStore.TERM, ++s.index);
    return sm.applyTransaction(sm.applyTransactionSerial(trx)).join();
  }
}
