package io.etcsql.kvstore;

import com.google.protobuf.InvalidProtocolBufferException;
import io.etcsql.grpcapi.etcdserverpb.Member;
import io.etcsql.grpcapi.etcsqlpb.MemberAttributes;
import io.etcsql.grpcapi.etcsqlpb.MemberBootstrap;
import io.etcsql.grpcapi.etcsqlpb.MemberChange;
import io.etcsql.grpcapi.etcsqlpb.MemberChangeResult;
import io.etcsql.kvstore.backend.MetaStore;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * etcd's cluster membership as replicated state: every member's id, name, peer and client URLs
 * and learner flag, stored in the {@link MetaStore} as encoded {@code etcdserverpb.Member}s and
 * changed only by applying commands (bootstrap, publish, add/remove/update/promote). Applying
 * checks etcd's rules (including {@link StartedMembersRule}) and fails with etcd's errors,
 * changing nothing.
 */
final class MemberRegistry {
  private final MetaStore meta;

  MemberRegistry(MetaStore meta) {
    this.meta = meta;
  }

  static Member decode(byte[] enc) {
    try {
      return Member.parseFrom(enc);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("corrupt member record", e);
    }
  }

  private List<Member> all() {
    List<Member> out = new ArrayList<>();
    for (byte[] enc : new TreeMap<>(meta.allMembers()).values()) {
      out.add(decode(enc));
    }
    return out;
  }

  private Member get(long id) {
    byte[] enc = meta.member(id);
    if (enc == null) {
      throw EtcdError.MEMBER_NOT_FOUND.exception();
    }
    return decode(enc);
  }

  private void put(Member m) {
    meta.putMember(m.getID(), m.toByteArray());
  }

  /** Records the bootstrapped cluster, unless members are already registered. */
  MemberBootstrap bootstrap(MemberBootstrap b) {
    if (meta.allMembers().isEmpty()) {
      meta.setClusterId(b.getClusterId());
      for (Member m : b.getMembersList()) {
        put(m);
      }
    }
    return b;
  }

  /** A member's name and client URLs (etcd publishes them when the member starts). */
  MemberAttributes publish(MemberAttributes a) {
    Map<Long, byte[]> members = meta.allMembers();
    byte[] enc = members.get(a.getMemberId());
    if (enc != null) {
      put(decode(enc).toBuilder().setName(a.getName()).clearClientURLs().addAllClientURLs(a.getClientUrlsList()).build());
    }
    return a;
  }

  MemberChangeResult change(MemberChange c) {
    Member changed = switch (c.getChangeCase()) {
      case ADD -> add(c.getAdd());
      case REMOVE -> {
        Member m = get(c.getRemove());
        failOn(StartedMembersRule.remove(all(), m.getID()));
        meta.removeMember(m.getID());
        meta.putRemovedMember(m.getID());
        yield m;
      }
      case UPDATE -> {
        Member m = get(c.getUpdate().getID());
        checkPeerUrls(c.getUpdate().getPeerURLsList(), m.getID());
        Member updated = m.toBuilder().clearPeerURLs().addAllPeerURLs(c.getUpdate().getPeerURLsList()).build();
        put(updated);
        yield updated;
      }
      case PROMOTE -> {
        Member m = get(c.getPromote());
        if (!m.getIsLearner()) {
          throw EtcdError.MEMBER_NOT_LEARNER.exception();
        }
        failOn(StartedMembersRule.promote(all(), m.getID()));
        Member promoted = m.toBuilder().setIsLearner(false).build();
        put(promoted);
        yield promoted;
      }
      default -> throw new IllegalArgumentException("unknown membership change " + c.getChangeCase());
    };
    return MemberChangeResult.newBuilder().setMember(changed).addAllMembers(all()).build();
  }

  /**
   * etcd's rules for a new member, in etcd's order: a removed id never comes back (etcd's
   * ErrIDRemoved, which its Cluster service answers as "member not found"; etcsql computes an
   * added member's id from its peer URLs, so adding a removed member's peer URLs again is refused:
   * its replacement needs another peer URL), an id is registered once, a peer URL belongs to one
   * member.
   */
  private Member add(Member m) {
    if (meta.isRemovedMember(m.getID())) {
      throw EtcdError.MEMBER_NOT_FOUND.exception();
    }
    if (meta.member(m.getID()) != null) {
      throw EtcdError.MEMBER_EXIST.exception();
    }
    checkPeerUrls(m.getPeerURLsList(), m.getID());
    if (!m.getIsLearner()) {
      failOn(StartedMembersRule.addVoter(all()));
    }
    put(m);
    return m;
  }

  private static void failOn(EtcdError e) {
    if (e != null) {
      throw e.exception();
    }
  }

  private void checkPeerUrls(List<String> urls, long self) {
    for (Member other : all()) {
      if (other.getID() == self) {
        continue;
      }
      for (String u : urls) {
        if (other.getPeerURLsList().contains(u)) {
          throw EtcdError.PEER_URL_EXIST.exception();
        }
      }
    }
  }
}
