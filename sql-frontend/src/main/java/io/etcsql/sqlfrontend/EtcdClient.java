package io.etcsql.sqlfrontend;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcdserverpb.ClusterGrpc;
import io.etcsql.grpcapi.etcdserverpb.KVGrpc;
import io.etcsql.grpcapi.etcdserverpb.LeaseGrpc;
import io.etcsql.grpcapi.etcdserverpb.LeaseLeasesRequest;
import io.etcsql.grpcapi.etcdserverpb.LeaseLeasesResponse;
import io.etcsql.grpcapi.etcdserverpb.LeaseTimeToLiveRequest;
import io.etcsql.grpcapi.etcdserverpb.LeaseTimeToLiveResponse;
import io.etcsql.grpcapi.etcdserverpb.MaintenanceGrpc;
import io.etcsql.grpcapi.etcdserverpb.MemberListRequest;
import io.etcsql.grpcapi.etcdserverpb.MemberListResponse;
import io.etcsql.grpcapi.etcdserverpb.RangeRequest;
import io.etcsql.grpcapi.etcdserverpb.RangeResponse;
import io.etcsql.grpcapi.etcdserverpb.StatusRequest;
import io.etcsql.grpcapi.etcdserverpb.StatusResponse;
import io.etcsql.grpcapi.etcdserverpb.WatchCreateRequest;
import io.etcsql.grpcapi.etcdserverpb.WatchGrpc;
import io.etcsql.grpcapi.etcdserverpb.WatchRequest;
import io.etcsql.grpcapi.etcdserverpb.WatchResponse;
import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The etcd v3 API as the SQL frontend uses it: unary calls with a deadline, over one channel (in
 * process inside a node) or over several endpoints, trying the next one when a member is
 * unavailable. Knows nothing of SQL.
 */
public final class EtcdClient implements AutoCloseable {
  /** How long one call may take before it fails with DEADLINE_EXCEEDED. */
  static final long CALL_TIMEOUT_MS = 15_000;

  private final List<Channel> channels;
  private final List<ManagedChannel> owned;
  private volatile int current;

  private EtcdClient(List<Channel> channels, List<ManagedChannel> owned) {
    // each call carries the token of the SQL request it serves, if any (see SqlCredentials)
    this.channels = channels.stream().map(c -> io.grpc.ClientInterceptors.intercept(c, SqlCredentials.attachToken()))
        .toList();
    this.owned = List.copyOf(owned);
  }

  /** A client over a channel someone else owns (the node's in-process channel). */
  public static EtcdClient over(Channel channel) {
    return new EtcdClient(List.of(channel), List.of());
  }

  /**
   * A client of the members at {@code endpoints} ("http://host:port" or "host:port", etcdctl's
   * --endpoints); calls go to the first and move to the next when a member is unavailable.
   */
  public static EtcdClient connect(List<String> endpoints) {
    if (endpoints.isEmpty()) {
      throw new IllegalArgumentException("no etcd endpoints given");
    }
    List<ManagedChannel> chans = new ArrayList<>();
    for (String e : endpoints) {
      URI u = URI.create(e.contains("://") ? e : "http://" + e);
      if (!"http".equals(u.getScheme())) {
        throw new IllegalArgumentException("unsupported endpoint scheme (only http for now): " + e);
      }
      chans.add(NettyChannelBuilder.forAddress(u.getHost(), u.getPort() < 0 ? 2379 : u.getPort())
          .usePlaintext()
          .maxInboundMessageSize(Integer.MAX_VALUE)
          .build());
    }
    return new EtcdClient(new ArrayList<>(chans), chans);
  }

  /** Runs one call, moving on to the next endpoint while the current one is unavailable. */
  private <T> T call(Function<Channel, T> rpc) {
    StatusRuntimeException last = null;
    for (int tried = 0; tried < channels.size(); tried++) {
      int i = current;
      try {
        return rpc.apply(channels.get(i));
      } catch (StatusRuntimeException e) {
        if (e.getStatus().getCode() != Status.Code.UNAVAILABLE || channels.size() == 1) {
          throw e;
        }
        last = e;
        current = (i + 1) % channels.size();
      }
    }
    throw last;
  }

  /** etcd's Authenticate: the token of {@code user}, or the etcd error (wrong password, auth off). */
  String authenticate(String user, String password) {
    return call(ch -> io.etcsql.grpcapi.etcdserverpb.AuthGrpc.newBlockingStub(ch)
        .withDeadlineAfter(CALL_TIMEOUT_MS, TimeUnit.MILLISECONDS)
        .authenticate(io.etcsql.grpcapi.etcdserverpb.AuthenticateRequest.newBuilder().setName(user)
            .setPassword(password).build())).getToken();
  }

  RangeResponse range(RangeRequest request) {
    return call(ch -> KVGrpc.newBlockingStub(ch).withDeadlineAfter(CALL_TIMEOUT_MS, TimeUnit.MILLISECONDS)
        .range(request));
  }

  /** A write: not retried on another endpoint (it may have been applied). */
  io.etcsql.grpcapi.etcdserverpb.TxnResponse txn(io.etcsql.grpcapi.etcdserverpb.TxnRequest request) {
    return KVGrpc.newBlockingStub(channels.get(current)).withDeadlineAfter(CALL_TIMEOUT_MS, TimeUnit.MILLISECONDS)
        .txn(request);
  }

  /** Opens a Watch stream on the current endpoint. */
  io.grpc.stub.StreamObserver<WatchRequest> watch(io.grpc.stub.StreamObserver<WatchResponse> responses) {
    return WatchGrpc.newStub(channels.get(current)).watch(responses);
  }

  /** Whether the members serve etcsql's History service (null: not asked yet). */
  private volatile Boolean history;

  /**
   * A page of etcsql's History.Changes, or null when the server has no History service (a plain
   * etcd): the caller reads history with a Watch instead.
   */
  io.etcsql.grpcapi.etcsqlpb.ChangesResponse changes(io.etcsql.grpcapi.etcsqlpb.ChangesRequest request) {
    return historyCall(ch -> io.etcsql.grpcapi.etcsqlpb.HistoryGrpc.newBlockingStub(ch)
        .withDeadlineAfter(CALL_TIMEOUT_MS, TimeUnit.MILLISECONDS).changes(request));
  }

  /** etcsql's History.RevisionAt, or null over a plain etcd. */
  io.etcsql.grpcapi.etcsqlpb.RevisionAtResponse revisionAt(long unixMs) {
    return historyCall(ch -> io.etcsql.grpcapi.etcsqlpb.HistoryGrpc.newBlockingStub(ch)
        .withDeadlineAfter(CALL_TIMEOUT_MS, TimeUnit.MILLISECONDS)
        .revisionAt(io.etcsql.grpcapi.etcsqlpb.RevisionAtRequest.newBuilder().setUnixMs(unixMs).build()));
  }

  private <T> T historyCall(Function<Channel, T> rpc) {
    if (Boolean.FALSE.equals(history)) {
      return null;
    }
    try {
      T r = call(rpc);
      history = true;
      return r;
    } catch (StatusRuntimeException e) {
      if (e.getStatus().getCode() == Status.Code.UNIMPLEMENTED) {
        history = false;
        return null;
      }
      throw e;
    }
  }

  LeaseLeasesResponse leases() {
    return call(ch -> LeaseGrpc.newBlockingStub(ch).withDeadlineAfter(CALL_TIMEOUT_MS, TimeUnit.MILLISECONDS)
        .leaseLeases(LeaseLeasesRequest.getDefaultInstance()));
  }

  LeaseTimeToLiveResponse timeToLive(long id, boolean keys) {
    return call(ch -> LeaseGrpc.newBlockingStub(ch).withDeadlineAfter(CALL_TIMEOUT_MS, TimeUnit.MILLISECONDS)
        .leaseTimeToLive(LeaseTimeToLiveRequest.newBuilder().setID(id).setKeys(keys).build()));
  }

  MemberListResponse members() {
    return call(ch -> ClusterGrpc.newBlockingStub(ch).withDeadlineAfter(CALL_TIMEOUT_MS, TimeUnit.MILLISECONDS)
        .memberList(MemberListRequest.newBuilder().setLinearizable(true).build()));
  }

  StatusResponse status() {
    return call(ch -> MaintenanceGrpc.newBlockingStub(ch).withDeadlineAfter(CALL_TIMEOUT_MS, TimeUnit.MILLISECONDS)
        .status(StatusRequest.getDefaultInstance()));
  }

  /**
   * The compaction revision (the oldest revision still readable), learned as etcd clients do:
   * a watch from revision 1 is canceled with it. 0 if nothing was compacted.
   */
  long compactRevision() {
    java.util.concurrent.CompletableFuture<Long> result = new java.util.concurrent.CompletableFuture<>();
    io.grpc.stub.StreamObserver<WatchRequest> requests = call(ch -> WatchGrpc.newStub(ch)
        .withDeadlineAfter(CALL_TIMEOUT_MS, TimeUnit.MILLISECONDS)
        .watch(new io.grpc.stub.StreamObserver<WatchResponse>() {
          @Override
          public void onNext(WatchResponse r) {
            if (r.getCompactRevision() != 0 || r.getCanceled()) {
              result.complete(r.getCompactRevision());
            } else if (r.getEventsCount() > 0) {
              result.complete(0L); // events from revision 1 on: nothing was compacted
            }
          }

          @Override
          public void onError(Throwable t) {
            result.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {
            result.complete(0L);
          }
        }));
    requests.onNext(WatchRequest.newBuilder().setCreateRequest(WatchCreateRequest.newBuilder()
        .setKey(ZERO).setRangeEnd(ZERO).setStartRevision(1)).build());
    try {
      return result.get(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 0;
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      return 0; // no cancellation arrived: nothing compacted that this watch would hit
    } finally {
      requests.onCompleted();
    }
  }

  /** The smallest key etcd allows; "\0" as range_end means "to the end of the keyspace". */
  static final ByteString ZERO = ByteString.copyFrom(new byte[] {0});

  /**
   * The range end of every key starting with {@code prefix} (clientv3's GetPrefixRangeEnd, etcdctl
   * --prefix): the prefix with its last byte below 0xff incremented; {@link #ZERO} (to the end)
   * when every byte is 0xff.
   */
  public static ByteString prefixEnd(ByteString prefix) {
    byte[] b = prefix.toByteArray();
    for (int i = b.length - 1; i >= 0; i--) {
      if (b[i] != (byte) 0xff) {
        b[i]++;
        return ByteString.copyFrom(b, 0, i + 1);
      }
    }
    return ZERO;
  }

  @Override
  public void close() {
    for (ManagedChannel c : owned) {
      c.shutdownNow();
    }
  }
}
