package io.etcsql.kvstore;

import static io.etcsql.kvstore.KvStoreFixture.b;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcsql.grpcapi.etcdserverpb.AlarmRequest;
import io.etcsql.grpcapi.etcdserverpb.AlarmType;
import io.etcsql.grpcapi.etcdserverpb.Member;
import io.etcsql.grpcapi.etcdserverpb.RangeRequest;
import io.etcsql.grpcapi.etcdserverpb.RangeResponse;
import io.etcsql.grpcapi.etcsqlpb.MemberBootstrap;
import io.etcsql.grpcapi.etcsqlpb.ReplicatedCommand;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link KvStore#restore}: a new cluster's store from a saved snapshot. */
class KvStoreRestoreTest extends StoreTestBase {
  @TempDir
  Path other;

  private static RangeRequest all() {
    return RangeRequest.newBuilder().setKey(b("\0")).setRangeEnd(b("\0")).build();
  }

  private Path savedSnapshot() throws IOException {
    s.apply(ReplicatedCommand.newBuilder().setMemberBootstrap(MemberBootstrap.newBuilder()
        .setClusterId(0x1234).addMembers(Member.newBuilder().setID(0xaa).addPeerURLs("http://127.0.0.1:2380")))
        .build());
    s.put("a", "1");
    s.put("b", "1");
    s.grant(7, 600);
    s.put(KvStoreFixture.putReq("leased", "x").setLease(7).build());
    s.put("a", "2");
    s.compact(3);
    s.delete("b");
    s.apply(ReplicatedCommand.newBuilder().setAlarm(AlarmRequest.newBuilder()
        .setAction(AlarmRequest.AlarmAction.ACTIVATE).setMemberID(0xaa).setAlarm(AlarmType.NOSPACE)).build());
    Path file = other.resolve("snapshot.db");
    try (OutputStream out = Files.newOutputStream(file)) {
      s.store.writeSnapshot(out);
    }
    return file;
  }

  @Test
  void aRestoredStoreHasTheDataAndHistoryButNoClusterAndStartsAtRaftIndexZero() throws Exception {
    Path file = savedSnapshot();
    RangeResponse before = s.store.range(all());
    long revision = s.revision();

    Path restored = other.resolve("new/member/kv");
    assertEquals(revision, KvStore.restore(restored, file, true));
    try (KvStoreFixture n = new KvStoreFixture(restored)) {
      assertEquals(0, n.store.appliedIndex(), "the new cluster's Raft log applies from its first entry");
      assertEquals(before.getKvsList(), n.store.range(all()).getKvsList());
      assertEquals(revision, n.revision());
      assertThrows(RuntimeException.class,
          () -> n.store.range(RangeRequest.newBuilder().setKey(b("a")).setRevision(2).build()),
          "revisions before the compaction stay compacted");
      assertEquals("1", n.store.range(RangeRequest.newBuilder().setKey(b("a")).setRevision(3).build())
          .getKvs(0).getValue().toStringUtf8(), "history after the compaction is kept");
      assertTrue(n.store.members().isEmpty(), "the old cluster's members are not restored");
      assertTrue(n.store.alarms(AlarmType.NONE).isEmpty(), "alarms belong to the old cluster's members");
      assertEquals(600, n.store.lessor().lookup(7).ttl());
      // the new cluster's first command is applied (not skipped), continuing the revisions
      assertEquals(revision + 1, n.put("c", "1").getHeader().getRevision());
      assertEquals(1, n.store.appliedIndex());
    }
  }

  @Test
  void aCorruptSnapshotIsRefusedUnlessTheHashCheckIsSkipped() throws Exception {
    Path file = savedSnapshot();
    byte[] bytes = Files.readAllBytes(file);
    bytes[bytes.length - 1] ^= 1; // the digest's last byte
    Files.write(file, bytes);
    IOException e = assertThrows(IOException.class, () -> KvStore.restore(other.resolve("x"), file, true));
    assertEquals("snapshot checksum mismatch: the snapshot is corrupt", e.getMessage());
    KvStore.restore(other.resolve("y"), file, false);
    try (KvStore n = KvStore.open(other.resolve("y"), KvStore.Options.defaults())) {
      assertEquals(s.revision(), n.range(all()).getHeader().getRevision());
    }
  }
}
