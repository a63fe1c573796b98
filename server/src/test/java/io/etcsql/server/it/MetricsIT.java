package io.etcsql.server.it;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --listen-metrics-urls} on a three-member cluster: {@code /metrics} in the Prometheus text
 * format with etcd's metric names, {@code /health} and {@code /version}; and {@code /health} and
 * {@code etcd_server_has_leader} once the quorum is lost. Runs against etcsql and etcd (etcd 3.4
 * serves no {@code /version} on its metrics URLs, so that check is etcsql's only).
 */
@ExtendWith(DumpLogsOnFailure.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 180, unit = java.util.concurrent.TimeUnit.SECONDS)
class MetricsIT {
    private static final int PUTS = 10;
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    static Cluster cluster;
    static int[] metricsPorts;

    @BeforeAll
    static void start() {
        metricsPorts = new int[3];
        for (int i = 0; i < 3; i++) {
            metricsPorts[i] = ServerProcess.freePort();
        }
        cluster = Cluster.start(3, i -> List.of("--listen-metrics-urls", "http://127.0.0.1:" + metricsPorts[i],
                "--metrics", "extensive"));
    }

    @AfterAll
    static void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    static HttpResponse<String> get(int member, String path) {
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metricsPorts[member] + path))
                .timeout(Duration.ofSeconds(10)).GET().build();
        try {
            return HTTP.send(req, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new AssertionError("GET " + path + " of member " + member, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    static PrometheusText scrape(int member) {
        HttpResponse<String> r = get(member, "/metrics");
        assertEquals(200, r.statusCode(), r::body);
        String type = r.headers().firstValue("Content-Type").orElse("");
        assertTrue(type.startsWith("text/plain; version=0.0.4"), type);
        return PrometheusText.parse(r.body());
    }

    static List<PrometheusText> scrapeAll() {
        List<PrometheusText> out = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            out.add(scrape(i));
        }
        return out;
    }

    static double puts(PrometheusText m, String metric, String... more) {
        List<String> labels = new ArrayList<>(List.of("grpc_method", "Put", "grpc_service", "etcdserverpb.KV",
                "grpc_type", "unary"));
        labels.addAll(List.of(more));
        return m.value(metric, labels.toArray(String[]::new));
    }

    @Test
    @Order(1)
    void metricsOfAHealthyClusterCountWhatClientsDid() {
        cluster.waitLeader(Duration.ofSeconds(30));
        int serving = 1;
        List<PrometheusText> before = scrapeAll();
        Etcdctl ctl = cluster.ctl(serving);
        for (int i = 0; i < PUTS; i++) {
            ctl.ok("put", "metrics/" + i, "v" + i);
        }
        String version = cluster.status(serving).get("version").asText();

        // followers learn the commit index with the next append or heartbeat
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        List<PrometheusText> after = scrapeAll();
        while (System.nanoTime() < deadline && !committedGrew(before, after)) {
            ServerProcess.sleep(200);
            after = scrapeAll();
        }

        int leaders = 0;
        for (int i = 0; i < 3; i++) {
            PrometheusText b = before.get(i);
            PrometheusText a = after.get(i);
            String who = "member " + i + ": " + a;
            assertEquals(1.0, a.get("etcd_server_has_leader"), who);
            leaders += a.get("etcd_server_is_leader").intValue();
            assertEquals("gauge", a.type("etcd_server_proposals_committed_total"), who);
            assertTrue(a.value("etcd_server_proposals_committed_total")
                    >= b.value("etcd_server_proposals_committed_total") + PUTS, who);
            assertTrue(a.value("etcd_server_proposals_applied_total")
                    >= b.value("etcd_server_proposals_applied_total"), who);
            assertTrue(a.value("etcd_server_leader_changes_seen_total") >= 1, who);
            assertEquals("counter", a.type("etcd_server_leader_changes_seen_total"), who);
            assertTrue(a.value("etcd_mvcc_db_total_size_in_bytes") > 0, who);
            assertEquals("histogram", a.type("etcd_disk_wal_fsync_duration_seconds"), who);
            assertTrue(a.value("etcd_disk_wal_fsync_duration_seconds_count")
                    > b.value("etcd_disk_wal_fsync_duration_seconds_count"), "the puts were synced to the log; " + who);
            assertEquals(1.0, a.get("etcd_server_version", "server_version", version), who);
            double handledPuts = puts(a, "grpc_server_handled_total", "grpc_code", "OK")
                    - puts(b, "grpc_server_handled_total", "grpc_code", "OK");
            double startedPuts = puts(a, "grpc_server_started_total") - puts(b, "grpc_server_started_total");
            double receivedPuts = puts(a, "grpc_server_msg_received_total") - puts(b, "grpc_server_msg_received_total");
            double timedPuts = puts(a, "grpc_server_handling_seconds_count") - puts(b, "grpc_server_handling_seconds_count");
            int expected = i == serving ? PUTS : 0;
            assertEquals(expected, handledPuts, who);
            assertEquals(expected, startedPuts, who);
            assertEquals(expected, receivedPuts, who);
            assertEquals(expected, timedPuts, "--metrics extensive: grpc_server_handling_seconds; " + who);
            if (i == serving) {
                assertTrue(a.value("etcd_network_client_grpc_received_bytes_total")
                        > b.value("etcd_network_client_grpc_received_bytes_total"), who);
                assertTrue(a.value("etcd_network_client_grpc_sent_bytes_total")
                        > b.value("etcd_network_client_grpc_sent_bytes_total"), who);
            }

            HttpResponse<String> health = get(i, "/health");
            assertEquals(200, health.statusCode(), health::body);
            assertEquals("{\"health\":\"true\"}", health.body().strip());
        }
        assertEquals(1, leaders, "exactly one member reports etcd_server_is_leader 1: " + after);

        if (!ServerProcess.targetIsEtcd()) { // etcd 3.4 serves /version on its client URLs only
            HttpResponse<String> v = get(0, "/version");
            assertEquals(200, v.statusCode());
            JsonNode j = Cluster.json(v.body());
            assertEquals(version, j.get("etcdserver").asText(), "as Maintenance.Status reports");
            assertEquals("3.4.0", j.get("etcdcluster").asText());
        }
    }

    private static boolean committedGrew(List<PrometheusText> before, List<PrometheusText> after) {
        for (int i = 0; i < 3; i++) {
            if (after.get(i).value("etcd_server_proposals_committed_total")
                    < before.get(i).value("etcd_server_proposals_committed_total") + PUTS) {
                return false;
            }
        }
        return true;
    }

    /** Scrapes {@code member} until {@code done} holds, for at most 10 seconds; returns the last scrape. */
    private static PrometheusText scrapeUntil(int member, java.util.function.Predicate<PrometheusText> done) {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        PrometheusText m = scrape(member);
        while (System.nanoTime() < deadline && !done.test(m)) {
            ServerProcess.sleep(100);
            m = scrape(member);
        }
        return m;
    }

    /** How much {@code metric} moved from {@code before} to {@code after}. */
    private static double moved(PrometheusText before, PrometheusText after, String metric) {
        return after.value(metric) - before.value(metric);
    }

    /**
     * The mvcc, lease, watch, backend and health metrics move exactly as etcd's do after the same
     * etcdctl commands: writes count on every member (each applies them), reads, read-only txns,
     * watches and snapshots on the member asked, lease renewals on the leader.
     */
    @Test
    @Order(2)
    void mvccLeaseWatchAndBackendMetricsCountWhatEtcdCounts() throws Exception {
        int leader = cluster.waitLeader(Duration.ofSeconds(30));
        int serving = (leader + 1) % 3;
        Etcdctl ctl = cluster.ctl(serving);
        List<PrometheusText> before = scrapeAll();
        // "lease 694d77aa9e38260f granted with TTL(2s)": the leader revokes it when it expires
        String expiring = ctl.ok("lease", "grant", "2");
        int shortTtl = Integer.parseInt(expiring.replaceAll("(?s).*TTL\\((\\d+)s\\).*", "$1"));
        ctl.ok("put", "ops/k1", "v1");
        ctl.ok("put", "ops/k2", "v2");
        ctl.ok("put", "ops/k3", "v3");
        ctl.ok("get", "ops/k1");
        ctl.ok("get", "ops/", "--prefix");
        ctl.ok("put", "ops/k1", "v1", "--prev-kv"); // reads the previous pair: a txn of two
        ctl.ok("del", "ops/k3", "--prev-kv");
        // one compare read, then two puts: only the write counts as a txn
        assertTrue(ctl.runWithInput("value(\"ops/k1\") = \"v1\"\n\nput ops/k1 x\nput ops/k2 y\n\n\n", "txn")
                .stdout().startsWith("SUCCESS"));
        // read-only, served by the member asked: the failed compare and one get
        assertTrue(ctl.runWithInput("version(\"ops/none\") = \"1\"\n\nget ops/k1\n\nget ops/k2\n\n", "txn")
                .stdout().startsWith("FAILURE"));
        String lease = ctl.ok("lease", "grant", "600").split("\\s+")[1];
        ctl.ok("put", "ops/l1", "v", "--lease=" + lease);
        ctl.ok("put", "ops/l2", "v", "--lease=" + lease);
        ctl.ok("lease", "keep-alive", "--once", lease);
        ctl.ok("lease", "revoke", lease); // deletes both keys in one txn
        ctl.ok("snapshot", "save", cluster.baseDir().resolve("metrics.db").toString());

        PrometheusText w0 = scrape(serving);
        try (Etcdctl.Background watch = ctl.background("watch", "--prefix", "ops/w", "--prev-kv")) {
            PrometheusText w = scrapeUntil(serving, m -> moved(w0, m, "etcd_debugging_mvcc_watcher_total") >= 1);
            assertEquals(1.0, moved(w0, w, "etcd_debugging_mvcc_watch_stream_total"), w::toString);
            assertEquals(1.0, moved(w0, w, "etcd_debugging_mvcc_watcher_total"), w::toString);
            ctl.ok("put", "ops/w1", "1");
            ctl.ok("put", "ops/w1", "2"); // its prev_kv is a Range
            // PUT, key, value; then PUT, previous key and value, key, value
            assertEquals(8, watch.nextLines(8, Duration.ofSeconds(10)).size());
            w = scrapeUntil(serving, m -> moved(w0, m, "etcd_debugging_mvcc_events_total") >= 2);
            assertEquals(2.0, moved(w0, w, "etcd_debugging_mvcc_events_total"), w::toString);
            assertEquals(0.0, w.value("etcd_debugging_mvcc_pending_events_total"), w::toString);
            assertEquals(0.0, w.value("etcd_debugging_mvcc_slow_watcher_total"), w::toString);
        }
        PrometheusText w = scrapeUntil(serving, m -> moved(w0, m, "etcd_debugging_mvcc_watch_stream_total") == 0);
        assertEquals(0.0, moved(w0, w, "etcd_debugging_mvcc_watch_stream_total"), "the watch ended: " + w);
        assertEquals(0.0, moved(w0, w, "etcd_debugging_mvcc_watcher_total"), w::toString);

        // followers apply the last entries a little later
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        List<PrometheusText> after = scrapeAll();
        while (System.nanoTime() < deadline && !allApplied(before, after)) {
            ServerProcess.sleep(200);
            after = scrapeAll();
        }
        for (int i = 0; i < 3; i++) {
            PrometheusText b = before.get(i);
            PrometheusText a = after.get(i);
            String who = "member " + i + (i == serving ? " (asked)" : "") + (i == leader ? " (leader)" : "") + ": " + a;
            boolean asked = i == serving;
            assertEquals(10.0, moved(b, a, "etcd_mvcc_put_total"), who);
            assertEquals(10.0, moved(b, a, "etcd_debugging_mvcc_put_total"), who);
            assertEquals(3.0, moved(b, a, "etcd_mvcc_delete_total"), who);
            // prev-kv put and del, the txn's compare; asked: two gets, the read-only txn's two reads
            // and the watch event's prev_kv
            assertEquals(asked ? 8.0 : 3.0, moved(b, a, "etcd_mvcc_range_total"), who);
            // prev-kv put and del, the txn's write, the revocation; asked: the read-only txn
            assertEquals(asked ? 5.0 : 4.0, moved(b, a, "etcd_mvcc_txn_total"), who);
            assertEquals("counter", a.type("etcd_mvcc_txn_total"), who);
            assertEquals(74.0, moved(b, a, "etcd_debugging_mvcc_total_put_size_in_bytes"), "keys and values; " + who);
            assertEquals(2.0, moved(b, a, "etcd_debugging_lease_granted_total"), who);
            assertEquals(2.0, moved(b, a, "etcd_debugging_lease_revoked_total"), who);
            assertEquals(i == leader ? 1.0 : 0.0, moved(b, a, "etcd_debugging_lease_renewed_total"), who);
            assertEquals(i == leader ? 1.0 : 0.0, moved(b, a, "etcd_debugging_server_lease_expired_total"), who);
            assertEquals(2.0, moved(b, a, "etcd_debugging_lease_ttl_total_count"), who);
            assertEquals(600.0 + shortTtl, moved(b, a, "etcd_debugging_lease_ttl_total_sum"), who);
            assertEquals(0.0, a.value("etcd_server_snapshot_apply_in_progress_total"), who);
            assertEquals("histogram", a.type("etcd_disk_backend_commit_duration_seconds"), who);
            assertTrue(moved(b, a, "etcd_disk_backend_commit_duration_seconds_count") > 0, who);
            assertEquals(asked ? 1.0 : 0.0, moved(b, a, "etcd_disk_backend_snapshot_duration_seconds_count"), who);
            for (String counter : List.of("etcd_server_slow_apply_total", "etcd_server_slow_read_indexes_total",
                    "etcd_server_read_indexes_failed_total", "etcd_server_health_success",
                    "etcd_server_health_failures")) {
                assertEquals("counter", a.type(counter), counter + " of " + who);
            }
            HttpResponse<String> health = get(i, "/health");
            assertEquals(200, health.statusCode(), health::body);
            assertEquals(1.0, moved(a, scrape(i), "etcd_server_health_success"), who);
        }
    }

    /** Every member applied the puts, deletes and both revocations (the expiring lease's included). */
    private static boolean allApplied(List<PrometheusText> before, List<PrometheusText> after) {
        for (int i = 0; i < 3; i++) {
            if (moved(before.get(i), after.get(i), "etcd_mvcc_put_total") < 10
                    || moved(before.get(i), after.get(i), "etcd_mvcc_delete_total") < 3
                    || moved(before.get(i), after.get(i), "etcd_debugging_lease_revoked_total") < 2) {
                return false;
            }
        }
        return true;
    }

    @Test
    @Order(3)
    void aMemberLeftWithoutQuorumReportsNoLeaderAndIsUnhealthy() {
        int survivor = cluster.waitLeader(Duration.ofSeconds(30)); // the leader itself must notice
        for (int i = 0; i < 3; i++) {
            if (i != survivor) {
                cluster.member(i).kill();
            }
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        HttpResponse<String> health = get(survivor, "/health");
        PrometheusText m = scrape(survivor);
        while (System.nanoTime() < deadline
                && (health.statusCode() == 200 || m.value("etcd_server_has_leader") != 0)) {
            ServerProcess.sleep(500);
            health = get(survivor, "/health");
            m = scrape(survivor);
        }
        assertEquals(503, health.statusCode(), health::body);
        assertEquals("false", Cluster.json(health.body()).get("health").asText(), health.body());
        assertEquals(0.0, m.get("etcd_server_has_leader"), m::toString);
        assertEquals(0.0, m.get("etcd_server_is_leader"), m::toString);
    }
}
