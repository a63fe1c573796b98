package io.etcsql.server.it;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A 3-member cluster started with etcd's own style of flags
 * ({@code --initial-cluster n1=http://127.0.0.1:P1,n2=...,n3=... --initial-cluster-state new
 * --initial-cluster-token T}): replication, linearizable reads on every member, watches across members, a frozen
 * follower, and leader failover after SIGKILL.
 */
@ExtendWith(DumpLogsOnFailure.class)
@Timeout(value = 240, unit = java.util.concurrent.TimeUnit.SECONDS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ThreeMemberIT {

    static Cluster cluster;

    @BeforeAll
    static void startCluster() {
        cluster = Cluster.start(3);
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    static long headerRevision(int member, String... getArgs) {
        List<String> a = new ArrayList<>(List.of("get"));
        a.addAll(List.of(getArgs));
        a.add("-w");
        a.add("json");
        return Cluster.json(cluster.ctl(member).ok(a.toArray(String[]::new))).get("header").get("revision").asLong();
    }

    /** Polls (bounded) until a serializable read of {@code key} on {@code member} prints {@code expected}. */
    static void awaitSerializable(int member, String expected, Duration timeout, String... getArgs) {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<String> a = new ArrayList<>(List.of("get", "--consistency=s"));
        a.addAll(List.of(getArgs));
        Etcdctl.Result last = null;
        while (System.nanoTime() < deadline) {
            last = cluster.ctl(member).run(Duration.ofSeconds(10), null, a.toArray(String[]::new));
            if (last.exitCode() == 0 && last.stdout().equals(expected)) {
                return;
            }
            ServerProcess.sleep(200);
        }
        throw new AssertionError("member " + cluster.member(member).name() + " did not show " + expected.replace("\n",
                "\\n") + " within " + timeout + "; last: " + last);
    }

    @Test
    @Order(1)
    void writeThroughEachMemberReadThroughEveryOther() {
        for (int i = 0; i < 3; i++) {
            String key = "m/" + i;
            String value = "written via " + cluster.member(i).name();
            assertEquals("OK\n", cluster.ctl(i).ok("put", key, value));
            for (int j = 0; j < 3; j++) {
                if (j != i) {
                    // default consistency is linearizable: the write must be visible at once on every member
                    assertEquals(key + "\n" + value + "\n", cluster.ctl(j).ok("get", key), "read via member " + j);
                }
            }
        }
        long r0 = headerRevision(0, "m/", "--prefix");
        assertEquals(r0, headerRevision(1, "m/", "--prefix"));
        assertEquals(r0, headerRevision(2, "m/", "--prefix"));
        assertEquals("m/0\nwritten via n1\nm/1\nwritten via n2\nm/2\nwritten via n3\n",
                cluster.ctl(2).ok("get", "m/", "--prefix"));

        // create/mod revisions are the same whichever member is asked
        JsonNode a = Cluster.json(cluster.ctl(0).ok("get", "m/", "--prefix", "-w", "json")).get("kvs");
        JsonNode b = Cluster.json(cluster.ctl(1).ok("get", "m/", "--prefix", "-w", "json")).get("kvs");
        assertEquals(a, b);
    }

    @Test
    @Order(2)
    void memberListAndEndpointStatusShowThreeMembers() {
        Set<String> expected = new HashSet<>();
        for (int i = 0; i < 3; i++) {
            ServerProcess m = cluster.member(i);
            expected.add("started, " + m.name() + ", " + m.peerUrl() + ", " + m.clientEndpoint() + ", false");
        }
        Set<String> ids = new HashSet<>();
        for (int via = 0; via < 3; via++) {
            String out = cluster.ctl(via).ok("member", "list");
            String[] lines = out.split("\n");
            assertEquals(3, lines.length, out);
            Set<String> got = new HashSet<>();
            for (String l : lines) {
                assertTrue(l.matches("[0-9a-f]+, started, n[123], .*"), l);
                got.add(l.substring(l.indexOf(", ") + 2));
                ids.add(l.substring(0, l.indexOf(", ")));
            }
            assertEquals(expected, got, "member list via member " + via);
        }
        assertEquals(3, ids.size(), "three distinct member ids: " + ids);

        String status = cluster.ctl().ok("endpoint", "status");
        String[] rows = status.split("\n");
        assertEquals(3, rows.length, status);
        int leaders = 0;
        Set<String> statusIds = new HashSet<>();
        for (String row : rows) {
            String[] f = row.split(", ");
            statusIds.add(f[1]);
            if (f[4].equals("true")) {
                leaders++;
            }
            assertEquals("false", f[5], "is learner: " + row);
        }
        assertEquals(1, leaders, status);
        assertEquals(ids, statusIds);
        int leader = cluster.leaderIndex();
        assertTrue(leader >= 0);
        JsonNode st = cluster.status(leader);
        for (int i = 0; i < 3; i++) {
            assertEquals(st.get("leader").asText(), cluster.status(i).get("leader").asText(), "all agree on leader");
            assertEquals(st.get("raftTerm").asLong(), cluster.status(i).get("raftTerm").asLong());
        }
    }

    @Test
    @Order(3)
    void watchOnOneMemberSeesPutOnAnother() {
        try (Etcdctl.Background w = cluster.ctl(1).background("watch", "wx", "--prefix")) {
            ServerProcess.sleep(EtcdctlWatchLeaseIT.watchSettleMillis());
            cluster.ctl(2).ok("put", "wx/1", "from n3");
            cluster.ctl(0).ok("del", "wx/1");
            assertEquals(List.of("PUT", "wx/1", "from n3", "DELETE", "wx/1", ""),
                    w.nextLines(6, Duration.ofSeconds(10)));
        }
    }

    @Test
    @Order(4)
    void frozenFollowerCatchesUp() {
        int leader = cluster.waitLeader(Duration.ofSeconds(10));
        int follower = cluster.otherThan(leader);
        int other = cluster.otherThan(leader, follower);
        cluster.member(follower).pause();
        try {
            for (int i = 0; i < 5; i++) {
                Etcdctl.Result r = cluster.ctl(i % 2 == 0 ? leader : other).run(Duration.ofSeconds(15), null,
                        "--command-timeout=5s", "put", "frozen/" + i, "v" + i);
                assertEquals("OK\n", r.stdout(), () -> "a majority is up, writes must succeed: " + r);
            }
        } finally {
            cluster.member(follower).resume();
        }
        awaitSerializable(follower, "frozen/0\nv0\nfrozen/1\nv1\nfrozen/2\nv2\nfrozen/3\nv3\nfrozen/4\nv4\n",
                Duration.ofSeconds(15), "frozen/", "--prefix");
        assertEquals("frozen/4\nv4\n", cluster.ctl(follower).ok("get", "frozen/4"));
    }

    @Test
    @Order(100)
    void leaderKilledThenSurvivorsTakeWritesAndItCatchesUp() {
        int leader = cluster.waitLeader(Duration.ofSeconds(10));
        ServerProcess killed = cluster.member(leader);
        killed.kill();
        int survivor = cluster.otherThan(leader);
        int survivor2 = cluster.otherThan(leader, survivor);

        long start = System.nanoTime();
        Etcdctl.Result last = null;
        boolean written = false;
        for (int attempt = 0; attempt < 40 && System.nanoTime() - start < Duration.ofSeconds(15).toNanos(); attempt++) {
            last = cluster.ctl(survivor).run(Duration.ofSeconds(5), null, "--dial-timeout=1s",
                    "--command-timeout=1s", "put", "fo/0", "after failover");
            if (last.exitCode() == 0) {
                written = true;
                break;
            }
            ServerProcess.sleep(200);
        }
        long ms = (System.nanoTime() - start) / 1_000_000;
        assertTrue(written, "no write succeeded through a survivor within 15 s; last: " + last);
        System.out.println("failover: first write through a survivor succeeded after " + ms + " ms");

        int newLeader = cluster.waitLeader(Duration.ofSeconds(10));
        assertNotEquals(leader, newLeader);
        for (int i = 1; i <= 5; i++) {
            assertEquals("OK\n", cluster.ctl(i % 2 == 0 ? survivor : survivor2).ok("put", "fo/" + i, "v" + i));
        }
        assertEquals("fo/5\nv5\n", cluster.ctl(survivor).ok("get", "fo/5"));

        killed.restart().waitReady();
        StringBuilder expected = new StringBuilder("fo/0\nafter failover\n");
        for (int i = 1; i <= 5; i++) {
            expected.append("fo/").append(i).append("\nv").append(i).append('\n');
        }
        awaitSerializable(leader, expected.toString(), Duration.ofSeconds(20), "fo/", "--prefix");
        // and it serves linearizable reads and writes again
        assertEquals("OK\n", cluster.ctl(leader).ok("put", "fo/back", "yes"));
        assertEquals("fo/back\nyes\n", cluster.ctl(survivor).ok("get", "fo/back"));
        long r = headerRevision(leader, "fo/back");
        assertEquals(r, headerRevision(survivor, "fo/back"));
        assertEquals(r, headerRevision(survivor2, "fo/back"));
    }
}
