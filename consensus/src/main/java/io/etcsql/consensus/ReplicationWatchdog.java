package io.etcsql.consensus;

import java.io.Closeable;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.apache.ratis.proto.RaftProtos.CommitInfoProto;
import org.apache.ratis.proto.RaftProtos.RoleInfoProto;
import org.apache.ratis.proto.RaftProtos.ServerRpcProto;
import org.apache.ratis.server.RaftServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * On the leader: notices a follower that answers but no longer takes the log, and makes the
 * leader step down so that a new leadership starts replicating to it afresh.
 *
 * <p>A last resort: Ratis 3.3.0's log appender could stop sending entries to a live follower for
 * good, after a snapshot notice with no entry to send from, or (before {@link
 * FollowerResyncLogAppender}) looping on a stale match index (RATIS-2523). Every leadership starts
 * with fresh follower state, so stepping down ends such a loop. A follower counts as stuck when,
 * for {@code stuckAfterMs}, its commit index stayed where it was, below the leader's, while the
 * leader kept hearing from it all along (a follower that was down and restarts starts a new
 * count). The leader steps down at most once per {@code stuckAfterMs} x 3.
 */
final class ReplicationWatchdog implements Closeable {
  private static final Logger LOG = LoggerFactory.getLogger(ReplicationWatchdog.class);

  /** What the watchdog needs from the member; an interface so that the rule is testable alone. */
  interface Member {
    /** This member's division, or null before it started. */
    RaftServer.Division division();

    /** Makes this member, the leader, step down. */
    void stepDown() throws Exception;
  }

  private record Seen(long commit, long sinceMs, boolean answering) {}

  private final Member member;
  private final long stuckAfterMs;
  private final long answeredWithinMs;
  private final LongSupplier clock;
  private final ScheduledExecutorService timer;
  private final Map<String, Seen> seen = new HashMap<>();
  private long term = -1;
  private long lastStepDownMs = Long.MIN_VALUE / 2;

  ReplicationWatchdog(Member member, long stuckAfterMs, long answeredWithinMs, LongSupplier clock, boolean scheduled) {
    this.member = member;
    this.stuckAfterMs = stuckAfterMs;
    this.answeredWithinMs = answeredWithinMs;
    this.clock = clock;
    if (scheduled) {
      this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "replication-watchdog");
        t.setDaemon(true);
        return t;
      });
      long period = Math.max(100, Math.min(1000, stuckAfterMs / 10));
      timer.scheduleWithFixedDelay(this::checkSafely, period, period, TimeUnit.MILLISECONDS);
    } else {
      this.timer = null;
    }
  }

  private void checkSafely() {
    try {
      check();
    } catch (RuntimeException e) {
      LOG.debug("replication watchdog check", e);
    }
  }

  /** One look at the followers; returns the id of the follower it stepped down for, or null. */
  synchronized String check() {
    RaftServer.Division d = member.division();
    if (d == null || !d.getInfo().isLeader()) {
      seen.clear();
      return null;
    }
    String self = d.getId().toString();
    Map<String, Long> elapsed = new HashMap<>();
    RoleInfoProto role = d.getInfo().getRoleInfoProto();
    if (role.hasLeaderInfo()) {
      for (ServerRpcProto f : role.getLeaderInfo().getFollowerInfoList()) {
        elapsed.put(f.getId().getId().toStringUtf8(), f.getLastRpcElapsedTimeMs());
      }
    }
    Map<String, Long> commits = new HashMap<>();
    for (CommitInfoProto c : d.getCommitInfos()) {
      String peer = c.getServer().getId().toStringUtf8();
      if (!peer.equals(self)) {
        commits.put(peer, c.getCommitIndex());
      }
    }
    long leaderCommit = d.getRaftLog().getLastCommittedIndex();
    String stuck = observe(d.getInfo().getCurrentTerm(), leaderCommit, commits, elapsed, clock.getAsLong());
    if (stuck != null) {
      LOG.warn("follower {} answers but its commit index stayed at {} for {} ms or more while the leader's"
          + " reached {}: stepping down so that a new leadership replicates to it", stuck, commits.get(stuck),
          stuckAfterMs, leaderCommit);
      try {
        member.stepDown();
      } catch (Exception e) {
        LOG.warn("stepping down failed", e);
      }
    }
    return stuck;
  }

  /**
   * The rule, on what the leader sees at {@code now}: each follower's commit index and how long
   * ago it last answered. Returns the follower to step down for, or null.
   */
  synchronized String observe(long currentTerm, long leaderCommit, Map<String, Long> commits,
      Map<String, Long> elapsed, long now) {
    if (currentTerm != term) {
      term = currentTerm;
      seen.clear();
    }
    Map<String, Seen> next = new HashMap<>();
    String stuck = null;
    for (Map.Entry<String, Long> e : commits.entrySet()) {
      String peer = e.getKey();
      long commit = e.getValue();
      Seen before = seen.get(peer);
      boolean answering = elapsed.getOrDefault(peer, Long.MAX_VALUE) < answeredWithinMs;
      // the time counts only while the follower answers: one that was down (a restart) is not stuck
      Seen since = answering && before != null && before.answering() && before.commit() == commit
          && commit < leaderCommit ? before : new Seen(commit, now, answering);
      next.put(peer, since);
      if (commit < leaderCommit && answering && now - since.sinceMs() >= stuckAfterMs) {
        stuck = peer;
      }
    }
    seen.clear();
    seen.putAll(next);
    if (stuck == null || now - lastStepDownMs < 3 * stuckAfterMs) {
      return null;
    }
    lastStepDownMs = now;
    return stuck;
  }

  @Override
  public void close() {
    if (timer != null) {
      timer.shutdownNow();
    }
  }
}
