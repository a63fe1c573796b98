package io.etcsql.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcsql.grpcapi.etcdserverpb.LeaseGrpc;
import io.etcsql.grpcapi.etcdserverpb.LeaseKeepAliveRequest;
import io.etcsql.grpcapi.etcdserverpb.LeaseKeepAliveResponse;
import io.etcsql.grpcapi.etcdserverpb.LeaseTimeToLiveRequest;
import io.etcsql.grpcapi.etcdserverpb.LeaseTimeToLiveResponse;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.etcsql.server.it.RawMethods;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Requests that do not parse or are too large are refused as etcd's gRPC server refuses them, and
 * a bad message on one stream leaves every other call on the connection alone (through a real
 * Netty server on the loopback).
 */
class RequestDecodingTest {
  private static final int MAX_REQUEST_BYTES = 1000;
  private final ScheduledExecutorService later = Executors.newSingleThreadScheduledExecutor();
  private Server server;
  private ManagedChannel channel;

  /** Answers keep-alives a moment later (as LeaseService does, after asking the leader). */
  private final class SlowLease extends LeaseGrpc.LeaseImplBase {
    @Override
    public StreamObserver<LeaseKeepAliveRequest> leaseKeepAlive(StreamObserver<LeaseKeepAliveResponse> out) {
      return new StreamObserver<>() {
        @Override
        public void onNext(LeaseKeepAliveRequest r) {
          later.execute(() -> {
            synchronized (out) {
              out.onNext(LeaseKeepAliveResponse.newBuilder().setID(r.getID()).setTTL(10).build());
            }
          });
        }

        @Override
        public void onError(Throwable t) {
        }

        @Override
        public void onCompleted() {
        }
      };
    }

    @Override
    public void leaseTimeToLive(LeaseTimeToLiveRequest r, StreamObserver<LeaseTimeToLiveResponse> out) {
      out.onNext(LeaseTimeToLiveResponse.newBuilder().setID(r.getID()).build());
      out.onCompleted();
    }
  }

  @BeforeEach
  void start() throws IOException {
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .maxInboundMessageSize(Integer.MAX_VALUE)
        .addService(new RequestDecoding(MAX_REQUEST_BYTES).apply(new SlowLease().bindService()))
        .build().start();
    channel = Grpc.newChannelBuilderForAddress("127.0.0.1", server.getPort(), InsecureChannelCredentials.create())
        .build();
  }

  @AfterEach
  void stop() throws InterruptedException {
    channel.shutdownNow();
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    later.shutdownNow();
  }

  /** A call sending raw bytes, recording what comes back. */
  private final class RawCall extends ClientCall.Listener<byte[]> {
    final List<byte[]> answers = new CopyOnWriteArrayList<>();
    final CompletableFuture<Status> closed = new CompletableFuture<>();
    final ClientCall<byte[], byte[]> call;

    RawCall(MethodDescriptor<?, ?> method) {
      call = channel.newCall(RawMethods.raw(method), CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS));
      call.start(this, new Metadata());
      call.request(Integer.MAX_VALUE);
    }

    RawCall send(byte[] message) {
      call.sendMessage(message);
      return this;
    }

    Status status() throws Exception {
      return closed.get(15, TimeUnit.SECONDS);
    }

    @Override
    public void onMessage(byte[] message) {
      answers.add(message);
    }

    @Override
    public void onClose(Status status, Metadata trailers) {
      closed.complete(status);
    }
  }

  private static byte[] keepAlive(long id) {
    return LeaseKeepAliveRequest.newBuilder().setID(id).build().toByteArray();
  }

  @Test
  void unparsableRequestsGetEtcdsInternalError() throws Exception {
    RawCall unary = new RawCall(LeaseGrpc.getLeaseTimeToLiveMethod()).send(new byte[] {0x0f});
    unary.call.halfClose();
    Status s = unary.status();
    assertEquals(Status.Code.INTERNAL, s.getCode(), s.toString());
    assertTrue(s.getDescription().startsWith("grpc: error unmarshalling request: "), s.toString());

    RawCall stream = new RawCall(LeaseGrpc.getLeaseKeepAliveMethod()).send(new byte[] {0x08});
    s = stream.status();
    assertEquals(Status.Code.INTERNAL, s.getCode(), s.toString());
    assertTrue(s.getDescription().startsWith("grpc: failed to unmarshal the received message "), s.toString());
  }

  @Test
  void aBadMessageOnOneStreamLeavesTheOtherCallsOnTheConnectionAlone() throws Exception {
    RawCall other = new RawCall(LeaseGrpc.getLeaseKeepAliveMethod()).send(keepAlive(1));
    for (int i = 0; i < 500; i++) {
      // a valid keep-alive, answered a moment later, then bytes that do not parse
      RawCall bad = new RawCall(LeaseGrpc.getLeaseKeepAliveMethod()).send(keepAlive(2)).send(new byte[] {0x08});
      assertTrue(!bad.status().isOk());
    }
    other.send(keepAlive(3));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (other.answers.size() < 2 && !other.closed.isDone() && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertTrue(!other.closed.isDone(), "the other stream ended: " + other.closed.getNow(null));
    assertEquals(2, other.answers.size());
    assertEquals(3, LeaseKeepAliveResponse.parseFrom(other.answers.get(1)).getID());
  }

  @Test
  void theSizeLimitCountsTheBytesOnTheWire() throws Exception {
    int limit = MAX_REQUEST_BYTES + RequestDecoding.GRPC_OVERHEAD_BYTES;
    // the same field over and over: on the wire over the limit, parsed a few bytes
    byte[] repeated = new byte[limit + 2];
    for (int i = 0; i < repeated.length; i += 2) {
      repeated[i] = 0x08;
      repeated[i + 1] = 0x01;
    }
    RawCall call = new RawCall(LeaseGrpc.getLeaseTimeToLiveMethod()).send(repeated);
    call.call.halfClose();
    Status s = call.status();
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, s.getCode(), s.toString());
    assertEquals("grpc: received message larger than max (" + repeated.length + " vs. " + limit + ")",
        s.getDescription());

    byte[] justFits = new byte[limit];
    System.arraycopy(repeated, 0, justFits, 0, limit);
    RawCall ok = new RawCall(LeaseGrpc.getLeaseTimeToLiveMethod()).send(justFits);
    ok.call.halfClose();
    assertEquals(Status.Code.OK, ok.status().getCode());
    assertEquals(1, LeaseTimeToLiveResponse.parseFrom(ok.answers.get(0)).getID());
  }
}
