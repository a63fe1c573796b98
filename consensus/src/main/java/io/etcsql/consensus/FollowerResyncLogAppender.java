package io.etcsql.consensus;

import java.lang.reflect.Field;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.grpc.GrpcFactory;
import org.apache.ratis.grpc.server.GrpcLogAppender;
import org.apache.ratis.rpc.RpcFactory;
import org.apache.ratis.rpc.RpcType;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.leader.FollowerInfo;
import org.apache.ratis.server.leader.LeaderState;
import org.apache.ratis.server.leader.LogAppender;
import org.apache.ratis.server.raftlog.RaftLogIndex;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ratis' gRPC log appender, except that it believes a follower that says its log is shorter than
 * the leader recorded.
 *
 * <p>When a follower answers INCONSISTENCY with a next index at or below the match index the leader
 * keeps for it, Ratis 3.3.0 ({@code LogAppenderBase.getNextIndexForInconsistency}) resends from
 * match index + 1 anyway, the follower refuses again, and the two loop for as long as the
 * leadership lasts (RATIS-2523): the follower never catches up and, as a follower's commit index
 * only moves with entries it holds, never applies another write. CrashDurabilityIT found restarted
 * members stuck that way. Ratis followers acknowledged entries they had not written (the compose
 * path, now off, see {@link RaftNode}) or not yet flushed (held back now by {@link
 * DurableAppendAcks}); a log can still come back shorter than acknowledged when a disk loses
 * written data or an operator restores a member's log from an older copy. Here the follower's
 * answer wins: its match index is set back to the entry before the one it asks for, and
 * replication resumes from there. Lowering one follower's match index never lowers the leader's
 * commit index, which Ratis only raises.
 *
 * <p>Installed through {@link Type}, the RPC type {@link RaftNode} configures; everything else is
 * Ratis' gRPC transport unchanged.
 */
public final class FollowerResyncLogAppender extends GrpcLogAppender {
  private static final Logger LOG = LoggerFactory.getLogger(FollowerResyncLogAppender.class);
  private static final Field MATCH_INDEX = matchIndexField();

  FollowerResyncLogAppender(RaftServer.Division server, LeaderState leaderState, FollowerInfo follower) {
    super(server, leaderState, follower);
  }

  @Override
  protected long getNextIndexForInconsistency(long requestFirstIndex, long replyNextIndex) {
    FollowerInfo f = getFollower();
    long matched = f.getMatchIndex();
    if (replyNextIndex >= 0 && replyNextIndex <= matched && rewindMatchIndex(f, matched, replyNextIndex - 1)) {
      LOG.warn("{}: follower's log ends before index {} although it was recorded as holding {}: replicating"
          + " from {} again", f.getName(), replyNextIndex, matched, replyNextIndex);
    }
    return super.getNextIndexForInconsistency(requestFirstIndex, replyNextIndex);
  }

  /** Sets the follower's match index from {@code expected} to {@code to}, unless it moved meanwhile. */
  static boolean rewindMatchIndex(FollowerInfo f, long expected, long to) {
    try {
      RaftLogIndex index = (RaftLogIndex) MATCH_INDEX.get(f);
      return index.updateUnconditionally(old -> old == expected ? to : old, message -> { });
    } catch (IllegalAccessException e) {
      throw new IllegalStateException("cannot rewind the match index of " + f.getName(), e);
    }
  }

  /** Ratis keeps the match index in a private field of FollowerInfoImpl; checked when this class loads. */
  private static Field matchIndexField() {
    try {
      Class<?> impl = Class.forName("org.apache.ratis.server.impl.FollowerInfoImpl");
      Field f = impl.getDeclaredField("matchIndex");
      if (f.getType() != RaftLogIndex.class) {
        throw new IllegalStateException("FollowerInfoImpl.matchIndex is a " + f.getType() + ", not a RaftLogIndex");
      }
      f.setAccessible(true);
      return f;
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("this Ratis version has no FollowerInfoImpl.matchIndex", e);
    }
  }

  /** Ratis' gRPC factory creating {@link FollowerResyncLogAppender}s. */
  static final class Factory extends GrpcFactory {
    Factory(Parameters parameters) {
      super(parameters);
    }

    @Override
    public LogAppender newLogAppender(RaftServer.Division server, LeaderState state, FollowerInfo f) {
      return new FollowerResyncLogAppender(server, state, f);
    }
  }

  /**
   * The RPC type to set in the Raft properties. Ratis reads it back by name, so the name is this
   * class's, which Ratis instantiates by reflection.
   */
  public static final class Type implements RpcType {
    @Override
    public String name() {
      return Type.class.getName();
    }

    @Override
    public RpcFactory newFactory(Parameters parameters) {
      return new Factory(parameters);
    }
  }
}
