package io.etcsql.kvstore;

import static io.etcsql.kvstore.KvStoreFixture.ZERO;
import static io.etcsql.kvstore.KvStoreFixture.b;
import static io.etcsql.kvstore.KvStoreFixture.cmd;
import static io.etcsql.kvstore.KvStoreFixture.cmp;
import static io.etcsql.kvstore.KvStoreFixture.keys;
import static io.etcsql.kvstore.KvStoreFixture.opDelete;
import static io.etcsql.kvstore.KvStoreFixture.opGet;
import static io.etcsql.kvstore.KvStoreFixture.opPut;
import static io.etcsql.kvstore.KvStoreFixture.opRange;
import static io.etcsql.kvstore.KvStoreFixture.opTxn;
import static io.etcsql.kvstore.KvStoreFixture.putReq;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcsql.grpcapi.etcdserverpb.Compare;
import io.etcsql.grpcapi.etcdserverpb.Compare.CompareResult;
import io.etcsql.grpcapi.etcdserverpb.Compare.CompareTarget;
import io.etcsql.grpcapi.etcdserverpb.RangeRequest;
import io.etcsql.grpcapi.etcdserverpb.RangeResponse;
import io.etcsql.grpcapi.etcdserverpb.ResponseOp;
import io.etcsql.grpcapi.etcdserverpb.TxnRequest;
import io.etcsql.grpcapi.etcdserverpb.TxnResponse;
import io.etcsql.grpcapi.mvccpb.KeyValue;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Txn through the public KvStore API: compares, branches, nesting and revisions as etcd's applier. */
class KvStoreTxnTest extends StoreTestBase {
  /** a="1" (rev 2), b="2" (rev 3), lease 5 granted, l="x" with lease 5 (rev 4). */
  @BeforeEach
  void seed() throws Exception {
    s.put("a", "1");
    s.put("b", "2");
    assertTrue(s.grant(5, 60).hasLeaseGrant());
    s.put(putReq("l", "x").setLease(5).build());
    assertEquals(4, s.revision());
  }


  private static final CompareTarget VERSION = CompareTarget.VERSION;
  private static final CompareTarget CREATE = CompareTarget.CREATE;
  private static final CompareTarget MOD = CompareTarget.MOD;
  private static final CompareTarget VALUE = CompareTarget.VALUE;
  private static final CompareTarget LEASE = CompareTarget.LEASE;
  private static final CompareResult EQ = CompareResult.EQUAL;
  private static final CompareResult NE = CompareResult.NOT_EQUAL;
  private static final CompareResult GT = CompareResult.GREATER;
  private static final CompareResult LT = CompareResult.LESS;

  private record CompareCase(String name, List<Compare> compares, boolean succeeded) {}

  private static CompareCase c(String name, boolean succeeded, Compare.Builder... compares) {
    return new CompareCase(name, java.util.Arrays.stream(compares).map(Compare.Builder::build).toList(), succeeded);
  }

  @Test
  void compareTable() {
    List<CompareCase> cases = List.of(
        c("no compares succeed", true),
        c("version == 1", true, cmp("a", VERSION, EQ).setVersion(1)),
        c("version == 2", false, cmp("a", VERSION, EQ).setVersion(2)),
        c("version != 1", false, cmp("a", VERSION, NE).setVersion(1)),
        c("version > 0", true, cmp("a", VERSION, GT).setVersion(0)),
        c("version < 1", false, cmp("a", VERSION, LT).setVersion(1)),
        c("create == 2", true, cmp("a", CREATE, EQ).setCreateRevision(2)),
        c("create > 2", false, cmp("a", CREATE, GT).setCreateRevision(2)),
        c("mod == 3", true, cmp("b", MOD, EQ).setModRevision(3)),
        c("mod < 3", false, cmp("b", MOD, LT).setModRevision(3)),
        c("mod > 2", true, cmp("b", MOD, GT).setModRevision(2)),
        c("value == 1", true, cmp("a", VALUE, EQ).setValue(b("1"))),
        c("value == 2", false, cmp("a", VALUE, EQ).setValue(b("2"))),
        c("value > 0", true, cmp("a", VALUE, GT).setValue(b("0"))),
        c("value < 0", false, cmp("a", VALUE, LT).setValue(b("0"))),
        c("value != 2", true, cmp("a", VALUE, NE).setValue(b("2"))),
        c("lease == 5", true, cmp("l", LEASE, EQ).setLease(5)),
        c("lease == 6", false, cmp("l", LEASE, EQ).setLease(6)),
        c("no lease == 0", true, cmp("a", LEASE, EQ).setLease(0)),
        c("missing: version == 0", true, cmp("zz", VERSION, EQ).setVersion(0)),
        c("missing: version > 0", false, cmp("zz", VERSION, GT).setVersion(0)),
        c("missing: create == 0", true, cmp("zz", CREATE, EQ).setCreateRevision(0)),
        c("missing: mod < 1", true, cmp("zz", MOD, LT).setModRevision(1)),
        c("missing: lease == 0", true, cmp("zz", LEASE, EQ).setLease(0)),
        c("missing: value == empty always fails", false, cmp("zz", VALUE, EQ).setValue(b(""))),
        c("missing: value != x always fails", false, cmp("zz", VALUE, NE).setValue(b("x"))),
        c("range [a, c) version == 1", true, cmp("a", VERSION, EQ).setRangeEnd(b("c")).setVersion(1)),
        c("range [a, c) mod > 1", true, cmp("a", MOD, GT).setRangeEnd(b("c")).setModRevision(1)),
        c("range [a, c) mod == 2: b differs", false, cmp("a", MOD, EQ).setRangeEnd(b("c")).setModRevision(2)),
        c("range from a lease == 0: l has a lease", false, cmp("a", LEASE, EQ).setRangeEnd(ZERO).setLease(0)),
        c("all keys version == 1", true, cmp("\0", VERSION, EQ).setRangeEnd(ZERO).setVersion(1)),
        c("all keys value > 0", true, cmp("\0", VALUE, GT).setRangeEnd(ZERO).setValue(b("0"))),
        c("empty range [x, z) version == 0", true, cmp("x", VERSION, EQ).setRangeEnd(b("z")).setVersion(0)),
        c("empty range value fails", false, cmp("x", VALUE, NE).setRangeEnd(b("z")).setValue(b("q"))),
        c("all compares hold", true, cmp("a", VERSION, EQ).setVersion(1), cmp("b", VALUE, EQ).setValue(b("2"))),
        c("one compare fails", false, cmp("a", VERSION, EQ).setVersion(1), cmp("b", VALUE, EQ).setValue(b("3"))));

    List<String> failures = new ArrayList<>();
    for (CompareCase cc : cases) {
      TxnResponse r = s.txn(TxnRequest.newBuilder().addAllCompare(cc.compares)
          .addSuccess(opGet("a")).addFailure(opGet("b")).build());
      String branch = keys(r.getResponses(0).getResponseRange().getKvsList()).get(0);
      if (r.getSucceeded() != cc.succeeded || !branch.equals(cc.succeeded ? "a" : "b")
          || r.getHeader().getRevision() != 4) {
        failures.add(cc.name + ": succeeded=" + r.getSucceeded() + " branch=" + branch + " rev="
            + r.getHeader().getRevision());
      }
    }
    assertEquals(List.of(), failures);
    assertEquals(4, s.revision(), "read-only txns create no revision");
  }

  @Test
  void allWritesOfATxnShareOneRevision() {
    TxnResponse r = s.txn(TxnRequest.newBuilder()
        .addCompare(cmp("a", VERSION, EQ).setVersion(1))
        .addSuccess(opPut("x", "1")).addSuccess(opPut("y", "2")).addSuccess(opDelete("b"))
        .addFailure(opPut("f", "1")).build());
    assertTrue(r.getSucceeded());
    assertEquals(5, r.getHeader().getRevision());
    assertEquals(5, r.getResponses(0).getResponsePut().getHeader().getRevision());
    assertEquals(5, r.getResponses(1).getResponsePut().getHeader().getRevision());
    assertEquals(1, r.getResponses(2).getResponseDeleteRange().getDeleted());
    assertEquals(5, r.getResponses(2).getResponseDeleteRange().getHeader().getRevision());
    assertEquals(5, s.get("x").getModRevision());
    assertEquals(5, s.get("y").getModRevision());
    assertNull(s.get("b"));
    assertNull(s.get("f"));
    assertEquals(List.of("a=1", "l=x", "x=1", "y=2"), s.all());
    assertEquals(6, s.put("z", "1").getHeader().getRevision());
  }

  @Test
  void failureBranchRunsWhenACompareFails() {
    TxnResponse r = s.txn(TxnRequest.newBuilder()
        .addCompare(cmp("a", VALUE, EQ).setValue(b("nope")))
        .addSuccess(opPut("s", "1"))
        .addFailure(opPut("f", "1")).addFailure(opGet("a")).build());
    assertFalse(r.getSucceeded());
    assertEquals(2, r.getResponsesCount());
    assertTrue(r.getResponses(0).hasResponsePut());
    assertEquals("1", r.getResponses(1).getResponseRange().getKvs(0).getValue().toStringUtf8());
    assertNull(s.get("s"));
    assertEquals(5, s.get("f").getModRevision());
  }

  @Test
  void readsInsideATxnSeeItsOwnWrites() {
    TxnResponse r = s.txn(TxnRequest.newBuilder()
        .addSuccess(opGet("x"))
        .addSuccess(opPut("x", "1"))
        .addSuccess(opGet("x"))
        .addSuccess(opDelete("x"))
        .addSuccess(opGet("x"))
        .addSuccess(opPut(putReq("x", "2").setPrevKv(true).build()))
        .addSuccess(opRange(RangeRequest.newBuilder().setKey(b("\0")).setRangeEnd(ZERO).setCountOnly(true).build()))
        .addSuccess(opPut(putReq("a", "A").setPrevKv(true).build()))
        .addSuccess(opGet("a"))
        .build());
    List<ResponseOp> ops = r.getResponsesList();
    RangeResponse before = ops.get(0).getResponseRange();
    assertEquals(0, before.getKvsCount());
    assertEquals(4, before.getHeader().getRevision(), "a read before any write sees the begin revision");

    RangeResponse afterPut = ops.get(2).getResponseRange();
    assertEquals(5, afterPut.getHeader().getRevision(), "after a write the txn sees its own revision");
    KeyValue x1 = afterPut.getKvs(0);
    assertEquals("1", x1.getValue().toStringUtf8());
    assertEquals(5, x1.getCreateRevision());
    assertEquals(5, x1.getModRevision());
    assertEquals(1, x1.getVersion());

    assertEquals(0, ops.get(4).getResponseRange().getKvsCount(), "deleted inside the txn");
    assertFalse(ops.get(5).getResponsePut().hasPrevKv(), "re-created after its deletion: no previous value");
    assertEquals(4, ops.get(6).getResponseRange().getCount(), "a, b, l and x");
    assertEquals("1", ops.get(7).getResponsePut().getPrevKv().getValue().toStringUtf8());
    KeyValue a = ops.get(8).getResponseRange().getKvs(0);
    assertEquals("A", a.getValue().toStringUtf8());
    assertEquals(2, a.getVersion());
    assertEquals(5, a.getModRevision());

    assertEquals(5, r.getHeader().getRevision());
    KeyValue x = s.get("x");
    assertEquals("2", x.getValue().toStringUtf8());
    assertEquals(5, x.getCreateRevision(), "created again in the same revision");
    assertEquals(1, x.getVersion());
    assertEquals("A", s.get("a").getValue().toStringUtf8());
  }

  @Test
  void rangeAtAnOlderRevisionInsideATxn() {
    s.put("a", "2"); // rev 5
    TxnResponse r = s.txn(TxnRequest.newBuilder()
        .addSuccess(opPut("a", "3"))
        .addSuccess(opRange(RangeRequest.newBuilder().setKey(b("a")).setRevision(2).build())).build());
    assertEquals("1", r.getResponses(1).getResponseRange().getKvs(0).getValue().toStringUtf8());
    assertEquals(6, r.getResponses(1).getResponseRange().getHeader().getRevision());
  }

  @Test
  void txnThatChangesNothingKeepsTheRevision() {
    TxnResponse r = s.txn(TxnRequest.newBuilder()
        .addSuccess(opDelete("missing")).addSuccess(opGet("a")).build());
    assertEquals(4, r.getHeader().getRevision());
    assertEquals(0, r.getResponses(0).getResponseDeleteRange().getDeleted());
    assertEquals(4, r.getResponses(0).getResponseDeleteRange().getHeader().getRevision());
    assertEquals(4, s.revision());
  }

  @Test
  void nestedTxnComparesSeeTheStateBeforeTheOuterTxn() {
    // etcd evaluates every compare on the chosen path before applying any op
    TxnRequest inner = TxnRequest.newBuilder()
        .addCompare(cmp("n", VERSION, EQ).setVersion(0))
        .addSuccess(opPut("inner", "yes"))
        .addFailure(opPut("inner", "no")).build();
    TxnResponse r = s.txn(TxnRequest.newBuilder()
        .addSuccess(opPut("n", "1"))
        .addSuccess(opTxn(inner)).build());
    assertTrue(r.getSucceeded());
    TxnResponse nested = r.getResponses(1).getResponseTxn();
    assertTrue(nested.getSucceeded());
    assertEquals(1, nested.getResponsesCount());
    assertEquals(5, nested.getResponses(0).getResponsePut().getHeader().getRevision());
    assertEquals(0, nested.getHeader().getRevision(), "etcd leaves nested txn headers empty");
    assertEquals("yes", s.get("inner").getValue().toStringUtf8());
    assertEquals(5, s.get("inner").getModRevision());
    assertEquals(5, s.get("n").getModRevision());
  }

  @Test
  void nestedTxnOnTheFailureBranch() {
    TxnRequest inner = TxnRequest.newBuilder()
        .addCompare(cmp("a", VALUE, EQ).setValue(b("wrong")))
        .addSuccess(opPut("inner", "yes"))
        .addFailure(opPut("inner", "no")).addFailure(opGet("b")).build();
    TxnResponse r = s.txn(TxnRequest.newBuilder()
        .addCompare(cmp("a", VERSION, GT).setVersion(5))
        .addSuccess(opTxn(TxnRequest.getDefaultInstance()))
        .addFailure(opPut("outer", "failed")).addFailure(opTxn(inner)).build());
    assertFalse(r.getSucceeded());
    TxnResponse nested = r.getResponses(1).getResponseTxn();
    assertFalse(nested.getSucceeded());
    assertEquals(2, nested.getResponsesCount());
    assertEquals("2", nested.getResponses(1).getResponseRange().getKvs(0).getValue().toStringUtf8());
    assertEquals("no", s.get("inner").getValue().toStringUtf8());
    assertEquals("failed", s.get("outer").getValue().toStringUtf8());
    assertEquals(s.get("outer").getModRevision(), s.get("inner").getModRevision());
  }

  @Test
  void aFailingOpOnTheChosenPathFailsTheWholeTxn() {
    s.assertFailsUnchanged(cmd(TxnRequest.newBuilder()
        .addSuccess(opPut("x", "1"))
        .addSuccess(opPut(putReq("y", "1").setLease(999).build())).build()), EtcdError.LEASE_NOT_FOUND);
    s.assertFailsUnchanged(cmd(TxnRequest.newBuilder()
        .addSuccess(opPut("x", "1"))
        .addSuccess(opTxn(TxnRequest.newBuilder()
            .addSuccess(opPut(putReq("missing", "1").setIgnoreValue(true).build())).build())).build()),
        EtcdError.KEY_NOT_FOUND);
    s.assertFailsUnchanged(cmd(TxnRequest.newBuilder()
        .addSuccess(opPut("x", "1"))
        .addSuccess(opRange(RangeRequest.newBuilder().setKey(b("a")).setRevision(5).build())).build()),
        EtcdError.FUTURE_REV);
    assertTrue(s.compact(3).hasCompaction());
    s.assertFailsUnchanged(cmd(TxnRequest.newBuilder()
        .addSuccess(opPut("x", "1"))
        .addSuccess(opRange(RangeRequest.newBuilder().setKey(b("a")).setRevision(2).build())).build()),
        EtcdError.COMPACTED);
  }

  @Test
  void onlyTheChosenPathIsChecked() {
    TxnResponse r = s.txn(TxnRequest.newBuilder()
        .addCompare(cmp("a", VERSION, EQ).setVersion(100))
        .addSuccess(opPut(putReq("y", "1").setLease(999).build()))
        .addFailure(opPut("z", "1")).build());
    assertFalse(r.getSucceeded());
    assertEquals("1", s.get("z").getValue().toStringUtf8());
    assertNull(s.get("y"));
  }

  @Test
  void txnPutsAttachLeases() {
    s.txn(TxnRequest.newBuilder().addSuccess(opPut(putReq("m", "1").setLease(5).build())).build());
    assertEquals(List.of(b("l"), b("m")), s.store.lessor().lookup(5).keys());
    s.txn(TxnRequest.newBuilder().addSuccess(opDelete("l")).build());
    assertEquals(List.of(b("m")), s.store.lessor().lookup(5).keys());
  }
}
