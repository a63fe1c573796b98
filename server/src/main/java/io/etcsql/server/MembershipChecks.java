package io.etcsql.server;

import io.etcsql.grpcapi.etcdserverpb.Member;
import io.etcsql.grpcapi.etcsqlpb.PeerProgress;
import io.etcsql.kvstore.EtcdError;
import io.etcsql.kvstore.StartedMembersRule;
import java.util.List;

/**
 * etcd's checks before a membership change ({@code EtcdServer.mayAddMember}, {@code
 * mayRemoveMember}, {@code mayPromoteMember} with {@code --strict-reconfig-check}, etcd's default):
 * a change must not leave fewer started members than a quorum, must not break the active quorum,
 * and a learner is promoted only once in sync with the leader. "Started" is a member that has
 * published its name. "Active" is one the leader heard from within an election timeout: etcd asks
 * its peer transport, which notices a dead peer's closed connection at once; Ratis' last-answer
 * time is the closest measure, and an election timeout keeps the window in which a dead member
 * still looks active short.
 */
final class MembershipChecks {
  /** etcd's {@code readyPercent}: a learner is in sync at 90% of the leader's progress. */
  static final double READY_PERCENT = 0.9;

  private MembershipChecks() {}

  /** Whether the leader (or the leader itself) counts member {@code id} as connected. */
  private static boolean active(PeerProgress p, long id, long withinMs) {
    if (id == p.getLeaderId()) {
      return true;
    }
    for (PeerProgress.Peer peer : p.getPeersList()) {
      if (peer.getMemberId() == id) {
        return peer.getLastContactMs() < withinMs;
      }
    }
    return false;
  }

  /**
   * Whether member {@code id} is down: not heard from within {@code withinMs} by a leader that has
   * led for at least that long. A leader elected a moment ago has not heard from anyone yet, and a
   * live member taken for a dead one would be removed without the quorum check.
   */
  private static boolean down(PeerProgress p, long id, long withinMs) {
    return p.getLeaderElapsedMs() >= withinMs && !active(p, id, withinMs);
  }

  private static List<Member> voters(List<Member> members) {
    return members.stream().filter(m -> !m.getIsLearner()).toList();
  }

  /** The error for adding a member, or null. */
  static EtcdError add(List<Member> members, boolean learner, PeerProgress progress, long activeWithinMs) {
    // the started-members rule is for voting members only; the connectivity one for every add
    EtcdError notStarted = learner ? null : StartedMembersRule.addVoter(members);
    if (notStarted != null) {
      return notStarted;
    }
    for (Member m : voters(members)) {
      if (!active(progress, m.getID(), activeWithinMs)) {
        return EtcdError.UNHEALTHY; // etcd: not connected to all peers, reconfigure breaks active quorum
      }
    }
    return null;
  }

  /** The error for removing member {@code id} (asked of member {@code self}), or null. */
  static EtcdError remove(List<Member> members, long id, long self, PeerProgress progress, long activeWithinMs) {
    Member target = members.stream().filter(m -> m.getID() == id).findFirst().orElse(null);
    if (target != null && target.getIsLearner()) {
      return null;
    }
    EtcdError notStarted = StartedMembersRule.remove(members, id);
    if (notStarted != null) {
      return notStarted;
    }
    if (id != self && down(progress, id, activeWithinMs)) {
      return null; // a member that is down is safe to remove: it is not part of the active quorum
    }
    List<Member> voters = voters(members);
    long active = voters.stream().filter(m -> active(progress, m.getID(), activeWithinMs)).count();
    if (active - 1 < 1 + (voters.size() - 1) / 2) {
      return EtcdError.UNHEALTHY;
    }
    return null;
  }

  /** The error for promoting member {@code id}, or null (etcd checks existence and role when applying). */
  static EtcdError promote(List<Member> members, long id, PeerProgress progress) {
    Member target = members.stream().filter(m -> m.getID() == id).findFirst().orElse(null);
    if (target == null || !target.getIsLearner()) {
      return null;
    }
    long learnerCommit = -1;
    for (PeerProgress.Peer p : progress.getPeersList()) {
      if (p.getMemberId() == id) {
        learnerCommit = p.getCommitIndex();
      }
    }
    if (learnerCommit < (long) (progress.getLeaderCommitIndex() * READY_PERCENT)) {
      return EtcdError.LEARNER_NOT_READY;
    }
    return StartedMembersRule.promote(members, id);
  }
}
