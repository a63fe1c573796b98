package io.etcsql.bench.load;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcdserverpb.Compare;
import io.etcsql.grpcapi.etcdserverpb.KVGrpc;
import io.etcsql.grpcapi.etcdserverpb.PutRequest;
import io.etcsql.grpcapi.etcdserverpb.RangeRequest;
import io.etcsql.grpcapi.etcdserverpb.RangeResponse;
import io.etcsql.grpcapi.etcdserverpb.RequestOp;
import io.etcsql.grpcapi.etcdserverpb.TxnRequest;
import io.etcsql.grpcapi.mvccpb.KeyValue;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * {@code txn-put}: a compare-and-swap per request, {@code if mod_revision(key) == last seen then
 * put(key, value) else range(key)}. The last seen mod revision of each key is the revision of our
 * own last successful put of it, or the one the failure branch read; before the run it is read
 * from the server (one paged keys-only Range), so that keys written earlier do not all fail their
 * first compare. A failed compare is an answered request ({@code succeeded=false}), counted in
 * {@code failed_compares}, not an error, and is not retried.
 */
final class TxnPutWorkload implements ClosedLoop.Workload {
  private static final int SEED_PAGE = 10_000;

  private final List<KVGrpc.KVStub> stubs;
  private final Keys keys;
  private final ByteString value;
  private final long timeoutNanos;
  private final AtomicLongArray modRevisions;
  final LongAdder succeeded = new LongAdder();
  final LongAdder failedCompares = new LongAdder();

  TxnPutWorkload(Connections conns, Keys keys, ByteString value, long timeoutNanos) {
    stubs = conns.stubs(KVGrpc::newStub);
    this.keys = keys;
    this.value = value;
    this.timeoutNanos = timeoutNanos;
    this.modRevisions = new AtomicLongArray(keys.size());
  }

  /** Reads the current mod revision of every key of the key space that exists. */
  void seed(Connections conns) {
    Map<ByteString, Integer> index = new HashMap<>();
    for (int i = 0; i < keys.size(); i++) {
      index.put(keys.get(i), i);
    }
    KVGrpc.KVBlockingStub kv = KVGrpc.newBlockingStub(conns.channel(0));
    ByteString from = ByteString.copyFrom(new byte[] {0});
    while (true) {
      RangeResponse r = kv.withDeadlineAfter(60, TimeUnit.SECONDS).range(RangeRequest.newBuilder().setKey(from)
          .setRangeEnd(ByteString.copyFrom(new byte[] {0})).setKeysOnly(true).setLimit(SEED_PAGE).build());
      List<KeyValue> kvs = r.getKvsList();
      for (KeyValue kvi : kvs) {
        Integer i = index.get(kvi.getKey());
        if (i != null) {
          modRevisions.set(i, kvi.getModRevision());
        }
      }
      if (!r.getMore() || kvs.isEmpty()) {
        return;
      }
      from = kvs.get(kvs.size() - 1).getKey().concat(ByteString.copyFrom(new byte[] {0}));
    }
  }

  @Override
  public void send(int client, long seq, ClosedLoop.Outcome done) {
    int i = keys.indexFor(seq);
    ByteString key = keys.get(i);
    TxnRequest req = TxnRequest.newBuilder()
        .addCompare(Compare.newBuilder().setKey(key).setTarget(Compare.CompareTarget.MOD)
            .setResult(Compare.CompareResult.EQUAL).setModRevision(modRevisions.get(i)))
        .addSuccess(RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(key).setValue(value)))
        .addFailure(RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(key)))
        .build();
    Answer.timed(stubs.get(client % stubs.size()), timeoutNanos).txn(req, new Answer<>(done, r -> {
      long seen;
      if (r.getSucceeded()) {
        succeeded.increment();
        seen = r.getHeader().getRevision();
      } else {
        failedCompares.increment();
        List<KeyValue> kvs = r.getResponses(0).getResponseRange().getKvsList();
        seen = kvs.isEmpty() ? 0 : kvs.get(0).getModRevision();
      }
      modRevisions.accumulateAndGet(i, seen, Math::max);
      return null;
    }));
  }
}
