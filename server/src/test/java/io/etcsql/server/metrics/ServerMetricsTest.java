package io.etcsql.server.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcsql.server.it.PrometheusText;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class ServerMetricsTest {

  /** A member whose every value can be set; {@code stopped} makes every read throw. */
  static final class FakeMember implements MemberStatus {
    boolean leader = true;
    boolean hasLeader = true;
    boolean stopped;
    List<String> alarms = List.of();
    CompletableFuture<Void> read = CompletableFuture.completedFuture(null);

    private <T> T check(T v) {
      if (stopped) {
        throw new IllegalStateException("stopped");
      }
      return v;
    }

    @Override public boolean hasLeader() { return check(hasLeader); }
    @Override public boolean isLeader() { return check(leader); }
    @Override public boolean isLearner() { return check(false); }
    @Override public long leaderChangesSeen() { return check(2L); }
    @Override public long committedIndex() { return check(42L); }
    @Override public long appliedIndex() { return check(41L); }
    @Override public long proposalsPending() { return check(3L); }
    @Override public long proposalsFailed() { return check(1L); }
    @Override public long dbSizeBytes() { return check(1L << 20); }
    @Override public long dbSizeInUseBytes() { return check(1000L); }
    @Override public long keys() { return check(7L); }
    @Override public long currentRevision() { return check(9L); }
    @Override public long authRevision() { return check(3L); }
    @Override public long compactRevision() { return check(0L); }
    @Override public long quotaBackendBytes() { return check(2147483648L); }
    @Override public long ranges() { return check(11L); }
    @Override public long puts() { return check(12L); }
    @Override public long deletes() { return check(13L); }
    @Override public long txns() { return check(4L); }
    @Override public long putBytes() { return check(300L); }
    @Override public long leasesExpired() { return check(3L); }
    @Override public boolean installingSnapshot() { return check(false); }
    @Override public io.etcsql.kvstore.watch.WatchStats watches() {
      return check(new io.etcsql.kvstore.watch.WatchStats(2, 5, 1, 6, 30));
    }
    @Override public long leasesGranted() { return check(8L); }
    @Override public long leasesRevoked() { return check(6L); }
    @Override public long leasesRenewed() { return check(21L); }
    @Override public long slowApplies() { return check(0L); }
    @Override public long slowReadIndexes() { return check(5L); }
    @Override public long readIndexesFailed() { return check(2L); }
    @Override public String memberIdHex() { return check("8e9e05c52164694d"); }
    @Override public List<String> alarms() { return check(alarms); }
    @Override public CompletableFuture<Void> linearizableRead() { return check(read); }
  }

  private static ServerMetrics metrics(MemberStatus member, boolean extensive) {
    ServerMetrics m = new ServerMetrics(extensive, "3.4.23", "3.4.0");
    m.bind(member);
    return m;
  }

  @Test
  void exportsEtcdNamesTypesAndLabels() {
    try (ServerMetrics unbound = new ServerMetrics(false, "3.4.23", "3.4.0")) {
      assertNull(PrometheusText.parse(unbound.scrape()).get("etcd_server_has_leader"),
          "nothing to read before the member is bound");
    }
    try (ServerMetrics m = metrics(new FakeMember(), false)) {
      PrometheusText t = PrometheusText.parse(m.scrape());
      assertEquals(1.0, t.get("etcd_server_has_leader"));
      assertEquals(1.0, t.get("etcd_server_is_leader"));
      assertEquals(0.0, t.get("etcd_server_is_learner"));
      // etcd's gauges named *_total keep their names and type
      assertEquals(42.0, t.get("etcd_server_proposals_committed_total"));
      assertEquals("gauge", t.type("etcd_server_proposals_committed_total"));
      assertEquals(41.0, t.get("etcd_server_proposals_applied_total"));
      assertEquals("gauge", t.type("etcd_debugging_mvcc_keys_total"));
      assertEquals(7.0, t.get("etcd_debugging_mvcc_keys_total"));
      assertEquals(3.0, t.get("etcd_debugging_auth_revision"));
      assertEquals(2.0, t.get("etcd_server_leader_changes_seen_total"));
      assertEquals("counter", t.type("etcd_server_leader_changes_seen_total"));
      assertEquals(1.0, t.get("etcd_server_proposals_failed_total"));
      assertEquals(3.0, t.get("etcd_server_proposals_pending"));
      assertEquals(1048576.0, t.get("etcd_mvcc_db_total_size_in_bytes"));
      assertEquals(1000.0, t.get("etcd_mvcc_db_total_size_in_use_in_bytes"));
      assertEquals(9.0, t.get("etcd_debugging_mvcc_current_revision"));
      assertEquals(2147483648.0, t.get("etcd_server_quota_backend_bytes"));
      assertEquals(1.0, t.get("etcd_server_version", "server_version", "3.4.23"));
      assertEquals(1.0, t.get("etcd_cluster_version", "cluster_version", "3.4"));
      assertEquals(1.0, t.get("etcd_server_id", "server_id", "8e9e05c52164694d"));
      assertEquals(0.0, t.get("etcd_network_client_grpc_received_bytes_total"));
      assertEquals("{\"etcdserver\":\"3.4.23\",\"etcdcluster\":\"3.4.0\"}", m.versionJson());

      m.observeWalFsync(1_500_000); // 1.5 ms
      m.observeWalFsync(20_000_000_000L); // 20 s: beyond etcd's last bucket (8.192 s)
      t = PrometheusText.parse(m.scrape());
      assertEquals("histogram", t.type("etcd_disk_wal_fsync_duration_seconds"));
      assertEquals(0.0, t.get("etcd_disk_wal_fsync_duration_seconds_bucket", "le", "0.001"));
      assertEquals(1.0, t.get("etcd_disk_wal_fsync_duration_seconds_bucket", "le", "0.002"));
      assertEquals(1.0, t.get("etcd_disk_wal_fsync_duration_seconds_bucket", "le", "8.192"));
      assertEquals(2.0, t.get("etcd_disk_wal_fsync_duration_seconds_bucket", "le", "+Inf"));
      assertEquals(2.0, t.get("etcd_disk_wal_fsync_duration_seconds_count"));
    }
  }

  @Test
  void exportsEtcdsMvccWatchLeaseAndServerCounters() {
    try (ServerMetrics m = metrics(new FakeMember(), false)) {
      PrometheusText t = PrometheusText.parse(m.scrape());
      for (String ns : List.of("etcd", "etcd_debugging")) {
        assertEquals(11.0, t.get(ns + "_mvcc_range_total"));
        assertEquals(12.0, t.get(ns + "_mvcc_put_total"));
        assertEquals(13.0, t.get(ns + "_mvcc_delete_total"));
        assertEquals(4.0, t.get(ns + "_mvcc_txn_total"));
        assertEquals("counter", t.type(ns + "_mvcc_txn_total"));
      }
      assertEquals(2.0, t.get("etcd_debugging_mvcc_watch_stream_total"));
      assertEquals("gauge", t.type("etcd_debugging_mvcc_watch_stream_total"));
      assertEquals(5.0, t.get("etcd_debugging_mvcc_watcher_total"));
      assertEquals(1.0, t.get("etcd_debugging_mvcc_slow_watcher_total"));
      assertEquals(6.0, t.get("etcd_debugging_mvcc_pending_events_total"));
      assertEquals("gauge", t.type("etcd_debugging_mvcc_pending_events_total"));
      assertEquals(30.0, t.get("etcd_debugging_mvcc_events_total"));
      assertEquals("counter", t.type("etcd_debugging_mvcc_events_total"));
      assertEquals(8.0, t.get("etcd_debugging_lease_granted_total"));
      assertEquals(6.0, t.get("etcd_debugging_lease_revoked_total"));
      assertEquals(21.0, t.get("etcd_debugging_lease_renewed_total"));
      assertEquals(3.0, t.get("etcd_debugging_server_lease_expired_total"));
      assertEquals(300.0, t.get("etcd_debugging_mvcc_total_put_size_in_bytes"));
      assertEquals("gauge", t.type("etcd_debugging_mvcc_total_put_size_in_bytes"));
      assertEquals(0.0, t.get("etcd_server_snapshot_apply_in_progress_total"));
      assertTrue(t.get("os_fd_used") > 0 && t.get("os_fd_limit") >= t.get("os_fd_used"), t::toString);
      assertEquals(0.0, t.get("etcd_server_slow_apply_total"));
      assertEquals(5.0, t.get("etcd_server_slow_read_indexes_total"));
      assertEquals(2.0, t.get("etcd_server_read_indexes_failed_total"));
      assertEquals("counter", t.type("etcd_server_read_indexes_failed_total"));

      m.observeLeaseGrant(60);
      m.observeLeaseGrant(1);
      m.observeBackendCommit(3_000_000); // 3 ms
      m.observeBackendSnapshot(50_000_000); // 50 ms
      t = PrometheusText.parse(m.scrape());
      assertEquals("histogram", t.type("etcd_debugging_lease_ttl_total"));
      assertEquals(1.0, t.get("etcd_debugging_lease_ttl_total_bucket", "le", "1.0"));
      assertEquals(1.0, t.get("etcd_debugging_lease_ttl_total_bucket", "le", "32.0"));
      assertEquals(2.0, t.get("etcd_debugging_lease_ttl_total_bucket", "le", "64.0"));
      assertEquals(2.0, t.get("etcd_debugging_lease_ttl_total_bucket", "le", "8388608.0"), "24 buckets, 1 s to 97 days");
      assertEquals(61.0, t.get("etcd_debugging_lease_ttl_total_sum"));
      assertEquals(0.0, t.get("etcd_disk_backend_commit_duration_seconds_bucket", "le", "0.002"));
      assertEquals(1.0, t.get("etcd_disk_backend_commit_duration_seconds_bucket", "le", "0.004"));
      assertEquals(1.0, t.get("etcd_disk_backend_commit_duration_seconds_bucket", "le", "8.192"));
      assertEquals(0.0, t.get("etcd_disk_backend_snapshot_duration_seconds_bucket", "le", "0.04"));
      assertEquals(1.0, t.get("etcd_disk_backend_snapshot_duration_seconds_bucket", "le", "0.08"));
      assertEquals(1.0, t.get("etcd_disk_backend_snapshot_duration_seconds_bucket", "le", "655.36"), "17 buckets");
    }
  }

  @Test
  void aMemberThatCannotAnswerIsLeftOutOfTheScrape() {
    FakeMember member = new FakeMember();
    member.stopped = true;
    try (ServerMetrics m = metrics(member, false)) {
      PrometheusText t = PrometheusText.parse(m.scrape());
      assertNull(t.get("etcd_server_has_leader"));
      assertNull(t.get("etcd_server_id", "server_id", "8e9e05c52164694d"));
      assertEquals(1.0, t.get("etcd_server_version", "server_version", "3.4.23"));
      assertEquals(new ServerMetrics.Health(false, "RAFT NO LEADER"), m.health(100));
    }
  }

  @Test
  void healthFollowsEtcdsChecksInOrder() {
    FakeMember member = new FakeMember();
    try (ServerMetrics m = metrics(member, false)) {
      assertEquals("{\"health\":\"true\"}", m.health(100).toJson());

      member.read = new CompletableFuture<>(); // never completes
      assertEquals("{\"health\":\"false\",\"reason\":\"QGET ERROR:context deadline exceeded\"}",
          m.health(50).toJson());
      member.read = CompletableFuture.failedFuture(new IllegalStateException("etcdserver: request timed out"));
      assertEquals(new ServerMetrics.Health(false, "QGET ERROR:etcdserver: request timed out"), m.health(50));

      member.hasLeader = false;
      assertEquals(new ServerMetrics.Health(false, "RAFT NO LEADER"), m.health(50));

      member.alarms = List.of("NOSPACE");
      assertEquals("{\"health\":\"false\",\"reason\":\"ALARM NOSPACE\"}", m.health(50).toJson());

      // etcd's health counters are counters without _total
      String text = m.scrape();
      assertTrue(text.contains("# TYPE etcd_server_health_success counter\netcd_server_health_success 1.0\n"), text);
      assertTrue(text.contains("# TYPE etcd_server_health_failures counter\netcd_server_health_failures 4.0\n"), text);
    }
  }

  @Test
  void grpcCallsAreCountedByServiceMethodTypeAndGoCodeName() throws Exception {
    String name = "metrics-test-" + System.nanoTime();
    HealthStatusManager health = new HealthStatusManager();
    try (ServerMetrics m = metrics(new FakeMember(), true)) {
      Server server = InProcessServerBuilder.forName(name).addService(health.getHealthService())
          .intercept(m.grpc()).build().start();
      server.getServices().forEach(m.grpc()::initialize);
      ManagedChannel ch = InProcessChannelBuilder.forName(name).build();
      try {
        String[] check = {"grpc_method", "Check", "grpc_service", "grpc.health.v1.Health", "grpc_type", "unary"};
        PrometheusText before = PrometheusText.parse(m.scrape());
        assertEquals(0.0, before.get("grpc_server_started_total", check), "initialized before the first call");
        assertEquals(0.0, before.get("grpc_server_handled_total", with(check, "grpc_code", "Unauthenticated")));

        HealthGrpc.HealthBlockingStub stub = HealthGrpc.newBlockingStub(ch);
        stub.check(HealthCheckRequest.getDefaultInstance());
        assertThrows(StatusRuntimeException.class,
            () -> stub.check(HealthCheckRequest.newBuilder().setService("no-such-service").build()));

        PrometheusText t = PrometheusText.parse(m.scrape());
        assertEquals(2.0, t.get("grpc_server_started_total", check));
        assertEquals(2.0, t.get("grpc_server_msg_received_total", check));
        assertEquals(1.0, t.get("grpc_server_msg_sent_total", check));
        assertEquals(1.0, t.get("grpc_server_handled_total", with(check, "grpc_code", "OK")));
        assertEquals(1.0, t.get("grpc_server_handled_total", with(check, "grpc_code", "NotFound")));
        assertEquals(2.0, t.get("grpc_server_handling_seconds_count", check));
        assertEquals(2.0, t.get("grpc_server_handling_seconds_bucket", with(check, "le", "+Inf")));
        assertEquals(0.0, t.get("grpc_server_started_total", "grpc_method", "Watch",
            "grpc_service", "grpc.health.v1.Health", "grpc_type", "server_stream"));
        assertEquals(HealthCheckRequest.newBuilder().setService("no-such-service").build().getSerializedSize(),
            t.get("etcd_network_client_grpc_received_bytes_total").intValue());
      } finally {
        ch.shutdownNow();
        server.shutdownNow();
      }
    }
  }

  @Test
  void goStatusCodeNames() {
    assertEquals("Canceled", GrpcServerMetrics.codeName(io.grpc.Status.Code.CANCELLED));
    assertEquals("DeadlineExceeded", GrpcServerMetrics.codeName(io.grpc.Status.Code.DEADLINE_EXCEEDED));
    assertEquals("Unauthenticated", GrpcServerMetrics.codeName(io.grpc.Status.Code.UNAUTHENTICATED));
  }

  private static String[] with(String[] labels, String... more) {
    String[] out = java.util.Arrays.copyOf(labels, labels.length + more.length);
    System.arraycopy(more, 0, out, labels.length, more.length);
    return out;
  }
}
