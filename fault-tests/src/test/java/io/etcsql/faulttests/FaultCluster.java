package io.etcsql.faulttests;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.ClusterGrpc;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.MaintenanceGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RangeResponse;
import io.etcd.jetcd.api.StatusRequest;
import io.etcd.jetcd.api.StatusResponse;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * N members n1..nN on 127.0.0.0/8, each peer link i->k through its own {@link TcpProxy}.
 *
 * <p>Every member names its peers nK in --initial-cluster (http://nK:PORTK) and resolves them through its own hosts
 * file ({@code -Djdk.net.hosts.file}): in member I's file nK is 127.0.I.K. The proxy of link I->K listens on
 * 127.0.I.K:PORTK and forwards to 127.0.0.1:REALK, where member K binds its peer port. Because Ratis keeps the peer
 * addresses as strings ("nK:PORTK") in its replicated configuration, each member still dials through its own
 * proxies whatever configuration entry it applies.
 *
 * <p>A member can be replaced in its slot (MEMBERSHIP): the replacement keeps the name nI, the client port and the
 * hosts file, and gets new peer ports PORTI'/REALI' (so a new member id), with new proxies k->I on 127.0.k.I:PORTI'.
 */
final class FaultCluster implements AutoCloseable {

    private static final Set<FaultCluster> OPEN = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (FaultCluster c : OPEN) {
                c.killAll();
            }
        }, "fault-cluster-reaper"));
    }

    final Path dir;
    final int n;
    /** By slot (0-based); a replaced member's slot holds its replacement. */
    final List<Member> members = new CopyOnWriteArrayList<>();
    /** proxies[i][k]: link from member i+1 to member k+1. */
    final TcpProxy[][] proxies;
    private final ManagedChannel[] channels;
    private final Map<Long, Integer> idToIndex = new ConcurrentHashMap<>();
    private final long[] memberIds;
    private final int[] clientPorts;
    /** Where each member binds its peer port (127.0.0.1); changes when a member is replaced. */
    private final int[] realPeerPorts;
    /** The port of each member's advertised peer URL http://nI:PORT; changes when a member is replaced. */
    private final int[] peerPorts;
    private final String token;
    private final String javaOpts;

    static Path home() {
        String h = System.getProperty("etcsql.home");
        if (h != null && !h.isBlank()) {
            return Paths.get(h).toAbsolutePath().normalize();
        }
        for (Path q = Paths.get("").toAbsolutePath(); q != null; q = q.getParent()) {
            if (Files.isRegularFile(q.resolve("bin/etcsql"))) {
                return q;
            }
        }
        throw new IllegalStateException("bin/etcsql not found: set -Detcsql.home");
    }

    private static final Set<Integer> HANDED_OUT = Collections.synchronizedSet(new HashSet<>());

    static int freePort() {
        for (int i = 0; i < 100; i++) {
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                int port = s.getLocalPort();
                if (HANDED_OUT.add(port)) {
                    return port;
                }
            } catch (IOException e) {
                throw new IllegalStateException("cannot find a free port", e);
            }
        }
        throw new IllegalStateException("cannot find a free port");
    }

    FaultCluster(int n, Path workRoot, String javaOpts) throws IOException {
        if (n < 1 || n > 9) {
            throw new IllegalArgumentException("1..9 members");
        }
        this.n = n;
        Files.createDirectories(workRoot);
        this.dir = Files.createTempDirectory(workRoot, "cluster-");
        this.proxies = new TcpProxy[n][n];
        this.channels = new ManagedChannel[n];
        this.memberIds = new long[n];
        this.clientPorts = new int[n];
        this.realPeerPorts = new int[n];
        this.peerPorts = new int[n];
        this.javaOpts = javaOpts;
        this.token = "ft-" + UUID.randomUUID().toString().substring(0, 8);
        OPEN.add(this);
        List<String> initial = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            clientPorts[i] = freePort();
            realPeerPorts[i] = freePort();
            peerPorts[i] = freePort();
            initial.add("n" + (i + 1) + "=" + peerUrl(i));
        }
        try {
            for (int i = 1; i <= n; i++) {
                StringBuilder hosts = new StringBuilder("# hosts of member n" + i + ": nK -> 127.0." + i + ".K\n");
                for (int k = 1; k <= n; k++) {
                    hosts.append("127.0.").append(i).append('.').append(k).append(" n").append(k).append('\n');
                    proxies[i - 1][k - 1] = proxy(i - 1, k - 1);
                }
                hosts.append("127.0.0.1 localhost\n");
                Files.writeString(hostsFile(i - 1), hosts.toString(), StandardCharsets.UTF_8);
                members.add(newMember(i - 1, String.join(",", initial), "new"));
                channels[i - 1] = Grpc.newChannelBuilderForAddress("127.0.0.1", clientPorts[i - 1],
                                InsecureChannelCredentials.create())
                        .maxInboundMessageSize(64 * 1024 * 1024).build();
            }
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    private Path hostsFile(int idx0) {
        return dir.resolve("hosts-n" + (idx0 + 1));
    }

    private Path dataDir(int idx0) {
        return dir.resolve("n" + (idx0 + 1) + ".etcd");
    }

    /** The proxy of link from -> to (0-based): 127.0.FROM.TO:peerPort(to) -> 127.0.0.1:realPeerPort(to). */
    private TcpProxy proxy(int from, int to) throws IOException {
        return new TcpProxy("n" + (from + 1) + "->n" + (to + 1),
                new InetSocketAddress(TcpProxy.loopback(from + 1, to + 1), peerPorts[to]),
                new InetSocketAddress(InetAddress.getLoopbackAddress(), realPeerPorts[to]));
    }

    /** The peer URL member idx0 advertises (and the others know it by): http://nI:PORT. */
    String peerUrl(int idx0) {
        return "http://n" + (idx0 + 1) + ":" + peerPorts[idx0];
    }

    /** Member idx0 with the slot's current ports; {@code state} is --initial-cluster-state (new or existing). */
    private Member newMember(int idx0, String initialCluster, String state) {
        String name = "n" + (idx0 + 1);
        List<String> flags = List.of(
                "--name", name,
                "--data-dir", dataDir(idx0).toString(),
                "--listen-client-urls", "http://127.0.0.1:" + clientPorts[idx0],
                "--listen-sql-urls", "",
                "--advertise-client-urls", "http://127.0.0.1:" + clientPorts[idx0],
                "--listen-peer-urls", "http://127.0.0.1:" + realPeerPorts[idx0],
                "--initial-advertise-peer-urls", peerUrl(idx0),
                "--initial-cluster", initialCluster,
                "--initial-cluster-state", state,
                "--initial-cluster-token", token);
        Map<String, String> env = new LinkedHashMap<>();
        env.put("ETCSQL_JAVA_OPTS", javaOpts + " -Djdk.net.hosts.file=" + hostsFile(idx0));
        return new Member(idx0 + 1, dir, clientPorts[idx0], realPeerPorts[idx0], peerPorts[idx0], flags, env);
    }

    /**
     * Prepares slot idx0 for a replacement once its member has been removed from the cluster and has exited: wipes
     * its data dir and gives it new peer ports (etcsql derives a member id from its peer URLs, and a removed id never
     * comes back). The proxies into the slot (k -> idx0, for every k) are replaced by proxies on the new advertised
     * port towards the new real one; the slot's own outgoing proxies stay, as the other members' ports do not
     * change. Returns the new peer URL, for MemberAdd.
     */
    String renewPeerPorts(int idx0) throws IOException {
        if (members.get(idx0).isAlive()) {
            throw new IllegalStateException(members.get(idx0) + " is still running");
        }
        FaultProfile.deleteTree(dataDir(idx0));
        if (Files.exists(dataDir(idx0))) {
            throw new IllegalStateException("cannot wipe " + dataDir(idx0));
        }
        peerPorts[idx0] = freePort();
        realPeerPorts[idx0] = freePort();
        for (int k = 0; k < n; k++) {
            TcpProxy old = proxies[k][idx0];
            proxies[k][idx0] = proxy(k, idx0);
            old.close();
        }
        return peerUrl(idx0);
    }

    /**
     * Puts a replacement for slot idx0 in place, not started yet: same name nI and client port, the slot's current
     * peer ports, --initial-cluster-state existing; {@code memberId} is the id MemberAdd gave it (0 if none). The
     * workload's clients and the watchers keep working: they address the slot by its client port.
     */
    Member replace(int idx0, long memberId, String initialCluster) {
        Member m = newMember(idx0, initialCluster, "existing");
        idToIndex.remove(memberIds[idx0]);
        memberIds[idx0] = memberId;
        idToIndex.put(memberId, idx0);
        members.set(idx0, m);
        return m;
    }

    Member member(int idx0) {
        return members.get(idx0);
    }

    ManagedChannel channel(int idx0) {
        return channels[idx0];
    }

    /** The etcd Cluster API (MemberAdd/Remove/Promote/List) of member idx0, with a deadline. */
    ClusterGrpc.ClusterBlockingStub clusterApi(int idx0, long timeoutMs) {
        return ClusterGrpc.newBlockingStub(channels[idx0]).withDeadlineAfter(timeoutMs, TimeUnit.MILLISECONDS);
    }

    /** Starts every member and waits until each answers a linearizable read. */
    void startAll(Duration timeout) {
        for (Member m : members) {
            m.start();
        }
        waitAllReady(timeout);
        for (int i = 0; i < n; i++) {
            StatusResponse s = status(i, 3000);
            if (s == null) {
                throw new IllegalStateException("no status from n" + (i + 1));
            }
            memberIds[i] = s.getHeader().getMemberId();
            idToIndex.put(memberIds[i], i);
        }
    }

    void waitAllReady(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (int i = 0; i < n; i++) {
            while (!ready(i)) {
                if (!members.get(i).isAlive()) {
                    throw new IllegalStateException(members.get(i) + " exited before it was ready\n"
                            + members.get(i).logTail(40));
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("n" + (i + 1) + " not ready after " + timeout + "\n"
                            + members.get(i).logTail(40));
                }
                sleep(200);
            }
        }
    }

    /** Member answers a linearizable Range within 2 s. */
    boolean ready(int i) {
        if (!members.get(i).isUp()) {
            return false;
        }
        try {
            KVGrpc.newBlockingStub(channels[i]).withDeadlineAfter(2, TimeUnit.SECONDS)
                    .range(RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8("/ft-ready")).build());
            return true;
        } catch (RuntimeException e) {
            channels[i].resetConnectBackoff();
            return false;
        }
    }

    StatusResponse status(int i, long timeoutMs) {
        if (!members.get(i).isUp()) {
            return null;
        }
        try {
            return MaintenanceGrpc.newBlockingStub(channels[i]).withDeadlineAfter(timeoutMs, TimeUnit.MILLISECONDS)
                    .status(StatusRequest.getDefaultInstance());
        } catch (RuntimeException e) {
            return null;
        }
    }

    /**
     * The 0-based index of the leader: among the members that answer and call themselves leader, the one with the
     * highest Raft term; -1 if none.
     */
    int leader() {
        int best = -1;
        long bestTerm = -1;
        for (int i = 0; i < n; i++) {
            StatusResponse s = status(i, 1500);
            if (s != null && s.getLeader() == s.getHeader().getMemberId() && s.getRaftTerm() > bestTerm) {
                best = i;
                bestTerm = s.getRaftTerm();
            }
        }
        return best;
    }

    int waitLeader(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            int l = leader();
            if (l >= 0) {
                return l;
            }
            sleep(200);
        }
        return -1;
    }

    /** Cuts (or heals) links i->k and k->i (0-based). */
    void setLink(int i, int k, boolean cut) {
        for (TcpProxy p : new TcpProxy[] {proxies[i][k], proxies[k][i]}) {
            if (cut) {
                p.cut();
            } else {
                p.heal();
            }
        }
    }

    /** Cuts every link between a member of {@code a} and a member of {@code b} (0-based indexes), both ways. */
    void partition(List<Integer> a, List<Integer> b) {
        for (int i : a) {
            for (int k : b) {
                if (i != k) {
                    setLink(i, k, true);
                }
            }
        }
    }

    void healLinks() {
        for (TcpProxy[] row : proxies) {
            for (TcpProxy p : row) {
                if (p != null) {
                    p.heal();
                }
            }
        }
    }

    String cutLinks() {
        List<String> cut = new ArrayList<>();
        for (TcpProxy[] row : proxies) {
            for (TcpProxy p : row) {
                if (p != null && p.isCut()) {
                    cut.add(p.name());
                }
            }
        }
        return cut.toString();
    }

    /** Heals every fault: reconnects links, SIGCONTs paused members, restarts dead ones; waits until all serve. */
    void healAll(Duration timeout) {
        healLinks();
        for (Member m : members) {
            if (m.isPaused()) {
                m.resume();
            }
        }
        for (Member m : members) {
            if (!m.isAlive()) {
                m.start();
            }
        }
        waitAllReady(timeout);
    }

    /**
     * Waits until every member has applied the same last revision, after a sentinel write made through the
     * leader: returns that revision, or -1 on timeout.
     */
    long converge(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        long sentinel = -1;
        while (sentinel < 0 && System.nanoTime() < deadline) {
            for (int i = 0; i < n && sentinel < 0; i++) {
                try {
                    sentinel = KVGrpc.newBlockingStub(channels[i]).withDeadlineAfter(3, TimeUnit.SECONDS)
                            .put(PutRequest.newBuilder().setKey(ByteString.copyFromUtf8("/ft-sentinel"))
                                    .setValue(ByteString.copyFromUtf8(Long.toString(System.nanoTime()))).build())
                            .getHeader().getRevision();
                } catch (RuntimeException e) {
                    // try the next member
                }
            }
            if (sentinel < 0) {
                sleep(300);
            }
        }
        while (System.nanoTime() < deadline) {
            long[] revs = new long[n];
            boolean same = true;
            for (int i = 0; i < n; i++) {
                revs[i] = serializableRevision(i);
                same &= revs[i] >= sentinel && revs[i] == revs[0];
            }
            if (same) {
                return revs[0];
            }
            sleep(200);
        }
        return -1;
    }

    long serializableRevision(int i) {
        try {
            RangeResponse r = KVGrpc.newBlockingStub(channels[i]).withDeadlineAfter(2, TimeUnit.SECONDS)
                    .range(RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8("/ft-sentinel"))
                            .setSerializable(true).setCountOnly(true).build());
            return r.getHeader().getRevision();
        } catch (RuntimeException e) {
            return -2;
        }
    }

    /** Connections each proxy has let through so far, e.g. "n1->n2=3". */
    String proxyStats() {
        StringBuilder sb = new StringBuilder();
        for (TcpProxy[] row : proxies) {
            for (TcpProxy p : row) {
                if (p != null) {
                    sb.append(p.name()).append('=').append(p.accepted());
                    if (p.refused() > 0) {
                        sb.append("(refused ").append(p.refused()).append(')');
                    }
                    sb.append(' ');
                }
            }
        }
        return sb.toString().trim();
    }

    long memberId(int i) {
        return memberIds[i];
    }

    void killAll() {
        for (Member m : members) {
            try {
                m.resume();
                m.kill();
            } catch (RuntimeException ignored) {
                // best effort
            }
        }
    }

    @Override
    public void close() {
        killAll();
        for (ManagedChannel c : channels) {
            if (c != null) {
                c.shutdownNow();
            }
        }
        for (TcpProxy[] row : proxies) {
            for (TcpProxy p : row) {
                if (p != null) {
                    p.close();
                }
            }
        }
        OPEN.remove(this);
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public String toString() {
        return "FaultCluster" + members + " in " + dir;
    }
}
