package io.etcsql.bench.jmh;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcdserverpb.RangeRequest;
import io.etcsql.grpcapi.etcdserverpb.RangeResponse;
import io.etcsql.grpcapi.etcdserverpb.RequestOp;
import io.etcsql.grpcapi.etcdserverpb.TxnRequest;
import io.etcsql.grpcapi.etcsqlpb.CommandResult;
import io.etcsql.grpcapi.etcsqlpb.ReplicatedCommand;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The store's write and read paths on a store holding the 100,000 keys of the key space (256-byte
 * values): a Put and a one-put Txn applied as the state machine applies a committed entry ({@code
 * KvStore.apply}, which runs the Applier: MVCC write transaction, key index, revision log in
 * Chronicle Map, lessor, watch hub publish, applied index), and a Range of one key and of a
 * 100-key prefix. Keys are picked uniformly, so a put overwrites a live key (as a steady load does).
 *
 * <p>Run: {@code benchmarks/jmh.sh KvStoreBench} (one benchmark: {@code benchmarks/jmh.sh 'KvStoreBench.put$'}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class KvStoreBench {
  private BenchStore s;
  private ReplicatedCommand[] puts;
  private ReplicatedCommand[] txnPuts;
  private RangeRequest[] gets;
  private RangeRequest[] prefixes;

  @Setup
  public void open() throws IOException {
    s = new BenchStore().loaded();
    puts = BenchStore.putCommands();
    txnPuts = new ReplicatedCommand[BenchStore.KEYS];
    gets = new RangeRequest[BenchStore.KEYS];
    for (int i = 0; i < BenchStore.KEYS; i++) {
      txnPuts[i] = ReplicatedCommand.newBuilder()
          .setTxn(TxnRequest.newBuilder().addSuccess(RequestOp.newBuilder().setRequestPut(puts[i].getPut())))
          .setCommittedAtUnixMs(1)
          .build();
      gets[i] = RangeRequest.newBuilder().setKey(BenchStore.key(i)).build();
    }
    // "k00123" .. "k00124": the 100 keys k0012300 .. k0012399
    prefixes = new RangeRequest[BenchStore.KEYS / 100];
    for (int p = 0; p < prefixes.length; p++) {
      prefixes[p] = RangeRequest.newBuilder()
          .setKey(ByteString.copyFrom(String.format("k%05d", p), StandardCharsets.US_ASCII))
          .setRangeEnd(ByteString.copyFrom(String.format("k%05d", p + 1), StandardCharsets.US_ASCII))
          .build();
    }
  }

  @TearDown
  public void close() {
    s.close();
  }

  private static int pick(int n) {
    return ThreadLocalRandom.current().nextInt(n);
  }

  /** One Put of a random key (etcd's {@code benchmark put}), through the apply path. */
  @Benchmark
  public CommandResult put() {
    return s.apply(puts[pick(puts.length)]);
  }

  /** A Txn with no compares and one put (etcd's {@code benchmark txn-put}), through the apply path. */
  @Benchmark
  public CommandResult txnPut() {
    return s.apply(txnPuts[pick(txnPuts.length)]);
  }

  /** A Range of one key at the current revision (serializable: no read barrier). */
  @Benchmark
  public RangeResponse rangeOneKey() {
    return s.store.range(gets[pick(gets.length)]);
  }

  /** A Range of a 100-key prefix at the current revision, values included. */
  @Benchmark
  public RangeResponse rangePrefix100() {
    RangeResponse r = s.store.range(prefixes[pick(prefixes.length)]);
    if (r.getKvsCount() != 100) {
      throw new IllegalStateException("expected 100 keys, got " + r.getKvsCount());
    }
    return r;
  }
}
