package io.etcsql.bench.load;

import io.etcsql.grpcapi.etcdserverpb.KVGrpc;
import io.etcsql.grpcapi.etcdserverpb.RangeRequest;
import io.etcsql.grpcapi.etcdserverpb.RangeResponse;
import java.util.concurrent.atomic.AtomicLong;
import java.util.List;

/**
 * {@code range KEY [END]}: the same Range again and again, linearizable ({@code --consistency l},
 * etcd's default) or serializable ({@code s}). Remembers how many keys the last answer held.
 */
final class RangeWorkload implements ClosedLoop.Workload {
  private final List<KVGrpc.KVStub> stubs;
  private final RangeRequest request;
  private final long timeoutNanos;
  final AtomicLong lastCount = new AtomicLong(-1);

  RangeWorkload(Connections conns, RangeRequest request, long timeoutNanos) {
    stubs = conns.stubs(KVGrpc::newStub);
    this.request = request;
    this.timeoutNanos = timeoutNanos;
  }

  @Override
  public void send(int client, long seq, ClosedLoop.Outcome done) {
    Answer.timed(stubs.get(client % stubs.size()), timeoutNanos).range(request, new Answer<RangeResponse>(done, r -> {
      lastCount.lazySet(r.getCount());
      return null;
    }));
  }
}
