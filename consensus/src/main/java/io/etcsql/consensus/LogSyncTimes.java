package io.etcsql.consensus;

import java.util.function.LongConsumer;
import org.apache.ratis.metrics.MetricRegistries;
import org.apache.ratis.metrics.MetricRegistryInfo;
import org.apache.ratis.metrics.RatisMetricRegistry;
import org.apache.ratis.metrics.impl.RatisMetricRegistryImpl;
import org.apache.ratis.thirdparty.com.codahale.metrics.ExponentiallyDecayingReservoir;
import org.apache.ratis.thirdparty.com.codahale.metrics.MetricRegistry;
import org.apache.ratis.thirdparty.com.codahale.metrics.Reservoir;
import org.apache.ratis.thirdparty.com.codahale.metrics.Snapshot;
import org.apache.ratis.thirdparty.com.codahale.metrics.Timer;

/**
 * Every Raft log sync of this JVM's Ratis servers (the fsync of the log segment after a batch of
 * appends, Ratis' {@code log_worker.syncTime} timer), handed one by one to a listener: the source
 * of etcd's {@code etcd_disk_wal_fsync_duration_seconds}.
 *
 * <p>Ratis keeps its timers as sampling reservoirs, which cannot give cumulative histogram
 * buckets; so when Ratis creates a log worker's metric registry, this puts there first a timer of
 * that name whose reservoir also passes each duration on. Ratis' metrics are global to the JVM,
 * and so is the listener: with several members in one JVM (tests), the last one set gets all.
 */
public final class LogSyncTimes {
  /** Ratis' SegmentedRaftLogMetrics: the log worker's registry and its sync timer. */
  private static final String LOG_WORKER = "log_worker";
  private static final String SYNC_TIME = "syncTime";

  private static volatile LongConsumer listener;
  private static boolean hooked;

  private LogSyncTimes() {}

  /**
   * Sends every later log sync's duration in nanoseconds to {@code onSync}, on Ratis' log worker
   * thread (so it must be quick). Call before the {@link RaftNode} starts.
   */
  public static synchronized void listen(LongConsumer onSync) {
    listener = onSync;
    if (!hooked) {
      hooked = true;
      MetricRegistries registries = MetricRegistries.global();
      // Ratis reports to JMX by default only while no other reporter is registered: keep that
      registries.enableJmxReporter();
      registries.addReporterRegistration(LogSyncTimes::created, r -> { });
    }
  }

  private static void created(RatisMetricRegistry registry) {
    MetricRegistryInfo info = registry.getMetricRegistryInfo();
    if (!LOG_WORKER.equals(info.getMetricsComponentName()) || !(registry instanceof RatisMetricRegistryImpl impl)) {
      return;
    }
    String name = MetricRegistry.name(info.getApplicationName(), info.getMetricsComponentName(), info.getPrefix(),
        SYNC_TIME);
    try {
      impl.getDropWizardMetricRegistry().register(name, new Timer(new Forwarding(new ExponentiallyDecayingReservoir())));
    } catch (IllegalArgumentException alreadyThere) {
      // a registry created again for the same member keeps the timer it had
    }
  }

  /** A reservoir that also hands each value to the listener. */
  private static final class Forwarding implements Reservoir {
    private final Reservoir inner;

    Forwarding(Reservoir inner) {
      this.inner = inner;
    }

    @Override
    public int size() {
      return inner.size();
    }

    @Override
    public void update(long nanos) {
      inner.update(nanos);
      LongConsumer l = listener;
      if (l != null) {
        l.accept(nanos);
      }
    }

    @Override
    public Snapshot getSnapshot() {
      return inner.getSnapshot();
    }
  }
}
