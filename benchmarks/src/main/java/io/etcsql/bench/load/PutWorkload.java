package io.etcsql.bench.load;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcdserverpb.KVGrpc;
import io.etcsql.grpcapi.etcdserverpb.PutRequest;
import java.util.List;

/** {@code put}: one Put of a key of the key space (random, or sequential) with the run's value. */
final class PutWorkload implements ClosedLoop.Workload {
  private final List<KVGrpc.KVStub> stubs;
  private final Keys keys;
  private final ByteString value;
  private final long timeoutNanos;

  PutWorkload(Connections conns, Keys keys, ByteString value, long timeoutNanos) {
    stubs = conns.stubs(KVGrpc::newStub);
    this.keys = keys;
    this.value = value;
    this.timeoutNanos = timeoutNanos;
  }

  @Override
  public void send(int client, long seq, ClosedLoop.Outcome done) {
    PutRequest req = PutRequest.newBuilder().setKey(keys.get(keys.indexFor(seq))).setValue(value).build();
    Answer.timed(stubs.get(client % stubs.size()), timeoutNanos).put(req, new Answer<>(done));
  }
}
