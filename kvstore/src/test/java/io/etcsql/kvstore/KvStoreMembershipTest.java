package io.etcsql.kvstore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcsql.grpcapi.etcdserverpb.Member;
import io.etcsql.grpcapi.etcsqlpb.CommandResult;
import io.etcsql.grpcapi.etcsqlpb.MemberBootstrap;
import io.etcsql.grpcapi.etcsqlpb.MemberChange;
import io.etcsql.grpcapi.etcsqlpb.ReplicatedCommand;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The replicated member registry: etcd's rule that a removed member id never comes back. */
class KvStoreMembershipTest extends StoreTestBase {

  private static Member member(long id, String peerUrl) {
    return Member.newBuilder().setID(id).addPeerURLs(peerUrl).build();
  }

  private static ReplicatedCommand change(MemberChange.Builder c) {
    return ReplicatedCommand.newBuilder().setMemberChange(c).build();
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
}
