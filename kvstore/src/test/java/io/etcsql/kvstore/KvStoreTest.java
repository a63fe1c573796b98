package io.etcsql.kvstore;

import static io.etcsql.kvstore.KvStoreFixture.ZERO;
import static io.etcsql.kvstore.KvStoreFixture.b;
import static io.etcsql.kvstore.KvStoreFixture.cmd;
import static io.etcsql.kvstore.KvStoreFixture.keys;
import static io.etcsql.kvstore.KvStoreFixture.opPut;
import static io.etcsql.kvstore.KvStoreFixture.putReq;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcdserverpb.DeleteRangeRequest;
import io.etcsql.grpcapi.etcdserverpb.DeleteRangeResponse;
import io.etcsql.grpcapi.etcdserverpb.PutResponse;
import io.etcsql.grpcapi.etcdserverpb.RangeRequest;
import io.etcsql.grpcapi.etcdserverpb.RangeRequest.SortOrder;
import io.etcsql.grpcapi.etcdserverpb.RangeRequest.SortTarget;
import io.etcsql.grpcapi.etcdserverpb.RangeResponse;
import io.etcsql.grpcapi.etcdserverpb.TxnRequest;
import io.etcsql.grpcapi.mvccpb.KeyValue;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Revision numbering, Range, Put and DeleteRange through the public KvStore API, against etcd's semantics. */
class KvStoreTest extends StoreTestBase {

  private static final String FF = new String(new byte[] {(byte) 0xff}, java.nio.charset.StandardCharsets.ISO_8859_1);
  private static final ByteString FF_KEY = ByteString.copyFrom(new byte[] {(byte) 0xff});

  // ---------------------------------------------------------------- revisions

  @Test
  void emptyStoreIsAtRevisionOne() {
    RangeResponse r = s.range(RangeRequest.newBuilder().setKey(ZERO).setRangeEnd(ZERO).build());
    assertEquals(1, r.getHeader().getRevision());
    assertEquals(0, r.getCount());
    assertEquals(0, r.getKvsCount());
  }

  @Test
  void revisionsVersionsAndCreateRevisionsFollowEtcd() {
    assertEquals(2, s.put("foo", "a").getHeader().getRevision(), "first put gets revision 2");
    assertKv(s.get("foo"), "foo", "a", 2, 2, 1);
    assertEquals(3, s.put("foo", "b").getHeader().getRevision());
    assertKv(s.get("foo"), "foo", "b", 2, 3, 2);
    assertEquals(4, s.put("bar", "x").getHeader().getRevision());
    assertKv(s.get("foo"), "foo", "b", 2, 3, 2);

    DeleteRangeResponse d = s.delete("foo");
    assertEquals(1, d.getDeleted());
    assertEquals(5, d.getHeader().getRevision());
    assertNull(s.get("foo"));

    assertEquals(6, s.put("foo", "c").getHeader().getRevision());
    assertKv(s.get("foo"), "foo", "c", 6, 6, 1); // version and create revision start over
    assertEquals(6, s.revision());

    // older revisions are still readable
    assertKv(at("foo", 2), "foo", "a", 2, 2, 1);
    assertKv(at("foo", 4), "foo", "b", 2, 3, 2);
    assertNull(at("foo", 5));
    assertNull(at("foo", 1));
  }

  private KeyValue at(String key, long rev) {
    List<KeyValue> kvs = s.range(RangeRequest.newBuilder().setKey(b(key)).setRevision(rev).build()).getKvsList();
    return kvs.isEmpty() ? null : kvs.get(0);
  }

  private static void assertKv(KeyValue kv, String key, String value, long create, long mod, long version) {
    assertEquals(key, kv.getKey().toStringUtf8());
    assertEquals(value, kv.getValue().toStringUtf8());
    assertEquals(create, kv.getCreateRevision(), "create_revision of " + key);
    assertEquals(mod, kv.getModRevision(), "mod_revision of " + key);
    assertEquals(version, kv.getVersion(), "version of " + key);
  }

  // ---------------------------------------------------------------- range

  /**
   * The data set for the Range table, at revision 11:
   * <pre>
   *   key  value create mod version
   *   a    4     2      6   2
   *   ab   2     4      4   1
   *   abc  5     7      7   1
   *   b    7     3      9   3
   *   c    8     5      11  2
   *   \xff 9     10     10  1
   * </pre>
   */
  private void loadRangeData() {
    s.put("a", "3");   // 2
    s.put("b", "1");   // 3
    s.put("ab", "2");  // 4
    s.put("c", "0");   // 5
    s.put("a", "4");   // 6
    s.put("abc", "5"); // 7
    s.put("b", "6");   // 8
    s.put("b", "7");   // 9
    s.put(putReq("", "9").setKey(FF_KEY).build()); // 10
    s.put("c", "8");   // 11
    assertEquals(11, s.revision());
  }

  private record RangeCase(String name, RangeRequest request, List<String> keys, long count, boolean more) {}

  private static RangeRequest.Builder rr(String key, String end) {
    RangeRequest.Builder r = RangeRequest.newBuilder().setKey(b(key));
    if (end != null) {
      r.setRangeEnd(b(end));
    }
    return r;
  }

  private static RangeRequest.Builder all() {
    return RangeRequest.newBuilder().setKey(ZERO).setRangeEnd(ZERO);
  }

  @Test
  void rangeTable() {
    loadRangeData();
    List<String> everything = List.of("a", "ab", "abc", "b", "c", FF);
    List<RangeCase> cases = List.of(
        new RangeCase("single key", rr("a", null).build(), List.of("a"), 1, false),
        new RangeCase("single missing key", rr("aa", null).build(), List.of(), 0, false),
        new RangeCase("prefix a", rr("a", "b").build(), List.of("a", "ab", "abc"), 3, false),
        new RangeCase("interval [ab, c)", rr("ab", "c").build(), List.of("ab", "abc", "b"), 3, false),
        new RangeCase("from key b", rr("b", "\0").build(), List.of("b", "c", FF), 3, false),
        new RangeCase("all keys, unsigned byte order", all().build(), everything, 6, false),
        new RangeCase("key after range end", rr("c", "b").build(), List.of(), 0, false),
        new RangeCase("limit 2", all().setLimit(2).build(), List.of("a", "ab"), 6, true),
        new RangeCase("limit = count", all().setLimit(6).build(), everything, 6, false),
        new RangeCase("limit > count", all().setLimit(7).build(), everything, 6, false),
        new RangeCase("revision 5", all().setRevision(5).build(), List.of("a", "ab", "b", "c"), 4, false),
        new RangeCase("revision 5 prefix", rr("a", "b").setRevision(5).build(), List.of("a", "ab"), 2, false),
        new RangeCase("revision 1 (empty store)", all().setRevision(1).build(), List.of(), 0, false),
        new RangeCase("current revision", all().setRevision(11).build(), everything, 6, false),
        new RangeCase("key descend", all().setSortOrder(SortOrder.DESCEND).build(),
            List.of(FF, "c", "b", "abc", "ab", "a"), 6, false),
        new RangeCase("key ascend", all().setSortOrder(SortOrder.ASCEND).build(), everything, 6, false),
        new RangeCase("version ascend", rr("b", "\0").setSortTarget(SortTarget.VERSION)
            .setSortOrder(SortOrder.ASCEND).build(), List.of(FF, "c", "b"), 3, false),
        new RangeCase("version descend", rr("b", "\0").setSortTarget(SortTarget.VERSION)
            .setSortOrder(SortOrder.DESCEND).build(), List.of("b", "c", FF), 3, false),
        new RangeCase("value ascend", all().setSortTarget(SortTarget.VALUE).setSortOrder(SortOrder.ASCEND).build(),
            List.of("ab", "a", "abc", "b", "c", FF), 6, false),
        new RangeCase("value descend", all().setSortTarget(SortTarget.VALUE).setSortOrder(SortOrder.DESCEND).build(),
            List.of(FF, "c", "b", "abc", "a", "ab"), 6, false),
        new RangeCase("mod descend", all().setSortTarget(SortTarget.MOD).setSortOrder(SortOrder.DESCEND).build(),
            List.of("c", FF, "b", "abc", "a", "ab"), 6, false),
        new RangeCase("create ascend", all().setSortTarget(SortTarget.CREATE).setSortOrder(SortOrder.ASCEND).build(),
            List.of("a", "b", "ab", "c", "abc", FF), 6, false),
        new RangeCase("create ascend limit 2 sorts everything first",
            all().setSortTarget(SortTarget.CREATE).setSortOrder(SortOrder.ASCEND).setLimit(2).build(),
            List.of("a", "b"), 6, true),
        new RangeCase("mod with order NONE defaults to ascend", all().setSortTarget(SortTarget.MOD).build(),
            List.of("ab", "a", "abc", "b", FF, "c"), 6, false),
        new RangeCase("create with order NONE and limit: etcd sorts the first limit+1 keys",
            all().setSortTarget(SortTarget.CREATE).setLimit(2).build(), List.of("a", "ab"), 6, true),
        new RangeCase("key target, order NONE keeps key order", all().setSortTarget(SortTarget.KEY).build(),
            everything, 6, false),
        new RangeCase("count only", all().setCountOnly(true).build(), List.of(), 6, false),
        new RangeCase("count only with limit", all().setCountOnly(true).setLimit(1).build(), List.of(), 6, false),
        new RangeCase("min mod 7", all().setMinModRevision(7).build(), List.of("abc", "b", "c", FF), 6, false),
        new RangeCase("max mod 6", all().setMaxModRevision(6).build(), List.of("a", "ab"), 6, false),
        new RangeCase("mod in [5, 10]", all().setMinModRevision(5).setMaxModRevision(10).build(),
            List.of("a", "abc", "b", FF), 6, false),
        new RangeCase("min create 5", all().setMinCreateRevision(5).build(), List.of("abc", "c", FF), 6, false),
        new RangeCase("max create 4", all().setMaxCreateRevision(4).build(), List.of("a", "ab", "b"), 6, false),
        new RangeCase("min mod 7 limit 2", all().setMinModRevision(7).setLimit(2).build(),
            List.of("abc", "b"), 6, true),
        new RangeCase("filters on a prefix count the prefix", rr("a", "b").setMinCreateRevision(5).build(),
            List.of("abc"), 3, false),
        new RangeCase("filter and sort", all().setMaxCreateRevision(4).setSortTarget(SortTarget.MOD)
            .setSortOrder(SortOrder.DESCEND).build(), List.of("b", "a", "ab"), 6, false));

    List<String> failures = new ArrayList<>();
    for (RangeCase c : cases) {
      RangeResponse r = s.range(c.request);
      List<String> got = keys(r.getKvsList());
      if (!got.equals(c.keys) || r.getCount() != c.count || r.getMore() != c.more
          || r.getHeader().getRevision() != 11) {
        failures.add(c.name + ": got keys=" + got + " count=" + r.getCount() + " more=" + r.getMore()
            + " rev=" + r.getHeader().getRevision() + "; want keys=" + c.keys + " count=" + c.count
            + " more=" + c.more + " rev=11");
      }
    }
    assertEquals(List.of(), failures);
  }

  @Test
  void rangeReturnsWholeKeyValues() {
    loadRangeData();
    RangeResponse r = s.range(rr("a", "b").build());
    assertKv(r.getKvs(0), "a", "4", 2, 6, 2);
    assertKv(r.getKvs(1), "ab", "2", 4, 4, 1);
    assertKv(r.getKvs(2), "abc", "5", 7, 7, 1);
    // at an older revision, the value and counters as they were then
    RangeResponse old = s.range(rr("a", "\0").setRevision(8).build());
    assertKv(old.getKvs(0), "a", "4", 2, 6, 2);
    assertKv(old.getKvs(3), "b", "6", 3, 8, 2);
    assertKv(old.getKvs(4), "c", "0", 5, 5, 1);
  }

  @Test
  void keysOnlyOmitsValuesButKeepsEverythingElse() {
    loadRangeData();
    RangeResponse r = s.range(all().setKeysOnly(true).build());
    assertEquals(6, r.getKvsCount());
    for (KeyValue kv : r.getKvsList()) {
      assertTrue(kv.getValue().isEmpty(), "value of " + kv.getKey().toStringUtf8());
    }
    assertEquals(3, r.getKvs(3).getVersion());
    assertEquals(9, r.getKvs(3).getModRevision());
    // keys only with a value sort still sorts by value
    RangeResponse sorted = s.range(all().setKeysOnly(true).setSortTarget(SortTarget.VALUE)
        .setSortOrder(SortOrder.ASCEND).build());
    assertEquals(List.of("ab", "a", "abc", "b", "c", FF), keys(sorted.getKvsList()));
    assertTrue(sorted.getKvs(0).getValue().isEmpty());
  }

  @Test
  void rangeAboveTheCurrentRevisionIsAFutureRevision() {
    loadRangeData();
    EtcdException e = assertThrows(EtcdException.class, () -> s.range(all().setRevision(12).build()));
    assertEquals(EtcdError.FUTURE_REV, e.error());
    assertEquals("etcdserver: mvcc: required revision is a future revision", e.getMessage());
  }

  // ---------------------------------------------------------------- put

  @Test
  void putReturnsThePreviousKeyValueWhenAsked() {
    PutResponse first = s.put(putReq("k", "v1").setPrevKv(true).build());
    assertFalse(first.hasPrevKv(), "no previous value for a new key");
    s.put("k", "v2");
    PutResponse third = s.put(putReq("k", "v3").setPrevKv(true).build());
    assertEquals(4, third.getHeader().getRevision());
    assertKv(third.getPrevKv(), "k", "v2", 2, 3, 2);
    PutResponse noPrev = s.put(putReq("k", "v4").build());
    assertFalse(noPrev.hasPrevKv(), "prev_kv only when asked");
  }

  @Test
  void putIgnoreValueKeepsTheValueAndBumpsTheVersion() {
    s.put("k", "keep");
    PutResponse r = s.put(putReq("k", "ignored").setIgnoreValue(true).setPrevKv(true).build());
    assertEquals(3, r.getHeader().getRevision());
    assertEquals("keep", r.getPrevKv().getValue().toStringUtf8());
    assertKv(s.get("k"), "k", "keep", 2, 3, 2);
  }

  @Test
  void putAttachesLeasesAndIgnoreLeaseKeepsIt() {
    assertTrue(s.grant(7, 60).hasLeaseGrant());
    assertTrue(s.grant(8, 60).hasLeaseGrant());
    s.put(putReq("k", "v1").setLease(7).build());
    assertEquals(7, s.get("k").getLease());
    s.put(putReq("k", "v2").setIgnoreLease(true).build());
    assertEquals(7, s.get("k").getLease(), "ignore_lease keeps the key's lease");
    assertEquals("v2", s.get("k").getValue().toStringUtf8());
    assertEquals(List.of(b("k")), s.store.lessor().lookup(7).keys());

    s.put(putReq("k", "v3").setLease(8).build());
    assertEquals(8, s.get("k").getLease());
    assertEquals(List.of(), s.store.lessor().lookup(7).keys(), "moved to lease 8");
    assertEquals(List.of(b("k")), s.store.lessor().lookup(8).keys());

    s.put("k", "v4");
    assertEquals(0, s.get("k").getLease(), "a plain put detaches the lease");
    assertEquals(List.of(), s.store.lessor().lookup(8).keys());
  }

  @Test
  void putErrorsChangeNothing() {
    s.put("k", "v");
    s.assertFailsUnchanged(cmd(putReq("missing", "x").setIgnoreValue(true).build()), EtcdError.KEY_NOT_FOUND);
    s.assertFailsUnchanged(cmd(putReq("missing", "").setIgnoreLease(true).build()), EtcdError.KEY_NOT_FOUND);
    s.assertFailsUnchanged(cmd(putReq("k", "x").setLease(99).build()), EtcdError.LEASE_NOT_FOUND);
    s.assertFailsUnchanged(cmd(putReq("new", "x").setLease(99).build()), EtcdError.LEASE_NOT_FOUND);
    // both wrong: etcd's Put checks the lease first, a Txn's put the key first
    s.assertFailsUnchanged(cmd(putReq("missing", "").setLease(99).setIgnoreValue(true).build()),
        EtcdError.LEASE_NOT_FOUND);
    s.assertFailsUnchanged(cmd(TxnRequest.newBuilder()
        .addSuccess(opPut(putReq("missing", "").setLease(99).setIgnoreValue(true).build())).build()),
        EtcdError.KEY_NOT_FOUND);
    assertEquals(3, s.put("k", "w").getHeader().getRevision(), "the next write gets the next revision");
  }

  @Test
  void putOfAKeyDeletedEarlierKeepsOlderRevisionsReadable() {
    s.put("k", "1");
    s.delete("k");
    s.put("k", "2");
    assertEquals("1", at("k", 2).getValue().toStringUtf8());
    assertNull(at("k", 3));
    assertEquals("2", at("k", 4).getValue().toStringUtf8());
  }

  // ---------------------------------------------------------------- delete

  @Test
  void deleteRangeRemovesEveryKeyInOneRevision() {
    loadRangeData();
    DeleteRangeResponse d = s.delete(DeleteRangeRequest.newBuilder().setKey(b("a")).setRangeEnd(b("b"))
        .setPrevKv(true).build());
    assertEquals(3, d.getDeleted());
    assertEquals(12, d.getHeader().getRevision());
    assertEquals(List.of("a", "ab", "abc"), keys(d.getPrevKvsList()));
    assertKv(d.getPrevKvs(0), "a", "4", 2, 6, 2);
    assertEquals(List.of("b=7", "c=8", FF + "=9"), s.all());
    assertEquals(6, s.all(11).size(), "history before the delete is kept");
    assertEquals(13, s.put("z", "1").getHeader().getRevision(), "three deletions used one revision");
  }

  @Test
  void deleteWithoutPrevKvReturnsOnlyTheCount() {
    loadRangeData();
    DeleteRangeResponse d = s.delete(DeleteRangeRequest.newBuilder().setKey(b("b")).setRangeEnd(ZERO).build());
    assertEquals(3, d.getDeleted());
    assertEquals(0, d.getPrevKvsCount());
    assertEquals(List.of("a=4", "ab=2", "abc=5"), s.all());
  }

  @Test
  void deleteEverything() {
    loadRangeData();
    DeleteRangeResponse d = s.delete(DeleteRangeRequest.newBuilder().setKey(ZERO).setRangeEnd(ZERO).build());
    assertEquals(6, d.getDeleted());
    assertEquals(List.of(), s.all());
    assertEquals(0, s.range(all().build()).getCount());
  }

  @Test
  void deletingNothingDoesNotCreateARevision() {
    s.put("k", "v");
    DeleteRangeResponse d = s.delete(DeleteRangeRequest.newBuilder().setKey(b("x")).setRangeEnd(b("z"))
        .setPrevKv(true).build());
    assertEquals(0, d.getDeleted());
    assertEquals(2, d.getHeader().getRevision(), "header carries the unchanged current revision");
    assertEquals(0, d.getPrevKvsCount());
    assertEquals(0, s.delete("missing").getDeleted());
    assertEquals(2, s.revision());
    s.delete("k");
    assertEquals(0, s.delete("k").getDeleted(), "deleting a deleted key deletes nothing");
    assertEquals(3, s.revision());
  }
}
