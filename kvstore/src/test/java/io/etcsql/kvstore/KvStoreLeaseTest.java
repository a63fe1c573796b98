package io.etcsql.kvstore;

import static io.etcsql.kvstore.KvStoreFixture.ZERO;
import static io.etcsql.kvstore.KvStoreFixture.b;
import static io.etcsql.kvstore.KvStoreFixture.cmd;
import static io.etcsql.kvstore.KvStoreFixture.putReq;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcsql.grpcapi.etcdserverpb.LeaseCheckpoint;
import io.etcsql.grpcapi.etcdserverpb.LeaseCheckpointRequest;
import io.etcsql.grpcapi.etcdserverpb.LeaseGrantRequest;
import io.etcsql.grpcapi.etcdserverpb.LeaseRevokeRequest;
import io.etcsql.grpcapi.etcsqlpb.CommandResult;
import io.etcsql.grpcapi.etcsqlpb.ReplicatedCommand;
import io.etcsql.grpcapi.mvccpb.Event;
import io.etcsql.kvstore.lease.Lease;
import io.etcsql.kvstore.lease.Lessor;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Lease grant, revoke and checkpoint as replicated commands. */
class KvStoreLeaseTest extends StoreTestBase {

  private Lease lease(long id) {
    return s.store.lessor().lookup(id);
  }

  private static ReplicatedCommand grantCmd(long id, long ttl) {
    return ReplicatedCommand.newBuilder().setLeaseGrant(LeaseGrantRequest.newBuilder().setID(id).setTTL(ttl)).build();
  }

  private static ReplicatedCommand revokeCmd(long id) {
    return ReplicatedCommand.newBuilder().setLeaseRevoke(LeaseRevokeRequest.newBuilder().setID(id)).build();
  }

  private static ReplicatedCommand checkpointCmd(long id, long remaining) {
    return ReplicatedCommand.newBuilder().setLeaseCheckpoint(LeaseCheckpointRequest.newBuilder()
        .addCheckpoints(LeaseCheckpoint.newBuilder().setID(id).setRemainingTTL(remaining))).build();
  }

  @Test
  void grantCreatesALeaseWithoutARevision() {
    s.put("k", "v");
    CommandResult r = s.grant(7, 30);
    assertTrue(r.hasLeaseGrant(), r::toString);
    assertEquals(7, r.getLeaseGrant().getID());
    assertEquals(30, r.getLeaseGrant().getTTL());
    assertEquals(2, r.getLeaseGrant().getHeader().getRevision());
    assertEquals(2, s.revision());
    assertEquals(30, lease(7).ttl());
    assertEquals(0, lease(7).remainingTtl());
    assertEquals(List.of(), lease(7).keys());
  }

  @Test
  void grantErrors() {
    assertTrue(s.grant(7, 30).hasLeaseGrant());
    s.assertFailsUnchanged(grantCmd(7, 60), EtcdError.LEASE_EXIST);
    assertEquals(30, lease(7).ttl(), "the existing lease is untouched");
    s.assertFailsUnchanged(grantCmd(8, Lessor.MAX_LEASE_TTL + 1), EtcdError.LEASE_TTL_TOO_LARGE);
    assertNull(lease(8));
    assertTrue(s.grant(9, Lessor.MAX_LEASE_TTL).hasLeaseGrant(), "the maximum TTL itself is allowed");
  }

  @Test
  void revokeDeletesAttachedKeysInOneRevisionInKeyOrder() {
    assertTrue(s.grant(7, 30).hasLeaseGrant());
    s.put(putReq("k2", "2").setLease(7).build()); // 2
    s.put(putReq("k3", "3").setLease(7).build()); // 3
    s.put(putReq("k1", "1").setLease(7).build()); // 4
    s.put("other", "o");                           // 5
    assertEquals(List.of(b("k1"), b("k2"), b("k3")), lease(7).keys());

    CommandResult r = s.revoke(7);
    assertTrue(r.hasLeaseRevoke(), r::toString);
    assertEquals(6, r.getLeaseRevoke().getHeader().getRevision());
    assertEquals(6, s.revision());
    assertEquals(List.of("other=o"), s.all());
    assertNull(lease(7));

    List<Event> events = s.store.mvcc().events(ZERO.toByteArray(), ZERO.toByteArray(), 6, 6, 100);
    assertEquals(List.of("k1", "k2", "k3"), events.stream().map(e -> e.getKv().getKey().toStringUtf8()).toList());
    assertTrue(events.stream().allMatch(e -> e.getType() == Event.EventType.DELETE));

    s.assertFailsUnchanged(revokeCmd(7), EtcdError.LEASE_NOT_FOUND);
    s.assertFailsUnchanged(cmd(putReq("k1", "again").setLease(7).build()), EtcdError.LEASE_NOT_FOUND);
  }

  @Test
  void revokeOfALeaseWithoutKeysCreatesNoRevision() {
    s.put("k", "v");
    assertTrue(s.grant(7, 30).hasLeaseGrant());
    CommandResult r = s.revoke(7);
    assertTrue(r.hasLeaseRevoke());
    assertEquals(2, r.getLeaseRevoke().getHeader().getRevision());
    assertEquals(2, s.revision());
    assertNull(lease(7));
  }

  @Test
  void revokeSparesKeysThatLeftTheLease() {
    assertTrue(s.grant(7, 30).hasLeaseGrant());
    assertTrue(s.grant(8, 30).hasLeaseGrant());
    s.put(putReq("detached", "1").setLease(7).build());
    s.put(putReq("moved", "1").setLease(7).build());
    s.put(putReq("deleted", "1").setLease(7).build());
    s.put(putReq("kept", "1").setLease(7).build());
    s.put("detached", "2");
    s.put(putReq("moved", "2").setLease(8).build());
    s.delete("deleted");
    assertEquals(List.of(b("kept")), lease(7).keys());
    assertTrue(s.revoke(7).hasLeaseRevoke());
    assertEquals(List.of("detached=2", "moved=2"), s.all());
    assertEquals(List.of(b("moved")), lease(8).keys());
  }

  @Test
  void leasesAndTheirKeysSurviveARestart() throws Exception {
    assertTrue(s.grant(7, 30).hasLeaseGrant());
    assertTrue(s.grant(8, 40).hasLeaseGrant());
    s.put(putReq("a", "1").setLease(7).build());
    s.put(putReq("b", "1").setLease(7).build());
    s.put(putReq("b", "2").setLease(8).build());
    s.put(putReq("c", "1").setLease(8).build());
    s.delete("c");
    s.reopen();
    assertEquals(30, lease(7).ttl());
    assertEquals(List.of(b("a")), lease(7).keys());
    assertEquals(List.of(b("b")), lease(8).keys());
    assertTrue(s.revoke(8).hasLeaseRevoke());
    assertEquals(List.of("a=1"), s.all());
  }

  @Test
  void checkpointIsPersisted() throws Exception {
    assertTrue(s.grant(7, 30).hasLeaseGrant());
    CommandResult r = s.apply(checkpointCmd(7, 12));
    assertTrue(r.hasLeaseCheckpoint(), r::toString);
    assertEquals(12, lease(7).remainingTtl());
    assertEquals(30, lease(7).ttl());
    CommandResult unknown = s.apply(checkpointCmd(99, 5));
    assertTrue(unknown.hasLeaseCheckpoint(), "a checkpoint of an unknown lease is ignored");
    assertNull(lease(99));

    s.reopen();
    assertEquals(12, lease(7).remainingTtl(), "the remaining TTL survives a restart");
    assertEquals(30, lease(7).ttl());
    s.apply(checkpointCmd(7, 0));
    assertEquals(0, lease(7).remainingTtl());
  }
}
