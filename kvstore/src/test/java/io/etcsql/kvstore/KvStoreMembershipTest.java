package io.etcsql.kvstore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcsql.grpcapi.etcdserverpb.Member;
import io.etcsql.grpcapi.etcsqlpb.CommandResult;
import io.etcsql.grpcapi.etcsqlpb.MemberAttributes;
import io.etcsql.grpcapi.etcsqlpb.MemberBootstrap;
import io.etcsql.grpcapi.etcsqlpb.MemberChange;
import io.etcsql.grpcapi.etcsqlpb.ReplicatedCommand;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The replicated member registry: etcd's rule that a removed member id never comes back, and its
 * started-members rule checked again when a change applies.
 */
class KvStoreMembershipTest extends StoreTestBase {

  private static Member member(long id, String peerUrl) {
    return Member.newBuilder().setID(id).addPeerURLs(peerUrl).build();
  }

  private static ReplicatedCommand change(MemberChange.Builder c) {
    return ReplicatedCommand.newBuilder().setMemberChange(c).build();
  }

  private static Member learner(long id, String peerUrl) {
    return member(id, peerUrl).toBuilder().setIsLearner(true).build();
  }

  private static ReplicatedCommand publish(long id, String name) {
    return ReplicatedCommand.newBuilder()
        .setMemberAttributes(MemberAttributes.newBuilder().setMemberId(id).setName(name)).build();
  }

  private static void assertRefusedNotStarted(CommandResult r) {
    assertTrue(r.hasError(), () -> "expected a refusal, got " + r);
    assertEquals(EtcdError.MEMBER_NOT_ENOUGH_STARTED.message(), r.getError().getMessage());
  }

  private static List<Long> ids(KvStore store) {
    return store.members().stream().map(Member::getID).sorted().toList();
  }

  private static void assertRefusedAsRemoved(CommandResult r) {
    assertTrue(r.hasError(), () -> "expected a refusal, got " + r);
    assertEquals(EtcdError.MEMBER_NOT_FOUND.message(), r.getError().getMessage(),
        "etcd answers a removed id with ErrGRPCMemberNotFound");
  }

  @Test
  void aRemovedIdCannotBeAddedAgainAlsoAfterASnapshot() throws Exception {
    s.apply(ReplicatedCommand.newBuilder().setMemberBootstrap(MemberBootstrap.newBuilder().setClusterId(9)
        .addMembers(member(1, "http://a:1")).addMembers(member(2, "http://b:2"))).build());
    s.apply(publish(1, "n1"));
    s.apply(publish(2, "n2"));
    Member third = member(3, "http://c:3");
    assertFalse(s.apply(change(MemberChange.newBuilder().setAdd(third))).hasError());
    assertFalse(s.apply(change(MemberChange.newBuilder().setRemove(3))).hasError());
    assertEquals(List.of(1L, 2L), ids(s.store));

    // the same peer URL gives the same id (etcsql computes it): refused, as etcd refuses a removed id
    assertRefusedAsRemoved(s.apply(change(MemberChange.newBuilder().setAdd(third))));
    assertEquals(List.of(1L, 2L), ids(s.store), "a refused add changes nothing");
    // a replacement at another peer URL has another id
    assertFalse(s.apply(change(MemberChange.newBuilder().setAdd(member(4, "http://c:4")))).hasError());
    s.reopen();
    assertRefusedAsRemoved(s.apply(change(MemberChange.newBuilder().setAdd(third))));

    // a member that installs a snapshot knows the removed ids too, so it applies the same result
    ByteArrayOutputStream snapshot = new ByteArrayOutputStream();
    s.store.writeSnapshot(snapshot);
    try (KvStoreFixture other = new KvStoreFixture(dir.resolve("other"))) {
      other.index = other.store.installSnapshot(new ByteArrayInputStream(snapshot.toByteArray()))[1];
      assertEquals(List.of(1L, 2L, 4L), ids(other.store));
      assertRefusedAsRemoved(other.apply(change(MemberChange.newBuilder().setAdd(third))));
      assertEquals(List.of(1L, 2L, 4L), ids(other.store));
    }
  }

  @Test
  void twoAddsCheckedAgainstTheSameMembersCannotBothApply() throws Exception {
    // one started member: etcd lets it add one voter (the only way to grow), not a second one
    s.apply(ReplicatedCommand.newBuilder().setMemberBootstrap(MemberBootstrap.newBuilder().setClusterId(9)
        .addMembers(member(1, "http://a:1"))).build());
    s.apply(publish(1, "n1"));
    assertFalse(s.apply(change(MemberChange.newBuilder().setAdd(member(2, "http://b:2")))).hasError());
    // the second add was checked against {1} by the member that took it, and is refused on apply
    assertRefusedNotStarted(s.apply(change(MemberChange.newBuilder().setAdd(member(3, "http://c:3")))));
    assertEquals(List.of(1L, 2L), ids(s.store), "a refused add changes nothing");
    // learners do not count for the quorum: adding one is fine
    assertFalse(s.apply(change(MemberChange.newBuilder().setAdd(learner(4, "http://d:4")))).hasError());
    // removing the started member would leave only a member that never started
    assertRefusedNotStarted(s.apply(change(MemberChange.newBuilder().setRemove(1))));
    assertEquals(List.of(1L, 2L, 4L), ids(s.store));
    // removing the one that never started is allowed, and so is the learner
    assertFalse(s.apply(change(MemberChange.newBuilder().setRemove(2))).hasError());
    assertFalse(s.apply(change(MemberChange.newBuilder().setRemove(4))).hasError());
    assertEquals(List.of(1L), ids(s.store));
  }
}
