package io.etcsql.bench.load;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcdserverpb.KVGrpc;
import io.etcsql.grpcapi.etcdserverpb.PutRequest;
import io.etcsql.grpcapi.etcdserverpb.WatchCreateRequest;
import io.etcsql.grpcapi.etcdserverpb.WatchGrpc;
import io.etcsql.grpcapi.etcdserverpb.WatchRequest;
import io.etcsql.grpcapi.etcdserverpb.WatchResponse;
import io.etcsql.grpcapi.mvccpb.Event;
import io.grpc.stub.StreamObserver;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;

/**
 * {@code watch-latency}: {@code --watchers} watches of one key, spread over {@code --streams}
 * Watch streams, which are spread over the connections; then {@code --total} puts of that key at
 * {@code --rate} puts/s (etcd's {@code --put-rate}, default 100), sent on schedule without waiting
 * for the watchers (a slow server shows as queueing, not as a slower rate). The latency of an
 * event is the time from sending the put to a watcher receiving its event; the distribution is
 * over every (put, watcher) event. Each put's value starts with its sequence number, which is how
 * an event is matched to its put. Unlike etcd's benchmark, which starts the clock when the put
 * returns and waits for all watchers before the next put, the clock starts at the send.
 */
final class WatchLatency {
  private final Connections conns;
  private final int watchers;
  private final int streams;
  private final long warmup;
  private final long total;
  private final long rate;
  private final ByteString key;
  private final int valSize;
  private final long waitNanos;
  private final Results results;
  private final Results puts = new Results();
  private final AtomicLongArray sentAt;
  private final AtomicLong events = new AtomicLong();
  private final CountDownLatch created;
  private volatile boolean closing;

  WatchLatency(Connections conns, int watchers, int streams, long warmup, long total, long rate, int keySize,
      int valSize, long waitNanos, Results results) {
    this.conns = conns;
    this.watchers = watchers;
    this.streams = streams;
    this.warmup = warmup;
    this.total = total;
    this.rate = rate;
    this.key = ByteString.copyFromUtf8("watch-latency/").concat(Keys.randomBytes(keySize));
    this.valSize = Math.max(Long.BYTES, valSize);
    this.waitNanos = waitNanos;
    this.results = results;
    this.sentAt = new AtomicLongArray((int) (warmup + total));
    this.created = new CountDownLatch(watchers);
  }

  /** Runs the puts; returns the seconds from the first recorded put to the last event (or the wait's end). */
  double run() throws InterruptedException {
    List<StreamObserver<WatchRequest>> open = new ArrayList<>();
    for (int s = 0; s < streams; s++) {
      open.add(WatchGrpc.newStub(conns.channel(s)).watch(new Watcher()));
    }
    WatchRequest create = WatchRequest.newBuilder()
        .setCreateRequest(WatchCreateRequest.newBuilder().setKey(key)).build();
    for (int w = 0; w < watchers; w++) {
      open.get(w % streams).onNext(create);
    }
    if (!created.await(30, TimeUnit.SECONDS)) {
      throw new IllegalStateException((watchers - created.getCount()) + " of " + watchers + " watches created in 30 s");
    }
    KVGrpc.KVStub kv = KVGrpc.newStub(conns.channel(streams));
    long interval = 1_000_000_000L / rate;
    long begin = System.nanoTime();
    long measureStart = begin;
    byte[] filler = Keys.randomBytes(valSize).toByteArray();
    for (int i = 0; i < warmup + total; i++) {
      long due = begin + i * interval;
      long wait;
      while ((wait = due - System.nanoTime()) > 0) {
        LockSupport.parkNanos(wait);
      }
      ByteBuffer.wrap(filler).putLong(0, i);
      PutRequest req = PutRequest.newBuilder().setKey(key).setValue(ByteString.copyFrom(filler)).build();
      long now = System.nanoTime();
      if (i == warmup) {
        measureStart = now;
      }
      sentAt.set(i, now);
      boolean recorded = i >= warmup;
      kv.put(req, new Answer<>(error -> {
        if (!recorded) {
          return;
        }
        if (error == null) {
          puts.success(System.nanoTime() - now);
        } else {
          puts.error(error);
        }
      }));
    }
    long expected = (warmup + total) * watchers;
    long deadline = System.nanoTime() + waitNanos;
    while (events.get() < expected && System.nanoTime() < deadline) {
      Thread.sleep(1);
    }
    long end = System.nanoTime();
    closing = true;
    for (StreamObserver<WatchRequest> s : open) {
      s.onCompleted();
    }
    return (end - measureStart) / 1e9;
  }

  /** The bench-specific fields of the JSON line. */
  Map<String, Object> fields() {
    Map<String, Object> f = new LinkedHashMap<>();
    long putsOk = puts.ops();
    f.put("watchers", watchers);
    f.put("streams", streams);
    f.put("puts", putsOk);
    f.put("put_errors", puts.errorCount());
    f.put("put_rate", rate);
    f.put("missed_events", Math.max(0, putsOk * watchers - results.ops()));
    f.put("put_p99_ms", puts.fields(1).get("p99_ms"));
    return f;
  }

  /** One Watch stream, carrying several watchers of the key. */
  private final class Watcher implements StreamObserver<WatchResponse> {
    @Override
    public void onNext(WatchResponse r) {
      if (r.getCreated()) {
        created.countDown();
      }
      long now = System.nanoTime();
      for (Event e : r.getEventsList()) {
        ByteString v = e.getKv().getValue();
        if (e.getType() != Event.EventType.PUT || v.size() < Long.BYTES) {
          continue;
        }
        long seq = v.substring(0, Long.BYTES).asReadOnlyByteBuffer().getLong();
        if (seq < 0 || seq >= sentAt.length()) {
          continue;
        }
        events.incrementAndGet();
        if (seq >= warmup) {
          results.success(now - sentAt.get((int) seq));
        }
      }
    }

    @Override
    public void onError(Throwable t) {
      if (!closing) {
        results.error(t);
      }
    }

    @Override
    public void onCompleted() {
    }
  }
}
