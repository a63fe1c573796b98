package io.etcsql.bench.jmh;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcdserverpb.PutRequest;
import io.etcsql.grpcapi.etcdserverpb.RequestOp;
import io.etcsql.grpcapi.etcdserverpb.TxnRequest;
import io.etcsql.grpcapi.etcsqlpb.CommandResult;
import io.etcsql.grpcapi.etcsqlpb.ReplicatedCommand;
import io.etcsql.kvstore.KvStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * A {@link KvStore} with production options in a temporary directory, written through {@link
 * KvStore#apply} (what the Raft state machine calls for each committed entry) with the Raft index
 * counted up, and the benchmarks' data: 8-byte keys {@code k0000000 .. k0099999} and 256-byte
 * values. {@link #close} closes the store and deletes the directory.
 */
final class BenchStore implements AutoCloseable {
  /** Keys in the key space; the benchmarks pick among them uniformly. */
  static final int KEYS = 100_000;
  static final int VALUE_BYTES = 256;
  static final ByteString VALUE = ByteString.copyFrom(value(VALUE_BYTES));
  static final long TERM = 1;

  final Path dir;
  final KvStore store;
  long index;

  BenchStore() throws IOException {
    dir = tempDir();
    store = KvStore.open(dir.resolve("kv"), KvStore.Options.defaults());
    index = store.appliedIndex();
  }

  /** A fresh temporary directory, deleted with {@link #deleteTree}. */
  static Path tempDir() throws IOException {
    return Files.createTempDirectory("etcsql-jmh-");
  }

  static void deleteTree(Path dir) {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Key number {@code i} of the key space: 8 ASCII bytes, {@code k} and 7 digits. */
  static ByteString key(int i) {
    return ByteString.copyFrom(String.format("k%07d", i), StandardCharsets.US_ASCII);
  }

  private static byte[] value(int size) {
    byte[] v = new byte[size];
    for (int i = 0; i < size; i++) {
      v[i] = (byte) ('a' + i % 26);
    }
    return v;
  }

  static PutRequest put(int key) {
    return PutRequest.newBuilder().setKey(key(key)).setValue(VALUE).build();
  }

  /** The replicated command of a Put of key number {@code i}, one per key of the key space. */
  static ReplicatedCommand[] putCommands() {
    ReplicatedCommand[] cmds = new ReplicatedCommand[KEYS];
    for (int i = 0; i < KEYS; i++) {
      cmds[i] = ReplicatedCommand.newBuilder().setPut(put(i)).setCommittedAtUnixMs(1).build();
    }
    return cmds;
  }

  /** Applies {@code cmd} as the next Raft entry; fails on an error result. */
  CommandResult apply(ReplicatedCommand cmd) {
    CommandResult r = store.apply(TERM, ++index, cmd);
    if (r.hasError()) {
      throw new IllegalStateException("apply failed: " + r.getError());
    }
    return r;
  }

  /** Writes every key of the key space once, in Txns of 100 puts (as benchmarks/sql-bench.sh loads). */
  BenchStore loaded() {
    for (int first = 0; first < KEYS; first += 100) {
      TxnRequest.Builder t = TxnRequest.newBuilder();
      for (int i = first; i < first + 100; i++) {
        t.addSuccess(RequestOp.newBuilder().setRequestPut(put(i)));
      }
      apply(ReplicatedCommand.newBuilder().setTxn(t).setCommittedAtUnixMs(1).build());
    }
    return this;
  }

  @Override
  public void close() {
    try {
      store.close();
    } finally {
      deleteTree(dir);
    }
  }
}
