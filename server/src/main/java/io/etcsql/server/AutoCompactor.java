package io.etcsql.server;

import io.etcsql.consensus.RaftNode;
import io.etcsql.grpcapi.etcdserverpb.CompactionRequest;
import io.etcsql.kvstore.EtcdError;
import io.etcsql.kvstore.EtcdException;
import io.etcsql.server.config.AutoCompaction;
import java.io.Closeable;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * etcd's auto compaction ({@code etcdserver/api/v3compactor}), run by the leader only (etcd
 * pauses its compactor on followers): compactions are proposed through Raft like a client's
 * {@code Compact}.
 *
 * <ul>
 *   <li>periodic, retention {@code P}: every {@code min(P, 1h) / 10} the current revision is
 *       recorded (on every member); once {@code P} has passed since the start (afterwards, once
 *       {@code min(P, 1h)} has passed since the last compaction) the leader compacts at the
 *       revision recorded {@code P} ago.
 *   <li>revision, retention {@code N}: every 5 minutes the leader compacts at {@code current - N}
 *       unless that is not positive or was the last compaction's revision. The interval can be
 *       shortened for tests with the system property {@value #REVISION_INTERVAL_PROPERTY} (ms).
 * </ul>
 *
 * A compaction that fails with "required revision has been compacted" counts as done, as in etcd.
 */
final class AutoCompactor implements Closeable {
  private static final Logger LOG = LoggerFactory.getLogger(AutoCompactor.class);
  static final String REVISION_INTERVAL_PROPERTY = "etcsql.autoCompaction.revisionIntervalMs";
  /** etcd's revInterval. */
  private static final long REVISION_INTERVAL_MS = 5 * 60 * 1000;
  private static final long HOUR_NANOS = TimeUnit.HOURS.toNanos(1);

  private final AutoCompaction config;
  private final RaftNode node;
  private final Proposer proposer;
  private final ScheduledExecutorService timer;
  // periodic mode state (timer thread only)
  private final Deque<Long> revs = new ArrayDeque<>();
  private long lastSuccessNanos = System.nanoTime();
  private long baseIntervalNanos;
  // revision mode state
  private long previous;

  private AutoCompactor(AutoCompaction config, RaftNode node, Proposer proposer) {
    this.config = config;
    this.node = node;
    this.proposer = proposer;
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "auto-compactor");
      t.setDaemon(true);
      return t;
    });
    this.baseIntervalNanos = config.retention().toNanos();
  }

  /** Starts the compactor the flags ask for; a disabled one does nothing. */
  static AutoCompactor start(AutoCompaction config, RaftNode node, Proposer proposer) {
    AutoCompactor c = new AutoCompactor(config, node, proposer);
    if (!config.enabled()) {
      return c;
    }
    if (config.isRevisionMode()) {
      long interval = Long.getLong(REVISION_INTERVAL_PROPERTY, REVISION_INTERVAL_MS);
      c.timer.scheduleWithFixedDelay(c::revisionTick, interval, interval, TimeUnit.MILLISECONDS);
      LOG.info("auto compaction: revision mode, keeping {} revisions, every {} ms", config.revisions(), interval);
    } else {
      long retry = retryIntervalNanos(config.retention().toNanos());
      c.revs.add(c.currentRevision());
      c.timer.scheduleWithFixedDelay(c::periodicTick, retry, retry, TimeUnit.NANOSECONDS);
      LOG.info("auto compaction: periodic mode, retention {}, checking every {} ms", config.retention(),
          TimeUnit.NANOSECONDS.toMillis(retry));
    }
    return c;
  }

  /** etcd's getRetryInterval: a tenth of the period, the period capped at one hour. */
  static long retryIntervalNanos(long periodNanos) {
    return Math.max(1, Math.min(periodNanos, HOUR_NANOS) / 10);
  }

  private long currentRevision() {
    return node.store().mvcc().currentRevision();
  }

  private void periodicTick() {
    try {
      long period = config.retention().toNanos();
      long retry = retryIntervalNanos(period);
      int retentions = (int) Math.min(Integer.MAX_VALUE - 1, period / retry) + 1;
      if (!node.isLeader()) {
        revs.add(currentRevision()); // etcd records while paused too
        trim(retentions);
        return;
      }
      if (System.nanoTime() - lastSuccessNanos >= baseIntervalNanos) {
        if (baseIntervalNanos == period) {
          baseIntervalNanos = Math.min(period, HOUR_NANOS); // etcd's getCompactInterval
        }
        long rev = revs.peekFirst();
        if (compact(rev, "periodic")) {
          lastSuccessNanos = System.nanoTime();
        }
      }
      revs.add(currentRevision());
      trim(retentions);
    } catch (RuntimeException e) {
      LOG.warn("auto compaction failed", e);
    }
  }

  private void trim(int retentions) {
    while (revs.size() > retentions) {
      revs.removeFirst(); // the first is always the revision one period ago
    }
  }

  private void revisionTick() {
    try {
      if (!node.isLeader()) {
        return;
      }
      long rev = currentRevision() - config.revisions();
      if (rev <= 0 || rev == previous) {
        return;
      }
      if (compact(rev, "revision")) {
        previous = rev;
      }
    } catch (RuntimeException e) {
      LOG.warn("auto compaction failed", e);
    }
  }

  /** Proposes a compaction; true if it is done (or was already). */
  private boolean compact(long rev, String mode) {
    LOG.info("starting auto {} compaction at revision {}", mode, rev);
    try {
      proposer.compact(CompactionRequest.newBuilder().setRevision(rev).build()).get(30, TimeUnit.SECONDS);
      LOG.info("completed auto {} compaction at revision {}", mode, rev);
      return true;
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof io.grpc.StatusRuntimeException s
          && EtcdError.COMPACTED.message().equals(s.getStatus().getDescription())) {
        return true;
      }
      if (cause instanceof EtcdException ee && ee.error() == EtcdError.COMPACTED) {
        return true;
      }
      LOG.warn("failed auto {} compaction at revision {}: {}", mode, rev, String.valueOf(cause));
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } catch (java.util.concurrent.TimeoutException e) {
      LOG.warn("auto {} compaction at revision {} timed out", mode, rev);
      return false;
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
