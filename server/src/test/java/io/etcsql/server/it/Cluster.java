package io.etcsql.server.it;

/*
 * Integration tests (classes *IT in this package): they start real server processes on 127.0.0.1 and drive them
 * with the real /usr/bin/etcdctl (3.4.23) and with jetcd, asserting what a user sees (exact etcdctl output, error
 * texts, exit codes, revisions).
 *
 * How to run (from the repository root):
 *
 *   against etcsql (default; needs server/target/etcsql-server.jar + server/target/lib, started by bin/etcsql):
 *     mvn verify -pl server -am                      # package, then failsafe runs *IT
 *     mvn verify -pl server -am -Dit.test=JetcdIT    # one class (-Dit.test=EtcdctlKvIT#txnInteractive: one method)
 *
 *   against real etcd 3.4 (/usr/bin/etcd) to check the tests themselves:
 *     mvn verify -pl server -am -Detcsql.it.target=etcd
 *
 *   only the ITs, no unit tests:  add -Dtest=NoSuchTest -Dsurefire.failIfNoSpecifiedTests=false
 *   skip them: -DskipITs.   Unit tests only: mvn test.
 *   Wall time against etcd: about 45 s for the whole suite (5 classes, 34 tests).
 *
 * System properties (set by failsafe in server/pom.xml):
 *   etcsql.it.target   "etcsql" (default) or "etcd"
 *   etcsql.home        repository root (bin/etcsql lives there)
 *   etcsql.it.workdir  where clusters put data dirs and logs (failsafe: server/target/it-work); a failed test keeps its
 *                      cluster directory there and prints the tail of every member's log
 *   etcsql.it.javaOpts optional ETCSQL_JAVA_OPTS for bin/etcsql (default -Xmx1g)
 *   etcsql.it.keep     true: keep every cluster directory, not only those of failed tests
 */

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * N members (1 or 3) started as separate processes with etcd's flags, each with its own client and peer port.
 * {@link #close()} kills them all and deletes the directory (unless a test failed: see {@link DumpLogsOnFailure}).
 */
public final class Cluster implements AutoCloseable {

    private static final Set<Cluster> OPEN = ConcurrentHashMap.newKeySet();
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path baseDir;
    private final String token;
    private final List<ServerProcess> members = new ArrayList<>();
    private volatile boolean failed;

    private int[] sqlPorts = new int[0];

    private Cluster(Path baseDir, String token) {
        this.baseDir = baseDir;
        this.token = token;
    }

    /** Starts {@code n} members named n1..nN and waits until every one answers. */
    public static Cluster start(int n) {
        return start(n, List.of());
    }

    /** Same, with extra etcd flags given to every member (e.g. "--max-txn-ops", "16"). */
    public static Cluster start(int n, List<String> extraFlags) {
        return start(n, extraFlags, java.util.Map.of());
    }

    /** Same, and every member's process also gets {@code env} (e.g. ETCSQL_JAVA_OPTS). */
    public static Cluster start(int n, List<String> extraFlags, java.util.Map<String, String> env) {
        Cluster c = create(n, extraFlags);
        for (ServerProcess m : c.members) {
            m.setEnv(env);
        }
        return c.startAll();
    }

    /** Starts {@code n} members, member {@code i} (from 0) with the extra flags {@code perMember.apply(i)}. */
    public static Cluster start(int n, java.util.function.IntFunction<List<String>> perMember) {
        return create(n, List.of(), perMember).startAll();
    }

    /** Starts every member and waits until each answers; on failure closes the cluster (keeping its logs). */
    public Cluster startAll() {
        try {
            for (ServerProcess m : members) {
                m.start();
            }
            for (ServerProcess m : members) {
                m.waitReady();
            }
            return this;
        } catch (RuntimeException | Error e) {
            markFailed();
            close();
            throw e;
        }
    }

    /**
     * Starts {@code n} etcsql members, each also serving SQL on a port of its own ({@link
     * #sqlPort}).
     */
    public static Cluster startWithSql(int n) {
        int[] ports = new int[n];
        for (int i = 0; i < n; i++) {
            ports[i] = ServerProcess.freePort();
        }
        Cluster c = create(n, List.of(), i -> List.of("--listen-sql-urls", "http://127.0.0.1:" + ports[i]));
        c.sqlPorts = ports;
        c.startAll();
        // the SQL endpoint starts after the member answers on gRPC
        try {
            for (int port : ports) {
                Jdbc.awaitPort(port, ServerProcess.defaultStartTimeout());
            }
        } catch (RuntimeException e) {
            c.markFailed();
            c.close();
            throw e;
        }
        return c;
    }

    /** The SQL port of member {@code i} (see {@link #startWithSql}). */
    public int sqlPort(int i) {
        return sqlPorts[i];
    }

    /** {@code jdbc:etcsql://} URL listing every member's SQL endpoint. */
    public String jdbcUrl() {
        StringBuilder b = new StringBuilder("jdbc:etcsql://");
        for (int i = 0; i < sqlPorts.length; i++) {
            b.append(i == 0 ? "" : ",").append("127.0.0.1:").append(sqlPorts[i]);
        }
        return b.toString();
    }

    /** Creates the members without starting them. */
    public static Cluster create(int n, List<String> extraFlags) {
        return create(n, extraFlags, i -> List.of());
    }

    private static Cluster create(int n, List<String> extraFlags, java.util.function.IntFunction<List<String>> perMember) {
        Path root = Paths.get(System.getProperty("etcsql.it.workdir", System.getProperty("java.io.tmpdir")));
        try {
            Files.createDirectories(root);
            Path base = Files.createTempDirectory(root, "cluster-");
            String token = "it-" + UUID.randomUUID().toString().substring(0, 8);
            Cluster c = new Cluster(base, token);
            int[] client = new int[n];
            int[] peer = new int[n];
            StringBuilder initial = new StringBuilder();
            for (int i = 0; i < n; i++) {
                client[i] = ServerProcess.freePort();
                peer[i] = ServerProcess.freePort();
                if (i > 0) {
                    initial.append(',');
                }
                initial.append("n").append(i + 1).append("=http://127.0.0.1:").append(peer[i]);
            }
            for (int i = 0; i < n; i++) {
                String name = "n" + (i + 1);
                List<String> extra = new java.util.ArrayList<>(extraFlags);
                extra.addAll(perMember.apply(i));
                List<String> flags = ServerProcess.memberFlags(name, base.resolve(name + ".etcd"), client[i],
                        peer[i], initial.toString(), token, extra);
                c.members.add(new ServerProcess(name, base, client[i], peer[i], flags));
            }
            OPEN.add(c);
            return c;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static Set<Cluster> open() {
        return OPEN;
    }

    public Path baseDir() {
        return baseDir;
    }

    public String token() {
        return token;
    }

    public int size() {
        return members.size();
    }

    public List<ServerProcess> members() {
        return members;
    }

    /** Member {@code i}, 0-based (member(0) is n1). */
    public ServerProcess member(int i) {
        return members.get(i);
    }

    public String[] endpoints() {
        return members.stream().map(ServerProcess::clientEndpoint).toArray(String[]::new);
    }

    /** etcdctl talking to every member. */
    public Etcdctl ctl() {
        return new Etcdctl(endpoints());
    }

    /** etcdctl talking to member {@code i} only. */
    public Etcdctl ctl(int i) {
        return new Etcdctl(member(i).clientEndpoint());
    }

    /** {@code etcdctl endpoint status -w json} of member {@code i} (its "Status" object), or null if it fails. */
    public JsonNode status(int i) {
        Etcdctl.Result r = ctl(i).run(Duration.ofSeconds(10), null, "--dial-timeout=1s", "--command-timeout=2s",
                "endpoint", "status", "-w", "json");
        if (r.exitCode() != 0) {
            return null;
        }
        try {
            JsonNode arr = JSON.readTree(r.stdout());
            return arr.get(0).get("Status");
        } catch (IOException e) {
            throw new AssertionError("cannot parse endpoint status: " + r, e);
        }
    }

    /** Member id (decimal string, as etcdctl's JSON prints it) of member {@code i}, or null if it does not answer. */
    public String memberId(int i) {
        JsonNode s = status(i);
        return s == null ? null : s.get("header").get("member_id").asText();
    }

    /**
     * The index of the member that is leader, as seen by the running members (a member counts as leader when it
     * reports itself as "leader"), or -1 if none does.
     */
    public int leaderIndex() {
        for (int i = 0; i < members.size(); i++) {
            if (!member(i).isAlive()) {
                continue;
            }
            JsonNode s = status(i);
            if (s == null) {
                continue;
            }
            String self = s.get("header").get("member_id").asText();
            String leader = s.path("leader").asText("0");
            if (self.equals(leader)) {
                return i;
            }
        }
        return -1;
    }

    /** Waits (bounded) until some running member is leader; returns its index. */
    public int waitLeader(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            int l = leaderIndex();
            if (l >= 0) {
                return l;
            }
            ServerProcess.sleep(200);
        }
        throw new AssertionError("no leader after " + timeout + "\n" + logTails(30));
    }

    /** Index of some running member other than {@code notThis}. */
    public int otherThan(int... notThis) {
        outer:
        for (int i = 0; i < members.size(); i++) {
            for (int n : notThis) {
                if (i == n) {
                    continue outer;
                }
            }
            if (member(i).isAlive()) {
                return i;
            }
        }
        throw new IllegalStateException("no other running member");
    }

    /** The tails of all members' logs. */
    public String logTails(int lines) {
        StringBuilder sb = new StringBuilder();
        for (ServerProcess m : members) {
            sb.append(m.logTail(lines));
        }
        return sb.toString();
    }

    /**
     * For tests that close their cluster themselves (try-with-resources): call from a catch block before rethrowing,
     * to print the members' log tails and keep the directory.
     */
    public void onFailure(Throwable t) {
        if (!failed) {
            markFailed();
            System.err.println("===== failure (" + t + "); cluster " + baseDir + " is kept =====");
            System.err.println(logTails(40));
        }
    }

    /** Keep the directory on close (set when a test failed). */
    public void markFailed() {
        failed = true;
    }

    @Override
    public void close() {
        for (ServerProcess m : members) {
            try {
                m.resume(); // a SIGSTOPped process would not die from SIGTERM; SIGKILL works anyway
            } catch (RuntimeException ignored) {
                // not started
            }
            m.kill();
        }
        OPEN.remove(this);
        if (!failed && !Boolean.getBoolean("etcsql.it.keep")) {
            deleteTree(baseDir);
        } else {
            System.err.println("cluster directory kept: " + baseDir);
        }
    }

    static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException exc) throws IOException {
                    Files.deleteIfExists(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            System.err.println("cannot delete " + dir + ": " + e);
        }
    }

    /** Parses JSON (e.g. etcdctl -w json output). */
    public static JsonNode json(String s) {
        try {
            return JSON.readTree(s);
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + s, e);
        }
    }

    @Override
    public String toString() {
        return "Cluster" + members;
    }
}
