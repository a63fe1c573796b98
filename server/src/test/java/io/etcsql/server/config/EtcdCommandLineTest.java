package io.etcsql.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcsql.server.config.NodeConfig.ClusterState;
import java.net.URI;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EtcdCommandLineTest {

    private static final Map<String, String> NO_ENV = Map.of();

    /** The 3-member example from the etcd clustering guide, as member n1. */
    private static final String[] THREE_MEMBERS = {
        "--name", "n1", "--data-dir", "d1",
        "--listen-client-urls", "http://127.0.0.1:2379", "--advertise-client-urls", "http://127.0.0.1:2379",
        "--listen-peer-urls", "http://127.0.0.1:2380", "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
        "--initial-cluster", "n1=http://127.0.0.1:2380,n2=http://127.0.0.1:2381,n3=http://127.0.0.1:2382",
        "--initial-cluster-state", "new", "--initial-cluster-token", "t"};

    private static NodeConfig run(Map<String, String> env, String... args) throws ConfigException {
        ParseResult r = EtcdCommandLine.parse(args, env);
        assertEquals(ParseResult.Action.RUN, r.action());
        return r.config();
    }

    private static NodeConfig run(String... args) throws ConfigException {
        return run(NO_ENV, args);
    }

    private static ConfigException fails(Map<String, String> env, String... args) {
        return assertThrows(ConfigException.class, () -> EtcdCommandLine.parse(args, env));
    }

    private static ConfigException fails(String... args) {
        return fails(NO_ENV, args);
    }

    private static List<URI> uris(String... s) {
        return java.util.Arrays.stream(s).map(URI::create).toList();
    }

    // ---- defaults -------------------------------------------------------------------------------

    @Test
    void noFlagsGivesEtcdDefaults() throws Exception {
        ParseResult r = EtcdCommandLine.parse(new String[0], NO_ENV);
        assertEquals(ParseResult.Action.RUN, r.action());
        NodeConfig c = r.config();
        assertEquals(NodeConfig.defaults(), c);
        assertEquals("default", c.name());
        assertEquals(Path.of("default.etcd"), c.dataDir());
        assertEquals(uris("http://localhost:2379"), c.listenClientUrls());
        assertEquals(uris("http://localhost:2379"), c.advertiseClientUrls());
        assertEquals(uris("http://localhost:2380"), c.listenPeerUrls());
        assertEquals(uris("http://localhost:2380"), c.initialAdvertisePeerUrls());
        assertEquals(Map.of("default", uris("http://localhost:2380")), c.initialCluster());
        assertEquals("default=http://localhost:2380", c.initialClusterString());
        assertEquals(ClusterState.NEW, c.initialClusterState());
        assertEquals("etcd-cluster", c.initialClusterToken());
        assertEquals(100000L, c.snapshotCount());
        assertEquals(1572864, c.maxRequestBytes());
        assertEquals(128, c.maxTxnOps());
        assertEquals(100L, c.heartbeatIntervalMs());
        assertEquals(1000L, c.electionTimeoutMs());
        assertEquals(List.of("no data-dir provided, using default data-dir ./default.etcd"), r.warnings());
        assertEquals(List.of(), r.infos());
    }

    @Test
    void threeMemberExample() throws Exception {
        ParseResult r = EtcdCommandLine.parse(THREE_MEMBERS, NO_ENV);
        NodeConfig c = r.config();
        assertEquals("n1", c.name());
        assertEquals(Path.of("d1"), c.dataDir());
        assertEquals(URI.create("http://127.0.0.1:2379"), c.clientListenUri());
        assertEquals(URI.create("http://127.0.0.1:2379"), c.clientAdvertiseUri());
        assertEquals(URI.create("http://127.0.0.1:2380"), c.peerListenUri());
        assertEquals(URI.create("http://127.0.0.1:2380"), c.peerAdvertiseUri());
        assertEquals(List.of("n1", "n2", "n3"), c.initialMemberNames());
        assertEquals(uris("http://127.0.0.1:2381"), c.initialClusterPeerUrls("n2"));
        assertEquals(uris("http://127.0.0.1:2382"), c.initialCluster().get("n3"));
        assertEquals(ClusterState.NEW, c.initialClusterState());
        assertTrue(c.isNewCluster());
        assertEquals("t", c.initialClusterToken());
        assertEquals(List.of(), r.warnings());
        assertEquals(10L, c.electionTicks());
        assertEquals(2379, c.clientListenAddresses().get(0).getPort());
    }

    @Test
    void threeMemberExampleOtherMembersAndExisting() throws Exception {
        String[] args = THREE_MEMBERS.clone();
        args[1] = "n3";
        args[11] = "http://127.0.0.1:2382";
        NodeConfig c = run(args);
        assertEquals("n3", c.name());
        String[] existing = THREE_MEMBERS.clone();
        existing[15] = "existing";
        assertEquals(ClusterState.EXISTING, run(existing).initialClusterState());
    }

    // ---- syntaxes --------------------------------------------------------------------------------

    @Test
    void allFourFlagSyntaxes() throws Exception {
        for (String[] args : List.of(
                new String[] {"--name", "n1"},
                new String[] {"--name=n1"},
                new String[] {"-name", "n1"},
                new String[] {"-name=n1"})) {
            NodeConfig c = run(args);
            assertEquals("n1", c.name(), String.join(" ", args));
            // etcd: --name alone makes the default initial cluster <name>=<advertise peer urls>.
            assertEquals(Map.of("n1", uris("http://localhost:2380")), c.initialCluster());
            assertEquals(Path.of("n1.etcd"), c.dataDir());
        }
    }

    @Test
    void valueMayStartWithDashAndContainEquals() throws Exception {
        NodeConfig c = run("--initial-cluster-token", "-tok=en", "--data-dir=/tmp/a=b");
        assertEquals("-tok=en", c.initialClusterToken());
        assertEquals(Path.of("/tmp/a=b"), c.dataDir());
    }

    @Test
    void lastOccurrenceWins() throws Exception {
        assertEquals(7L, run("--snapshot-count", "5", "--snapshot-count=7").snapshotCount());
    }

    @Test
    void numbersFollowGoParseUint() throws Exception {
        NodeConfig c = run("--snapshot-count", "0x10", "--max-txn-ops", "0o17", "--max-request-bytes", "1_000",
                "--heartbeat-interval", "010", "--election-timeout", "0b1111101000");
        assertEquals(16L, c.snapshotCount());
        assertEquals(15, c.maxTxnOps());
        assertEquals(1000, c.maxRequestBytes());
        assertEquals(8L, c.heartbeatIntervalMs());
        assertEquals(1000L, c.electionTimeoutMs());
    }

    @Test
    void badNumbers() {
        assertEquals("invalid value \"abc\" for flag -snapshot-count: parse error",
                fails("--snapshot-count", "abc").getMessage());
        assertEquals("invalid value \"-1\" for flag -snapshot-count: parse error",
                fails("--snapshot-count", "-1").getMessage());
        assertEquals("invalid value \"99999999999999999999999\" for flag -snapshot-count: value out of range",
                fails("--snapshot-count", "99999999999999999999999").getMessage());
        assertEquals("invalid value \"4294967296\" for flag -max-request-bytes: value out of range",
                fails("--max-request-bytes", "4294967296").getMessage());
        assertEquals("invalid value \"\" for flag -max-txn-ops: parse error",
                fails("--max-txn-ops=").getMessage());
        ConfigException e = fails("--heartbeat-interval", "1__0");
        assertEquals(2, e.exitCode());
        assertTrue(e.printUsage());
    }

    @Test
    void versionFlag() throws Exception {
        for (String[] args : List.of(
                new String[] {"--version"}, new String[] {"-version"}, new String[] {"--version=true"},
                new String[] {"-version=1"}, new String[] {"--name", "x", "--version", "--data-dir", "y"})) {
            ParseResult r = EtcdCommandLine.parse(args, NO_ENV);
            assertEquals(ParseResult.Action.PRINT_VERSION, r.action(), String.join(" ", args));
            assertNull(r.config());
        }
        // --version=false runs normally.
        assertEquals(ParseResult.Action.RUN,
                EtcdCommandLine.parse(new String[] {"--version=false"}, NO_ENV).action());
        // The environment is not consulted for --version (etcd exits before reading it).
        assertEquals(ParseResult.Action.PRINT_VERSION,
                EtcdCommandLine.parse(new String[] {"--version"}, Map.of("ETCD_AUTO_TLS", "true")).action());
        assertTrue(EtcdCommandLine.versionText().startsWith("etcd Version: 3.4.23\n"));
    }

    @Test
    void badBoolean() {
        ConfigException e = fails("--version=maybe");
        assertEquals("invalid boolean value \"maybe\" for -version: parse error", e.getMessage());
        assertEquals(2, e.exitCode());
        // A bool flag never takes the next argument: "false" is then a stray argument.
        assertEquals("'false' is not a valid flag", fails("--version", "false").getMessage());
    }

    @Test
    void helpFlag() throws Exception {
        for (String h : List.of("-h", "--h", "-help", "--help", "--help=no")) {
            ParseResult r = EtcdCommandLine.parse(new String[] {"--name", "x", h, "--bogus"}, NO_ENV);
            assertEquals(ParseResult.Action.PRINT_HELP, r.action(), h);
        }
        // Flags are parsed in order: an error before --help wins.
        assertEquals("flag provided but not defined: -bogus", fails("--bogus", "--help").getMessage());
        String help = EtcdCommandLine.helpText();
        for (Flags.Spec s : Flags.SUPPORTED) {
            if (!s.name().equals(Flags.VERSION) && !s.help().isEmpty()) {
                assertTrue(help.contains("  --" + s.name() + " '" + s.defaultText() + "'\n"), s.name());
            }
        }
        // accepted but, as in etcd's --help, not listed
        assertFalse(help.contains("--enable-grpc-gateway"));
        assertTrue(help.contains("\nSecurity:\n"));
        assertEquals(1, help.split("\nAuth:\n", -1).length - 1, "one Auth section");
        assertTrue(help.contains("\nMember:\n  --name 'default'\n    Human-readable name for this member.\n"));
        assertTrue(help.contains("--initial-cluster 'default=http://localhost:2380'"));
        assertFalse(help.contains("--enable-pprof"));
        assertTrue(help.contains("  --quota-backend-bytes '0'\n    Raise alarms when backend size exceeds the given quota"
                + " (0 defaults to low space quota).\n"));
        assertTrue(help.contains("  --auto-compaction-mode 'periodic'\n"));
        assertTrue(EtcdCommandLine.usageText().startsWith("Usage:\n\n  etcd [flags]\n"));
        assertTrue(EtcdCommandLine.usageText().contains("  etcd -h | --help\n"));
    }

    @Test
    void argumentsAfterFlags() {
        assertEquals("'extra' is not a valid flag", fails("--name", "n1", "extra", "arg").getMessage());
        assertEquals(1, fails("extra").exitCode());
        assertEquals("'-' is not a valid flag", fails("-").getMessage());
        assertEquals("'--name' is not a valid flag", fails("--", "--name", "x").getMessage());
    }

    @Test
    void terminatorAlone() throws Exception {
        assertEquals("n1", run("--name", "n1", "--").name());
    }

    @Test
    void badSyntax() {
        assertEquals("bad flag syntax: ---name", fails("---name", "x").getMessage());
        assertEquals("bad flag syntax: -=x", fails("-=x").getMessage());
        ConfigException e = fails("--name");
        assertEquals("flag needs an argument: -name", e.getMessage());
        assertEquals(2, e.exitCode());
        assertTrue(e.printUsage());
    }

    // ---- unknown and unsupported flags ---------------------------------------------------------------

    @Test
    void unknownFlagUsesEtcdWording() {
        for (String arg : List.of("--bogus", "-bogus", "--bogus=1", "-bogus=")) {
            ConfigException e = fails(arg);
            assertEquals("flag provided but not defined: -bogus", e.getMessage());
            assertEquals(2, e.exitCode());
            assertTrue(e.printUsage());
        }
        // Go does not consume a value for an undefined flag: the error comes first anyway.
        assertEquals("flag provided but not defined: -ratis-port-offset",
                fails("--ratis-port-offset", "3").getMessage());
    }

    @Test
    void unsupportedEtcdFlagsAreRefused() {
        ConfigException e = fails("--backend-batch-limit", "10");
        assertEquals("etcsql: flag --backend-batch-limit is not supported yet", e.getMessage());
        assertEquals(2, e.exitCode());
        assertFalse(e.printUsage());
        assertEquals("etcsql: flag --wal-dir is not supported yet", fails("-wal-dir=/tmp/w").getMessage());
        assertEquals("etcsql: flag --enable-pprof is not supported yet", fails("--enable-pprof").getMessage());
        assertEquals("etcsql: flag --log-level is not supported yet", fails("--log-level", "debug").getMessage());
        for (String f : Flags.UNSUPPORTED_ETCD_FLAGS) {
            assertEquals("etcsql: flag --" + f + " is not supported yet", fails("--" + f + "=x").getMessage(), f);
        }
    }

    @Test
    void supportedAndUnsupportedAreDisjointAndCompleteForEtcd34() {
        for (Flags.Spec s : Flags.SUPPORTED) {
            assertFalse(Flags.UNSUPPORTED_ETCD_FLAGS.contains(s.name()), s.name());
        }
        // etcd 3.4.23 registers 86 flags plus 15 ignored legacy ones (checked against /usr/bin/etcd);
        // etcsql adds one of its own, --listen-sql-urls.
        assertEquals(86 + 15 + 1, Flags.SUPPORTED.size() + Flags.UNSUPPORTED_ETCD_FLAGS.size());
    }

    @Test
    void listenSqlUrlsDefaultsToAvaticasPortOnLoopbackAndEmptyTurnsSqlOff() throws Exception {
        assertEquals(uris("http://127.0.0.1:8765"), run(Map.of(), "--name", "n1").listenSqlUrls());
        assertEquals(List.of(), run(Map.of(), "--listen-sql-urls=").listenSqlUrls());
        assertEquals(uris("http://127.0.0.1:9000", "http://127.0.0.2:9000"),
                run(Map.of(), "--listen-sql-urls", "http://127.0.0.2:9000,http://127.0.0.1:9000").listenSqlUrls());
        assertEquals("etcsql: TLS key/cert (--cert-file, --key-file) must be provided for SQL url"
                + " https://127.0.0.1:9000 with HTTPS scheme", fails("--listen-sql-urls", "https://127.0.0.1:9000").getMessage());
    }

    @Test
    void subcommandsAreRefused() {
        assertEquals("etcsql: command 'gateway' is not supported yet", fails("gateway", "start").getMessage());
        assertEquals("etcsql: command 'grpc-proxy' is not supported yet", fails("grpc-proxy").getMessage());
    }

    // ---- environment ---------------------------------------------------------------------------------

    @Test
    void corsTakesUrlsWithAPortOrStar() throws Exception {
        assertEquals("invalid value \"http://app.example\" for flag -cors: URL address does not have the form \"host:port\": "
                + "http://app.example", fails("--cors", "http://app.example").getMessage());
        assertEquals(java.util.Set.of("*"), EtcdCommandLine.parse(new String[] {"--cors", "*"}, Map.of()).config().http().cors());
    }

    @Test
    void authTokenOptionsAreCheckedAsEtcdDoes() throws Exception {
        for (String bad : List.of("foo", "jwt,ttl", "jwt,ttl=1m,ttl=2m")) {
            ConfigException e = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                    () -> EtcdCommandLine.parse(new String[] {"--auth-token", bad}, Map.of()));
            assertEquals("auth: invalid auth options", e.getMessage(), bad);
        }
        // an out-of-range bcrypt cost falls back to etcd's default
        assertEquals(10, EtcdCommandLine.parse(new String[] {"--bcrypt-cost", "50"}, Map.of()).config().auth().bcryptCost());
    }

    @Test
    void everySupportedFlagHasAnEnvironmentVariable() throws Exception {
        Map<String, String> env = new HashMap<>();
        env.put("ETCD_NAME", "n1");
        env.put("ETCD_DATA_DIR", "d1");
        env.put("ETCD_LISTEN_CLIENT_URLS", "http://127.0.0.1:2379");
        env.put("ETCD_ADVERTISE_CLIENT_URLS", "http://127.0.0.1:2379");
        env.put("ETCD_LISTEN_PEER_URLS", "http://127.0.0.1:2380");
        env.put("ETCD_INITIAL_ADVERTISE_PEER_URLS", "http://127.0.0.1:2380");
        env.put("ETCD_INITIAL_CLUSTER", "n1=http://127.0.0.1:2380,n2=http://127.0.0.1:2381,n3=http://127.0.0.1:2382");
        env.put("ETCD_INITIAL_CLUSTER_STATE", "existing");
        env.put("ETCD_INITIAL_CLUSTER_TOKEN", "t");
        env.put("ETCD_SNAPSHOT_COUNT", "5000");
        env.put("ETCD_MAX_REQUEST_BYTES", "2097152");
        env.put("ETCD_MAX_TXN_OPS", "256");
        env.put("ETCD_HEARTBEAT_INTERVAL", "50");
        env.put("ETCD_ELECTION_TIMEOUT", "500");
        env.put("ETCD_QUOTA_BACKEND_BYTES", "-1");
        env.put("ETCD_AUTO_COMPACTION_RETENTION", "30m");
        env.put("ETCD_AUTO_COMPACTION_MODE", "periodic");
        env.put("ETCD_LISTEN_SQL_URLS", "http://127.0.0.1:18765");
        env.put("ETCD_LISTEN_METRICS_URLS", "http://127.0.0.1:12381");
        env.put("ETCD_METRICS", "extensive");
        env.put("ETCD_MAX_CONCURRENT_STREAMS", "100");
        env.put("ETCD_GRPC_KEEPALIVE_MIN_TIME", "1s");
        env.put("ETCD_GRPC_KEEPALIVE_INTERVAL", "30m");
        env.put("ETCD_GRPC_KEEPALIVE_TIMEOUT", "10s");
        env.put("ETCD_AUTH_TOKEN", "jwt,sign-method=RS256,priv-key=/k.pem,ttl=10m");
        env.put("ETCD_BCRYPT_COST", "12");
        env.put("ETCD_AUTH_TOKEN_TTL", "60");
        env.put("ETCD_ENABLE_GRPC_GATEWAY", "false");
        env.put("ETCD_CORS", "http://a.example:80,http://b.example:80");
        env.put("ETCD_HOST_WHITELIST", "localhost");
        env.put("ETCD_CERT_FILE", "c.pem");
        env.put("ETCD_KEY_FILE", "k.pem");
        env.put("ETCD_CLIENT_CERT_AUTH", "true");
        env.put("ETCD_CLIENT_CRL_FILE", "crl.pem");
        env.put("ETCD_TRUSTED_CA_FILE", "ca.pem");
        env.put("ETCD_AUTO_TLS", "true");
        env.put("ETCD_CIPHER_SUITES", "TLS_AES_128_GCM_SHA256");
        env.put("ETCD_PEER_CERT_FILE", "pc.pem");
        env.put("ETCD_PEER_KEY_FILE", "pk.pem");
        env.put("ETCD_PEER_CLIENT_CERT_AUTH", "true");
        env.put("ETCD_PEER_TRUSTED_CA_FILE", "pca.pem");
        env.put("ETCD_PEER_CERT_ALLOWED_CN", "cn");
        env.put("ETCD_PEER_AUTO_TLS", "true");
        env.put("ETCD_PEER_CRL_FILE", "pcrl.pem");
        ParseResult r = EtcdCommandLine.parse(new String[0], env);
        NodeConfig c = r.config();
        NodeConfig expected = new NodeConfig("n1", Path.of("d1"), uris("http://127.0.0.1:2379"),
                uris("http://127.0.0.1:2379"), uris("http://127.0.0.1:2380"), uris("http://127.0.0.1:2380"),
                c.initialCluster(), ClusterState.EXISTING, "t", 5000, 2097152, 256, 50, 500, -1,
                new AutoCompaction("periodic", java.time.Duration.ofMinutes(30)), uris("http://127.0.0.1:18765"),
                uris("http://127.0.0.1:12381"), "extensive", new GrpcOptions(100, java.time.Duration.ofSeconds(1),
                java.time.Duration.ofMinutes(30), java.time.Duration.ofSeconds(10)),
                new TlsInfo("c.pem", "k.pem", "ca.pem", true, "crl.pem", true, "", List.of("TLS_AES_128_GCM_SHA256")),
                new TlsInfo("pc.pem", "pk.pem", "pca.pem", true, "pcrl.pem", true, "cn", List.of("TLS_AES_128_GCM_SHA256")),
                new AuthOptions("jwt", Map.of("sign-method", "RS256", "priv-key", "/k.pem", "ttl", "10m"), 12,
                        java.time.Duration.ofSeconds(60)),
                new HttpAccess(false, java.util.Set.of("http://a.example:80", "http://b.example:80"), java.util.Set.of("localhost")));
        assertEquals(expected, c);
        assertEquals(List.of("n1", "n2", "n3"), c.initialMemberNames());
        assertEquals(List.of(), r.warnings());
        assertTrue(r.infos().contains("recognized and used environment variable ETCD_NAME=n1"));
        assertEquals(env.size(), r.infos().size());
        for (Flags.Spec s : Flags.SUPPORTED) {
            if (!s.name().equals(Flags.VERSION)) {
                assertTrue(env.containsKey(s.envVar()), s.envVar());
            }
        }
    }

    @Test
    void environmentFillsFlagsNotOnTheCommandLine() throws Exception {
        NodeConfig c = run(Map.of("ETCD_DATA_DIR", "/tmp/x", "ETCD_SNAPSHOT_COUNT", "10"), "--name", "n1");
        assertEquals("n1", c.name());
        assertEquals(Path.of("/tmp/x"), c.dataDir());
        assertEquals(10L, c.snapshotCount());
    }

    @Test
    void emptyEnvironmentVariableIsNotUsed() throws Exception {
        ParseResult r = EtcdCommandLine.parse(new String[0], Map.of("ETCD_NAME", ""));
        assertEquals("default", r.config().name());
        // etcd 3.4 reports an empty known variable as unrecognized.
        assertEquals(List.of("unrecognized environment variable ETCD_NAME=",
                "no data-dir provided, using default data-dir ./default.etcd"), r.warnings());
    }

    @Test
    void variableShadowedByFlagIsFatalAsInEtcd34() {
        // etcd 3.4 (pkg/flags.verifyEnv) exits: the flag does not silently win.
        String msg = "conflicting environment variable \"ETCD_NAME\" is shadowed by corresponding command-line flag"
                + " (either unset environment variable or disable flag)";
        ConfigException e = fails(Map.of("ETCD_NAME", "n1"), "--name", "n2");
        assertEquals(msg, e.getMessage());
        assertEquals(1, e.exitCode());
        assertEquals(msg, fails(Map.of("ETCD_NAME", ""), "-name=n2").getMessage());
    }

    @Test
    void unknownEtcdVariablesAreWarnedAbout() throws Exception {
        ParseResult r = EtcdCommandLine.parse(new String[0],
                Map.of("ETCD_FOO", "bar", "ETCDCTL_API", "3", "PATH", "/bin", "ETCD_HELP", "1"));
        assertEquals(List.of("unrecognized environment variable ETCD_FOO=bar",
                "unrecognized environment variable ETCD_HELP=1",
                "no data-dir provided, using default data-dir ./default.etcd"), r.warnings());
    }

    @Test
    void unsupportedEtcdVariablesAreRefused() {
        ConfigException e = fails(Map.of("ETCD_BACKEND_BATCH_LIMIT", "10"));
        assertEquals("etcsql: environment variable ETCD_BACKEND_BATCH_LIMIT (flag --backend-batch-limit)"
                + " is not supported yet", e.getMessage());
        assertEquals(1, e.exitCode());
        assertEquals("etcsql: environment variable ETCD_CONFIG_FILE (flag --config-file) is not supported yet",
                fails(Map.of("ETCD_CONFIG_FILE", "/etc/etcd.yml")).getMessage());
        assertEquals("etcsql: environment variable ETCD_WAL_DIR (flag --wal-dir) is not supported yet",
                fails(Map.of("ETCD_WAL_DIR", "/tmp/w")).getMessage());
    }

    // ---- metrics ---------------------------------------------------------------------------------

    @Test
    void grpcConnectionFlagsFollowEtcd() throws Exception {
        assertEquals(GrpcOptions.DEFAULTS, run().grpc(), "etcd's defaults");
        assertEquals(Integer.MAX_VALUE, run().grpc().streamLimit(), "math.MaxUint32 as gRPC for Java takes it");
        assertTrue(run().grpc().serverPings(), "every 2h, 20s to answer");
        GrpcOptions g = run("--max-concurrent-streams", "2", "--grpc-keepalive-min-time", "1m30s",
                "--grpc-keepalive-interval", "0", "--grpc-keepalive-timeout", "1.5s").grpc();
        assertEquals(new GrpcOptions(2, java.time.Duration.ofSeconds(90), java.time.Duration.ZERO,
                java.time.Duration.ofMillis(1500)), g);
        assertFalse(g.serverPings(), "an interval of 0 turns server pings off");
        // etcd 3.4.23's own messages (checked with /usr/bin/etcd)
        assertEquals("invalid value \"x\" for flag -grpc-keepalive-min-time: parse error",
                fails("--grpc-keepalive-min-time", "x").getMessage());
        assertEquals("invalid value \"-1\" for flag -max-concurrent-streams: strconv.ParseUint: parsing \"-1\":"
                + " invalid syntax", fails("--max-concurrent-streams", "-1").getMessage());
        assertEquals("invalid value \"4294967296\" for flag -max-concurrent-streams: strconv.ParseUint: parsing"
                + " \"4294967296\": value out of range", fails("--max-concurrent-streams", "4294967296").getMessage());
        assertEquals("--max-concurrent-streams 0 would refuse every client request: give at least 1",
                fails("--max-concurrent-streams", "0").getMessage());
    }

    @Test
    void listenMetricsUrlsAndMetricsLevel() throws Exception {
        NodeConfig none = run();
        assertEquals(List.of(), none.listenMetricsUrls(), "etcd's default: no metrics listener");
        assertEquals("basic", none.metrics());
        assertFalse(none.extensiveMetrics());
        NodeConfig c = run("--listen-metrics-urls", "http://127.0.0.1:2382,http://127.0.0.1:2381",
                "--metrics", "extensive");
        assertEquals(uris("http://127.0.0.1:2381", "http://127.0.0.1:2382"), c.listenMetricsUrls(), "sorted as etcd");
        assertTrue(c.extensiveMetrics());
        assertEquals(List.of(), run("--listen-metrics-urls=").listenMetricsUrls());
        // etcd 3.4 takes any --metrics value and exports basic metrics for anything but "extensive"
        ParseResult odd = EtcdCommandLine.parse(new String[] {"--metrics", "full"}, Map.of());
        assertFalse(odd.config().extensiveMetrics());
        assertTrue(odd.warnings().contains("--metrics \"full\" is neither basic nor extensive: exporting basic metrics"),
                odd.warnings().toString());
    }

    @Test
    void httpsMetricsUrlsAreRefusedNamingTheFlag() {
        ConfigException e = fails("--listen-metrics-urls", "https://127.0.0.1:2381");
        assertEquals("etcsql: https URLs are not supported yet here: "
                + "--listen-metrics-urls https://127.0.0.1:2381", e.getMessage());
        assertEquals("invalid value \"foo\" for flag -listen-metrics-urls: URL scheme must be http, https,"
                + " unix, or unixs: foo", fails("--listen-metrics-urls", "foo").getMessage());
    }

    // ---- quota and auto compaction (etcd's defaults and parsing) ---------------------------------

    @Test
    void quotaBackendBytesIsASignedInteger() throws Exception {
        assertEquals(0L, run().quotaBackendBytes(), "0: etcd's default quota");
        assertEquals(1_048_576L, run("--quota-backend-bytes", "1048576").quotaBackendBytes());
        assertEquals(-1L, run("--quota-backend-bytes=-1").quotaBackendBytes(), "negative disables the quota");
        assertEquals(16L, run("--quota-backend-bytes", "0x10").quotaBackendBytes());
        ConfigException e = fails("--quota-backend-bytes", "abc");
        assertEquals("invalid value \"abc\" for flag -quota-backend-bytes: parse error", e.getMessage());
        assertEquals(2, e.exitCode());
    }

    @Test
    void autoCompactionFollowsEtcdsRetentionSyntax() throws Exception {
        assertFalse(run().autoCompaction().enabled(), "retention 0 by default");
        assertEquals("periodic", run().autoCompaction().mode());
        AutoCompaction hours = run("--auto-compaction-retention", "2").autoCompaction();
        assertEquals(java.time.Duration.ofHours(2), hours.retention(), "a plain number is hours in periodic mode");
        assertEquals(java.time.Duration.ofMinutes(90),
                run("--auto-compaction-retention", "1h30m").autoCompaction().retention());
        assertEquals(java.time.Duration.ofMillis(1500),
                run("--auto-compaction-retention", "1.5s").autoCompaction().retention());
        AutoCompaction revs = run("--auto-compaction-mode", "revision", "--auto-compaction-retention", "1000")
                .autoCompaction();
        assertTrue(revs.isRevisionMode());
        assertEquals(1000L, revs.revisions());
        assertEquals("unknown auto-compaction-mode \"foo\"",
                fails("--auto-compaction-mode", "foo", "--auto-compaction-retention", "1").getMessage());
        assertEquals("error parsing CompactionRetention: time: unknown unit \"x\" in duration \"1x\"",
                fails("--auto-compaction-retention", "1x").getMessage());
        assertEquals("error parsing CompactionRetention: time: missing unit in duration \"-1\"",
                fails("--auto-compaction-retention", "-1").getMessage());
        assertEquals("error parsing CompactionRetention: time: invalid duration \"h\"",
                fails("--auto-compaction-retention", "h").getMessage());
    }

    @Test
    void emptyUnsupportedVariableIsOnlyWarnedAbout() throws Exception {
        ParseResult r = EtcdCommandLine.parse(new String[0], Map.of("ETCD_AUTO_TLS", ""));
        assertEquals("unrecognized environment variable ETCD_AUTO_TLS=", r.warnings().get(0));
    }

    @Test
    void badEnvironmentValues() {
        assertEquals("invalid value \"abc\" for ETCD_SNAPSHOT_COUNT: parse error",
                fails(Map.of("ETCD_SNAPSHOT_COUNT", "abc")).getMessage());
        ConfigException e = fails(Map.of("ETCD_INITIAL_CLUSTER_STATE", "bogus"));
        assertEquals("invalid value \"bogus\" for ETCD_INITIAL_CLUSTER_STATE: invalid value", e.getMessage());
        assertEquals(1, e.exitCode());
        assertFalse(e.printUsage());
        assertEquals("invalid value \"foo\" for ETCD_LISTEN_PEER_URLS:"
                + " URL scheme must be http, https, unix, or unixs: foo",
                fails(Map.of("ETCD_LISTEN_PEER_URLS", "foo")).getMessage());
        assertEquals("invalid value \"x\" for ETCD_VERSION: parse error",
                fails(Map.of("ETCD_VERSION", "x")).getMessage());
    }

    @Test
    void listenClientUrlsFromEnvironmentAlsoRequiresAdvertise() {
        assertEquals("--advertise-client-urls is required when --listen-client-urls is set explicitly",
                fails(Map.of("ETCD_LISTEN_CLIENT_URLS", "http://127.0.0.1:2379")).getMessage());
    }

    // ---- validation ----------------------------------------------------------------------------------

    @Test
    void initialClusterStateMustBeNewOrExisting() {
        ConfigException e = fails("--initial-cluster-state", "bogus");
        assertEquals("invalid value \"bogus\" for flag -initial-cluster-state: invalid value", e.getMessage());
        assertEquals(2, e.exitCode());
        assertTrue(e.printUsage());
    }

    @Test
    void urlSyntaxErrorsUseEtcdWording() {
        Map<String, String> cases = new java.util.LinkedHashMap<>();
        cases.put("127.0.0.1:2379", "parse \"127.0.0.1:2379\": first path segment in URL cannot contain colon");
        cases.put("localhost:2379", "URL scheme must be http, https, unix, or unixs: localhost:2379");
        cases.put("foo", "URL scheme must be http, https, unix, or unixs: foo");
        cases.put("tcp://1.2.3.4:5", "URL scheme must be http, https, unix, or unixs: tcp://1.2.3.4:5");
        cases.put("http://127.0.0.1", "URL address does not have the form \"host:port\": http://127.0.0.1");
        cases.put("http://127.0.0.1:2379/", "URL must not contain a path: http://127.0.0.1:2379/");
        cases.put("http://127.0.0.1:2379/x", "URL must not contain a path: http://127.0.0.1:2379/x");
        cases.put("http://a b:1", "parse \"http://a b:1\": invalid character \" \" in host name");
        cases.put("http://127.0.0.1:2379,", "URL scheme must be http, https, unix, or unixs: ");
        cases.put("", "URL scheme must be http, https, unix, or unixs: ");
        cases.put(":2379", "parse \":2379\": missing protocol scheme");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            ConfigException e = fails("--listen-client-urls", c.getKey());
            assertEquals("invalid value \"" + c.getKey() + "\" for flag -listen-client-urls: " + c.getValue(),
                    e.getMessage(), c.getKey());
            assertEquals(2, e.exitCode());
        }
    }

    @Test
    void urlListsAreTrimmedAndSortedLikeEtcd() throws Exception {
        NodeConfig c = run("--listen-client-urls", "http://127.0.0.1:2479, HTTP://127.0.0.1:2379",
                "--advertise-client-urls", "http://[::1]:2379,http://127.0.0.1:2379");
        assertEquals(uris("http://127.0.0.1:2379", "http://127.0.0.1:2479"), c.listenClientUrls());
        assertEquals(uris("http://127.0.0.1:2379", "http://[::1]:2379"), c.advertiseClientUrls());
        assertEquals("::1", c.advertiseClientUrls().get(1).getHost().replace("[", "").replace("]", ""));
    }

    @Test
    void listenClientUrlsRequireAdvertiseClientUrls() {
        ConfigException e = fails("--listen-client-urls", "http://127.0.0.1:2379");
        assertEquals("--advertise-client-urls is required when --listen-client-urls is set explicitly",
                e.getMessage());
        assertEquals(1, e.exitCode());
    }

    @Test
    void listenUrlsMustBeIpOrLocalhost() throws Exception {
        assertEquals("expected IP in URL for binding (http://myhost:2379)",
                fails("--listen-client-urls", "http://myhost:2379", "--advertise-client-urls", "http://myhost:2379")
                        .getMessage());
        assertEquals("expected IP in URL for binding (http://myhost:2380)",
                fails("--listen-peer-urls", "http://myhost:2380").getMessage());
        run("--listen-peer-urls", "http://0.0.0.0:2380,http://[::]:2390");
    }

    @Test
    void advertiseUrlsNeedAHost() {
        assertEquals("--advertise-client-urls \"http://:23791\" must be \"host:port\""
                + " (unexpected empty host (http://:23791))",
                fails("--listen-client-urls", "http://127.0.0.1:23791", "--advertise-client-urls", "http://:23791")
                        .getMessage());
        assertEquals("--initial-advertise-peer-urls \"http://:2380\" must be \"host:port\""
                + " (unexpected empty host (http://:2380))",
                fails("--initial-advertise-peer-urls", "http://:2380").getMessage());
    }

    @Test
    void timing() {
        assertEquals("--heartbeat-interval must be >0 (set to 0ms)",
                fails("--heartbeat-interval", "0").getMessage());
        assertEquals("--election-timeout must be >0 (set to 0ms)", fails("--election-timeout", "0").getMessage());
        assertEquals("--election-timeout[10ms] should be at least as 5 times as --heartbeat-interval[16ms]",
                fails("--heartbeat-interval", "0x10", "--election-timeout", "10").getMessage());
        assertEquals("--election-timeout[60000ms] is too long, and should be set less than 50000ms",
                fails("--election-timeout", "60000").getMessage());
        assertEquals("--election-timeout[1000ms] should be at least as 5 times as"
                + " --heartbeat-interval[9223372036854775807ms]",
                fails("--heartbeat-interval", "9223372036854775807").getMessage());
    }

    @Test
    void anHttpsClientUrlNeedsACertificateAndKeyOrAutoTls() throws Exception {
        ConfigException e = fails("--listen-client-urls", "http://127.0.0.1:2379,https://127.0.0.1:2381",
                "--advertise-client-urls", "https://127.0.0.1:2381");
        assertEquals("TLS key/cert (--cert-file, --key-file) must be provided for client url https://127.0.0.1:2381"
                + " with HTTPS scheme", e.getMessage());
        assertEquals(1, e.exitCode());
        NodeConfig c = run("--listen-client-urls", "http://127.0.0.1:2379,https://127.0.0.1:2381",
                "--advertise-client-urls", "https://127.0.0.1:2381", "--cert-file", "s.pem", "--key-file", "s-key.pem",
                "--trusted-ca-file", "ca.pem", "--client-cert-auth", "--client-crl-file", "crl.pem");
        assertEquals(new TlsInfo("s.pem", "s-key.pem", "ca.pem", true, "crl.pem", false, "", List.of()), c.clientTls());
        assertEquals(uris("http://127.0.0.1:2379", "https://127.0.0.1:2381"), c.listenClientUrls());
        assertTrue(run("--listen-client-urls", "https://127.0.0.1:2381", "--advertise-client-urls",
                "https://127.0.0.1:2381", "--auto-tls").clientTls().autoTls());
        assertEquals(TlsInfo.NONE, run().clientTls());
    }

    @Test
    void cipherSuitesTakeGoNamesAndRefuseOthersWithEtcdsText() throws Exception {
        assertEquals(List.of("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
                run("--cipher-suites", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305")
                        .clientTls().cipherSuites());
        ConfigException e = fails("--cipher-suites", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,SSL_RSA_WITH_NULL_MD5");
        assertEquals("unexpected TLS cipher suite \"SSL_RSA_WITH_NULL_MD5\"", e.getMessage());
        assertEquals(1, e.exitCode());
        assertEquals("unexpected TLS cipher suite \"\"", fails("--cipher-suites", "").getMessage());
        assertEquals("unexpected TLS cipher suite \"X\"",
                fails(Map.of("ETCD_CIPHER_SUITES", "X")).getMessage());
    }

    @Test
    void anHttpsPeerUrlNeedsAPeerCertificateAndKeyOrPeerAutoTls() throws Exception {
        String[] peerHttps = {"--listen-peer-urls", "https://localhost:2380", "--initial-advertise-peer-urls",
            "https://127.0.0.1:2380", "--initial-cluster", "default=https://127.0.0.1:2380"};
        ConfigException e = fails(peerHttps);
        assertEquals("cannot listen on TLS for 127.0.0.1:2380: KeyFile and CertFile are not presented", e.getMessage());
        assertEquals(1, e.exitCode());
        String[] withCerts = java.util.stream.Stream.concat(java.util.Arrays.stream(peerHttps), java.util.stream.Stream.of(
                "--peer-cert-file", "p.pem", "--peer-key-file", "p-key.pem", "--peer-trusted-ca-file", "ca.pem",
                "--peer-client-cert-auth", "--peer-crl-file", "crl.pem", "--peer-cert-allowed-cn", "etcd-peer"))
                .toArray(String[]::new);
        assertEquals(new TlsInfo("p.pem", "p-key.pem", "ca.pem", true, "crl.pem", false, "etcd-peer", List.of()),
                run(withCerts).peerTls());
        String[] auto = java.util.Arrays.copyOf(peerHttps, peerHttps.length + 1);
        auto[peerHttps.length] = "--peer-auto-tls";
        assertTrue(run(auto).peerTls().autoTls());
    }

    @Test
    void unixUrlsAreRefusedForNow() {
        assertEquals("etcsql: unix socket URLs are not supported yet: --listen-peer-urls unix://localhost:2380",
                fails("--listen-peer-urls", "unix://localhost:2380").getMessage());
    }

    // ---- bootstrap checks -----------------------------------------------------------------------------

    @Test
    void memberMustBeInInitialCluster() {
        ConfigException e = fails("--name", "n1", "--initial-advertise-peer-urls", "http://127.0.0.1:23801",
                "--initial-cluster", "n2=http://127.0.0.1:23801");
        assertEquals("couldn't find local name \"n1\" in the initial cluster configuration", e.getMessage());
        assertEquals(1, e.exitCode());
        assertEquals("couldn't find local name \"n1\" in the initial cluster configuration",
                fails("--name", "n1", "--initial-cluster", "").getMessage());
        assertEquals("couldn't find local name \"n1\" in the initial cluster configuration",
                fails("--name", "n1", "--initial-cluster", "n2=http://127.0.0.1:23802",
                        "--initial-cluster-state", "existing").getMessage());
        // --name= gives an empty name, and the default initial cluster keeps "default".
        assertEquals("couldn't find local name \"\" in the initial cluster configuration",
                fails("--name=").getMessage());
    }

    @Test
    void advertisedPeerUrlsMustMatchInitialCluster() {
        assertEquals("--initial-cluster has n1=http://127.0.0.1:23802 but missing from"
                + " --initial-advertise-peer-urls=http://127.0.0.1:23801"
                + " (resolved urls: \"http://127.0.0.1:23801\" != \"http://127.0.0.1:23802\")",
                fails("--name", "n1", "--initial-advertise-peer-urls", "http://127.0.0.1:23801",
                        "--initial-cluster", "n1=http://127.0.0.1:23802").getMessage());
        assertEquals("--initial-advertise-peer-urls has http://127.0.0.1:23803 but missing from"
                + " --initial-cluster=n1=http://127.0.0.1:23801,n1=http://127.0.0.1:23803",
                fails("--name", "n1", "--initial-advertise-peer-urls", "http://127.0.0.1:23801,http://127.0.0.1:23803",
                        "--initial-cluster", "n1=http://127.0.0.1:23801").getMessage());
        // The message the brief quotes: default name, changed advertise URL.
        assertEquals("--initial-cluster has default=http://localhost:2380 but missing from"
                + " --initial-advertise-peer-urls=http://127.0.0.1:23801"
                + " (resolved urls: \"http://127.0.0.1:23801\" != \"http://localhost:2380\")",
                fails("--initial-advertise-peer-urls", "http://127.0.0.1:23801").getMessage());
        // localhost is not resolved (etcd's netutil.resolveURL leaves it alone).
        assertEquals("--initial-cluster has n1=http://localhost:23801 but missing from"
                + " --initial-advertise-peer-urls=http://127.0.0.1:23801"
                + " (resolved urls: \"http://127.0.0.1:23801\" != \"http://localhost:23801\")",
                fails("--name", "n1", "--initial-advertise-peer-urls", "http://127.0.0.1:23801",
                        "--initial-cluster", "n1=http://localhost:23801").getMessage());
    }

    @Test
    void advertiseMismatchIsNotCheckedForExistingCluster() throws Exception {
        NodeConfig c = run("--name", "n1", "--initial-advertise-peer-urls", "http://127.0.0.1:23801",
                "--initial-cluster", "n1=http://127.0.0.1:23802", "--initial-cluster-state", "existing");
        assertEquals(ClusterState.EXISTING, c.initialClusterState());
    }

    @Test
    void nameAloneFollowsAdvertisedPeerUrls() throws Exception {
        NodeConfig c = run("--name", "n7", "--initial-advertise-peer-urls",
                "http://127.0.0.1:23802,http://127.0.0.1:23801", "--listen-peer-urls", "http://127.0.0.1:23801");
        assertEquals(Map.of("n7", uris("http://127.0.0.1:23801", "http://127.0.0.1:23802")), c.initialCluster());
    }

    @Test
    void memberWithSeveralPeerUrls() throws Exception {
        NodeConfig c = run("--name", "a", "--initial-advertise-peer-urls", "http://127.0.0.1:2390,http://127.0.0.1:2380",
                "--initial-cluster", "b=http://127.0.0.1:2480,a=http://127.0.0.1:2390,a=http://127.0.0.1:2380");
        assertEquals(List.of("b", "a"), c.initialMemberNames());
        assertEquals(uris("http://127.0.0.1:2380", "http://127.0.0.1:2390"), c.initialCluster().get("a"));
        assertEquals("a=http://127.0.0.1:2380,a=http://127.0.0.1:2390,b=http://127.0.0.1:2480",
                c.initialClusterString());
    }

    @Test
    void initialClusterErrors() {
        assertEquals("error setting up initial cluster: URL scheme must be http, https, unix, or unixs: ",
                fails("--initial-cluster", "garbage").getMessage());
        assertEquals("error setting up initial cluster: URL scheme must be http, https, unix, or unixs: foo",
                fails("--initial-cluster", "default=http://localhost:2380,n2=foo").getMessage());
        assertEquals("initial cluster n1=http://127.0.0.1:23801,n2=http://127.0.0.1:23801 has duplicate url",
                fails("--name", "n1", "--initial-advertise-peer-urls", "http://127.0.0.1:23801",
                        "--initial-cluster", "n1=http://127.0.0.1:23801,n2=http://127.0.0.1:23801").getMessage());
    }

    @Test
    void errorsComeInEtcdOrder() {
        // Flag syntax errors are reported before environment problems and validation.
        assertEquals("flag provided but not defined: -bogus",
                fails(Map.of("ETCD_NAME", "x"), "--name", "y", "--bogus").getMessage());
        // A stray argument is reported before the environment is read.
        assertEquals("'x' is not a valid flag", fails(Map.of("ETCD_AUTO_TLS", "true"), "x").getMessage());
    }
}
