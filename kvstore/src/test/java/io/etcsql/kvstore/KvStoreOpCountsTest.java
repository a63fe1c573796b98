package io.etcsql.kvstore;

import static io.etcsql.kvstore.KvStoreFixture.b;
import static io.etcsql.kvstore.KvStoreFixture.cmd;
import static io.etcsql.kvstore.KvStoreFixture.cmp;
import static io.etcsql.kvstore.KvStoreFixture.opGet;
import static io.etcsql.kvstore.KvStoreFixture.opPut;
import static io.etcsql.kvstore.KvStoreFixture.opTxn;
import static io.etcsql.kvstore.KvStoreFixture.putReq;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.etcsql.grpcapi.etcdserverpb.Compare.CompareResult;
import io.etcsql.grpcapi.etcdserverpb.Compare.CompareTarget;
import io.etcsql.grpcapi.etcdserverpb.DeleteRangeRequest;
import io.etcsql.grpcapi.etcdserverpb.RangeRequest;
import io.etcsql.grpcapi.etcdserverpb.TxnRequest;
import io.etcsql.kvstore.mvcc.OpCounts;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * etcd_mvcc_{range,put,delete,txn}_total and the lease counters as etcd 3.4 counts them. Each
 * expected step was observed on etcd 3.4.23 with etcdctl (put, get, put --prev-kv, del, del
 * --prev-kv, txn, lease grant/revoke).
 */
class KvStoreOpCountsTest extends StoreTestBase {
  private final List<Long> seen = new ArrayList<>();

  /** Asserts the counts moved by (ranges, puts, deletes, txns) since the last check. */
  private void moved(String what, long ranges, long puts, long deletes, long txns) {
    OpCounts c = s.store.opCounts();
    long[] now = {c.ranges(), c.puts(), c.deletes(), c.txns()};
    long[] before = seen.isEmpty() ? new long[4] : seen.stream().mapToLong(Long::longValue).toArray();
    assertEquals(List.of(ranges, puts, deletes, txns),
        List.of(now[0] - before[0], now[1] - before[1], now[2] - before[2], now[3] - before[3]), what);
    seen.clear();
    for (long v : now) {
      seen.add(v);
    }
  }

  /** Applies a command that fails with etcd's "key not found" (without reads of its own, which would count). */
  private void fails(io.etcsql.grpcapi.etcsqlpb.ReplicatedCommand c) {
    assertEquals(EtcdError.KEY_NOT_FOUND.name(), s.apply(c).getError().getCode());
  }

  private static final CompareTarget VALUE = CompareTarget.VALUE;
  private static final CompareResult EQ = CompareResult.EQUAL;

  @Test
  void countsAsEtcdsMvccTransactions() {
    moved("a fresh store", 0, 0, 0, 0);
    s.put("a", "1");
    moved("put", 0, 1, 0, 0);
    s.range(RangeRequest.newBuilder().setKey(b("a")).build());
    moved("get", 1, 0, 0, 0);
    s.put(putReq("a", "2").setPrevKv(true).build());
    moved("put --prev-kv reads the previous pair in the same transaction", 1, 1, 0, 1);
    s.delete("a");
    moved("del", 0, 0, 1, 0);
    s.delete(DeleteRangeRequest.newBuilder().setKey(b("nokey")).setPrevKv(true).build());
    moved("del --prev-kv of a missing key", 1, 0, 1, 1);

    s.put("a", "1");
    moved("put", 0, 1, 0, 0);
    s.txn(TxnRequest.newBuilder().addCompare(cmp("a", VALUE, EQ).setValue(b("1")))
        .addSuccess(opPut("b", "1")).build());
    moved("one compare, one put: a read and a write transaction of one operation each", 1, 1, 0, 0);
    s.txn(TxnRequest.newBuilder()
        .addCompare(cmp("a", VALUE, EQ).setValue(b("1"))).addCompare(cmp("b", VALUE, EQ).setValue(b("1")))
        .addSuccess(opPut("b", "1")).addSuccess(opPut("c", "1")).build());
    moved("two compares, two puts", 2, 2, 0, 2);
    s.txn(TxnRequest.newBuilder().addCompare(cmp("a", CompareTarget.VERSION, EQ).setVersion(0))
        .addSuccess(opGet("a")).addSuccess(opGet("b")).addFailure(opGet("c")).build());
    moved("a read-only txn is one transaction: its compare and the failure branch's get", 2, 0, 0, 1);
    s.txn(TxnRequest.newBuilder()
        .addCompare(cmp("zz", VALUE, EQ).setValue(b("1"))).addCompare(cmp("b", VALUE, EQ).setValue(b("1")))
        .addSuccess(opPut("b", "1")).addFailure(opGet("c")).build());
    moved("the first false compare ends the evaluation; the write transaction runs one get", 2, 0, 0, 0);
    fails(cmd(TxnRequest.newBuilder().addSuccess(opTxn(TxnRequest.newBuilder()
        .addSuccess(opPut(putReq("d", "1").setIgnoreLease(true).build())).build())).build()));
    moved("a nested put with ignore_lease of a missing key: the read transaction's check fails", 1, 0, 0, 0);
    fails(cmd(putReq("missing", "").setIgnoreValue(true).build()));
    moved("put --ignore-value of a missing key reads it, then fails", 1, 0, 0, 0);
  }

  @Test
  void aReadOnlyTxnCountsOnlyOnTheMemberThatProposedIt() {
    s.put("a", "1");
    moved("put", 0, 1, 0, 0);
    s.store.opCounts().proposedHere(false);
    TxnRequest readOnly = TxnRequest.newBuilder().addCompare(cmp("a", VALUE, EQ).setValue(b("1")))
        .addSuccess(opGet("a")).build();
    s.txn(readOnly);
    moved("another member's read-only txn", 0, 0, 0, 0);
    s.txn(readOnly.toBuilder().addSuccess(opPut("b", "1")).build());
    moved("another member's write txn is applied here too", 2, 1, 0, 1);
    assertEquals(2 + 2, s.store.opCounts().putBytes(), "a=1 and b=1");
    s.store.opCounts().proposedHere(true);
    s.txn(readOnly);
    moved("this member's read-only txn", 2, 0, 0, 1);
  }

  @Test
  void aRevokedLeaseDeletesEachKeyInOneTransaction() {
    s.grant(7, 100);
    s.put(putReq("k1", "v").setLease(7).build());
    s.put(putReq("k2", "v").setLease(7).build());
    moved("grant and two puts", 0, 2, 0, 0);
    s.revoke(7);
    moved("revoke", 0, 0, 2, 1);
    assertEquals(1, s.store.leaseCounts().granted());
    assertEquals(1, s.store.leaseCounts().revoked());
    s.revoke(7);
    assertEquals(1, s.store.leaseCounts().revoked(), "an unknown lease is not revoked");
  }

  @Test
  void grantedTtlsGoToTheListener() {
    List<Long> ttls = new ArrayList<>();
    s.store.leaseCounts().onGrant(ttls::add);
    s.grant(1, 60);
    s.grant(2, 5);
    s.grant(2, 5); // exists: not granted
    assertEquals(List.of(60L, 5L), ttls);
    assertEquals(2, s.store.leaseCounts().granted());
  }

  @Test
  void eachWriteOfAnAppliedRevisionIsTimed() {
    List<Long> nanos = new ArrayList<>();
    s.store.onBackendCommit(nanos::add);
    s.put("a", "1");
    s.delete("nokey"); // changes nothing: nothing written
    s.delete("a");
    assertEquals(2, nanos.size());
  }
}
