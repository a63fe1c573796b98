package io.etcsql.kvstore;

import io.etcsql.grpcapi.etcdserverpb.Member;
import java.util.List;

/**
 * etcd's strict-reconfiguration rule on started members: a change of the voting members must
 * leave at least a quorum of them started ("started" is a member that has published its name).
 * It depends only on the replicated member registry, so it is checked twice: by the member that
 * takes the request, to answer at once, and again when the change is applied, so that two changes
 * checked against the same registry cannot both pass (three voters of which one is started, after
 * two concurrent adds to a single member).
 */
public final class StartedMembersRule {
  private StartedMembersRule() {}

  private static boolean started(Member m) {
    return !m.getName().isEmpty();
  }

  private static List<Member> voters(List<Member> members) {
    return members.stream().filter(m -> !m.getIsLearner()).toList();
  }

  /** The error for adding a voting member to {@code members}, or null. */
  public static EtcdError addVoter(List<Member> members) {
    List<Member> voters = voters(members);
    int nmembers = voters.size() + 1;
    long nstarted = voters.stream().filter(StartedMembersRule::started).count();
    // etcd lets a single started member add a second one: there is no other way to grow from one
    if (!(nstarted == 1 && nmembers == 2) && nstarted < nmembers / 2 + 1) {
      return EtcdError.MEMBER_NOT_ENOUGH_STARTED;
    }
    return null;
  }

  /** The error for removing member {@code id} from {@code members}, or null (learners are free to go). */
  public static EtcdError remove(List<Member> members, long id) {
    Member target = members.stream().filter(m -> m.getID() == id).findFirst().orElse(null);
    if (target != null && target.getIsLearner()) {
      return null;
    }
    List<Member> others = voters(members).stream().filter(m -> m.getID() != id).toList();
    long nstarted = others.stream().filter(StartedMembersRule::started).count();
    if (nstarted < others.size() / 2 + 1) {
      return EtcdError.MEMBER_NOT_ENOUGH_STARTED;
    }
    return null;
  }

  /** The error for promoting learner {@code id} of {@code members}, or null. */
  public static EtcdError promote(List<Member> members, long id) {
    Member target = members.stream().filter(m -> m.getID() == id).findFirst().orElse(null);
    if (target == null || !target.getIsLearner()) {
      return null; // the registry answers "not found" or "not a learner" when it applies
    }
    List<Member> voters = voters(members);
    int nmembers = voters.size() + 1;
    long nstarted = voters.stream().filter(StartedMembersRule::started).count() + 1;
    if (nstarted < nmembers / 2 + 1) {
      return EtcdError.MEMBER_NOT_ENOUGH_STARTED;
    }
    return null;
  }
}
