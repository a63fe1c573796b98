package io.etcsql.server;

import io.etcsql.grpcapi.etcdserverpb.Member;
import io.etcsql.kvstore.KvStore;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stops this member once it has been removed from the cluster, as etcd does ("the member has
 * been permanently removed from the cluster"): its disappearance from the replicated registry
 * closes the member. The watch starts once the member has published itself (so it has applied its
 * own registration): from then on, not being registered means removed, also for a member that
 * was removed before Raft's configuration ever included it (a learner or a promotion that had not
 * gone through yet).
 */
final class RemovalWatch implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RemovalWatch.class);

  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "removal-watch");
    t.setDaemon(true);
    return t;
  });
  /**
   * How long this member may be left out of the Raft configuration while the registry still
   * lists it before that counts as removal: a promotion takes a learner out of the configuration
   * for a moment before it rejoins as a voter (see ConfigurationSync).
   */
  private static final int CHECKS_OUT_OF_CONFIGURATION = 10;
  /**
   * How long this member keeps running once removed from the registry while Raft's configuration
   * still has it (a configuration change that cannot commit yet): stopping at once would take a
   * voter away from a cluster that may still need it for its quorum.
   */
  private static final int CHECKS_UNREGISTERED = 30;

  /** Whether this member has been in Raft's configuration while registered. */
  private volatile boolean seenInConfiguration;
  private int outOfConfiguration;
  private int unregistered;

  /**
   * Starts watching; call it once this member has applied its own registration (published).
   *
   * @param onRemoved what to do once removed (the node closes itself and the process exits)
   */
  RemovalWatch(KvStore store, long selfId, java.util.function.BooleanSupplier inRaftConfiguration, Runnable onRemoved) {
    timer.scheduleWithFixedDelay(() -> {
      List<Member> members = store.members();
      boolean registered = members.stream().anyMatch(m -> m.getID() == selfId);
      boolean inConfiguration = inRaftConfiguration.getAsBoolean();
      outOfConfiguration = registered && !inConfiguration ? outOfConfiguration + 1 : 0;
      unregistered = !registered && inConfiguration ? unregistered + 1 : 0;
      if (registered && inConfiguration) {
        seenInConfiguration = true;
        return;
      }
      // removed: from the registry (waiting, while Raft still counts this member, for the change
      // that leaves it out; not at all if Raft never had it), or left out of Raft's configuration
      // for longer than a promotion takes
      boolean removed = (!registered && (!inConfiguration || !seenInConfiguration || unregistered >= CHECKS_UNREGISTERED))
          || (seenInConfiguration && outOfConfiguration >= CHECKS_OUT_OF_CONFIGURATION);
      if (!members.isEmpty() && removed) {
        LOG.warn("the member has been permanently removed from the cluster");
        timer.shutdown();
        onRemoved.run();
      }
    }, 1, 1, TimeUnit.SECONDS);
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
