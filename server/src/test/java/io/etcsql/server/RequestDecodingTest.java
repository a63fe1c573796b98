package io.etcsql.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcdserverpb.LeaseGrpc;
import io.etcsql.grpcapi.etcdserverpb.LeaseKeepAliveRequest;
import io.etcsql.grpcapi.etcdserverpb.LeaseKeepAliveResponse;
import io.etcsql.grpcapi.etcdserverpb.LeaseTimeToLiveRequest;
import io.etcsql.grpcapi.etcdserverpb.LeaseTimeToLiveResponse;
import io.etcsql.grpcapi.etcdserverpb.RangeRequest;
import io.etcsql.grpcapi.etcdserverpb.RequestOp;
import io.etcsql.grpcapi.etcdserverpb.TxnRequest;
import io.etcsql.grpcapi.etcdserverpb.WatchCreateRequest;
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
  void aKnownFieldWithTheWrongWireTypeDoesNotParseAsInEtcd() throws Exception {
    // LeaseTimeToLiveRequest.ID (1, a varint) sent length-delimited
    RawCall unary = new RawCall(LeaseGrpc.getLeaseTimeToLiveMethod()).send(new byte[] {0x0a, 0x01, 0x07});
    unary.call.halfClose();
    Status s = unary.status();
    assertEquals(Status.Code.INTERNAL, s.getCode(), s.toString());
    assertEquals("grpc: error unmarshalling request: proto: wrong wireType = 2 for field ID", s.getDescription());
    // in a nested message: a txn's range op with its limit (3, a varint) as a fixed64
    byte[] range = {0x0a, 0x01, 'k', 0x19, 1, 0, 0, 0, 0, 0, 0, 0};
    byte[] op = concat(new byte[] {0x0a, (byte) range.length}, range);
    byte[] txn = concat(new byte[] {0x12, (byte) op.length}, op);
    assertEquals("proto: wrong wireType = 1 for field Limit", EtcdWireFormat.refusal(txn, TxnRequest.getDescriptor()));
    assertEquals(null, EtcdWireFormat.refusal(TxnRequest.newBuilder().addSuccess(RequestOp.newBuilder()
        .setRequestRange(RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8("k")).setLimit(1))).build()
        .toByteArray(), TxnRequest.getDescriptor()));
    // varints protobuf-java reads (dropping bits) and etcd refuses: an 11-byte limit, a 64-bit tag
    byte[] longVarint = {0x0a, 0x01, 'k', 0x18, -1, -1, -1, -1, -1, -1, -1, -1, -1, -39, 0x30, 0x04};
    assertEquals(RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8("k")).setLimit(-1)
        .setSortTarget(RangeRequest.SortTarget.VALUE).build(), RangeRequest.parseFrom(longVarint),
        "protobuf-java's reading: the 11th byte starts another field");
    assertEquals("proto: integer overflow", EtcdWireFormat.refusal(longVarint, RangeRequest.getDescriptor()));
    // a tag past 32 bits: protobuf-java reads field 1 (key, with the wrong wire type), etcd field 2^29 + 1
    byte[] bigTag = {(byte) 0x88, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x10, 0x01};
    assertEquals("proto: RangeRequest: illegal tag 536870913 (wire type 4294967304)",
        EtcdWireFormat.refusal(bigTag, RangeRequest.getDescriptor()));
    // one etcd reads as an unknown field (number 894340921) and protobuf-java too: accepted, as by etcd
    byte[] unknown = {(byte) 0xca, (byte) 0xf3, (byte) 0xd1, (byte) 0xd3, 0x1a, 0x00};
    assertEquals(null, EtcdWireFormat.refusal(unknown, RangeRequest.getDescriptor()));
    // int32(wire >> 3) <= 0: etcd's "illegal tag"
    byte[] negative = {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x01, 0x00};
    assertTrue(EtcdWireFormat.refusal(negative, RangeRequest.getDescriptor()).startsWith("proto: RangeRequest: illegal tag "));
    // a length whose low 32 bits are 0 (protobuf-java: an empty field) and whose int64 is negative
    byte[] negativeLength = {0x0a, 0x01, 'k', 0x12, -128, -128, -128, -128, -128, -128, -128, -128, -128, 0x01};
    assertEquals(RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8("k")).build(),
        RangeRequest.parseFrom(negativeLength), "protobuf-java's reading");
    assertEquals("proto: negative length found during unmarshaling",
        EtcdWireFormat.refusal(negativeLength, RangeRequest.getDescriptor()));
    // packed and unpacked repeated fields both parse, as in etcd
    WatchCreateRequest filters = WatchCreateRequest.newBuilder().setKey(ByteString.copyFromUtf8("k"))
        .addFilters(WatchCreateRequest.FilterType.NOPUT).addFilters(WatchCreateRequest.FilterType.NODELETE).build();
    assertEquals(null, EtcdWireFormat.refusal(filters.toByteArray(), WatchCreateRequest.getDescriptor()));
    assertEquals(null, EtcdWireFormat.refusal(new byte[] {0x28, 0x01, 0x28, 0x00}, WatchCreateRequest.getDescriptor()));
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
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
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
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
