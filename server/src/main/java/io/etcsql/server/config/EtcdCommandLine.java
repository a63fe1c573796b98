package io.etcsql.server.config;

import io.etcsql.server.config.EtcdUrls.UrlException;
import io.etcsql.server.config.NodeConfig.ClusterState;
import java.math.BigInteger;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * etcd 3.4's command line ({@code etcdmain/config.go}) for etcsql: Go {@code flag} package syntax,
 * {@code ETCD_*} environment variables ({@code pkg/flags/flag.go}), and etcd's validation and
 * messages. Only the flags in {@link Flags#SUPPORTED} are accepted; every other etcd 3.4 flag
 * (or its environment variable) is refused with {@link Flags#unsupportedFlagMessage}; anything
 * etcd itself does not know gets etcd's own error.
 *
 * <p>Behaviour kept from etcd 3.4:
 * <ul>
 *   <li>{@code --flag value}, {@code --flag=value}, {@code -flag value}, {@code -flag=value};
 *       {@code --version} / {@code --version=true|false}; parsing stops at the first non-flag
 *       argument or at {@code --}, and a leftover argument is an error.</li>
 *   <li>A flag's {@code ETCD_*} variable (upper case, dashes to underscores) applies when the flag
 *       is not on the command line and the variable is not empty. A variable whose flag is
 *       <em>also</em> on the command line is fatal in etcd 3.4 ({@code conflicting environment
 *       variable ... is shadowed by corresponding command-line flag}), and so it is here.
 *       Unknown {@code ETCD_*} variables produce a warning.</li>
 *   <li>{@code --name n} alone makes the default {@code --initial-cluster} {@code n=<initial
 *       advertise peer urls>}; an empty {@code --data-dir} means {@code <name>.etcd}; setting
 *       {@code --listen-client-urls} without {@code --advertise-client-urls} is an error.</li>
 *   <li>The bootstrap checks etcd runs before starting a member (local name present in
 *       {@code --initial-cluster}; for state {@code new}, its URLs equal to
 *       {@code --initial-advertise-peer-urls}; no duplicate URL).</li>
 * </ul>
 * Not emulated: etcd's replacement of a default advertise host by the machine's default route
 * address when listening on 0.0.0.0, and its skipping of the bootstrap checks when the data
 * directory already holds a member. unix URLs are refused, and so are https metrics URLs (not
 * implemented yet); https client, peer and SQL URLs are served with the TLS flags.
 */
public final class EtcdCommandLine {

    private EtcdCommandLine() {
    }

    /**
     * Parses the arguments (without the program name) and the environment.
     *
     * @param args the command-line arguments, e.g. {@code main}'s
     * @param env the environment, e.g. {@code System.getenv()}
     * @return what to do: run with a {@link NodeConfig}, print the version, or print help
     * @throws ConfigException with etcd's message (or an {@code etcsql:} one) and exit code
     */
    public static ParseResult parse(String[] args, Map<String, String> env) throws ConfigException {
        List<String> infos = new ArrayList<>();
        List<String> warnings = new ArrayList<>();

        if (args.length > 0 && Flags.UNSUPPORTED_ETCD_COMMANDS.contains(args[0])) {
            throw ConfigException.invalid(Flags.unsupportedCommandMessage(args[0]));
        }

        Values v = new Values();
        Set<String> setOnCommandLine = new LinkedHashSet<>();

        // ---- Go's flag.FlagSet.Parse (ContinueOnError) ----
        int i = 0;
        while (i < args.length) {
            String s = args[i];
            if (s.length() < 2 || s.charAt(0) != '-') {
                break; // first non-flag argument
            }
            int minuses = 1;
            if (s.charAt(1) == '-') {
                minuses++;
                if (s.length() == 2) { // "--" terminates the flags
                    i++;
                    break;
                }
            }
            i++;
            String name = s.substring(minuses);
            if (name.isEmpty() || name.charAt(0) == '-' || name.charAt(0) == '=') {
                throw ConfigException.syntax("bad flag syntax: " + s);
            }
            boolean hasValue = false;
            String value = "";
            int eq = name.indexOf('=');
            if (eq > 0) {
                value = name.substring(eq + 1);
                hasValue = true;
                name = name.substring(0, eq);
            }
            Flags.Spec spec = Flags.supported(name);
            if (spec == null) {
                if (name.equals(Flags.HELP) || name.equals(Flags.HELP_SHORT)) {
                    return ParseResult.of(ParseResult.Action.PRINT_HELP);
                }
                if (Flags.UNSUPPORTED_ETCD_FLAGS.contains(name)) {
                    throw new ConfigException(Flags.unsupportedFlagMessage(name),
                            ConfigException.EXIT_FLAG_SYNTAX, false);
                }
                throw ConfigException.syntax("flag provided but not defined: -" + name);
            }
            if (spec.isBool()) {
                if (hasValue) {
                    try {
                        v.set(spec, value);
                    } catch (ValueException e) {
                        throw ConfigException.syntax("invalid boolean value \"" + value + "\" for -" + name
                                + ": " + e.getMessage());
                    }
                } else {
                    setUnchecked(v, spec, "true");
                }
            } else {
                if (!hasValue && i < args.length) {
                    value = args[i++];
                    hasValue = true;
                }
                if (!hasValue) {
                    throw ConfigException.syntax("flag needs an argument: -" + name);
                }
                try {
                    v.set(spec, value);
                } catch (ValueException e) {
                    throw ConfigException.syntax("invalid value " + goQuote(value) + " for flag -" + name
                            + ": " + e.getMessage());
                }
            }
            setOnCommandLine.add(name);
        }
        if (i < args.length) {
            throw ConfigException.invalid("'" + args[i] + "' is not a valid flag");
        }
        if (v.printVersion) {
            return ParseResult.of(ParseResult.Action.PRINT_VERSION);
        }

        // ---- environment (flags.SetFlagsFromEnv + verifyEnv) ----
        Set<String> setFlags = new HashSet<>(setOnCommandLine);
        applyEnv(v, env, setOnCommandLine, setFlags, infos, warnings);

        // ---- configFromCmdLine ----
        if (setFlags.contains(Flags.LISTEN_CLIENT_URLS) && !setFlags.contains(Flags.ADVERTISE_CLIENT_URLS)) {
            v.advertiseClientUrls = List.of();
        }
        validate(v);

        // ---- startEtcdOrProxyV2: default initial cluster from name, default data dir ----
        if (!v.name.equals(Flags.DEFAULT_NAME) && v.initialCluster.equals(Flags.DEFAULT_INITIAL_CLUSTER)) {
            v.initialCluster = initialClusterFromName(v.name, v.initialAdvertisePeerUrls);
        }
        if (v.dataDir.isEmpty()) {
            v.dataDir = v.name + Flags.DATA_DIR_SUFFIX;
            warnings.add("no data-dir provided, using default data-dir ./" + v.dataDir);
        }

        Map<String, List<URI>> cluster;
        try {
            cluster = EtcdUrls.parseCluster(v.initialCluster);
        } catch (UrlException e) {
            throw ConfigException.invalid("error setting up initial cluster: " + e.getMessage());
        }

        List<String> suites;
        try {
            suites = CipherSuiteNames.toIana(v.cipherSuites);
        } catch (IllegalArgumentException e) {
            throw ConfigException.invalid(e.getMessage());
        }
        TlsInfo peerTls = peerTls(v, suites); // etcd sets up its peer listeners first
        TlsInfo clientTls = clientTls(v, suites);
        refuseUnsupportedSchemes(Flags.LISTEN_CLIENT_URLS, v.listenClientUrls, true);
        refuseUnsupportedSchemes(Flags.LISTEN_SQL_URLS, v.listenSqlUrls, true);
        for (URI u : v.listenSqlUrls) {
            if (u.getScheme().equals("https") && clientTls.empty() && !clientTls.autoTls()) {
                throw ConfigException.invalid("etcsql: TLS key/cert (--cert-file, --key-file) must be provided for SQL url "
                        + u + " with HTTPS scheme");
            }
        }
        refuseUnsupportedSchemes(Flags.LISTEN_METRICS_URLS, v.listenMetricsUrls);
        if (!v.metrics.equals(Flags.METRICS_BASIC) && !v.metrics.equals(Flags.METRICS_EXTENSIVE)) {
            warnings.add("--" + Flags.METRICS + " " + goQuote(v.metrics) + " is neither " + Flags.METRICS_BASIC
                    + " nor " + Flags.METRICS_EXTENSIVE + ": exporting basic metrics");
        }
        refuseUnsupportedSchemes(Flags.ADVERTISE_CLIENT_URLS, v.advertiseClientUrls, true);
        refuseUnsupportedSchemes(Flags.LISTEN_PEER_URLS, v.listenPeerUrls, true);
        refuseUnsupportedSchemes(Flags.INITIAL_ADVERTISE_PEER_URLS, v.initialAdvertisePeerUrls, true);
        for (Map.Entry<String, List<URI>> e : cluster.entrySet()) {
            refuseUnsupportedSchemes(Flags.INITIAL_CLUSTER, e.getKey(), e.getValue(), true);
        }

        NodeConfig config = new NodeConfig(
                v.name,
                Path.of(v.dataDir),
                v.listenClientUrls,
                v.advertiseClientUrls,
                v.listenPeerUrls,
                v.initialAdvertisePeerUrls,
                cluster,
                v.clusterState,
                v.initialClusterToken,
                v.snapshotCount,
                (int) v.maxRequestBytes,
                (int) v.maxTxnOps,
                v.heartbeatIntervalMs,
                v.electionTimeoutMs,
                v.quotaBackendBytes,
                AutoCompaction.parse(v.autoCompactionMode, v.autoCompactionRetention),
                v.listenSqlUrls,
                v.listenMetricsUrls,
                v.metrics,
                grpcOptions(v),
                clientTls,
                peerTls,
                AuthOptions.parse(v.authToken, v.bcryptCost, v.authTokenTtl),
                new HttpAccess(v.enableGrpcGateway, HttpAccess.values(v.cors), HttpAccess.values(v.hostWhitelist)));
        verifyBootstrap(config);
        return new ParseResult(ParseResult.Action.RUN, config, infos, warnings);
    }

    /**
     * The peer side's TLS, with etcd's check (rafthttp.NewListener): an https peer URL needs a
     * certificate and key, or auto TLS.
     */
    private static TlsInfo peerTls(Values v, List<String> suites) throws ConfigException {
        TlsInfo tls = new TlsInfo(v.peerCertFile, v.peerKeyFile, v.peerTrustedCaFile, v.peerClientCertAuth,
                v.peerCrlFile, v.peerAutoTls, v.peerCertAllowedCn, suites);
        for (URI u : v.listenPeerUrls) {
            if (u.getScheme().equals("https") && tls.empty() && !tls.autoTls()) {
                java.net.InetSocketAddress a = NodeConfig.socketAddress(u);
                String host = a.isUnresolved() ? a.getHostString() : a.getAddress().getHostAddress();
                throw ConfigException.invalid("cannot listen on TLS for " + host + ":" + a.getPort()
                        + ": KeyFile and CertFile are not presented");
            }
        }
        return tls;
    }

    /**
     * The client side's TLS, with etcd's check (embed.configureClientListeners): a certificate and
     * key for every https client URL, or auto TLS.
     */
    private static TlsInfo clientTls(Values v, List<String> suites) throws ConfigException {
        TlsInfo tls = new TlsInfo(v.certFile, v.keyFile, v.trustedCaFile, v.clientCertAuth, v.clientCrlFile,
                v.autoTls, "", suites);
        for (URI u : v.listenClientUrls) {
            if (u.getScheme().equals("https") && tls.empty() && !tls.autoTls()) {
                throw ConfigException.invalid("TLS key/cert (--cert-file, --key-file) must be provided for client url "
                        + u + " with HTTPS scheme");
            }
        }
        return tls;
    }

    private static GrpcOptions grpcOptions(Values v) throws ConfigException {
        if (v.maxConcurrentStreams == 0) {
            // etcd would start and then refuse every request; gRPC for Java cannot even be set so
            throw ConfigException.invalid("--" + Flags.MAX_CONCURRENT_STREAMS
                    + " 0 would refuse every client request: give at least 1");
        }
        return new GrpcOptions(v.maxConcurrentStreams, v.keepaliveMinTime, v.keepaliveInterval, v.keepaliveTimeout);
    }

    /**
     * The checks etcd ({@code etcdserver/config.go}) runs before bootstrapping a member: the member
     * is in {@code --initial-cluster}; for a new cluster its URLs there match
     * {@code --initial-advertise-peer-urls}; no URL appears twice. Called by {@link #parse}.
     */
    public static void verifyBootstrap(NodeConfig c) throws ConfigException {
        Map<String, List<URI>> cluster = c.initialCluster();
        if (!cluster.containsKey(c.name())) {
            throw ConfigException.invalid("couldn't find local name " + goQuote(c.name())
                    + " in the initial cluster configuration");
        }
        if (c.isNewCluster()) {
            String mismatch = advertiseMatchesCluster(c.name(), cluster.get(c.name()), c.initialAdvertisePeerUrls());
            if (mismatch != null) {
                throw ConfigException.invalid(mismatch);
            }
        }
        Set<String> seen = new HashSet<>();
        for (List<URI> urls : cluster.values()) {
            for (URI u : urls) {
                if (!seen.add(u.toString())) {
                    throw ConfigException.invalid("initial cluster " + EtcdUrls.clusterString(cluster)
                            + " has duplicate url");
                }
            }
        }
        if (c.isNewCluster() && EtcdUrls.clusterString(cluster).isEmpty()) {
            throw ConfigException.invalid("initial cluster unset and no discovery URL found");
        }
    }

    // ---- help / usage / version ----------------------------------------------------------------

    /** etcd's short usage (printed on stderr after a flag syntax error and for --help). */
    public static String usageText() {
        return "Usage:\n"
                + "\n"
                + "  etcd [flags]\n"
                + "    Start an etcd server.\n"
                + "\n"
                + "  etcd --version\n"
                + "    Show the version of etcd.\n"
                + "\n"
                + "  etcd -h | --help\n"
                + "    Show the help information about etcd.\n"
                + "\n"
                + "  etcsql snapshot restore <file> [--name --data-dir --initial-cluster --initial-cluster-token\n"
                + "      --initial-advertise-peer-urls --skip-hash-check]\n"
                + "    Create a member's data dir of a new cluster from a snapshot saved from etcsql.\n";
    }

    /** The flag list, in etcd's {@code --help} style, of the flags etcsql supports. */
    public static String helpText() {
        StringBuilder sb = new StringBuilder();
        String section = null;
        for (Flags.Spec s : Flags.SUPPORTED) {
            if (s.name().equals(Flags.VERSION) || s.help().isEmpty()) {
                continue; // --version is listed in the usage; flags without help are not listed, as in etcd
            }
            if (!s.section().equals(section)) {
                section = s.section();
                sb.append('\n').append(section).append(":\n");
            }
            sb.append("  --").append(s.name()).append(" '").append(s.defaultText()).append("'\n");
            for (String line : s.help()) {
                sb.append("    ").append(line).append('\n');
            }
        }
        sb.append('\n')
                .append("Each flag can also be set by its environment variable (e.g. --data-dir by ")
                .append(Flags.envName(Flags.DATA_DIR)).append(").\n")
                .append("Other etcd ").append(Flags.EMULATED_ETCD_VERSION)
                .append(" flags are not supported by etcsql yet and are refused.\n");
        return sb.toString();
    }

    /** What {@code --version} prints, in etcd's format, for the emulated etcd version. */
    public static String versionText() {
        return "etcd Version: " + Flags.EMULATED_ETCD_VERSION + "\n"
                + "Git SHA: Not provided (etcsql)\n"
                + "Go Version: none (etcsql on Java " + System.getProperty("java.version") + ")\n"
                + "Go OS/Arch: " + goOs() + "/" + goArch() + "\n";
    }

    // ---- internals ------------------------------------------------------------------------------

    /** Error text of a Go {@code flag.Value.Set}. */
    private static final class ValueException extends Exception {
        private static final long serialVersionUID = 1L;

        ValueException(String message) {
            super(message);
        }
    }

    /** The flag values while parsing, starting from etcd's defaults. */
    private static final class Values {
        String name = Flags.DEFAULT_NAME;
        String dataDir = "";
        List<URI> listenClientUrls = defaultUrls(Flags.DEFAULT_LISTEN_CLIENT_URLS);
        List<URI> advertiseClientUrls = defaultUrls(Flags.DEFAULT_ADVERTISE_CLIENT_URLS);
        List<URI> listenPeerUrls = defaultUrls(Flags.DEFAULT_LISTEN_PEER_URLS);
        List<URI> initialAdvertisePeerUrls = defaultUrls(Flags.DEFAULT_INITIAL_ADVERTISE_PEER_URLS);
        String initialCluster = Flags.DEFAULT_INITIAL_CLUSTER;
        ClusterState clusterState = ClusterState.fromFlagValue(Flags.DEFAULT_INITIAL_CLUSTER_STATE);
        String initialClusterToken = Flags.DEFAULT_INITIAL_CLUSTER_TOKEN;
        long snapshotCount = Flags.DEFAULT_SNAPSHOT_COUNT;
        long maxRequestBytes = Flags.DEFAULT_MAX_REQUEST_BYTES;
        long maxTxnOps = Flags.DEFAULT_MAX_TXN_OPS;
        long heartbeatIntervalMs = Flags.DEFAULT_HEARTBEAT_INTERVAL_MS;
        long electionTimeoutMs = Flags.DEFAULT_ELECTION_TIMEOUT_MS;
        long quotaBackendBytes = Flags.DEFAULT_QUOTA_BACKEND_BYTES;
        String autoCompactionRetention = Flags.DEFAULT_AUTO_COMPACTION_RETENTION;
        String autoCompactionMode = Flags.DEFAULT_AUTO_COMPACTION_MODE;
        List<URI> listenSqlUrls = defaultUrls(Flags.DEFAULT_LISTEN_SQL_URLS);
        List<URI> listenMetricsUrls = List.of();
        String metrics = Flags.DEFAULT_METRICS;
        long maxConcurrentStreams = Flags.DEFAULT_MAX_CONCURRENT_STREAMS;
        Duration keepaliveMinTime = Flags.DEFAULT_GRPC_KEEPALIVE_MIN_TIME;
        Duration keepaliveInterval = Flags.DEFAULT_GRPC_KEEPALIVE_INTERVAL;
        Duration keepaliveTimeout = Flags.DEFAULT_GRPC_KEEPALIVE_TIMEOUT;
        String authToken = AuthOptions.SIMPLE;
        boolean enableGrpcGateway = true;
        String cors = "*";
        String hostWhitelist = "*";
        long bcryptCost = AuthOptions.DEFAULTS.bcryptCost();
        long authTokenTtl = AuthOptions.DEFAULTS.simpleTokenTtl().toSeconds();
        String certFile = "";
        String keyFile = "";
        boolean clientCertAuth;
        String clientCrlFile = "";
        String trustedCaFile = "";
        boolean autoTls;
        List<String> cipherSuites = List.of();
        String peerCertFile = "";
        String peerKeyFile = "";
        boolean peerClientCertAuth;
        String peerTrustedCaFile = "";
        String peerCertAllowedCn = "";
        boolean peerAutoTls;
        String peerCrlFile = "";
        boolean printVersion;

        void set(Flags.Spec spec, String value) throws ValueException {
            switch (spec.name()) {
                case Flags.NAME -> name = value;
                case Flags.DATA_DIR -> dataDir = value;
                case Flags.LISTEN_CLIENT_URLS -> listenClientUrls = urls(value);
                case Flags.LISTEN_SQL_URLS -> listenSqlUrls = value.isBlank() ? List.of() : urls(value);
                case Flags.LISTEN_METRICS_URLS -> listenMetricsUrls = value.isEmpty() ? List.of() : urls(value);
                case Flags.METRICS -> metrics = value; // etcd 3.4: any other value means basic
                case Flags.ADVERTISE_CLIENT_URLS -> advertiseClientUrls = urls(value);
                case Flags.LISTEN_PEER_URLS -> listenPeerUrls = urls(value);
                case Flags.INITIAL_ADVERTISE_PEER_URLS -> initialAdvertisePeerUrls = urls(value);
                case Flags.INITIAL_CLUSTER -> initialCluster = value;
                case Flags.INITIAL_CLUSTER_STATE -> {
                    ClusterState st = ClusterState.fromFlagValue(value);
                    if (st == null) {
                        throw new ValueException("invalid value");
                    }
                    clusterState = st;
                }
                case Flags.INITIAL_CLUSTER_TOKEN -> initialClusterToken = value;
                case Flags.SNAPSHOT_COUNT -> snapshotCount = parseUint(value, Long.MAX_VALUE);
                case Flags.MAX_REQUEST_BYTES -> maxRequestBytes = parseUint(value, Integer.MAX_VALUE);
                case Flags.MAX_TXN_OPS -> maxTxnOps = parseUint(value, Integer.MAX_VALUE);
                case Flags.HEARTBEAT_INTERVAL -> heartbeatIntervalMs = parseUint(value, Long.MAX_VALUE);
                case Flags.ELECTION_TIMEOUT -> electionTimeoutMs = parseUint(value, Long.MAX_VALUE);
                case Flags.QUOTA_BACKEND_BYTES -> quotaBackendBytes = parseInt64(value);
                case Flags.AUTO_COMPACTION_RETENTION -> autoCompactionRetention = value;
                case Flags.AUTO_COMPACTION_MODE -> autoCompactionMode = value;
                case Flags.VERSION -> printVersion = parseBool(value);
                case Flags.CERT_FILE -> certFile = value;
                case Flags.KEY_FILE -> keyFile = value;
                case Flags.CLIENT_CERT_AUTH -> clientCertAuth = parseBool(value);
                case Flags.CLIENT_CRL_FILE -> clientCrlFile = value;
                case Flags.TRUSTED_CA_FILE -> trustedCaFile = value;
                case Flags.AUTO_TLS -> autoTls = parseBool(value);
                case Flags.PEER_CERT_FILE -> peerCertFile = value;
                case Flags.PEER_KEY_FILE -> peerKeyFile = value;
                case Flags.PEER_CLIENT_CERT_AUTH -> peerClientCertAuth = parseBool(value);
                case Flags.PEER_TRUSTED_CA_FILE -> peerTrustedCaFile = value;
                case Flags.PEER_CERT_ALLOWED_CN -> peerCertAllowedCn = value;
                case Flags.PEER_AUTO_TLS -> peerAutoTls = parseBool(value);
                case Flags.PEER_CRL_FILE -> peerCrlFile = value;
                case Flags.CIPHER_SUITES -> cipherSuites = List.of(value.split(",", -1)); // Go's strings.Split
                case Flags.MAX_CONCURRENT_STREAMS -> maxConcurrentStreams = parseUint32(value);
                case Flags.GRPC_KEEPALIVE_MIN_TIME -> keepaliveMinTime = parseDuration(value);
                case Flags.GRPC_KEEPALIVE_INTERVAL -> keepaliveInterval = parseDuration(value);
                case Flags.GRPC_KEEPALIVE_TIMEOUT -> keepaliveTimeout = parseDuration(value);
                case Flags.AUTH_TOKEN -> authToken = value;
                case Flags.ENABLE_GRPC_GATEWAY -> enableGrpcGateway = parseBool(value);
                case Flags.CORS -> {
                    // etcd: URLs (scheme://host:port) or "*"
                    for (String v : HttpAccess.values(value)) {
                        if (!v.equals("*")) {
                            urls(v);
                        }
                    }
                    cors = value;
                }
                case Flags.HOST_WHITELIST -> hostWhitelist = value;
                case Flags.BCRYPT_COST -> bcryptCost = parseUint(value, Integer.MAX_VALUE);
                case Flags.AUTH_TOKEN_TTL -> authTokenTtl = parseUint(value, Integer.MAX_VALUE);
                default -> throw new IllegalStateException("no setter for supported flag " + spec.name());
            }
        }

        /** Go's {@code fs.DurationVar}: any {@code time.ParseDuration} failure is "parse error". */
        private static Duration parseDuration(String value) throws ValueException {
            try {
                return GoDuration.parse(value);
            } catch (IllegalArgumentException e) {
                throw new ValueException("parse error");
            }
        }

        /** etcd's uint32 flag value: {@code strconv.ParseUint(s, 10, 32)} with its error text. */
        private static long parseUint32(String value) throws ValueException {
            String prefix = "strconv.ParseUint: parsing \"" + value + "\": ";
            if (value.isEmpty() || !value.chars().allMatch(c -> c >= '0' && c <= '9')) {
                throw new ValueException(prefix + "invalid syntax");
            }
            BigInteger n = new BigInteger(value);
            if (n.compareTo(BigInteger.valueOf(Flags.DEFAULT_MAX_CONCURRENT_STREAMS)) > 0) {
                throw new ValueException(prefix + "value out of range");
            }
            return n.longValueExact();
        }

        private static List<URI> urls(String value) throws ValueException {
            try {
                return EtcdUrls.parseList(value);
            } catch (UrlException e) {
                throw new ValueException(e.getMessage());
            }
        }

        private static List<URI> defaultUrls(String value) {
            try {
                return EtcdUrls.parseList(value);
            } catch (UrlException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    private static void setUnchecked(Values v, Flags.Spec spec, String value) {
        try {
            v.set(spec, value);
        } catch (ValueException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Every flag name etcd 3.4 registers (supported or not), sorted as Go's VisitAll visits them. */
    private static final TreeSet<String> ALL_ETCD_FLAGS = new TreeSet<>();

    static {
        for (Flags.Spec s : Flags.SUPPORTED) {
            ALL_ETCD_FLAGS.add(s.name());
        }
        ALL_ETCD_FLAGS.addAll(Flags.UNSUPPORTED_ETCD_FLAGS);
    }

    private static void applyEnv(Values v, Map<String, String> env, Set<String> setOnCommandLine,
            Set<String> setFlags, List<String> infos, List<String> warnings) throws ConfigException {
        String configFile = env.get(Flags.ENV_CONFIG_FILE);
        if (configFile != null && !configFile.isEmpty()) {
            throw ConfigException.invalid(Flags.unsupportedEnvMessage(Flags.ENV_CONFIG_FILE, "config-file"));
        }
        Set<String> alreadySet = new HashSet<>();
        for (String f : setOnCommandLine) {
            alreadySet.add(Flags.envName(f));
        }
        Set<String> used = new HashSet<>();
        String firstError = null;
        for (String flag : ALL_ETCD_FLAGS) {
            String key = Flags.envName(flag);
            if (alreadySet.contains(key) || key.equals(Flags.ENV_CONFIG_FILE)) {
                continue;
            }
            String val = env.get(key);
            if (val == null || val.isEmpty()) {
                continue;
            }
            Flags.Spec spec = Flags.supported(flag);
            if (spec == null) {
                throw ConfigException.invalid(Flags.unsupportedEnvMessage(key, flag));
            }
            used.add(key);
            try {
                v.set(spec, val);
                setFlags.add(flag);
                infos.add("recognized and used environment variable " + key + "=" + val);
            } catch (ValueException e) {
                if (firstError == null) {
                    firstError = "invalid value " + goQuote(val) + " for " + key + ": " + e.getMessage();
                }
            }
        }
        // verifyEnv: shadowed variables are fatal, unknown ETCD_ ones are warned about.
        Map<String, String> sorted = new TreeMap<>(env);
        for (Map.Entry<String, String> e : sorted.entrySet()) {
            String key = e.getKey();
            if (used.contains(key)) {
                continue;
            }
            if (alreadySet.contains(key)) {
                throw ConfigException.invalid("conflicting environment variable " + goQuote(key)
                        + " is shadowed by corresponding command-line flag"
                        + " (either unset environment variable or disable flag)");
            }
            if (key.startsWith(Flags.ENV_PREFIX + "_")) {
                warnings.add("unrecognized environment variable " + key + "=" + e.getValue());
            }
        }
        if (firstError != null) {
            throw ConfigException.invalid(firstError);
        }
    }

    /** embed.Config.Validate (the parts that apply to the supported flags). */
    private static void validate(Values v) throws ConfigException {
        try {
            EtcdUrls.checkBind(v.listenPeerUrls);
            EtcdUrls.checkBind(v.listenClientUrls);
        } catch (UrlException e) {
            throw ConfigException.invalid(e.getMessage());
        }
        try {
            EtcdUrls.checkHost(v.initialAdvertisePeerUrls);
        } catch (UrlException e) {
            throw ConfigException.invalid("--" + Flags.INITIAL_ADVERTISE_PEER_URLS + " "
                    + goQuote(EtcdUrls.join(v.initialAdvertisePeerUrls)) + " must be \"host:port\" ("
                    + e.getMessage() + ")");
        }
        try {
            EtcdUrls.checkHost(v.advertiseClientUrls);
        } catch (UrlException e) {
            throw ConfigException.invalid("--" + Flags.ADVERTISE_CLIENT_URLS + " "
                    + goQuote(EtcdUrls.join(v.advertiseClientUrls)) + " must be \"host:port\" ("
                    + e.getMessage() + ")");
        }
        long tick = v.heartbeatIntervalMs;
        long election = v.electionTimeoutMs;
        if (tick <= 0) {
            throw ConfigException.invalid("--heartbeat-interval must be >0 (set to " + tick + "ms)");
        }
        if (election <= 0) {
            throw ConfigException.invalid("--election-timeout must be >0 (set to " + election + "ms)");
        }
        if (tick > election / 5) { // 5*tick > election, without overflow
            throw ConfigException.invalid("--election-timeout[" + election
                    + "ms] should be at least as 5 times as --heartbeat-interval[" + tick + "ms]");
        }
        if (election > Flags.MAX_ELECTION_TIMEOUT_MS) {
            throw ConfigException.invalid("--election-timeout[" + election
                    + "ms] is too long, and should be set less than " + Flags.MAX_ELECTION_TIMEOUT_MS + "ms");
        }
        if (!v.autoCompactionMode.isEmpty() && !v.autoCompactionMode.equals(AutoCompaction.PERIODIC)
                && !v.autoCompactionMode.equals(AutoCompaction.REVISION)) {
            throw ConfigException.invalid("unknown auto-compaction-mode \"" + v.autoCompactionMode + "\"");
        }
        if (!v.listenClientUrls.isEmpty() && v.advertiseClientUrls.isEmpty()) {
            throw ConfigException.invalid(
                    "--advertise-client-urls is required when --listen-client-urls is set explicitly");
        }
    }

    /** embed.Config.InitialClusterFromName. */
    private static String initialClusterFromName(String name, List<URI> advertisePeerUrls) {
        String n = name.isEmpty() ? Flags.DEFAULT_NAME : name;
        List<String> parts = new ArrayList<>();
        for (URI u : advertisePeerUrls) {
            parts.add(n + "=" + u);
        }
        return String.join(",", parts);
    }

    private static void refuseUnsupportedSchemes(String flag, List<URI> urls) throws ConfigException {
        refuseUnsupportedSchemes(flag, null, urls, false);
    }

    private static void refuseUnsupportedSchemes(String flag, List<URI> urls, boolean httpsServed)
            throws ConfigException {
        refuseUnsupportedSchemes(flag, null, urls, httpsServed);
    }

    private static void refuseUnsupportedSchemes(String flag, String member, List<URI> urls, boolean httpsServed)
            throws ConfigException {
        for (URI u : urls) {
            String shown = "--" + flag + " " + (member == null ? "" : member + "=") + u;
            switch (u.getScheme()) {
                case "http" -> {
                }
                case "https" -> {
                    if (!httpsServed) {
                        throw ConfigException.invalid(
                                "etcsql: https URLs are not supported yet here: " + shown);
                    }
                }
                default -> throw ConfigException.invalid(
                        "etcsql: unix socket URLs are not supported yet: " + shown);
            }
        }
    }

    /** etcdserver.ServerConfig.advertiseMatchesCluster: null if they match, else etcd's message. */
    private static String advertiseMatchesCluster(String name, List<URI> clusterUrls, List<URI> advertised) {
        String err = EtcdUrls.urlsEqual(advertised, clusterUrls);
        if (err == null) {
            return null;
        }
        Set<String> initSet = new TreeSet<>();
        for (URI u : clusterUrls) {
            initSet.add(u.toString());
        }
        Set<String> apSet = new TreeSet<>();
        for (URI u : advertised) {
            apSet.add(u.toString());
        }
        List<String> apSorted = new ArrayList<>(apSet.size());
        for (URI u : advertised) {
            apSorted.add(u.toString());
        }
        apSorted.sort(null);
        String apStr = String.join(",", apSorted);

        List<String> missing = new ArrayList<>();
        for (String u : initSet) {
            if (!apSet.contains(u)) {
                missing.add(name + "=" + u);
            }
        }
        if (!missing.isEmpty()) {
            return "--initial-cluster has " + String.join(",", missing)
                    + " but missing from --initial-advertise-peer-urls=" + apStr + " (" + err + ")";
        }
        for (String u : apSet) {
            if (!initSet.contains(u)) {
                missing.add(u);
            }
        }
        Map<String, List<URI>> self = new HashMap<>();
        self.put(name, advertised);
        if (!missing.isEmpty()) {
            return "--initial-advertise-peer-urls has " + String.join(",", missing)
                    + " but missing from --initial-cluster=" + EtcdUrls.clusterString(self);
        }
        return "failed to resolve " + apStr + " to match --initial-cluster=" + EtcdUrls.clusterString(self)
                + " (" + err + ")";
    }

    private static final BigInteger MAX_UINT64 = BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE);

    /**
     * Go's {@code strconv.ParseInt(s, 0, 64)}: an optional sign, then {@link #parseUint}'s syntax;
     * "value out of range" beyond the int64 range.
     */
    static long parseInt64(String s) throws ValueException {
        boolean neg = s.startsWith("-");
        String body = s.startsWith("-") || s.startsWith("+") ? s.substring(1) : s;
        long n = parseUint(body, Long.MAX_VALUE);
        return neg ? -n : n;
    }

    /**
     * Go's {@code strconv.ParseUint(s, 0, 64)} (base prefixes 0x, 0o, 0b, leading-0 octal,
     * underscores between digits), with errors "parse error" / "value out of range" as the flag
     * package reports them. {@code max} is etcsql's bound for the Java field.
     */
    static long parseUint(String s, long max) throws ValueException {
        if (s.isEmpty()) {
            throw new ValueException("parse error");
        }
        int base = 10;
        String digits = s;
        boolean prefixed = false;
        if (s.length() >= 2 && s.charAt(0) == '0') {
            char p = Character.toLowerCase(s.charAt(1));
            if (p == 'x') {
                base = 16;
                digits = s.substring(2);
                prefixed = true;
            } else if (p == 'o') {
                base = 8;
                digits = s.substring(2);
                prefixed = true;
            } else if (p == 'b') {
                base = 2;
                digits = s.substring(2);
                prefixed = true;
            } else {
                base = 8;
                digits = s.substring(1);
                prefixed = true;
            }
        }
        if (digits.indexOf('_') >= 0) {
            // Go's underscoreOK: '_' only between digits (or right after a base prefix).
            String check = (prefixed ? "0" : "") + digits;
            if (check.startsWith("_") || check.endsWith("_") || check.contains("__")) {
                throw new ValueException("parse error");
            }
            digits = digits.replace("_", "");
        }
        if (digits.isEmpty()) {
            throw new ValueException("parse error");
        }
        for (int k = 0; k < digits.length(); k++) {
            if (Character.digit(digits.charAt(k), base) < 0 || digits.charAt(k) > 'z') {
                throw new ValueException("parse error");
            }
        }
        BigInteger n = new BigInteger(digits, base);
        if (n.compareTo(MAX_UINT64) > 0 || n.compareTo(BigInteger.valueOf(max)) > 0) {
            throw new ValueException("value out of range");
        }
        return n.longValueExact();
    }

    /** Go's {@code strconv.ParseBool}. */
    static boolean parseBool(String s) throws ValueException {
        switch (s) {
            case "1", "t", "T", "TRUE", "true", "True":
                return true;
            case "0", "f", "F", "FALSE", "false", "False":
                return false;
            default:
                throw new ValueException("parse error");
        }
    }

    /** Go's {@code %q} for the strings that appear in these messages. */
    static String goQuote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (int k = 0; k < s.length(); k++) {
            char c = s.charAt(k);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\t' -> sb.append("\\t");
                case '\r' -> sb.append("\\r");
                default -> {
                    if (c < 0x20 || c == 0x7f) {
                        sb.append(String.format("\\x%02x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }

    private static String goOs() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        if (os.contains("linux")) {
            return "linux";
        }
        if (os.contains("mac") || os.contains("darwin")) {
            return "darwin";
        }
        if (os.contains("windows")) {
            return "windows";
        }
        return os.replace(' ', '_');
    }

    private static String goArch() {
        String arch = System.getProperty("os.arch", "");
        return switch (arch) {
            case "x86_64", "amd64" -> "amd64";
            case "aarch64", "arm64" -> "arm64";
            case "x86", "i386", "i686" -> "386";
            default -> arch;
        };
    }
}
