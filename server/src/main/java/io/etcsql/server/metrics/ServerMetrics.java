package io.etcsql.server.metrics;

import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.Closeable;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleConsumer;
import java.util.function.ToDoubleFunction;

/**
 * One member's metrics registry: etcd's metrics under etcd 3.4's names, types and labels where
 * etcsql has the same value, and the JVM's under Micrometer's own names ({@code jvm_*},
 * {@code process_*}, {@code system_*}).
 *
 * <p>Values from consensus and the store are read when scraped ({@link MemberStatus}), so
 * nothing is counted in the replicated apply path. Some etcd metrics are gauges whose names end in
 * {@code _total} ({@code etcd_server_proposals_committed_total}); Micrometer would strip that
 * suffix from a gauge, so those (and every other etcd metric) are registered with the Prometheus
 * client's own types on the registry's {@link PrometheusRegistry}, which keeps etcd's exact names.
 */
public final class ServerMetrics implements Closeable {
  /** Prometheus text exposition format 0.0.4, as etcd 3.4 serves it. */
  public static final String TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8";

  /** Null until {@link #bind}: values of a member still starting are left out. */
  private volatile MemberStatus member;
  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final JvmGcMetrics gc = new JvmGcMetrics();
  private final GrpcServerMetrics grpc;
  private final String serverVersion;
  private final String clusterVersion;
  private final Histogram walFsync;
  private final Histogram backendCommit;
  private final Histogram backendSnapshot;
  private final Histogram leaseTtls;
  private final java.util.concurrent.atomic.AtomicLong healthSuccess = new java.util.concurrent.atomic.AtomicLong();
  private final java.util.concurrent.atomic.AtomicLong healthFailures = new java.util.concurrent.atomic.AtomicLong();

  /**
   * @param extensive {@code --metrics extensive}: adds the gRPC handling-time histograms
   * @param serverVersion the etcd version this member reports (Status.version), e.g. 3.4.23
   * @param clusterVersion the cluster version, e.g. 3.4.0
   */
  public ServerMetrics(boolean extensive, String serverVersion, String clusterVersion) {
    this.serverVersion = serverVersion;
    this.clusterVersion = clusterVersion;
    new JvmMemoryMetrics().bindTo(registry);
    gc.bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    new FileDescriptorMetrics().bindTo(registry);
    PrometheusRegistry prometheus = registry.getPrometheusRegistry();
    this.grpc = new GrpcServerMetrics(prometheus, extensive);
    registerServer(prometheus);
    registerMvcc(prometheus);
    registerWatch(prometheus);
    registerLease(prometheus);
    registerFileDescriptors(prometheus);
    // etcd's buckets: 1 ms to 8 s
    walFsync = histogram(prometheus, "etcd_disk_wal_fsync_duration_seconds",
        "The latency distributions of fsync called by WAL.", 0.001, 14);
    backendCommit = histogram(prometheus, "etcd_disk_backend_commit_duration_seconds",
        "The latency distributions of commit called by backend.", 0.001, 14);
    // 10 ms to 655 s
    backendSnapshot = histogram(prometheus, "etcd_disk_backend_snapshot_duration_seconds",
        "The latency distribution of backend snapshots.", 0.01, 17);
    // 1 second to 3 months
    leaseTtls = histogram(prometheus, "etcd_debugging_lease_ttl_total", "Bucketed histogram of lease TTLs.", 1, 24);
    untotalledCounter(prometheus, "etcd_server_health_success", "The total number of successful health checks",
        healthSuccess);
    untotalledCounter(prometheus, "etcd_server_health_failures", "The total number of failed health checks",
        healthFailures);
  }

  /**
   * A counter whose name does not end in {@code _total}, as etcd has a few: the Prometheus client
   * would write any counter as {@code name_total}, so it is registered as a gauge and {@link
   * #scrape()} gives it back its counter type.
   */
  private static void untotalledCounter(PrometheusRegistry r, String name, String help,
      java.util.concurrent.atomic.AtomicLong value) {
    GaugeWithCallback.builder().name(name).help(help).callback(cb -> cb.call(value.get())).register(r);
    UNTOTALLED_COUNTERS.add(name);
  }

  /** Names registered by {@link #untotalledCounter}. */
  private static final java.util.Set<String> UNTOTALLED_COUNTERS = java.util.concurrent.ConcurrentHashMap.newKeySet();

  /** A histogram with etcd's exponential buckets: {@code count} upper bounds from {@code start}, doubling. */
  private static Histogram histogram(PrometheusRegistry r, String name, String help, double start, int count) {
    return Histogram.builder().name(name).help(help)
        .classicOnly().classicExponentialUpperBounds(start, 2, count).withoutExemplars().register(r);
  }

  /** Where the values come from from now on (the member, once its Raft node and store are open). */
  public void bind(MemberStatus status) {
    this.member = status;
  }

  /** One sync of the Raft log, in nanoseconds (etcd_disk_wal_fsync_duration_seconds). */
  public void observeWalFsync(long nanos) {
    walFsync.observe(nanos / 1e9);
  }

  /** One write of an applied revision to the store's files, in nanoseconds (etcd_disk_backend_commit_duration_seconds). */
  public void observeBackendCommit(long nanos) {
    backendCommit.observe(nanos / 1e9);
  }

  /** One snapshot sent, in nanoseconds (etcd_disk_backend_snapshot_duration_seconds). */
  public void observeBackendSnapshot(long nanos) {
    backendSnapshot.observe(nanos / 1e9);
  }

  /** One lease granted, with its TTL in seconds (etcd_debugging_lease_ttl_total). */
  public void observeLeaseGrant(long ttlSeconds) {
    leaseTtls.observe(ttlSeconds);
  }

  private void registerServer(PrometheusRegistry r) {
    gauge(r, "etcd_server_has_leader", "Whether or not a leader exists. 1 is existence, 0 is not.",
        m -> m.hasLeader() ? 1 : 0);
    gauge(r, "etcd_server_is_leader", "Whether or not this member is a leader. 1 if is, 0 otherwise.",
        m -> m.isLeader() ? 1 : 0);
    gauge(r, "etcd_server_is_learner", "Whether or not this member is a learner. 1 if is, 0 otherwise.",
        m -> m.isLearner() ? 1 : 0);
    counter(r, "etcd_server_leader_changes_seen_total", "The number of leader changes seen.",
        MemberStatus::leaderChangesSeen);
    gauge(r, "etcd_server_proposals_committed_total", "The total number of consensus proposals committed.",
        MemberStatus::committedIndex);
    gauge(r, "etcd_server_proposals_applied_total", "The total number of consensus proposals applied.",
        MemberStatus::appliedIndex);
    gauge(r, "etcd_server_proposals_pending", "The current number of pending proposals to commit.",
        MemberStatus::proposalsPending);
    counter(r, "etcd_server_proposals_failed_total", "The total number of failed proposals seen.",
        MemberStatus::proposalsFailed);
    gauge(r, "etcd_server_snapshot_apply_in_progress_total",
        "1 if the server is applying the incoming snapshot. 0 if none.", m -> m.installingSnapshot() ? 1 : 0);
    counter(r, "etcd_server_slow_apply_total",
        "The total number of slow apply requests (likely overloaded from slow disk).", MemberStatus::slowApplies);
    counter(r, "etcd_server_slow_read_indexes_total",
        "The total number of pending read indexes not in sync with leader's or timed out read index requests.",
        MemberStatus::slowReadIndexes);
    counter(r, "etcd_server_read_indexes_failed_total", "The total number of failed read indexes seen.",
        MemberStatus::readIndexesFailed);
    gauge(r, "etcd_server_quota_backend_bytes", "Current backend storage quota size in bytes.",
        MemberStatus::quotaBackendBytes);
    labelled(r, "etcd_server_version",
        "Which version is running. 1 for 'server_version' label with current version.", "server_version",
        () -> serverVersion);
    labelled(r, "etcd_cluster_version",
        "Which version is running. 1 for 'cluster_version' label with current cluster version", "cluster_version",
        () -> majorMinor(clusterVersion));
    labelled(r, "etcd_server_id",
        "Server or member ID in hexadecimal format. 1 for 'server_id' label with current ID.", "server_id",
        () -> member.memberIdHex());
  }

  private void registerMvcc(PrometheusRegistry r) {
    String size = "Total size of the underlying database physically allocated in bytes.";
    gauge(r, "etcd_mvcc_db_total_size_in_bytes", size, MemberStatus::dbSizeBytes);
    gauge(r, "etcd_debugging_mvcc_db_total_size_in_bytes", size, MemberStatus::dbSizeBytes);
    gauge(r, "etcd_mvcc_db_total_size_in_use_in_bytes",
        "Total size of the underlying database logically in use in bytes.", MemberStatus::dbSizeInUseBytes);
    gauge(r, "etcd_debugging_mvcc_keys_total", "Total number of keys.", MemberStatus::keys);
    gauge(r, "etcd_debugging_auth_revision", "The current revision of auth store.", MemberStatus::authRevision);
    gauge(r, "etcd_debugging_mvcc_current_revision", "The current revision of store.",
        MemberStatus::currentRevision);
    gauge(r, "etcd_debugging_mvcc_compact_revision", "The revision of the last compaction in store.",
        MemberStatus::compactRevision);
    // etcd 3.4 exports each also as etcd_debugging_mvcc_*
    for (String ns : List.of("etcd", "etcd_debugging")) {
      counter(r, ns + "_mvcc_range_total", "Total number of ranges seen by this member.", MemberStatus::ranges);
      counter(r, ns + "_mvcc_put_total", "Total number of puts seen by this member.", MemberStatus::puts);
      counter(r, ns + "_mvcc_delete_total", "Total number of deletes seen by this member.", MemberStatus::deletes);
      counter(r, ns + "_mvcc_txn_total", "Total number of txns seen by this member.", MemberStatus::txns);
    }
    gauge(r, "etcd_debugging_mvcc_total_put_size_in_bytes", "The total size of put kv pairs seen by this member.",
        MemberStatus::putBytes);
  }

  private void registerWatch(PrometheusRegistry r) {
    gauge(r, "etcd_debugging_mvcc_watch_stream_total", "Total number of watch streams.",
        m -> m.watches().streams());
    gauge(r, "etcd_debugging_mvcc_watcher_total", "Total number of watchers.", m -> m.watches().watchers());
    gauge(r, "etcd_debugging_mvcc_slow_watcher_total", "Total number of unsynced slow watchers.",
        m -> m.watches().slowWatchers());
    counter(r, "etcd_debugging_mvcc_events_total", "Total number of events sent by this member.",
        m -> m.watches().eventsSent());
    gauge(r, "etcd_debugging_mvcc_pending_events_total", "Total number of pending events to be sent.",
        m -> m.watches().pendingEvents());
  }

  /** etcd's os_fd_* (etcd samples them every 10 minutes; here they are read when scraped). */
  private static void registerFileDescriptors(PrometheusRegistry r) {
    if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
        instanceof com.sun.management.UnixOperatingSystemMXBean os) {
      GaugeWithCallback.builder().name("os_fd_used").help("The number of used file descriptors.")
          .callback(cb -> cb.call(os.getOpenFileDescriptorCount())).register(r);
      GaugeWithCallback.builder().name("os_fd_limit").help("The file descriptor limit.")
          .callback(cb -> cb.call(os.getMaxFileDescriptorCount())).register(r);
    }
  }

  private void registerLease(PrometheusRegistry r) {
    counter(r, "etcd_debugging_lease_granted_total", "The total number of granted leases.",
        MemberStatus::leasesGranted);
    counter(r, "etcd_debugging_lease_revoked_total", "The total number of revoked leases.",
        MemberStatus::leasesRevoked);
    counter(r, "etcd_debugging_lease_renewed_total", "The number of renewed leases seen by the leader.",
        MemberStatus::leasesRenewed);
    counter(r, "etcd_debugging_server_lease_expired_total", "The total number of expired leases.",
        MemberStatus::leasesExpired);
  }

  private void gauge(PrometheusRegistry r, String name, String help, ToDoubleFunction<MemberStatus> value) {
    GaugeWithCallback.builder().name(name).help(help)
        .callback(cb -> read(value, cb::call)).register(r);
  }

  private void counter(PrometheusRegistry r, String name, String help, ToDoubleFunction<MemberStatus> value) {
    CounterWithCallback.builder().name(name).help(help)
        .callback(cb -> read(value, cb::call)).register(r);
  }

  /** A gauge of value 1 whose one label carries the information (etcd's version gauges). */
  private void labelled(PrometheusRegistry r, String name, String help, String label,
      java.util.function.Supplier<String> value) {
    GaugeWithCallback.builder().name(name).help(help).labelNames(label).callback(cb -> {
      String v;
      try {
        v = value.get();
      } catch (RuntimeException e) {
        return; // starting or stopping: left out of this scrape
      }
      cb.call(1, v);
    }).register(r);
  }

  private void read(ToDoubleFunction<MemberStatus> value, DoubleConsumer out) {
    MemberStatus m = member;
    if (m == null) {
      return;
    }
    double v;
    try {
      v = value.applyAsDouble(m);
    } catch (RuntimeException e) {
      return; // starting or stopping: left out of this scrape
    }
    out.accept(v);
  }

  /** etcd's cluster version label: major.minor ("3.4" of "3.4.0"). */
  static String majorMinor(String version) {
    String[] p = version.split("\\.");
    return p.length >= 2 ? p[0] + "." + p[1] : version;
  }

  /** The interceptor that counts this member's gRPC calls; see {@link GrpcServerMetrics}. */
  public GrpcServerMetrics grpc() {
    return grpc;
  }

  /** Every metric in the Prometheus text format 0.0.4 ({@link #TEXT_FORMAT}). */
  public String scrape() {
    String text = registry.scrape(TEXT_FORMAT);
    for (String name : UNTOTALLED_COUNTERS) {
      text = text.replace("# TYPE " + name + " gauge\n", "# TYPE " + name + " counter\n");
    }
    return text;
  }

  /**
   * etcd's health check ({@code etcdhttp.checkHealth}): unhealthy with an active alarm ({@code
   * ALARM NOSPACE}), without a leader ({@code RAFT NO LEADER}), or when a linearizable read does
   * not complete within {@code timeoutMs} ({@code QGET ERROR:...}).
   */
  public Health health(long timeoutMs) {
    Health h = checkHealth(timeoutMs);
    (h.healthy() ? healthSuccess : healthFailures).incrementAndGet();
    return h;
  }

  private Health checkHealth(long timeoutMs) {
    MemberStatus member = this.member;
    if (member == null) {
      return Health.unhealthy("RAFT NO LEADER");
    }
    try {
      List<String> alarms = member.alarms();
      if (!alarms.isEmpty()) {
        return Health.unhealthy("ALARM " + alarms.get(alarms.size() - 1));
      }
      if (!member.hasLeader()) {
        return Health.unhealthy("RAFT NO LEADER");
      }
    } catch (RuntimeException e) {
      return Health.unhealthy("RAFT NO LEADER");
    }
    try {
      CompletableFuture<Void> read = member.linearizableRead();
      read.get(timeoutMs, TimeUnit.MILLISECONDS);
      return Health.HEALTHY;
    } catch (java.util.concurrent.ExecutionException e) {
      Throwable c = e.getCause() instanceof java.util.concurrent.CompletionException && e.getCause().getCause() != null
          ? e.getCause().getCause() : e.getCause();
      return Health.unhealthy("QGET ERROR:" + c.getMessage());
    } catch (java.util.concurrent.TimeoutException e) {
      return Health.unhealthy("QGET ERROR:context deadline exceeded");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Health.unhealthy("QGET ERROR:interrupted");
    }
  }

  /** etcd's /version body: {@code {"etcdserver":"3.4.23","etcdcluster":"3.4.0"}}. */
  public String versionJson() {
    return "{\"etcdserver\":\"" + serverVersion + "\",\"etcdcluster\":\"" + clusterVersion + "\"}";
  }

  /**
   * The /health answer.
   *
   * @param healthy whether the member can serve linearizable requests
   * @param reason why not ("" when healthy)
   */
  public record Health(boolean healthy, String reason) {
    static final Health HEALTHY = new Health(true, "");

    static Health unhealthy(String reason) {
      return new Health(false, reason);
    }

    /** etcd's body: {@code {"health":"true"}} or {@code {"health":"false","reason":"..."}}. */
    public String toJson() {
      if (healthy) {
        return "{\"health\":\"true\"}";
      }
      return "{\"health\":\"false\",\"reason\":\"" + jsonEscape(reason) + "\"}";
    }

    private static String jsonEscape(String s) {
      StringBuilder b = new StringBuilder();
      for (char c : s.toCharArray()) {
        if (c == '"' || c == '\\') {
          b.append('\\').append(c);
        } else if (c < 0x20) {
          b.append(String.format("\\u%04x", (int) c));
        } else {
          b.append(c);
        }
      }
      return b.toString();
    }
  }

  @Override
  public void close() {
    gc.close();
    registry.close();
  }
}
