package io.etcsql.bench.jmh;

import io.etcsql.grpcapi.etcdserverpb.ResponseHeader;
import io.etcsql.grpcapi.etcdserverpb.WatchResponse;
import io.etcsql.grpcapi.etcsqlpb.ReplicatedCommand;
import io.etcsql.grpcapi.mvccpb.Event;
import io.etcsql.kvstore.watch.WatchListener;
import io.etcsql.kvstore.watch.WatchSpec;
import io.etcsql.kvstore.watch.Watcher;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * One put of a key watched by {@code watchers} watchers, measured until every watcher's listener
 * has received the event: the apply (which publishes the revision to the watch hub), the hub's
 * dispatcher and delivery threads, and in each listener what the server's WatchService does on
 * {@code onEvents} (build the WatchResponse; here it is kept instead of sent). 0 watchers is the
 * same put with nobody watching.
 *
 * <p>Run: {@code benchmarks/jmh.sh WatchFanOutBench} (1000 watchers only: {@code benchmarks/jmh.sh WatchFanOutBench -p watchers=1000}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class WatchFanOutBench {
  @Param({"0", "1", "100", "1000"})
  public int watchers;

  private BenchStore s;
  private ReplicatedCommand put;
  private final List<Watcher> registered = new ArrayList<>();
  private final AtomicInteger pending = new AtomicInteger();
  private volatile Thread waiter;

  /** A watcher's sink: builds the response as the server does and counts the delivery. */
  private final class Sink implements WatchListener {
    private final long id;
    volatile WatchResponse last;

    Sink(long id) {
      this.id = id;
    }

    @Override
    public void onEvents(long revision, List<Event> events) {
      last = WatchResponse.newBuilder().setHeader(ResponseHeader.newBuilder().setRevision(revision))
          .setWatchId(id).addAllEvents(events).build();
      if (pending.decrementAndGet() == 0) {
        LockSupport.unpark(waiter);
      }
    }

    @Override
    public void onCompacted(long compactRevision) {
      throw new IllegalStateException("watcher compacted at " + compactRevision);
    }
  }

  @Setup
  public void open() throws IOException {
    s = new BenchStore();
    put = ReplicatedCommand.newBuilder().setPut(BenchStore.put(0)).setCommittedAtUnixMs(1).build();
    WatchSpec spec = WatchSpec.of(BenchStore.key(0).toByteArray(), null, 0);
    for (int i = 0; i < watchers; i++) {
      registered.add(s.store.watchHub().watch(spec, new Sink(i)));
    }
  }

  @TearDown
  public void close() {
    registered.forEach(Watcher::cancel);
    s.close();
  }

  @Benchmark
  public void putAndDeliver() {
    waiter = Thread.currentThread();
    pending.set(watchers);
    s.apply(put);
    while (pending.get() > 0) {
      LockSupport.parkNanos(this, 1_000_000);
    }
  }
}
