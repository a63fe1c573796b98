package io.etcsql.bench.load;

import io.etcsql.grpcapi.etcdserverpb.LeaseGrantRequest;
import io.etcsql.grpcapi.etcdserverpb.LeaseGrpc;
import io.etcsql.grpcapi.etcdserverpb.LeaseKeepAliveRequest;
import io.etcsql.grpcapi.etcdserverpb.LeaseKeepAliveResponse;
import io.etcsql.grpcapi.etcdserverpb.LeaseRevokeRequest;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.TimeUnit;
import java.util.List;

/**
 * {@code lease-keepalive}: each client grants itself a lease ({@code --ttl}, 100 s as etcd's
 * benchmark), then renews it once per request. With {@code --stream} (the default) each client
 * keeps one LeaseKeepAlive stream open and sends its next keepalive when the previous one is
 * answered, as etcd's client library keeps a lease alive. With {@code --stream=false} each
 * keepalive opens its own LeaseKeepAlive stream, sends one request, half-closes and takes the one
 * answer: a unary keepalive, which is what etcd's {@code tools/benchmark lease-keepalive} measures
 * (clientv3 {@code KeepAliveOnce}). An answer with TTL &lt;= 0 (lease gone) is an error,
 * {@code LEASE_NOT_FOUND}.
 */
final class LeaseKeepAliveWorkload implements ClosedLoop.Workload {
  private final List<LeaseGrpc.LeaseStub> stubs;
  private final boolean stream;
  private final long[] leases;
  private final KeepAliveStream[] streams;

  LeaseKeepAliveWorkload(Connections conns, int clients, boolean stream) {
    stubs = conns.stubs(LeaseGrpc::newStub);
    this.stream = stream;
    this.leases = new long[clients];
    this.streams = new KeepAliveStream[clients];
  }

  /** Grants every client its lease (on the client's own connection). */
  void grant(Connections conns, long ttlSeconds) {
    for (int c = 0; c < leases.length; c++) {
      leases[c] = LeaseGrpc.newBlockingStub(conns.channel(c)).withDeadlineAfter(30, TimeUnit.SECONDS)
          .leaseGrant(LeaseGrantRequest.newBuilder().setTTL(ttlSeconds).build()).getID();
    }
  }

  /** Revokes the leases, best effort (the run is over). */
  void revoke(Connections conns) {
    for (int c = 0; c < leases.length; c++) {
      try {
        LeaseGrpc.newBlockingStub(conns.channel(c)).withDeadlineAfter(5, TimeUnit.SECONDS)
            .leaseRevoke(LeaseRevokeRequest.newBuilder().setID(leases[c]).build());
      } catch (RuntimeException e) {
        // expired or unreachable: nothing to clean
      }
    }
  }

  @Override
  public void send(int client, long seq, ClosedLoop.Outcome done) {
    LeaseKeepAliveRequest req = LeaseKeepAliveRequest.newBuilder().setID(leases[client]).build();
    if (stream) {
      KeepAliveStream s = streams[client];
      if (s == null || s.broken) {
        s = new KeepAliveStream();
        s.requests = stubs.get(client % stubs.size()).leaseKeepAlive(s);
        streams[client] = s;
      }
      s.pending = done;
      s.requests.onNext(req);
    } else {
      KeepAliveStream s = new KeepAliveStream();
      s.pending = done;
      StreamObserver<LeaseKeepAliveRequest> requests = stubs.get(client % stubs.size()).leaseKeepAlive(s);
      requests.onNext(req);
      requests.onCompleted();
    }
  }

  /** Closes the long-lived streams. */
  void close() {
    for (KeepAliveStream s : streams) {
      if (s != null && !s.broken) {
        s.requests.onCompleted();
      }
    }
  }

  /** One LeaseKeepAlive stream with at most one keepalive outstanding. */
  private static final class KeepAliveStream implements StreamObserver<LeaseKeepAliveResponse> {
    StreamObserver<LeaseKeepAliveRequest> requests;
    volatile ClosedLoop.Outcome pending;
    volatile boolean broken;

    private void answer(Throwable error) {
      ClosedLoop.Outcome p = pending;
      pending = null;
      if (p != null) {
        p.done(error);
      }
    }

    @Override
    public void onNext(LeaseKeepAliveResponse r) {
      answer(r.getTTL() > 0 ? null : new LeaseNotFound());
    }

    @Override
    public void onError(Throwable t) {
      broken = true;
      answer(t);
    }

    @Override
    public void onCompleted() {
      broken = true;
      answer(Status.UNAVAILABLE.withDescription("keepalive stream ended without an answer").asRuntimeException());
    }
  }

  /** A keepalive answered with TTL &lt;= 0. */
  static final class LeaseNotFound extends RuntimeException {
    LeaseNotFound() {
      super("lease not found", null, false, false);
    }
  }
}
