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
 * been permanently removed from the cluster"): after it has seen itself in the replicated
 * registry, its disappearance from the registry closes the member.
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

  private volatile boolean seen;
  private int outOfConfiguration;
  private int unregistered;

  /**
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
        seen = true;
        return;
      }
      // removed: by both; or by one of them for longer than a promotion or a pending change takes
      boolean removed = (!registered && !inConfiguration) || outOfConfiguration >= CHECKS_OUT_OF_CONFIGURATION
          || unregistered >= CHECKS_UNREGISTERED;
      if (seen && !members.isEmpty() && removed) {
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
