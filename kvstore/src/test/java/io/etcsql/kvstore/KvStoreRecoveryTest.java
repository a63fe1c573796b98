package io.etcsql.kvstore;

import static io.etcsql.kvstore.KvStoreFixture.ZERO;
import static io.etcsql.kvstore.KvStoreFixture.b;
import static io.etcsql.kvstore.KvStoreFixture.cmd;
import static io.etcsql.kvstore.KvStoreFixture.opDelete;
import static io.etcsql.kvstore.KvStoreFixture.opPut;
import static io.etcsql.kvstore.KvStoreFixture.putReq;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcdserverpb.LeaseCheckpoint;
import io.etcsql.grpcapi.etcdserverpb.LeaseCheckpointRequest;
import io.etcsql.grpcapi.etcdserverpb.LeaseRevokeRequest;
import io.etcsql.grpcapi.etcdserverpb.PutResponse;
import io.etcsql.grpcapi.etcdserverpb.RangeRequest;
import io.etcsql.grpcapi.etcdserverpb.RangeResponse;
import io.etcsql.grpcapi.etcdserverpb.TxnRequest;
import io.etcsql.grpcapi.etcsqlpb.CommandResult;
import io.etcsql.grpcapi.etcsqlpb.ReplicatedCommand;
import io.etcsql.kvstore.backend.MetaStore;
import io.etcsql.kvstore.lease.Lease;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Restarts, crashes in the middle of a command, exactly-once apply, big values and segment roll-over. */
class KvStoreRecoveryTest {
  @TempDir
  Path dir;
  KvStoreFixture s;

  @AfterEach
  void close() {
    if (s != null) {
      s.close();
    }
  }

  private static ReplicatedCommand put(String k, String v) {
    return cmd(putReq(k, v).build());
  }

  /** Rewinds the stored applied index, as if the process had died before recording it. */
  private void rewindAppliedIndex(long term, long index, byte[] pending) throws IOException {
    s.store.close();
    MetaStore meta = new MetaStore(dir, false);
    try {
      meta.setApplied(term, index);
      if (pending != null) {
        meta.setPending(pending);
      }
    } finally {
      meta.close();
    }
    s.store = KvStore.open(dir, s.options);
    s.index = s.store.appliedIndex();
  }

  // ---------------------------------------------------------------- exactly once

  @Test
  void anAlreadyAppliedIndexIsSkipped() throws IOException {
    s = new KvStoreFixture(dir);
    assertTrue(s.store.apply(1, 5, put("a", "1")).hasPut());
    assertEquals(5, s.store.appliedIndex());
    CommandResult again = s.store.apply(1, 5, put("a", "2"));
    assertFalse(again.hasPut(), "index 5 was applied already");
    assertFalse(s.store.apply(1, 3, put("b", "1")).hasPut());
    assertEquals(List.of("a=1"), s.all());
    assertEquals(2, s.revision());

    s.store.applyNoop(2, 6);
    assertEquals(6, s.store.appliedIndex());
    assertEquals(2, s.store.appliedTerm());
    assertFalse(s.store.apply(2, 6, put("c", "1")).hasPut(), "a no-op entry uses its index too");

    s.reopen();
    assertEquals(6, s.store.appliedIndex());
    assertEquals(2, s.store.appliedTerm());
    assertFalse(s.store.apply(1, 5, put("a", "3")).hasPut(), "skipped after a restart too");
    assertTrue(s.store.apply(2, 7, put("a", "3")).hasPut());
    assertEquals(List.of("a=3"), s.all());
    assertEquals(3, s.revision());
  }

  // ---------------------------------------------------------------- restart

  @Test
  void reopenRestoresIdenticalState() throws IOException {
    s = new KvStoreFixture(dir);
    s.term = 3;
    assertTrue(s.grant(7, 30).hasLeaseGrant());
    assertTrue(s.grant(8, 60).hasLeaseGrant());
    for (int i = 0; i < 20; i++) {
      s.put(putReq("key" + (i % 7), "value" + i).setLease(i % 3 == 0 ? 7 : 0).build());
    }
    s.delete("key3");
    s.txn(TxnRequest.newBuilder().addSuccess(opPut("t1", "x")).addSuccess(opDelete("key4"))
        .addSuccess(opPut(putReq("t2", "y").setLease(8).build())).build());
    assertTrue(s.compact(10).hasCompaction());
    s.put("after", "compaction");
    s.apply(ReplicatedCommand.newBuilder().setLeaseCheckpoint(LeaseCheckpointRequest.newBuilder()
        .addCheckpoints(LeaseCheckpoint.newBuilder().setID(8).setRemainingTTL(41))).build());

    Map<String, Object> before = snapshot();
    s.reopen();
    assertEquals(before, snapshot());

    // and it continues where it stopped
    long rev = s.revision();
    assertEquals(rev + 1, s.put("key0", "next").getHeader().getRevision());
    assertTrue(s.revoke(7).hasLeaseRevoke());
    assertTrue(s.range(RangeRequest.newBuilder().setKey(ZERO).setRangeEnd(ZERO).build()).getKvsList().stream()
        .noneMatch(kv -> kv.getLease() == 7), "the keys of lease 7 were known after the restart");
    assertEquals(List.of(b("t2")), s.store.lessor().lookup(8).keys());
  }

  /** Everything a client can observe, for comparing two opens of the same directory. */
  private Map<String, Object> snapshot() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("revision", s.revision());
    m.put("compactRevision", s.store.mvcc().compactRevision());
    m.put("appliedIndex", s.store.appliedIndex());
    m.put("appliedTerm", s.store.appliedTerm());
    long compact = s.store.mvcc().compactRevision();
    for (long rev = compact; rev <= s.revision(); rev++) {
      m.put("range@" + rev, s.range(RangeRequest.newBuilder().setKey(ZERO).setRangeEnd(ZERO).setRevision(rev).build()));
    }
    m.put("events", s.store.mvcc().events(ZERO.toByteArray(), ZERO.toByteArray(), compact, s.revision(), 10_000));
    TreeMap<Long, String> leases = new TreeMap<>();
    for (Lease l : s.store.lessor().leases()) {
      leases.put(l.id(), l.ttl() + "/" + l.remainingTtl() + " " + l.keys().stream().map(KvStoreFixture::str).toList());
    }
    m.put("leases", leases);
    return m;
  }

  // ---------------------------------------------------------------- crashes

  @Test
  void recordsOfACommandPastTheAppliedIndexAreDiscarded() throws IOException {
    s = new KvStoreFixture(dir);
    s.put("a", "1"); // index 1, revision 2
    s.put("b", "1"); // index 2, revision 3
    ReplicatedCommand txn = cmd(TxnRequest.newBuilder()
        .addSuccess(opPut("a", "2")).addSuccess(opDelete("b")).addSuccess(opPut("c", "1")).build());
    CommandResult first = s.apply(txn); // index 3, revision 4
    assertEquals(4, first.getTxn().getHeader().getRevision());

    // the process died after writing the txn's records but before recording index 3 as applied
    rewindAppliedIndex(1, 2, null);
    assertEquals(2, s.store.appliedIndex());
    assertEquals(3, s.revision());
    assertEquals(List.of("a=1", "b=1"), s.all());
    assertEquals(1, s.get("a").getVersion());
    assertEquals(List.of(), s.store.mvcc().events(ZERO.toByteArray(), ZERO.toByteArray(), 4, 4, 10));

    // Raft applies index 3 again: same revision, same result, same state
    CommandResult replayed = s.store.apply(1, 3, txn);
    assertEquals(first, replayed);
    assertEquals(List.of("a=2", "c=1"), s.all());
    assertEquals(2, s.get("a").getVersion());
    s.reopen();
    assertEquals(List.of("a=2", "c=1"), s.all());
    assertEquals(4, s.revision());
  }

  @Test
  void aRevokeInterruptedAfterItsUndoRecordRestoresTheLease() throws IOException {
    s = new KvStoreFixture(dir);
    assertTrue(s.grant(7, 30).hasLeaseGrant());     // index 1
    s.put(putReq("k2", "2").setLease(7).build());   // index 2, revision 2
    s.put(putReq("k1", "1").setLease(7).build());   // index 3, revision 3
    s.apply(ReplicatedCommand.newBuilder().setLeaseCheckpoint(LeaseCheckpointRequest.newBuilder()
        .addCheckpoints(LeaseCheckpoint.newBuilder().setID(7).setRemainingTTL(20))).build()); // index 4
    byte[] persisted = s.store.lessor().persisted(7);
    ReplicatedCommand revoke = ReplicatedCommand.newBuilder()
        .setLeaseRevoke(LeaseRevokeRequest.newBuilder().setID(7)).build();
    CommandResult first = s.apply(revoke); // index 5, revision 4
    assertEquals(4, first.getLeaseRevoke().getHeader().getRevision());
    assertNull(s.store.lessor().lookup(7));

    // died after the revoke removed the lease but before index 5 was recorded as applied
    rewindAppliedIndex(1, 4, undoRecord(5, 7, persisted));
    Lease restored = s.store.lessor().lookup(7);
    assertEquals(30, restored.ttl(), "the undo record brought the lease back");
    assertEquals(20, restored.remainingTtl());
    assertEquals(List.of(b("k1"), b("k2")), restored.keys());
    assertEquals(List.of("k1=1", "k2=2"), s.all());
    assertEquals(3, s.revision());

    CommandResult replayed = s.store.apply(1, 5, revoke);
    assertEquals(first, replayed);
    assertEquals(List.of(), s.all());
    assertNull(s.store.lessor().lookup(7));
    s.reopen();
    assertNull(s.store.lessor().lookup(7), "the pending record was cleared by the finished revoke");
    assertEquals(List.of(), s.all());
  }

  @Test
  void anUndoRecordOfAFinishedCommandIsIgnored() throws IOException {
    s = new KvStoreFixture(dir);
    assertTrue(s.grant(7, 30).hasLeaseGrant());
    s.put(putReq("k", "1").setLease(7).build());
    byte[] persisted = s.store.lessor().persisted(7);
    assertTrue(s.revoke(7).hasLeaseRevoke()); // index 3
    // died after recording index 3 as applied but before clearing the undo record
    rewindAppliedIndex(1, 3, undoRecord(3, 7, persisted));
    assertNull(s.store.lessor().lookup(7));
    assertEquals(List.of(), s.all());
    s.reopen();
    assertNull(s.store.lessor().lookup(7), "the stale undo record was dropped, not applied later");
  }

  /** MetaStore's pending format: raftIndex, then (leaseId, len, encoded lease). */
  private static byte[] undoRecord(long index, long leaseId, byte[] encoded) {
    ByteBuffer b = ByteBuffer.allocate(8 + 8 + 4 + encoded.length);
    b.putLong(index).putLong(leaseId).putInt(encoded.length).put(encoded);
    return b.array();
  }

  // ---------------------------------------------------------------- big values, many segments

  @Test
  void bigValuesRoundTrip() throws IOException {
    s = new KvStoreFixture(dir);
    byte[] big = new byte[1536 * 1024];
    new Random(7).nextBytes(big);
    ByteString value = ByteString.copyFrom(big);
    s.put(putReq("big", "").setValue(value).build());
    s.put("small", "s");
    assertArrayEquals(big, s.get("big").getValue().toByteArray());

    RangeResponse keysOnly = s.range(RangeRequest.newBuilder().setKey(b("big")).setKeysOnly(true).build());
    assertTrue(keysOnly.getKvs(0).getValue().isEmpty());
    assertEquals(2, keysOnly.getKvs(0).getModRevision());

    byte[] big2 = new byte[1536 * 1024 + 3];
    new Random(8).nextBytes(big2);
    PutResponse over = s.put(putReq("big", "").setValue(ByteString.copyFrom(big2)).setPrevKv(true).build());
    assertArrayEquals(big, over.getPrevKv().getValue().toByteArray());

    s.reopen();
    assertArrayEquals(big2, s.get("big").getValue().toByteArray());
    assertArrayEquals(big, s.range(RangeRequest.newBuilder().setKey(b("big")).setRevision(2).build())
        .getKvs(0).getValue().toByteArray());
    assertArrayEquals(big2, s.store.mvcc().events(b("big").toByteArray(), new byte[0], 4, 4, 1)
        .get(0).getKv().getValue().toByteArray());
    assertEquals("s", s.get("small").getValue().toStringUtf8());
  }

  @Test
  void aValueBiggerThanASegmentStillFits() throws IOException {
    s = new KvStoreFixture(dir, 64);
    s.put("small", "s");
    byte[] big = new byte[1536 * 1024];
    new Random(9).nextBytes(big);
    s.put(putReq("big", "").setValue(ByteString.copyFrom(big)).build());
    s.put("after", "a");
    assertArrayEquals(big, s.get("big").getValue().toByteArray());
    s.reopen();
    assertArrayEquals(big, s.get("big").getValue().toByteArray());
    assertEquals(List.of("after=a", "small=s"), s.all().stream().filter(kv -> !kv.startsWith("big=")).toList());
  }

  @Test
  void manyWritesRollOverManySegmentsAndSurviveARestart() throws IOException {
    s = new KvStoreFixture(dir, 64);
    Random random = new Random(42);
    TreeMap<String, String> model = new TreeMap<>();
    Map<Long, List<String>> history = new LinkedHashMap<>();
    for (int i = 0; i < 1500; i++) {
      int choice = random.nextInt(10);
      String key = "k" + random.nextInt(60);
      if (choice < 8) {
        String v = "v" + i;
        s.put(key, v);
        model.put(key, v);
      } else if (choice < 9) {
        s.delete(key);
        model.remove(key);
      } else {
        TxnRequest.Builder t = TxnRequest.newBuilder();
        for (int j = 0; j < 3; j++) {
          String k = "t" + random.nextInt(20);
          t.addSuccess(opPut(k, "tv" + i + "." + j));
          model.put(k, "tv" + i + "." + j);
        }
        s.txn(t.build());
      }
      if (i % 100 == 0) {
        history.put(s.revision(), expected(model));
      }
    }
    assertEquals(expected(model), s.all());
    long segments;
    try (Stream<Path> files = Files.list(dir.resolve("revisions"))) {
      segments = files.count();
    }
    assertTrue(segments > 10, "the log rolled over many segments: " + segments);

    long rev = s.revision();
    s.reopen();
    assertEquals(rev, s.revision());
    assertEquals(expected(model), s.all());
    for (Map.Entry<Long, List<String>> e : history.entrySet()) {
      assertEquals(e.getValue(), s.all(e.getKey()), "state at revision " + e.getKey());
    }
    assertEquals(rev + 1, s.put("k0", "after").getHeader().getRevision());
  }

  private static List<String> expected(TreeMap<String, String> model) {
    List<String> out = new ArrayList<>();
    model.forEach((k, v) -> out.add(k + "=" + v));
    return out;
  }
}
