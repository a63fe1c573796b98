package io.etcsql.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.etcsql.grpcapi.etcdserverpb.Member;
import io.etcsql.grpcapi.etcsqlpb.PeerProgress;
import io.etcsql.kvstore.EtcdError;
import java.util.List;
import org.junit.jupiter.api.Test;

/** etcd's strict reconfiguration rules, on the registry and the leader's view of its peers. */
class MembershipChecksTest {
  private static final long ACTIVE_MS = 1000;

  private static Member voter(long id) {
    return Member.newBuilder().setID(id).setName("n" + id).build();
  }

  private static Member unstarted(long id, boolean learner) {
    return Member.newBuilder().setID(id).setIsLearner(learner).build();
  }

  /** Leader 1 for a minute, at commit index 100; each other peer: {id, commit index, ms since last answer}. */
  private static PeerProgress progress(long[]... peers) {
    PeerProgress.Builder b = PeerProgress.newBuilder().setLeaderId(1).setLeaderCommitIndex(100).setLeaderElapsedMs(60_000);
    for (long[] p : peers) {
      b.addPeers(PeerProgress.Peer.newBuilder().setMemberId(p[0]).setCommitIndex(p[1]).setLastContactMs(p[2]));
    }
    return b.build();
  }

  private static final List<Member> THREE = List.of(voter(1), voter(2), voter(3));

  @Test
  void addNeedsEveryVoterConnectedAndEnoughStarted() {
    PeerProgress healthy = progress(new long[] {2, 100, 50}, new long[] {3, 100, 50});
    assertNull(MembershipChecks.add(THREE, false, healthy, ACTIVE_MS));
    PeerProgress n3Down = progress(new long[] {2, 100, 50}, new long[] {3, 90, 4000});
    assertEquals(EtcdError.UNHEALTHY, MembershipChecks.add(THREE, false, n3Down, ACTIVE_MS));
    assertEquals(EtcdError.UNHEALTHY, MembershipChecks.add(THREE, true, n3Down, ACTIVE_MS), "learners too");
    // 2 started of 3 voters, adding a fourth: quorum 3 > 2 started
    List<Member> oneUnstarted = List.of(voter(1), voter(2), unstarted(3, false));
    assertEquals(EtcdError.MEMBER_NOT_ENOUGH_STARTED, MembershipChecks.add(oneUnstarted, false, healthy, ACTIVE_MS));
    // etcd's special case: a second member for a single started one (restoring a cluster)
    assertNull(MembershipChecks.add(List.of(voter(1)), false, progress(), ACTIVE_MS));
  }

  @Test
  void removeProtectsTheActiveQuorumButAlwaysLetsADownMemberGo() {
    PeerProgress n3Down = progress(new long[] {2, 100, 50}, new long[] {3, 90, 4000});
    assertEquals(EtcdError.UNHEALTHY, MembershipChecks.remove(THREE, 2, 1, n3Down, ACTIVE_MS));
    assertNull(MembershipChecks.remove(THREE, 3, 1, n3Down, ACTIVE_MS), "the member that is down");
    PeerProgress healthy = progress(new long[] {2, 100, 50}, new long[] {3, 100, 50});
    assertNull(MembershipChecks.remove(THREE, 1, 1, healthy, ACTIVE_MS), "the leader itself, all connected");
    assertNull(MembershipChecks.remove(List.of(voter(1), voter(2), voter(3), unstarted(4, true)), 4, 1, n3Down,
        ACTIVE_MS), "a learner, whatever the health");
    List<Member> twoUnstarted = List.of(voter(1), unstarted(2, false), unstarted(3, false));
    assertEquals(EtcdError.MEMBER_NOT_ENOUGH_STARTED, MembershipChecks.remove(twoUnstarted, 3, 1, healthy, ACTIVE_MS));
  }

  /**
   * A leader elected a moment ago has heard from no peer yet: a live member must not pass for a
   * down one and be removed without the quorum check (the removal would then wait for the member
   * that really is down).
   */
  @Test
  void aNewLeaderCallsNoMemberDown() {
    PeerProgress justElected = progress(new long[] {2, 100, 2500}, new long[] {3, 90, 2500}).toBuilder()
        .setLeaderElapsedMs(300).build();
    assertEquals(EtcdError.UNHEALTHY, MembershipChecks.remove(THREE, 2, 1, justElected, ACTIVE_MS));
    assertEquals(EtcdError.UNHEALTHY, MembershipChecks.remove(THREE, 3, 1, justElected, ACTIVE_MS));
    PeerProgress n2Answered = progress(new long[] {2, 100, 20}, new long[] {3, 90, 2500}).toBuilder()
        .setLeaderElapsedMs(1200).build();
    assertNull(MembershipChecks.remove(THREE, 3, 1, n2Answered, ACTIVE_MS), "once it has led for an election timeout");
  }

  @Test
  void promoteNeedsTheLearnerAtNinetyPercentOfTheLeader() {
    List<Member> withLearner = List.of(voter(1), voter(2), voter(3), unstarted(4, true));
    assertNull(MembershipChecks.promote(withLearner, 4, progress(new long[] {4, 90, 10})));
    assertEquals(EtcdError.LEARNER_NOT_READY, MembershipChecks.promote(withLearner, 4, progress(new long[] {4, 89, 10})));
    assertEquals(EtcdError.LEARNER_NOT_READY, MembershipChecks.promote(withLearner, 4, progress()),
        "never heard of: not running");
    assertNull(MembershipChecks.promote(THREE, 2, progress()), "not a learner: the apply step answers");
  }
}
