package io.etcsql.bench.jmh;

import com.google.protobuf.ByteString;
import io.etcsql.kvstore.mvcc.KeyIndexProbe;
import io.etcsql.kvstore.mvcc.Revision;
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
 * The in-memory ordered key index (etcd's treeIndex: a skip list of key -> revisions) of a store
 * holding the 100,000 keys: a point lookup at the current revision, the index part of a 100-key
 * prefix Range, and the index update a put makes. No revision log access: the difference to
 * {@link KvStoreBench} is what reading and writing values in Chronicle Map costs.
 *
 * <p>Run: {@code benchmarks/jmh.sh KeyIndexBench} (one benchmark: {@code benchmarks/jmh.sh 'KeyIndexBench.get$'}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class KeyIndexBench {
  private BenchStore s;
  private KeyIndexProbe index;
  private ByteString[] keys;
  private ByteString[][] prefixes;
  private long rev;
  private long nextMain;

  @Setup
  public void open() throws IOException {
    s = new BenchStore().loaded();
    index = new KeyIndexProbe(s.store.mvcc());
    rev = s.store.mvcc().currentRevision();
    nextMain = rev + 1;
    keys = new ByteString[BenchStore.KEYS];
    for (int i = 0; i < keys.length; i++) {
      keys[i] = BenchStore.key(i);
    }
    prefixes = new ByteString[BenchStore.KEYS / 100][];
    for (int p = 0; p < prefixes.length; p++) {
      prefixes[p] = new ByteString[] {
          ByteString.copyFrom(String.format("k%05d", p), StandardCharsets.US_ASCII),
          ByteString.copyFrom(String.format("k%05d", p + 1), StandardCharsets.US_ASCII)};
    }
  }

  @TearDown
  public void close() {
    s.close();
  }

  /** One key's revision at the current revision. */
  @Benchmark
  public Revision get() {
    return index.get(keys[ThreadLocalRandom.current().nextInt(keys.length)], rev);
  }

  /** The live keys of a 100-key prefix at the current revision. */
  @Benchmark
  public int rangePrefix100() {
    ByteString[] p = prefixes[ThreadLocalRandom.current().nextInt(prefixes.length)];
    return index.range(p[0], p[1], rev);
  }

  /**
   * A new revision of a random existing key, as a put records it (past the store's revisions, so
   * it is never read back).
   */
  @Benchmark
  public void put() {
    index.put(keys[ThreadLocalRandom.current().nextInt(keys.length)], nextMain++, 0);
  }
}
