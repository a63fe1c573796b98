package io.etcsql.server.config;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The single definition of etcsql's command line: every flag name, environment variable name,
 * default value and help text (taken from etcd 3.4's {@code etcdmain/config.go} and
 * {@code etcdmain/help.go}), plus the list of etcd 3.4 flags etcsql refuses because it does not
 * implement them yet.
 */
public final class Flags {

    private Flags() {
    }

    /** How a flag's value is parsed (mirrors the Go {@code flag.Value} etcd registers). */
    public enum Kind {
        /** Free-form string ({@code fs.StringVar}). */
        STRING,
        /** Comma-separated URL list ({@code flags.UniqueURLs}). */
        URLS,
        /** Unsigned integer ({@code fs.UintVar}, 64-bit on the platforms etcd supports). */
        UINT,
        /** Unsigned 64-bit integer ({@code fs.Uint64Var}). */
        UINT64,
        /** One of a fixed set of strings ({@code flags.SelectiveStringValue}). */
        SELECTIVE,
        /** Boolean ({@code fs.BoolVar}): {@code --flag} alone means true. */
        BOOL,
        /** Go duration ({@code fs.DurationVar}): "5s", "2h45m", "0". */
        DURATION,
        /** Signed 64-bit integer ({@code fs.Int64Var}). */
        INT64
    }

    /**
     * One supported flag.
     *
     * @param name flag name without dashes
     * @param kind how its value is parsed
     * @param defaultText the default as etcd's help shows it (between quotes)
     * @param help help text lines, as in etcd's {@code --help}
     * @param section the help section ("Member", "Clustering", ...)
     */
    public record Spec(String name, Kind kind, String defaultText, List<String> help, String section) {
        public Spec {
            help = List.copyOf(help);
        }

        /** The environment variable that sets this flag, e.g. {@code ETCD_DATA_DIR}. */
        public String envVar() {
            return envName(name);
        }

        public boolean isBool() {
            return kind == Kind.BOOL;
        }
    }

    // ---- environment ---------------------------------------------------------------------

    /** Prefix of the environment variables (etcd's {@code flags.SetFlagsFromEnv("ETCD", ...)}). */
    public static final String ENV_PREFIX = "ETCD";

    /** etcd's {@code flags.FlagToEnv}: {@code some-flag -> ETCD_SOME_FLAG}. */
    public static String envName(String flag) {
        return ENV_PREFIX + "_" + flag.replace('-', '_').toUpperCase(Locale.ROOT);
    }

    /** etcd reads this one outside the flag set (config file mode); etcsql refuses it. */
    public static final String ENV_CONFIG_FILE = envName("config-file");

    // ---- flag names ----------------------------------------------------------------------

    public static final String NAME = "name";
    public static final String DATA_DIR = "data-dir";
    public static final String SNAPSHOT_COUNT = "snapshot-count";
    public static final String HEARTBEAT_INTERVAL = "heartbeat-interval";
    public static final String ELECTION_TIMEOUT = "election-timeout";
    public static final String LISTEN_PEER_URLS = "listen-peer-urls";
    public static final String LISTEN_CLIENT_URLS = "listen-client-urls";
    public static final String MAX_TXN_OPS = "max-txn-ops";
    /** etcsql's own: where the SQL endpoint (Avatica over HTTP) listens; empty turns SQL off. */
    public static final String LISTEN_SQL_URLS = "listen-sql-urls";
    /** Where the /metrics, /health and /version HTTP endpoints listen (empty: nowhere). */
    public static final String LISTEN_METRICS_URLS = "listen-metrics-urls";
    public static final String MAX_CONCURRENT_STREAMS = "max-concurrent-streams";
    public static final String AUTH_TOKEN = "auth-token";
    public static final String ENABLE_GRPC_GATEWAY = "enable-grpc-gateway";
    public static final String CORS = "cors";
    public static final String HOST_WHITELIST = "host-whitelist";
    public static final String BCRYPT_COST = "bcrypt-cost";
    public static final String AUTH_TOKEN_TTL = "auth-token-ttl";
    public static final String GRPC_KEEPALIVE_MIN_TIME = "grpc-keepalive-min-time";
    public static final String GRPC_KEEPALIVE_INTERVAL = "grpc-keepalive-interval";
    public static final String GRPC_KEEPALIVE_TIMEOUT = "grpc-keepalive-timeout";
    /** Level of detail of the exported metrics: {@link #METRICS_BASIC} or {@link #METRICS_EXTENSIVE}. */
    public static final String METRICS = "metrics";
    public static final String MAX_REQUEST_BYTES = "max-request-bytes";
    public static final String INITIAL_ADVERTISE_PEER_URLS = "initial-advertise-peer-urls";
    public static final String INITIAL_CLUSTER = "initial-cluster";
    public static final String INITIAL_CLUSTER_STATE = "initial-cluster-state";
    public static final String INITIAL_CLUSTER_TOKEN = "initial-cluster-token";
    public static final String ADVERTISE_CLIENT_URLS = "advertise-client-urls";
    public static final String VERSION = "version";
    public static final String QUOTA_BACKEND_BYTES = "quota-backend-bytes";
    public static final String AUTO_COMPACTION_RETENTION = "auto-compaction-retention";
    public static final String AUTO_COMPACTION_MODE = "auto-compaction-mode";
    public static final String CERT_FILE = "cert-file";
    public static final String KEY_FILE = "key-file";
    public static final String CLIENT_CERT_AUTH = "client-cert-auth";
    public static final String CLIENT_CRL_FILE = "client-crl-file";
    public static final String TRUSTED_CA_FILE = "trusted-ca-file";
    public static final String AUTO_TLS = "auto-tls";
    public static final String CIPHER_SUITES = "cipher-suites";
    public static final String PEER_CERT_FILE = "peer-cert-file";
    public static final String PEER_KEY_FILE = "peer-key-file";
    public static final String PEER_CLIENT_CERT_AUTH = "peer-client-cert-auth";
    public static final String PEER_TRUSTED_CA_FILE = "peer-trusted-ca-file";
    public static final String PEER_CERT_ALLOWED_CN = "peer-cert-allowed-cn";
    public static final String PEER_AUTO_TLS = "peer-auto-tls";
    public static final String PEER_CRL_FILE = "peer-crl-file";
    /** Not a registered flag: Go's flag package answers {@code -h}, {@code -help} with the help text. */
    public static final String HELP = "help";
    public static final String HELP_SHORT = "h";

    // ---- defaults (etcd 3.4 embed.NewConfig / etcdserver) ---------------------------------

    public static final String DEFAULT_NAME = "default";
    /** Shown in help; the actual default is {@code <name>.etcd}, computed after parsing. */
    public static final String DEFAULT_DATA_DIR_TEXT = "${name}.etcd";
    public static final String DATA_DIR_SUFFIX = ".etcd";
    public static final long DEFAULT_SNAPSHOT_COUNT = 100_000L;
    public static final long DEFAULT_HEARTBEAT_INTERVAL_MS = 100L;
    public static final long DEFAULT_ELECTION_TIMEOUT_MS = 1000L;
    /** embed.maxElectionMs. */
    public static final long MAX_ELECTION_TIMEOUT_MS = 50_000L;
    public static final String DEFAULT_LISTEN_PEER_URLS = "http://localhost:2380";
    public static final String DEFAULT_LISTEN_CLIENT_URLS = "http://localhost:2379";
    public static final int DEFAULT_MAX_TXN_OPS = 128;
    /** Avatica's usual port, on loopback. */
    public static final String DEFAULT_LISTEN_SQL_URLS = "http://127.0.0.1:8765";
    /** 1.5 MiB. */
    public static final int DEFAULT_MAX_REQUEST_BYTES = 1_572_864;
    public static final String DEFAULT_INITIAL_ADVERTISE_PEER_URLS = "http://localhost:2380";
    public static final String DEFAULT_ADVERTISE_CLIENT_URLS = "http://localhost:2379";
    /** {@code <default name>=<default initial advertise peer urls>}, as etcd computes it. */
    public static final String DEFAULT_INITIAL_CLUSTER = DEFAULT_NAME + "=" + DEFAULT_INITIAL_ADVERTISE_PEER_URLS;
    public static final String CLUSTER_STATE_NEW = "new";
    public static final String CLUSTER_STATE_EXISTING = "existing";
    public static final String DEFAULT_INITIAL_CLUSTER_STATE = CLUSTER_STATE_NEW;
    public static final String DEFAULT_INITIAL_CLUSTER_TOKEN = "etcd-cluster";
    /** 0: etcd's default quota (2 GiB); negative disables the quota. */
    public static final long DEFAULT_QUOTA_BACKEND_BYTES = 0L;
    public static final String DEFAULT_AUTO_COMPACTION_RETENTION = "0";
    public static final String DEFAULT_AUTO_COMPACTION_MODE = "periodic";
    public static final String DEFAULT_LISTEN_METRICS_URLS = "";
    public static final String METRICS_BASIC = "basic";
    /** Adds the server side gRPC handling-time histograms. */
    public static final String METRICS_EXTENSIVE = "extensive";
    public static final String DEFAULT_METRICS = METRICS_BASIC;
    /** math.MaxUint32. */
    public static final long DEFAULT_MAX_CONCURRENT_STREAMS = 4_294_967_295L;
    public static final java.time.Duration DEFAULT_GRPC_KEEPALIVE_MIN_TIME = java.time.Duration.ofSeconds(5);
    public static final java.time.Duration DEFAULT_GRPC_KEEPALIVE_INTERVAL = java.time.Duration.ofHours(2);
    public static final java.time.Duration DEFAULT_GRPC_KEEPALIVE_TIMEOUT = java.time.Duration.ofSeconds(20);

    /** The etcd release whose command line this emulates. */
    public static final String EMULATED_ETCD_VERSION = "3.4.23";
    /** The cluster version etcd 3.4 reports ({@code /version}'s etcdcluster). */
    public static final String EMULATED_CLUSTER_VERSION = "3.4.0";

    // ---- supported flags, in etcd's help order ---------------------------------------------

    private static final String MEMBER = "Member";
    private static final String CLUSTERING = "Clustering";
    private static final String AUTH = "Auth";
    private static final String MONITORING = "Profiling and Monitoring";
    private static final String SECURITY = "Security";

    /** The flags etcsql accepts (besides {@code -h/--help}), in etcd's help order. */
    public static final List<Spec> SUPPORTED = List.of(
            new Spec(NAME, Kind.STRING, DEFAULT_NAME,
                    List.of("Human-readable name for this member."), MEMBER),
            new Spec(DATA_DIR, Kind.STRING, DEFAULT_DATA_DIR_TEXT,
                    List.of("Path to the data directory."), MEMBER),
            new Spec(SNAPSHOT_COUNT, Kind.UINT64, Long.toString(DEFAULT_SNAPSHOT_COUNT),
                    List.of("Number of committed transactions to trigger a snapshot to disk."), MEMBER),
            new Spec(HEARTBEAT_INTERVAL, Kind.UINT, Long.toString(DEFAULT_HEARTBEAT_INTERVAL_MS),
                    List.of("Time (in milliseconds) of a heartbeat interval."), MEMBER),
            new Spec(ELECTION_TIMEOUT, Kind.UINT, Long.toString(DEFAULT_ELECTION_TIMEOUT_MS),
                    List.of("Time (in milliseconds) for an election to timeout. See tuning documentation for details."),
                    MEMBER),
            new Spec(LISTEN_PEER_URLS, Kind.URLS, DEFAULT_LISTEN_PEER_URLS,
                    List.of("List of URLs to listen on for peer traffic."), MEMBER),
            new Spec(LISTEN_CLIENT_URLS, Kind.URLS, DEFAULT_LISTEN_CLIENT_URLS,
                    List.of("List of URLs to listen on for client traffic."), MEMBER),
            new Spec(QUOTA_BACKEND_BYTES, Kind.INT64, Long.toString(DEFAULT_QUOTA_BACKEND_BYTES),
                    List.of("Raise alarms when backend size exceeds the given quota (0 defaults to low space quota)."),
                    MEMBER),
            new Spec(MAX_TXN_OPS, Kind.UINT, Integer.toString(DEFAULT_MAX_TXN_OPS),
                    List.of("Maximum number of operations permitted in a transaction."), MEMBER),
            new Spec(MAX_REQUEST_BYTES, Kind.UINT, Integer.toString(DEFAULT_MAX_REQUEST_BYTES),
                    List.of("Maximum client request size in bytes the server will accept."), MEMBER),
            new Spec(MAX_CONCURRENT_STREAMS, Kind.UINT, "math.MaxUint32",
                    List.of("Maximum concurrent streams that each client can open at a time."), MEMBER),
            new Spec(GRPC_KEEPALIVE_MIN_TIME, Kind.DURATION, "5s",
                    List.of("Minimum duration interval that a client should wait before pinging server."), MEMBER),
            new Spec(GRPC_KEEPALIVE_INTERVAL, Kind.DURATION, "2h",
                    List.of("Frequency duration of server-to-client ping to check if a connection is alive (0 to disable)."),
                    MEMBER),
            new Spec(GRPC_KEEPALIVE_TIMEOUT, Kind.DURATION, "20s",
                    List.of("Additional duration of wait before closing a non-responsive connection (0 to disable)."),
                    MEMBER),
            new Spec(INITIAL_ADVERTISE_PEER_URLS, Kind.URLS, DEFAULT_INITIAL_ADVERTISE_PEER_URLS,
                    List.of("List of this member's peer URLs to advertise to the rest of the cluster."), CLUSTERING),
            new Spec(INITIAL_CLUSTER, Kind.STRING, DEFAULT_INITIAL_CLUSTER,
                    List.of("Initial cluster configuration for bootstrapping."), CLUSTERING),
            new Spec(INITIAL_CLUSTER_STATE, Kind.SELECTIVE, DEFAULT_INITIAL_CLUSTER_STATE,
                    List.of("Initial cluster state ('new' or 'existing')."), CLUSTERING),
            new Spec(INITIAL_CLUSTER_TOKEN, Kind.STRING, DEFAULT_INITIAL_CLUSTER_TOKEN,
                    List.of("Initial cluster token for the etcd cluster during bootstrap.",
                            "Specifying this can protect you from unintended cross-cluster interaction when running multiple clusters."),
                    CLUSTERING),
            new Spec(ADVERTISE_CLIENT_URLS, Kind.URLS, DEFAULT_ADVERTISE_CLIENT_URLS,
                    List.of("List of this member's client URLs to advertise to the public.",
                            "The client URLs advertised should be accessible to machines that talk to etcd cluster. etcd client libraries parse these URLs to connect to the cluster."),
                    CLUSTERING),
            new Spec(AUTO_COMPACTION_RETENTION, Kind.STRING, DEFAULT_AUTO_COMPACTION_RETENTION,
                    List.of("Auto compaction retention length. 0 means disable auto compaction."), CLUSTERING),
            new Spec(AUTO_COMPACTION_MODE, Kind.STRING, DEFAULT_AUTO_COMPACTION_MODE,
                    List.of("Interpret 'auto-compaction-retention' one of: periodic|revision. 'periodic' for duration based retention, defaulting to hours if no time unit is provided (e.g. '5m'). 'revision' for revision number based retention."),
                    CLUSTERING),
            new Spec(CERT_FILE, Kind.STRING, "",
                    List.of("Path to the client server TLS cert file."), SECURITY),
            new Spec(KEY_FILE, Kind.STRING, "",
                    List.of("Path to the client server TLS key file."), SECURITY),
            new Spec(CLIENT_CERT_AUTH, Kind.BOOL, "false",
                    List.of("Enable client cert authentication."), SECURITY),
            new Spec(CLIENT_CRL_FILE, Kind.STRING, "",
                    List.of("Path to the client certificate revocation list file."), SECURITY),
            new Spec(TRUSTED_CA_FILE, Kind.STRING, "",
                    List.of("Path to the client server TLS trusted CA cert file."), SECURITY),
            new Spec(AUTO_TLS, Kind.BOOL, "false",
                    List.of("Client TLS using generated certificates."), SECURITY),
            new Spec(PEER_CERT_FILE, Kind.STRING, "",
                    List.of("Path to the peer server TLS cert file."), SECURITY),
            new Spec(PEER_KEY_FILE, Kind.STRING, "",
                    List.of("Path to the peer server TLS key file."), SECURITY),
            new Spec(PEER_CLIENT_CERT_AUTH, Kind.BOOL, "false",
                    List.of("Enable peer client cert authentication."), SECURITY),
            new Spec(PEER_TRUSTED_CA_FILE, Kind.STRING, "",
                    List.of("Path to the peer server TLS trusted CA file."), SECURITY),
            new Spec(PEER_CERT_ALLOWED_CN, Kind.STRING, "",
                    List.of("Required CN for client certs connecting to the peer endpoint."), SECURITY),
            new Spec(PEER_AUTO_TLS, Kind.BOOL, "false",
                    List.of("Peer TLS using self-generated certificates if --peer-key-file and --peer-cert-file are not provided."),
                    SECURITY),
            new Spec(PEER_CRL_FILE, Kind.STRING, "",
                    List.of("Path to the peer certificate revocation list file."), SECURITY),
            new Spec(CIPHER_SUITES, Kind.STRING, "",
                    List.of("Comma-separated list of supported TLS cipher suites between client/server and peers (empty will be auto-populated by Go)."),
                    SECURITY),
            new Spec(CORS, Kind.STRING, "*",
                    List.of("Comma-separated whitelist of origins for CORS, or cross-origin resource sharing, (empty or * means allow all)."),
                    SECURITY),
            new Spec(HOST_WHITELIST, Kind.STRING, "*",
                    List.of("Acceptable hostnames from HTTP client requests, if server is not secure (empty or * means allow all)."),
                    SECURITY),
            new Spec(AUTH_TOKEN, Kind.STRING, "simple",
                    List.of("Specify a v3 authentication token type and its options ('simple' or 'jwt')."), AUTH),
            new Spec(BCRYPT_COST, Kind.UINT, "10",
                    List.of("Specify the cost / strength of the bcrypt algorithm for hashing auth passwords. Valid values are between 4 and 31."),
                    AUTH),
            new Spec(AUTH_TOKEN_TTL, Kind.UINT, "300", List.of("Time (in seconds) of the auth-token-ttl."), AUTH),
            // etcd accepts it without listing it in --help; so does etcsql (no help lines: not listed)
            new Spec(ENABLE_GRPC_GATEWAY, Kind.BOOL, "true", List.of(), MONITORING),
            new Spec(METRICS, Kind.STRING, DEFAULT_METRICS,
                    List.of("Set level of detail for exported metrics, specify 'extensive' to include server side grpc histogram metrics."),
                    MONITORING),
            new Spec(LISTEN_METRICS_URLS, Kind.URLS, DEFAULT_LISTEN_METRICS_URLS,
                    List.of("List of URLs to listen on for the metrics and health endpoints."), MONITORING),
            new Spec(LISTEN_SQL_URLS, Kind.STRING, DEFAULT_LISTEN_SQL_URLS,
                    List.of("List of URLs to serve SQL on (Avatica over HTTP; JDBC URL jdbc:etcsql://host:port). Empty turns SQL off."),
                    "SQL (etcsql)"),
            new Spec(VERSION, Kind.BOOL, "false",
                    List.of("Print the version and exit."), "Version"));

    private static final Map<String, Spec> BY_NAME;

    static {
        Map<String, Spec> m = new LinkedHashMap<>();
        for (Spec s : SUPPORTED) {
            m.put(s.name(), s);
        }
        BY_NAME = Map.copyOf(m);
    }

    /** The supported flag with that name, or null. */
    public static Spec supported(String name) {
        return BY_NAME.get(name);
    }

    // ---- etcd 3.4 flags etcsql does not implement ---------------------------------------------

    /**
     * Every other flag etcd 3.4 registers (etcdmain/config.go, including its list of ignored legacy
     * flags). etcsql refuses them rather than silently accepting them.
     */
    public static final Set<String> UNSUPPORTED_ETCD_FLAGS = Set.copyOf(new TreeSet<>(List.of(
            "config-file",
            // member
            "wal-dir", "max-snapshots", "max-wals",
            "initial-election-tick-advance", "backend-batch-interval",
            "backend-batch-limit",
            // clustering
            "discovery", "discovery-fallback", "discovery-proxy", "discovery-srv", "discovery-srv-name",
            "strict-reconfig-check", "enable-v2", "pre-vote",
            // v2 proxy
            "proxy", "proxy-failure-wait", "proxy-refresh-interval", "proxy-dial-timeout",
            "proxy-write-timeout", "proxy-read-timeout",
            // security
            "client-cert-allowed-hostname", "peer-cert-allowed-hostname", "experimental-peer-skip-client-san-verification",

            // logging
            "logger", "log-output", "log-outputs", "debug", "log-level", "log-package-levels",
            // profiling, auth, gateway
            "enable-pprof",

            // experimental
            "experimental-initial-corrupt-check", "experimental-corrupt-check-time",
            "experimental-enable-v2v3", "experimental-backend-bbolt-freelist-type",
            "experimental-enable-lease-checkpoint", "experimental-enable-lease-checkpoint-persist",
            "experimental-compaction-batch-limit", "experimental-watch-progress-notify-interval",
            "experimental-warning-apply-duration",
            // unsafe
            "unsafe-no-fsync", "force-new-cluster",
            // legacy flags etcd 3.4 accepts and ignores
            "cluster-active-size", "cluster-remove-delay", "cluster-sync-interval", "config", "force",
            "max-result-buffer", "max-retry-attempts", "peer-heartbeat-interval", "peer-election-timeout",
            "retry-interval", "snapshot", "v", "vv", "test.coverprofile", "test.outputdir")));

    /** etcd's subcommands ({@code etcd gateway ...}, {@code etcd grpc-proxy ...}), not supported. */
    public static final Set<String> UNSUPPORTED_ETCD_COMMANDS = Set.of("gateway", "grpc-proxy");

    // ---- messages --------------------------------------------------------------------------

    /** Message for an etcd 3.4 flag etcsql does not implement. */
    public static String unsupportedFlagMessage(String flag) {
        return "etcsql: flag --" + flag + " is not supported yet";
    }

    /** Message for the environment variable of an etcd 3.4 flag etcsql does not implement. */
    public static String unsupportedEnvMessage(String envVar, String flag) {
        return "etcsql: environment variable " + envVar + " (flag --" + flag + ") is not supported yet";
    }

    /** Message for {@code etcd gateway} / {@code etcd grpc-proxy}. */
    public static String unsupportedCommandMessage(String command) {
        return "etcsql: command '" + command + "' is not supported yet";
    }
}
