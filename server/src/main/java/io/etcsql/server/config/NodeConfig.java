package io.etcsql.server.config;

import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The configuration of one etcsql node, with etcd 3.4's meaning and defaults (see {@link Flags}
 * for every flag name and default). Built by {@link EtcdCommandLine#parse}; {@link #defaults()}
 * gives what {@code etcd} with no flags would use.
 *
 * <p>URL lists are sorted by their string form, as etcd sorts them, so {@code get(0)} is the
 * same URL etcd would pick first.
 *
 * @param name member name ({@code --name})
 * @param dataDir data directory ({@code --data-dir}, default {@code <name>.etcd})
 * @param listenClientUrls {@code --listen-client-urls}
 * @param advertiseClientUrls {@code --advertise-client-urls}
 * @param listenPeerUrls {@code --listen-peer-urls}
 * @param initialAdvertisePeerUrls {@code --initial-advertise-peer-urls}
 * @param initialCluster {@code --initial-cluster}: member name to peer URLs, in command-line order
 * @param initialClusterState {@code --initial-cluster-state}
 * @param initialClusterToken {@code --initial-cluster-token}
 * @param snapshotCount {@code --snapshot-count}
 * @param maxRequestBytes {@code --max-request-bytes}
 * @param maxTxnOps {@code --max-txn-ops}
 * @param heartbeatIntervalMs {@code --heartbeat-interval}
 * @param electionTimeoutMs {@code --election-timeout}
 * @param quotaBackendBytes {@code --quota-backend-bytes} (0: etcd's default, 2 GiB; negative: no quota)
 * @param autoCompaction {@code --auto-compaction-mode} and {@code --auto-compaction-retention}
 * @param listenSqlUrls {@code --listen-sql-urls} (etcsql's own; empty: no SQL endpoint)
 * @param listenMetricsUrls {@code --listen-metrics-urls} (empty: no metrics endpoint)
 * @param metrics {@code --metrics}: {@link Flags#METRICS_EXTENSIVE} adds gRPC handling-time histograms; any
 *     other value means basic, as in etcd 3.4
 * @param grpc {@code --max-concurrent-streams} and {@code --grpc-keepalive-*}: the client gRPC
 *     server's connection settings
 * @param clientTls the client listeners' TLS ({@code --cert-file}, {@code --auto-tls}, ...)
 * @param peerTls the peer listeners' TLS ({@code --peer-cert-file}, {@code --peer-auto-tls}, ...)
 * @param auth {@code --auth-token}, {@code --bcrypt-cost}, {@code --auth-token-ttl}
 * @param http {@code --enable-grpc-gateway}, {@code --cors}, {@code --host-whitelist}
 */
public record NodeConfig(
        String name,
        Path dataDir,
        List<URI> listenClientUrls,
        List<URI> advertiseClientUrls,
        List<URI> listenPeerUrls,
        List<URI> initialAdvertisePeerUrls,
        Map<String, List<URI>> initialCluster,
        ClusterState initialClusterState,
        String initialClusterToken,
        long snapshotCount,
        int maxRequestBytes,
        int maxTxnOps,
        long heartbeatIntervalMs,
        long electionTimeoutMs,
        long quotaBackendBytes,
        AutoCompaction autoCompaction,
        List<URI> listenSqlUrls,
        List<URI> listenMetricsUrls,
        String metrics,
        GrpcOptions grpc,
        TlsInfo clientTls,
        TlsInfo peerTls,
        AuthOptions auth,
        HttpAccess http) {

    /** {@code --initial-cluster-state}. */
    public enum ClusterState {
        NEW(Flags.CLUSTER_STATE_NEW),
        EXISTING(Flags.CLUSTER_STATE_EXISTING);

        private final String flagValue;

        ClusterState(String flagValue) {
            this.flagValue = flagValue;
        }

        /** The value as written on the command line ("new" / "existing"). */
        public String flagValue() {
            return flagValue;
        }

        /** The state for a flag value, or null if etcd would reject it. */
        public static ClusterState fromFlagValue(String value) {
            for (ClusterState s : values()) {
                if (s.flagValue.equals(value)) {
                    return s;
                }
            }
            return null;
        }

        @Override
        public String toString() {
            return flagValue;
        }
    }

    public NodeConfig {
        Objects.requireNonNull(autoCompaction, "autoCompaction");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dataDir, "dataDir");
        listenClientUrls = List.copyOf(listenClientUrls);
        advertiseClientUrls = List.copyOf(advertiseClientUrls);
        listenPeerUrls = List.copyOf(listenPeerUrls);
        initialAdvertisePeerUrls = List.copyOf(initialAdvertisePeerUrls);
        Map<String, List<URI>> cluster = new LinkedHashMap<>();
        initialCluster.forEach((k, v) -> cluster.put(Objects.requireNonNull(k), List.copyOf(v)));
        initialCluster = Collections.unmodifiableMap(cluster);
        Objects.requireNonNull(initialClusterState, "initialClusterState");
        Objects.requireNonNull(initialClusterToken, "initialClusterToken");
        listenSqlUrls = List.copyOf(listenSqlUrls);
        listenMetricsUrls = List.copyOf(listenMetricsUrls);
        Objects.requireNonNull(metrics, "metrics");
        Objects.requireNonNull(grpc, "grpc");
        Objects.requireNonNull(clientTls, "clientTls");
        Objects.requireNonNull(peerTls, "peerTls");
        Objects.requireNonNull(auth, "auth");
        Objects.requireNonNull(http, "http");
    }

    /** A configuration with etcd's default HTTP access (gateway on, any origin, any host). */
    public NodeConfig(String name, Path dataDir, List<URI> listenClientUrls, List<URI> advertiseClientUrls,
            List<URI> listenPeerUrls, List<URI> initialAdvertisePeerUrls, Map<String, List<URI>> initialCluster,
            ClusterState initialClusterState, String initialClusterToken, long snapshotCount, int maxRequestBytes,
            int maxTxnOps, long heartbeatIntervalMs, long electionTimeoutMs, long quotaBackendBytes,
            AutoCompaction autoCompaction, List<URI> listenSqlUrls, List<URI> listenMetricsUrls, String metrics,
            GrpcOptions grpc, TlsInfo clientTls, TlsInfo peerTls, AuthOptions auth) {
        this(name, dataDir, listenClientUrls, advertiseClientUrls, listenPeerUrls, initialAdvertisePeerUrls,
                initialCluster, initialClusterState, initialClusterToken, snapshotCount, maxRequestBytes, maxTxnOps,
                heartbeatIntervalMs, electionTimeoutMs, quotaBackendBytes, autoCompaction, listenSqlUrls,
                listenMetricsUrls, metrics, grpc, clientTls, peerTls, auth, HttpAccess.DEFAULTS);
    }

    /** A configuration without TLS and with etcd's default auth settings (simple tokens). */
    public NodeConfig(String name, Path dataDir, List<URI> listenClientUrls, List<URI> advertiseClientUrls,
            List<URI> listenPeerUrls, List<URI> initialAdvertisePeerUrls, Map<String, List<URI>> initialCluster,
            ClusterState initialClusterState, String initialClusterToken, long snapshotCount, int maxRequestBytes,
            int maxTxnOps, long heartbeatIntervalMs, long electionTimeoutMs, long quotaBackendBytes,
            AutoCompaction autoCompaction, List<URI> listenSqlUrls, List<URI> listenMetricsUrls, String metrics,
            GrpcOptions grpc) {
        this(name, dataDir, listenClientUrls, advertiseClientUrls, listenPeerUrls, initialAdvertisePeerUrls,
                initialCluster, initialClusterState, initialClusterToken, snapshotCount, maxRequestBytes, maxTxnOps,
                heartbeatIntervalMs, electionTimeoutMs, quotaBackendBytes, autoCompaction, listenSqlUrls,
                listenMetricsUrls, metrics, grpc, TlsInfo.NONE, TlsInfo.NONE, AuthOptions.DEFAULTS);
    }

    /** A configuration with etcd's default gRPC connection settings. */
    public NodeConfig(String name, Path dataDir, List<URI> listenClientUrls, List<URI> advertiseClientUrls,
            List<URI> listenPeerUrls, List<URI> initialAdvertisePeerUrls, Map<String, List<URI>> initialCluster,
            ClusterState initialClusterState, String initialClusterToken, long snapshotCount, int maxRequestBytes,
            int maxTxnOps, long heartbeatIntervalMs, long electionTimeoutMs, long quotaBackendBytes,
            AutoCompaction autoCompaction, List<URI> listenSqlUrls, List<URI> listenMetricsUrls, String metrics) {
        this(name, dataDir, listenClientUrls, advertiseClientUrls, listenPeerUrls, initialAdvertisePeerUrls,
                initialCluster, initialClusterState, initialClusterToken, snapshotCount, maxRequestBytes, maxTxnOps,
                heartbeatIntervalMs, electionTimeoutMs, quotaBackendBytes, autoCompaction, listenSqlUrls,
                listenMetricsUrls, metrics, GrpcOptions.DEFAULTS);
    }

    /** A configuration with no metrics endpoint and basic metrics. */
    public NodeConfig(String name, Path dataDir, List<URI> listenClientUrls, List<URI> advertiseClientUrls,
            List<URI> listenPeerUrls, List<URI> initialAdvertisePeerUrls, Map<String, List<URI>> initialCluster,
            ClusterState initialClusterState, String initialClusterToken, long snapshotCount, int maxRequestBytes,
            int maxTxnOps, long heartbeatIntervalMs, long electionTimeoutMs, long quotaBackendBytes,
            AutoCompaction autoCompaction, List<URI> listenSqlUrls) {
        this(name, dataDir, listenClientUrls, advertiseClientUrls, listenPeerUrls, initialAdvertisePeerUrls,
                initialCluster, initialClusterState, initialClusterToken, snapshotCount, maxRequestBytes, maxTxnOps,
                heartbeatIntervalMs, electionTimeoutMs, quotaBackendBytes, autoCompaction, listenSqlUrls, List.of(),
                Flags.DEFAULT_METRICS);
    }

    /** A configuration serving SQL on the default URL. */
    public NodeConfig(String name, Path dataDir, List<URI> listenClientUrls, List<URI> advertiseClientUrls,
            List<URI> listenPeerUrls, List<URI> initialAdvertisePeerUrls, Map<String, List<URI>> initialCluster,
            ClusterState initialClusterState, String initialClusterToken, long snapshotCount, int maxRequestBytes,
            int maxTxnOps, long heartbeatIntervalMs, long electionTimeoutMs, long quotaBackendBytes,
            AutoCompaction autoCompaction) {
        this(name, dataDir, listenClientUrls, advertiseClientUrls, listenPeerUrls, initialAdvertisePeerUrls,
                initialCluster, initialClusterState, initialClusterToken, snapshotCount, maxRequestBytes, maxTxnOps,
                heartbeatIntervalMs, electionTimeoutMs, quotaBackendBytes, autoCompaction,
                List.of(URI.create(Flags.DEFAULT_LISTEN_SQL_URLS)));
    }

    /** A configuration with etcd's defaults for the quota (2 GiB) and auto compaction (off). */
    public NodeConfig(String name, Path dataDir, List<URI> listenClientUrls, List<URI> advertiseClientUrls,
            List<URI> listenPeerUrls, List<URI> initialAdvertisePeerUrls, Map<String, List<URI>> initialCluster,
            ClusterState initialClusterState, String initialClusterToken, long snapshotCount, int maxRequestBytes,
            int maxTxnOps, long heartbeatIntervalMs, long electionTimeoutMs) {
        this(name, dataDir, listenClientUrls, advertiseClientUrls, listenPeerUrls, initialAdvertisePeerUrls,
                initialCluster, initialClusterState, initialClusterToken, snapshotCount, maxRequestBytes, maxTxnOps,
                heartbeatIntervalMs, electionTimeoutMs, Flags.DEFAULT_QUOTA_BACKEND_BYTES, AutoCompaction.disabled());
    }

    /** The configuration {@code etcd} uses when given no flags and no ETCD_* variables. */
    public static NodeConfig defaults() {
        URI peer = URI.create(Flags.DEFAULT_INITIAL_ADVERTISE_PEER_URLS);
        Map<String, List<URI>> cluster = new LinkedHashMap<>();
        cluster.put(Flags.DEFAULT_NAME, List.of(peer));
        return new NodeConfig(
                Flags.DEFAULT_NAME,
                defaultDataDir(Flags.DEFAULT_NAME),
                List.of(URI.create(Flags.DEFAULT_LISTEN_CLIENT_URLS)),
                List.of(URI.create(Flags.DEFAULT_ADVERTISE_CLIENT_URLS)),
                List.of(URI.create(Flags.DEFAULT_LISTEN_PEER_URLS)),
                List.of(peer),
                cluster,
                ClusterState.NEW,
                Flags.DEFAULT_INITIAL_CLUSTER_TOKEN,
                Flags.DEFAULT_SNAPSHOT_COUNT,
                Flags.DEFAULT_MAX_REQUEST_BYTES,
                Flags.DEFAULT_MAX_TXN_OPS,
                Flags.DEFAULT_HEARTBEAT_INTERVAL_MS,
                Flags.DEFAULT_ELECTION_TIMEOUT_MS,
                Flags.DEFAULT_QUOTA_BACKEND_BYTES,
                AutoCompaction.disabled());
    }

    /** etcd's default data directory for a member name: {@code <name>.etcd}. */
    public static Path defaultDataDir(String name) {
        return Path.of(name + Flags.DATA_DIR_SUFFIX);
    }

    /** The first client listen URL (etcd's order: sorted by string form). */
    public URI clientListenUri() {
        return listenClientUrls.get(0);
    }

    /** The first peer listen URL. */
    public URI peerListenUri() {
        return listenPeerUrls.get(0);
    }

    /** The first advertised client URL, or null when none is advertised. */
    public URI clientAdvertiseUri() {
        return advertiseClientUrls.isEmpty() ? null : advertiseClientUrls.get(0);
    }

    /** The first advertised peer URL. */
    public URI peerAdvertiseUri() {
        return initialAdvertisePeerUrls.get(0);
    }

    /** Socket addresses to bind for clients (host names such as localhost are resolved now). */
    public List<InetSocketAddress> clientListenAddresses() {
        return socketAddresses(listenClientUrls);
    }

    /** Socket addresses to serve SQL on (none when SQL is off). */
    public List<InetSocketAddress> sqlListenAddresses() {
        return socketAddresses(listenSqlUrls);
    }

    /** Socket addresses to serve /metrics, /health and /version on (none by default). */
    public List<InetSocketAddress> metricsListenAddresses() {
        return socketAddresses(listenMetricsUrls);
    }

    /** {@code --metrics extensive}: also the gRPC handling-time histograms. */
    public boolean extensiveMetrics() {
        return metrics.equals(Flags.METRICS_EXTENSIVE);
    }

    /** Socket addresses to bind for peers (host names such as localhost are resolved now). */
    public List<InetSocketAddress> peerListenAddresses() {
        return socketAddresses(listenPeerUrls);
    }

    /** The socket address of an http URL (host resolved now). */
    public static InetSocketAddress socketAddress(URI url) {
        return new InetSocketAddress(EtcdUrls.host(url), url.getPort());
    }

    private static List<InetSocketAddress> socketAddresses(List<URI> urls) {
        List<InetSocketAddress> out = new ArrayList<>(urls.size());
        for (URI u : urls) {
            out.add(socketAddress(u));
        }
        return List.copyOf(out);
    }

    /** The member names of {@code --initial-cluster}, in command-line order. */
    public List<String> initialMemberNames() {
        return List.copyOf(initialCluster.keySet());
    }

    /** This member's peer URLs according to {@code --initial-cluster} (empty if absent). */
    public List<URI> initialClusterPeerUrls(String member) {
        return initialCluster.getOrDefault(member, List.of());
    }

    /** {@code --initial-cluster} in etcd's canonical form: {@code name=url} pairs, sorted. */
    public String initialClusterString() {
        return EtcdUrls.clusterString(initialCluster);
    }

    public boolean isNewCluster() {
        return initialClusterState == ClusterState.NEW;
    }

    /** etcd's election ticks: election timeout divided by heartbeat interval. */
    public long electionTicks() {
        return electionTimeoutMs / heartbeatIntervalMs;
    }
}
