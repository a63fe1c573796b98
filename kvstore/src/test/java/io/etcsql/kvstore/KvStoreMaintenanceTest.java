package io.etcsql.kvstore;

import static io.etcsql.kvstore.KvStoreFixture.b;
import static io.etcsql.kvstore.KvStoreFixture.opDelete;
import static io.etcsql.kvstore.KvStoreFixture.opGet;
import static io.etcsql.kvstore.KvStoreFixture.opPut;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcdserverpb.AlarmMember;
import io.etcsql.grpcapi.etcdserverpb.AlarmRequest;
import io.etcsql.grpcapi.etcdserverpb.AlarmType;
import io.etcsql.grpcapi.etcdserverpb.LeaseGrantRequest;
import io.etcsql.grpcapi.etcdserverpb.PutRequest;
import io.etcsql.grpcapi.etcdserverpb.TxnRequest;
import io.etcsql.grpcapi.etcsqlpb.CommandResult;
import io.etcsql.grpcapi.etcsqlpb.ReplicatedCommand;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hash, HashKV, alarms (NOSPACE capping), the quota's cost rules and defragmentation. */
class KvStoreMaintenanceTest extends StoreTestBase {
  @TempDir
  Path otherDir;

  private static void history(KvStoreFixture f) {
    f.put("a", "v1");
    f.put("b", "v1");
    f.put("a", "v2");
    f.delete("b");
    f.txn(TxnRequest.newBuilder().addSuccess(opPut("c", "v1")).addSuccess(opPut("d", "v1")).build());
  }

  @Test
  void hashKvIsEqualForTheSameHistoryAndChangesWithIt() throws Exception {
    history(s);
    try (KvStoreFixture other = new KvStoreFixture(otherDir, 2)) { // other segment sizes, same history
      history(other);
      assertArrayEquals(s.store.hashKv(0), other.store.hashKv(0));
      assertArrayEquals(s.store.hashKv(4), other.store.hashKv(4));
      assertEquals(s.store.hash()[0], other.store.hash()[0]);
      long at4 = other.store.hashKv(4)[0];
      other.put("e", "v1");
      assertEquals(at4, other.store.hashKv(4)[0], "a later write does not change the hash at an older revision");
      assertNotEquals(s.store.hashKv(0)[0], other.store.hashKv(0)[0]);
      assertNotEquals(s.store.hash()[0], other.store.hash()[0]);
    }
  }

  @Test
  void hashKvAnswersRevisionsAndEtcdErrors() {
    history(s); // revisions 2..6
    long[] r = s.store.hashKv(0);
    assertEquals(6, r[1], "current revision");
    assertEquals(0, r[2], "compact revision");
    assertNotEquals(s.store.hashKv(3)[0], s.store.hashKv(5)[0]);
    EtcdException future = assertThrows(EtcdException.class, () -> s.store.hashKv(7));
    assertEquals(EtcdError.FUTURE_REV, future.error());
    s.compact(4);
    assertEquals(EtcdError.COMPACTED, assertThrows(EtcdException.class, () -> s.store.hashKv(4)).error());
    assertEquals(EtcdError.COMPACTED, assertThrows(EtcdException.class, () -> s.store.hashKv(3)).error());
    assertEquals(4, s.store.hashKv(5)[2]);
  }

  @Test
  void hashKvOfOnePutIsEtcdsCrcOverRevisionKeyAndKeyValue() {
    s.put("k", "v");
    CRC32C crc = new CRC32C();
    crc.update("key".getBytes());
    byte[] rev = java.nio.ByteBuffer.allocate(17).putLong(2).put((byte) '_').putLong(0).array();
    crc.update(rev);
    crc.update(io.etcsql.grpcapi.mvccpb.KeyValue.newBuilder().setKey(b("k")).setValue(b("v"))
        .setCreateRevision(2).setModRevision(2).setVersion(1).build().toByteArray());
    assertEquals(crc.getValue(), s.store.hashKv(0)[0]);
  }

  private static ReplicatedCommand alarm(AlarmRequest.AlarmAction action, long member, AlarmType type) {
    return ReplicatedCommand.newBuilder()
        .setAlarm(AlarmRequest.newBuilder().setAction(action).setMemberID(member).setAlarm(type))
        .build();
  }

  @Test
  void aSnapshotCarriesTheActiveAlarms() throws Exception {
    s.put("a", "v1");
    s.apply(alarm(AlarmRequest.AlarmAction.ACTIVATE, 0xabcL, AlarmType.NOSPACE));
    java.io.ByteArrayOutputStream snapshot = new java.io.ByteArrayOutputStream();
    s.store.writeSnapshot(snapshot);
    try (KvStoreFixture follower = new KvStoreFixture(otherDir)) {
      follower.store.installSnapshot(new java.io.ByteArrayInputStream(snapshot.toByteArray()));
      follower.index = follower.store.appliedIndex();
      assertEquals(s.store.alarms(AlarmType.NONE), follower.store.alarms(AlarmType.NONE));
      // so the member that installed it refuses the same writes as the others
      follower.assertFailsUnchanged(KvStoreFixture.cmd(KvStoreFixture.putReq("b", "v").build()), EtcdError.NO_SPACE);
      assertArrayEquals(s.store.hash(), follower.store.hash());
    }
  }

  @Test
  void noSpaceAlarmCapsWritesThatAddDataUntilDisarmed() throws Exception {
    s.put("a", "v1");
    s.grant(7, 60);
    CommandResult act = s.apply(alarm(AlarmRequest.AlarmAction.ACTIVATE, 0xabcL, AlarmType.NOSPACE));
    assertEquals(List.of(AlarmMember.newBuilder().setMemberID(0xabcL).setAlarm(AlarmType.NOSPACE).build()),
        act.getAlarm().getAlarmsList());
    // activating again changes nothing
    s.apply(alarm(AlarmRequest.AlarmAction.ACTIVATE, 0xabcL, AlarmType.NOSPACE));
    assertEquals(1, s.store.alarms(AlarmType.NONE).size());

    s.assertFailsUnchanged(KvStoreFixture.cmd(KvStoreFixture.putReq("b", "v").build()), EtcdError.NO_SPACE);
    s.assertFailsUnchanged(KvStoreFixture.cmd(TxnRequest.newBuilder().addSuccess(opGet("a"))
        .addFailure(opPut("x", "y")).build()), EtcdError.NO_SPACE);
    s.assertFailsUnchanged(ReplicatedCommand.newBuilder()
        .setLeaseGrant(LeaseGrantRequest.newBuilder().setID(8).setTTL(60)).build(), EtcdError.NO_SPACE);
    // reads, deletes, txns without puts, compaction and revocation still apply
    s.txn(TxnRequest.newBuilder().addSuccess(opGet("a")).build());
    s.txn(TxnRequest.newBuilder().addSuccess(opDelete("nothing")).build());
    s.delete("a");
    assertFalse(s.compact(s.revision()).hasError());
    assertFalse(s.revoke(7).hasError());

    // persisted: a restart keeps the alarm
    s.reopen();
    assertEquals(1, s.store.alarms(AlarmType.NOSPACE).size());
    assertTrue(s.store.alarms(AlarmType.CORRUPT).isEmpty());

    CommandResult get = s.apply(alarm(AlarmRequest.AlarmAction.GET, 0, AlarmType.NONE));
    assertEquals(1, get.getAlarm().getAlarmsCount());
    CommandResult off = s.apply(alarm(AlarmRequest.AlarmAction.DEACTIVATE, 0xabcL, AlarmType.NOSPACE));
    assertEquals(1, off.getAlarm().getAlarmsCount());
    CommandResult again = s.apply(alarm(AlarmRequest.AlarmAction.DEACTIVATE, 0xabcL, AlarmType.NOSPACE));
    assertEquals(0, again.getAlarm().getAlarmsCount(), "deactivating an inactive alarm answers nothing");
    s.put("b", "v");
  }

  private static ReplicatedCommand alarm(int action, long member, int type) {
    return ReplicatedCommand.newBuilder()
        .setAlarm(AlarmRequest.newBuilder().setActionValue(action).setMemberID(member).setAlarmValue(type))
        .build();
  }

  /** An alarm type or action this version has no name for is applied as etcd applies it, by number. */
  @Test
  void unknownAlarmTypesAndActionsApplyByNumber() throws Exception {
    CommandResult act = s.apply(alarm(AlarmRequest.AlarmAction.ACTIVATE_VALUE, 5, 4));
    AlarmMember four = AlarmMember.newBuilder().setMemberID(5).setAlarmValue(4).build();
    assertFalse(act.hasError(), act.toString());
    assertEquals(List.of(four), act.getAlarm().getAlarmsList());
    s.apply(alarm(AlarmRequest.AlarmAction.ACTIVATE_VALUE, 6, 9));
    assertEquals(List.of(four), s.apply(alarm(AlarmRequest.AlarmAction.GET_VALUE, 0, 4)).getAlarm().getAlarmsList());
    assertEquals(2, s.apply(alarm(AlarmRequest.AlarmAction.GET_VALUE, 0, 0)).getAlarm().getAlarmsCount());
    CommandResult unknownAction = s.apply(alarm(7, 5, 4));
    assertFalse(unknownAction.hasError(), unknownAction.toString());
    assertEquals(0, unknownAction.getAlarm().getAlarmsCount());
    assertTrue(s.store.alarms(AlarmType.NOSPACE).isEmpty(), "an unknown type caps nothing");
    s.put("a", "v");

    s.reopen();
    assertEquals(List.of(four), s.apply(alarm(AlarmRequest.AlarmAction.DEACTIVATE_VALUE, 5, 4)).getAlarm()
        .getAlarmsList());
    assertEquals(List.of(9), s.store.alarms(AlarmType.NONE).stream().map(AlarmMember::getAlarmValue).toList());
  }

  @Test
  void quotaCostsAreEtcds() {
    PutRequest p = PutRequest.newBuilder().setKey(b("key")).setValue(ByteString.copyFrom(new byte[100])).build();
    assertEquals(256 + 3 + 100, QuotaCost.cost(p));
    TxnRequest t = TxnRequest.newBuilder().addSuccess(opPut("a", "1")).addSuccess(opPut("b", "2"))
        .addFailure(opPut("c", "123456")).build();
    assertEquals(2 * (256 + 2), QuotaCost.cost(t), "the bigger branch");
    assertEquals(0, QuotaCost.cost(TxnRequest.newBuilder().addSuccess(opGet("a")).build()));
    assertEquals(64, QuotaCost.cost(LeaseGrantRequest.newBuilder().setTTL(5).build()));

    QuotaCost q = new QuotaCost(1000);
    assertTrue(q.available(p, 1000 - 359 - 1));
    assertFalse(q.available(p, 1000 - 359), "etcd needs size + cost < quota");
    assertTrue(q.available(TxnRequest.newBuilder().addSuccess(opGet("a")).build(), 5000), "no cost, always fits");
    assertEquals(QuotaCost.DEFAULT_QUOTA_BYTES, new QuotaCost(0).maxBytes());
    assertTrue(new QuotaCost(-1).available(p, Long.MAX_VALUE / 2), "negative disables the quota");
  }

  @Test
  void defragmentShrinksFilesAndKeepsEveryRecord() throws Exception {
    try (KvStoreFixture big = new KvStoreFixture(otherDir, 4096)) {
      String value = "x".repeat(2000);
      for (int i = 0; i < 300; i++) {
        big.put("k" + (i % 10), value + i);
      }
      long rev = big.revision();
      long[] hashBefore = big.store.hashKv(0);
      List<String> before = big.all();
      long inUseBefore = big.store.sizeInUse();
      assertFalse(big.compact(rev).hasError());
      assertTrue(big.store.sizeInUse() < inUseBefore / 5, "compaction frees the records' space in use");
      long sizeBefore = big.store.sizeOnDisk();
      long freed = big.store.defragment();
      assertTrue(freed > 0, "freed " + freed);
      assertTrue(big.store.sizeOnDisk() < sizeBefore, big.store.sizeOnDisk() + " < " + sizeBefore);
      assertEquals(before, big.all());
      assertEquals(hashBefore[1], big.store.hashKv(0)[1]);
      // writes continue after a defragmentation, past the compact segment's size
      for (int i = 0; i < 3000; i++) {
        big.put("n" + (i % 50), "v" + i);
      }
      assertEquals(before.size() + 50, big.all().size(), "before reopen");
      big.reopen();
      assertEquals(before.size() + 50, big.all().size());
      assertEquals(value + 299, big.get("k9").getValue().toStringUtf8());
    }
  }
}
