package io.etcsql.bench.jmh;

import io.etcsql.kvstore.KvStore;
import io.etcsql.kvstore.backend.MetaStore;
import io.etcsql.kvstore.backend.RevisionLog;
import io.etcsql.kvstore.backend.RevisionRecord;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
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
 * The Chronicle Map writes and reads one put makes, alone: the revision record written to the
 * revision log (etcd's backend "key" bucket), the previous value read back from it, and the
 * applied index written to the meta map after every command (with the clear of the pending undo
 * record that follows it). The log starts with one revision per key of the key space and is sized
 * as the store sizes it.
 *
 * <p>Run: {@code benchmarks/jmh.sh BackendBench} (one benchmark: {@code benchmarks/jmh.sh 'BackendBench.writeRevision$'}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class BackendBench {
  private Path dir;
  private RevisionLog log;
  private MetaStore meta;
  private long main;
  private long appliedIndex;

  @Setup
  public void open() throws IOException {
    dir = BenchStore.tempDir();
    log = new RevisionLog(dir.resolve("revisions"), KvStore.Options.defaults().entriesPerSegment(), false);
    meta = new MetaStore(dir, false);
    for (int i = 0; i < BenchStore.KEYS; i++) {
      writeNext(i);
    }
  }

  @TearDown
  public void close() {
    try {
      log.close();
      meta.close();
    } finally {
      BenchStore.deleteTree(dir);
    }
  }

  private void writeNext(int key) {
    main++;
    log.writeRevision(main, List.of(new RevisionRecord(main, 0, 1, BenchStore.key(key), BenchStore.VALUE, false,
        main, 1, 0, main, 1, "")));
  }

  /** One revision of one put (key 8 bytes, value 256 bytes) written to the revision log. */
  @Benchmark
  public void writeRevision() {
    writeNext(ThreadLocalRandom.current().nextInt(BenchStore.KEYS));
  }

  /** One stored revision read back with its value (what a put does to find the previous value). */
  @Benchmark
  public RevisionRecord readRevision() {
    return log.read(1 + ThreadLocalRandom.current().nextLong(main), 0, true);
  }

  /** The applied index recorded after a command, and the pending undo record cleared. */
  @Benchmark
  public void setApplied() {
    meta.setApplied(BenchStore.TERM, ++appliedIndex);
    meta.clearPending();
  }
}
