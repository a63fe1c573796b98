package io.etcsql.kvstore;

import static io.etcsql.kvstore.KvStoreFixture.ZERO;
import static io.etcsql.kvstore.KvStoreFixture.b;
import static io.etcsql.kvstore.KvStoreFixture.opDelete;
import static io.etcsql.kvstore.KvStoreFixture.opPut;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcsql.grpcapi.etcdserverpb.CompactionRequest;
import io.etcsql.grpcapi.etcdserverpb.RangeRequest;
import io.etcsql.grpcapi.etcdserverpb.TxnRequest;
import io.etcsql.grpcapi.etcsqlpb.CommandResult;
import io.etcsql.grpcapi.etcsqlpb.ReplicatedCommand;
import io.etcsql.grpcapi.mvccpb.Event;
import io.etcsql.grpcapi.mvccpb.KeyValue;
import io.etcsql.kvstore.mvcc.MvccStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Compaction and the history the watch hub reads (MvccStore as HistoryReader). */
class KvStoreCompactionTest extends StoreTestBase {
  /**
   * rev 2: put a=v1; 3: put a=v2; 4: put b=v1; 5: put a=v3; 6: delete b; 7: txn {put c=v1, put ab=v1}.
   */
  @BeforeEach
  void seed() throws Exception {
    s.put("a", "v1");
    s.put("a", "v2");
    s.put("b", "v1");
    s.put("a", "v3");
    s.delete("b");
    s.txn(TxnRequest.newBuilder().addSuccess(opPut("c", "v1")).addSuccess(opPut("ab", "v1")).build());
    assertEquals(7, s.revision());
  }


  private MvccStore mvcc() {
    return s.store.mvcc();
  }

  private static byte[] bytes(String k) {
    return b(k).toByteArray();
  }

  private static List<String> describe(List<Event> events) {
    return events.stream().map(e -> e.getType() + " " + e.getKv().getKey().toStringUtf8() + "@"
        + e.getKv().getModRevision() + (e.getType() == Event.EventType.PUT ? "=" + e.getKv().getValue().toStringUtf8()
        : "")).toList();
  }

  private EtcdError rangeError(long rev) {
    return assertThrows(EtcdException.class,
        () -> s.range(RangeRequest.newBuilder().setKey(ZERO).setRangeEnd(ZERO).setRevision(rev).build())).error();
  }

  private static ReplicatedCommand compaction(long rev) {
    return ReplicatedCommand.newBuilder().setCompaction(CompactionRequest.newBuilder().setRevision(rev)).build();
  }

  // ---------------------------------------------------------------- changes (etcsql's History service)

  private static List<String> describeChanges(MvccStore.ChangesPage page) {
    return describe(page.changes().stream().map(io.etcsql.grpcapi.etcsqlpb.Change::getEvent).toList());
  }

  @Test
  void changesOfOneKeyOrARangeComeThroughTheKeyIndexOldestFirst() {
    assertEquals(List.of("PUT a@2=v1", "PUT a@3=v2", "PUT a@5=v3"), describeChanges(mvcc().changes(b("a"),
        com.google.protobuf.ByteString.EMPTY, 0, 0, 100, false)));
    assertEquals(List.of("PUT b@4=v1", "DELETE b@6"), describeChanges(mvcc().changes(b("b"), b("c"), 3, 6, 100, false)));
    MvccStore.ChangesPage all = mvcc().changes(ZERO, ZERO, 0, 0, 100, true);
    assertEquals(7 - 1 + 1, all.changes().size(), "six revisions, the last with two keys");
    assertEquals("v1", all.changes().get(4).getEvent().getPrevKv().getValue().toStringUtf8(), "prev_kv of b's delete");
    assertEquals(0, all.nextRevision());
  }

  @Test
  void changesComeInPagesThatNeverSplitARevision() {
    MvccStore.ChangesPage first = mvcc().changes(ZERO, ZERO, 0, 0, 5, false);
    assertEquals(List.of("PUT a@2=v1", "PUT a@3=v2", "PUT b@4=v1", "PUT a@5=v3", "DELETE b@6"), describeChanges(first));
    assertEquals(7, first.nextRevision());
    MvccStore.ChangesPage second = mvcc().changes(ZERO, ZERO, 0, 0, 1, false);
    assertEquals(3, second.nextRevision());
    MvccStore.ChangesPage rest = mvcc().changes(ZERO, ZERO, 6, 0, 1, false);
    assertEquals(List.of("DELETE b@6"), describeChanges(rest), "stops after the revision reaching the limit");
    MvccStore.ChangesPage txn = mvcc().changes(ZERO, ZERO, 7, 0, 1, false);
    assertEquals(List.of("PUT ab@7=v1", "PUT c@7=v1"), describeChanges(txn).stream().sorted().toList(),
        "both keys of one revision in one page");
    assertEquals(0, txn.nextRevision());
  }

  @Test
  void changesBelowTheCompactionPointAreCompactedAndCommitTimesFindRevisions() {
    s.apply(compaction(4));
    assertEquals(EtcdError.COMPACTED, assertThrows(EtcdException.class,
        () -> mvcc().changes(b("a"), com.google.protobuf.ByteString.EMPTY, 3, 0, 10, false)).error());
    assertEquals(List.of("PUT a@5=v3"), describeChanges(mvcc().changes(b("a"), com.google.protobuf.ByteString.EMPTY,
        0, 0, 10, false)), "from the oldest revision held");
    // the fixture's commands carry no commit time (0): every revision held was committed "at 0"
    assertEquals(7, mvcc().revisionAt(0)[0]);
    assertEquals(0, mvcc().revisionAt(-1)[0]);
    s.apply(KvStoreFixture.cmd(KvStoreFixture.putReq("x", "1").build()).toBuilder().setCommittedAtUnixMs(5000)
        .setPrincipal("alice").build());
    s.apply(KvStoreFixture.cmd(KvStoreFixture.putReq("x", "2").build()).toBuilder().setCommittedAtUnixMs(9000).build());
    assertEquals(7, mvcc().revisionAt(4999)[0]);
    assertEquals(8, mvcc().revisionAt(5000)[0]);
    assertEquals(9, mvcc().revisionAt(1_000_000)[0]);
    assertEquals(9000, mvcc().revisionAt(1_000_000)[1]);
    io.etcsql.grpcapi.etcsqlpb.Change c = mvcc().changes(b("x"), com.google.protobuf.ByteString.EMPTY, 0, 0, 10, false)
        .changes().get(0);
    assertEquals(5000, c.getCommittedAtUnixMs());
    assertEquals("alice", c.getPrincipal());
  }

  // ---------------------------------------------------------------- compaction

  @Test
  void compactionHidesHistoryBelowAndKeepsTheCompactRevisionReadable() {
    CommandResult r = s.compact(5);
    assertTrue(r.hasCompaction(), r::toString);
    assertEquals(7, r.getCompaction().getHeader().getRevision(), "compaction does not create a revision");
    assertEquals(7, s.revision());
    assertEquals(5, mvcc().compactRevision());

    assertEquals(EtcdError.COMPACTED, rangeError(4));
    assertEquals(EtcdError.COMPACTED, rangeError(2));
    assertEquals(List.of("a=v3", "b=v1"), s.all(5), "reading exactly at the compact revision works");
    assertEquals(List.of("a=v3"), s.all(6));
    assertEquals(List.of("a=v3", "ab=v1", "c=v1"), s.all());
    assertEquals(EtcdError.FUTURE_REV, rangeError(8));
    // the versions and create revisions of surviving values are unchanged
    KeyValue a = s.get("a");
    assertEquals(2, a.getCreateRevision());
    assertEquals(3, a.getVersion());
  }

  @Test
  void compactionErrors() {
    s.assertFailsUnchanged(compaction(8), EtcdError.FUTURE_REV);
    assertTrue(s.compact(5).hasCompaction());
    s.assertFailsUnchanged(compaction(5), EtcdError.COMPACTED);
    s.assertFailsUnchanged(compaction(3), EtcdError.COMPACTED);
    assertEquals(5, mvcc().compactRevision());
    assertTrue(s.compact(7).hasCompaction(), "compacting at the current revision is allowed");
    assertEquals(List.of("a=v3", "ab=v1", "c=v1"), s.all(7));
    assertEquals(8, s.put("d", "1").getHeader().getRevision());
  }

  @Test
  void compactionRemovesHistoryPhysically() throws IOException {
    assertEquals(4, mvcc().indexedKeys(), "a, ab, b and c have history");
    assertTrue(s.compact(6).hasCompaction());
    assertEquals(3, mvcc().indexedKeys(), "b was deleted at 6: nothing of it is left");
    assertEquals(List.of("PUT c@7=v1", "PUT ab@7=v1"),
        describe(mvcc().events(bytes("\0"), bytes("\0"), 6, 7, 100)), "b's deletion at 6 is gone too");

    // after a restart the removed records do not come back
    s.reopen();
    assertEquals(6, s.store.mvcc().compactRevision());
    assertEquals(3, s.store.mvcc().indexedKeys());
    assertEquals(EtcdError.COMPACTED, rangeError(5));
    assertEquals(List.of("a=v3"), s.all(6));
    assertEquals(List.of("a=v3", "ab=v1", "c=v1"), s.all());
    assertEquals(8, s.put("d", "1").getHeader().getRevision());
  }

  @Test
  void compactionDropsEmptiedSegmentFiles() throws IOException {
    s.close();
    try (KvStoreFixture small = new KvStoreFixture(dir.resolve("small"), 64)) {
      for (int i = 0; i < 400; i++) {
        small.put("k", "value-" + i);
      }
      long before = segmentFiles(small.dir);
      assertTrue(before > 3, "400 revisions in segments of 64 entries: " + before);
      assertTrue(small.compact(small.revision()).hasCompaction());
      long after = segmentFiles(small.dir);
      assertTrue(after < before, "segments holding only compacted history are removed: " + after);
      assertEquals("k=value-399", small.all().get(0));
      assertEquals(400, small.get("k").getVersion());
      small.reopen();
      assertEquals(List.of("k=value-399"), small.all());
      assertEquals(402, small.put("k", "x").getHeader().getRevision());
    }
  }

  private static long segmentFiles(Path storeDir) throws IOException {
    try (Stream<Path> files = Files.list(storeDir.resolve("revisions"))) {
      return files.filter(p -> p.getFileName().toString().endsWith(".cmap")).count();
    }
  }

  // ---------------------------------------------------------------- history (watch catch-up)

  @Test
  void eventsBetweenRevisionsFilteredByRange() {
    assertEquals(List.of("PUT a@2=v1", "PUT a@3=v2", "PUT b@4=v1", "PUT a@5=v3", "DELETE b@6", "PUT c@7=v1",
        "PUT ab@7=v1"), describe(mvcc().events(bytes("\0"), bytes("\0"), 1, 7, 100)));
    assertEquals(List.of("PUT a@2=v1", "PUT a@3=v2", "PUT a@5=v3"),
        describe(mvcc().events(bytes("a"), new byte[0], 1, 100, 100)), "a single key; toRevision is clamped");
    assertEquals(List.of("PUT a@3=v2", "PUT a@5=v3", "PUT ab@7=v1"),
        describe(mvcc().events(bytes("a"), bytes("b"), 3, 7, 100)), "prefix a from revision 3");
    assertEquals(List.of("PUT b@4=v1", "DELETE b@6", "PUT c@7=v1"),
        describe(mvcc().events(bytes("b"), bytes("\0"), 2, 7, 100)), "from key b");
    assertEquals(List.of("PUT b@4=v1"), describe(mvcc().events(bytes("\0"), bytes("\0"), 4, 4, 100)));
    assertEquals(List.of(), mvcc().events(bytes("\0"), bytes("\0"), 8, 20, 100));
  }

  @Test
  void deleteEventsCarryOnlyKeyAndModRevision() {
    Event del = mvcc().events(bytes("b"), new byte[0], 6, 6, 10).get(0);
    assertEquals(Event.EventType.DELETE, del.getType());
    assertEquals(KeyValue.newBuilder().setKey(b("b")).setModRevision(6).build(), del.getKv());
  }

  @Test
  void eventsStopAtMaxEventsButNeverSplitARevision() {
    assertEquals(2, mvcc().events(bytes("\0"), bytes("\0"), 2, 7, 2).size());
    assertEquals(List.of("PUT c@7=v1", "PUT ab@7=v1"),
        describe(mvcc().events(bytes("\0"), bytes("\0"), 7, 7, 1)), "both changes of revision 7");
  }

  @Test
  void eventsBelowTheCompactionPointAreCompacted() {
    assertTrue(s.compact(5).hasCompaction());
    EtcdException e = assertThrows(EtcdException.class, () -> mvcc().events(bytes("a"), new byte[0], 4, 7, 100));
    assertEquals(EtcdError.COMPACTED, e.error());
    assertEquals(List.of("PUT a@5=v3", "DELETE b@6", "PUT c@7=v1", "PUT ab@7=v1"),
        describe(mvcc().events(bytes("\0"), bytes("\0"), 5, 7, 100)));
  }

  @Test
  void eventsAtTheCompactRevisionKeepLiveChangesOfThatRevision() {
    // rev 8: txn {delete a (sub 0), put d (sub 1)}; compacting at 8 removes a's tombstone only
    s.txn(TxnRequest.newBuilder().addSuccess(opDelete("a")).addSuccess(opPut("d", "v1")).build());
    assertTrue(s.compact(8).hasCompaction());
    assertEquals(List.of("ab=v1", "c=v1", "d=v1"), s.all(8));
    assertEquals(List.of("PUT d@8=v1"), describe(mvcc().events(bytes("d"), new byte[0], 8, 8, 100)));
  }

  @Test
  void previousIsTheValueJustBeforeARevision() {
    KeyValue prev = mvcc().previous(bytes("a"), 5);
    assertEquals("v2", prev.getValue().toStringUtf8());
    assertEquals(3, prev.getModRevision());
    assertEquals(2, prev.getVersion());
    assertEquals("v2", mvcc().previous(bytes("a"), 4).getValue().toStringUtf8());
    assertNull(mvcc().previous(bytes("a"), 2), "a did not exist before its creation");
    assertNull(mvcc().previous(bytes("b"), 4), "b did not exist before its creation");
    assertEquals("v1", mvcc().previous(bytes("b"), 6).getValue().toStringUtf8(), "prev of the delete event");
    assertNull(mvcc().previous(bytes("b"), 7), "b was deleted at 6");
    assertNull(mvcc().previous(bytes("nope"), 7));
  }
}
