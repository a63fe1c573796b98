package io.etcsql.server.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcdserverpb.WatchCreateRequest;
import io.etcsql.grpcapi.etcdserverpb.WatchGrpc;
import io.etcsql.grpcapi.etcdserverpb.WatchRequest;
import io.etcsql.grpcapi.etcdserverpb.WatchResponse;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * etcd's {@code --max-concurrent-streams} and {@code --grpc-keepalive-*} flags change what a client
 * connection may do: a stream beyond the limit waits, and a client that stops
 * answering the server's pings loses its connection (its watch ends on the server).
 */
@ExtendWith(DumpLogsOnFailure.class)
@org.junit.jupiter.api.Timeout(value = 120, unit = TimeUnit.SECONDS)
class GrpcConnectionFlagsIT {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /** A Watch stream on {@code channel} that has asked to watch {@code key}; counts its responses. */
    private static final class WatchStream implements ClientResponseObserver<WatchRequest, WatchResponse> {
        final CountDownLatch created = new CountDownLatch(1);
        ClientCallStreamObserver<WatchRequest> requests;

        WatchStream(ManagedChannel channel, String key) {
            WatchGrpc.newStub(channel).watch(this);
            requests.onNext(WatchRequest.newBuilder().setCreateRequest(
                    WatchCreateRequest.newBuilder().setKey(ByteString.copyFromUtf8(key))).build());
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<WatchRequest> stream) {
            requests = stream;
        }

        @Override
        public void onNext(WatchResponse r) {
            if (r.getCreated()) {
                created.countDown();
            }
        }

        @Override
        public void onError(Throwable t) {
        }

        @Override
        public void onCompleted() {
        }

        boolean createdWithin(Duration d) throws InterruptedException {
            return created.await(d.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    @Test
    void aStreamBeyondMaxConcurrentStreamsOfItsConnectionWaits() throws Exception {
        try (Cluster cluster = Cluster.start(1, List.of("--max-concurrent-streams", "2"))) {
            ManagedChannel ch = Grpc.newChannelBuilderForAddress("127.0.0.1", cluster.member(0).clientPort(),
                    InsecureChannelCredentials.create()).build();
            try {
                for (int i = 0; i < 2; i++) {
                    assertTrue(new WatchStream(ch, "k" + i).createdWithin(Duration.ofSeconds(10)),
                            "stream " + i + " within the limit");
                }
                WatchStream third = new WatchStream(ch, "k2");
                assertTrue(!third.createdWithin(Duration.ofSeconds(2)),
                        "a third stream on the same connection waits while two are open");
                // the limit is per connection: another connection opens its streams at once
                ManagedChannel other = Grpc.newChannelBuilderForAddress("127.0.0.1", cluster.member(0).clientPort(),
                        InsecureChannelCredentials.create()).build();
                try {
                    assertTrue(new WatchStream(other, "k3").createdWithin(Duration.ofSeconds(10)),
                            "a stream on another connection");
                } finally {
                    other.shutdownNow();
                }
            } finally {
                ch.shutdownNow();
            }
        }
    }

    @Test
    void aClientThatStopsAnsweringPingsLosesItsWatch() throws Exception {
        int metricsPort = ServerProcess.freePort();
        try (Cluster cluster = Cluster.start(1, List.of("--grpc-keepalive-interval", "1s",
                "--grpc-keepalive-timeout", "1s", "--listen-metrics-urls", "http://127.0.0.1:" + metricsPort))) {
            Etcdctl ctl = cluster.ctl();
            try (Etcdctl.Background watch = ctl.background("watch", "ka")) {
                ctl.ok("put", "ka", "1");
                assertEquals(List.of("PUT", "ka", "1"), watch.nextLines(3, Duration.ofSeconds(10)), "watching");
                assertEquals(0, endedWatches(metricsPort), "the watch is open");
                signal("STOP", watch.pid());
                try {
                    // the server pings every second and gives up one second after an unanswered ping
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                    while (endedWatches(metricsPort) == 0 && System.nanoTime() < deadline) {
                        Thread.sleep(250);
                    }
                    assertEquals(1, endedWatches(metricsPort), "the paused client's watch ended on the server");
                } finally {
                    signal("CONT", watch.pid());
                }
            }
        }
    }

    /** Watch streams the member has finished, whatever their status (grpc_server_handled_total). */
    private static double endedWatches(int metricsPort) throws IOException, InterruptedException {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metricsPort
                + "/metrics")).timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
        double total = 0;
        for (String line : r.body().split("\n")) {
            if (line.startsWith("grpc_server_handled_total{") && line.contains("grpc_method=\"Watch\"")) {
                total += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return total;
    }

    private static void signal(String sig, long pid) throws IOException, InterruptedException {
        Process k = new ProcessBuilder("kill", "-" + sig, Long.toString(pid)).redirectErrorStream(true).start();
        assertTrue(k.waitFor(10, TimeUnit.SECONDS) && k.exitValue() == 0, "kill -" + sig + " " + pid);
    }
}
