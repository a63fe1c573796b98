package io.etcsql.faulttests;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.Event;
import io.etcd.jetcd.api.WatchCreateRequest;
import io.etcd.jetcd.api.WatchGrpc;
import io.etcd.jetcd.api.WatchRequest;
import io.etcd.jetcd.api.WatchResponse;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A watcher on one member: watches a key prefix from revision 1 over a raw gRPC Watch stream and records every
 * event. When the stream breaks (member killed, ...) it records the incident and re-watches from the revision after
 * the last event it received, as a careful client would. A cancellation by the server (e.g. compaction) is
 * recorded and also followed by a re-watch.
 */
final class WatchRecorder implements AutoCloseable {

    /** One watch event as seen by a client. */
    record Ev(long revision, String key, String type, String value, long modRevision, long createRevision,
              long version) {
        String line() {
            return "rev=" + revision + " " + type + " " + key + (type.equals("PUT") ? " = \"" + value + "\" mod="
                    + modRevision + " create=" + createRevision + " ver=" + version : "");
        }
    }

    final int memberIndex;
    private final ManagedChannel channel;
    private final String prefix;
    private final long originNanos;
    private final List<Ev> events = new ArrayList<>();
    private final List<String> incidents = new ArrayList<>();
    private volatile boolean closed;
    private volatile Context.CancellableContext current;
    private final Thread thread;
    private long nextRevision = 1;

    WatchRecorder(int memberIndex, ManagedChannel channel, String prefix, long originNanos) {
        this.memberIndex = memberIndex;
        this.channel = channel;
        this.prefix = prefix;
        this.originNanos = originNanos;
        this.thread = new Thread(this::loop, "watch-n" + (memberIndex + 1));
        thread.setDaemon(true);
        thread.start();
    }

    static ByteString prefixEnd(String prefix) {
        byte[] b = prefix.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        b[b.length - 1]++;
        return ByteString.copyFrom(b);
    }

    private void loop() {
        while (!closed) {
            CountDownLatch done = new CountDownLatch(1);
            long from;
            synchronized (this) {
                from = nextRevision;
            }
            Context.CancellableContext ctx = Context.current().withCancellation();
            current = ctx;
            ctx.run(() -> {
                StreamObserver<WatchRequest> req = WatchGrpc.newStub(channel).watch(new StreamObserver<>() {
                    @Override
                    public void onNext(WatchResponse r) {
                        onResponse(r);
                        if (r.getCanceled()) {
                            done.countDown();
                        }
                    }

                    @Override
                    public void onError(Throwable t) {
                        if (!closed) {
                            incident("stream error: " + Workload.describe(t));
                        }
                        done.countDown();
                    }

                    @Override
                    public void onCompleted() {
                        incident("stream completed by the server");
                        done.countDown();
                    }
                });
                req.onNext(WatchRequest.newBuilder().setCreateRequest(WatchCreateRequest.newBuilder()
                        .setKey(ByteString.copyFromUtf8(prefix)).setRangeEnd(prefixEnd(prefix))
                        .setStartRevision(from)).build());
            });
            try {
                while (!closed && !done.await(200, TimeUnit.MILLISECONDS)) {
                    // wait
                }
            } catch (InterruptedException e) {
                return;
            }
            ctx.cancel(null);
            if (!closed) {
                incident("re-watching from revision " + nextRevisionSnapshot());
                FaultCluster.sleep(300);
                channel.resetConnectBackoff();
            }
        }
    }

    private synchronized long nextRevisionSnapshot() {
        return nextRevision;
    }

    private synchronized void onResponse(WatchResponse r) {
        if (r.getCreated()) {
            incident("created (watch id " + r.getWatchId() + ", header revision " + r.getHeader().getRevision() + ")");
        }
        if (r.getCanceled()) {
            incident("canceled by the server: compact_revision=" + r.getCompactRevision() + " reason="
                    + r.getCancelReason());
        }
        for (Event e : r.getEventsList()) {
            var kv = e.getKv();
            Ev ev = new Ev(kv.getModRevision(), kv.getKey().toStringUtf8(), e.getType().name(),
                    kv.getValue().toStringUtf8(), kv.getModRevision(), kv.getCreateRevision(), kv.getVersion());
            events.add(ev);
            nextRevision = Math.max(nextRevision, ev.revision() + 1);
        }
    }

    private synchronized void incident(String s) {
        incidents.add(String.format(java.util.Locale.ROOT, "%.3f ms n%d %s", (System.nanoTime() - originNanos) / 1e6,
                memberIndex + 1, s));
    }

    synchronized List<Ev> events() {
        return new ArrayList<>(events);
    }

    synchronized List<String> incidents() {
        return new ArrayList<>(incidents);
    }

    /** Revision of the last event received (0 if none). */
    synchronized long lastRevision() {
        return events.isEmpty() ? 0 : events.get(events.size() - 1).revision();
    }

    @Override
    public void close() {
        closed = true;
        Context.CancellableContext c = current;
        if (c != null) {
            c.cancel(null);
        }
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * A fresh watch from revision 1 on {@code channel}, read until the event at {@code untilRevision} has arrived
     * (or the prefix has no more events, which the caller knows from {@code untilRevision}); null on timeout.
     */
    static List<Ev> readAll(ManagedChannel channel, String prefix, long untilRevision, long timeoutMs) {
        WatchRecorder w = new WatchRecorder(-1, channel, prefix, System.nanoTime());
        try {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
            while (System.nanoTime() < deadline) {
                if (w.lastRevision() >= untilRevision) {
                    return w.events();
                }
                FaultCluster.sleep(50);
            }
            return null;
        } finally {
            w.close();
        }
    }
}
