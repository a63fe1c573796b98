package io.etcsql.server.it;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * etcd's Maintenance service and its flags through the real etcdctl: {@code endpoint hashkv} equal on every member,
 * {@code defrag}, the backend quota and the replicated NOSPACE alarm ({@code alarm list}, {@code alarm disarm}),
 * auto compaction in both modes, and {@code move-leader}.
 */
@ExtendWith(DumpLogsOnFailure.class)
@Timeout(value = 300, unit = java.util.concurrent.TimeUnit.SECONDS)
class MaintenanceIT {

    static final String NO_SPACE = "Error: etcdserver: mvcc: database space exceeded";
    static final String COMPACTED = "Error: etcdserver: mvcc: required revision has been compacted";

    static String hex(String decimalId) {
        return Long.toHexString(Long.parseUnsignedLong(decimalId));
    }

    @Test
    void hashKvIsEqualOnEveryMemberAndDefragAndMoveLeaderWork() {
        try (Cluster c = Cluster.start(3)) {
            for (int i = 0; i < 20; i++) {
                c.ctl(i % 3).ok("put", "k" + (i % 5), "v" + i);
            }
            c.ctl(0).ok("del", "k1");
            String rev = Cluster.json(c.ctl(0).ok("get", "k0", "-w", "json")).get("header").get("revision").asText();

            // every member applies the same history: the same hash at the same revision
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            Set<String> hashes;
            JsonNode arr;
            do {
                arr = Cluster.json(c.ctl().ok("endpoint", "hashkv", "--rev=" + rev, "-w", "json"));
                hashes = new HashSet<>();
                for (JsonNode e : arr) {
                    hashes.add(e.get("HashKV").get("hash").asText());
                }
            } while (hashes.size() != 1 && System.nanoTime() < deadline && sleep(200));
            assertEquals(1, hashes.size(), "hashes differ: " + arr);
            assertEquals(3, arr.size());
            for (JsonNode e : arr) {
                assertEquals(-1, e.get("HashKV").get("compact_revision").asLong(), "never compacted: -1 as etcd");
            }
            // the table form: "<endpoint>, <hash>"
            String hash = hashes.iterator().next();
            assertEquals(c.member(1).clientEndpoint() + ", " + hash + "\n",
                    c.ctl(1).ok("endpoint", "hashkv", "--rev=" + rev));
            // a later write changes the current hash but not the one at the old revision
            c.ctl(0).ok("put", "k9", "new");
            assertEquals(c.member(2).clientEndpoint() + ", " + hash + "\n",
                    c.ctl(2).ok("endpoint", "hashkv", "--rev=" + rev));
            assertNotEquals(c.member(2).clientEndpoint() + ", " + hash + "\n", c.ctl(2).ok("endpoint", "hashkv"));

            // defrag: etcd's text, the member keeps serving
            assertEquals("Finished defragmenting etcd member[" + c.member(0).clientEndpoint() + "]\n",
                    c.ctl(0).ok("defrag"));
            assertEquals("new\n", c.ctl(0).ok("get", "k9", "--print-value-only"));
            c.ctl(0).ok("put", "after-defrag", "x");
            assertEquals("x\n", c.ctl(0).ok("get", "after-defrag", "--print-value-only"));

            // move-leader: to a follower, by hex member id
            int leader = c.waitLeader(Duration.ofSeconds(30));
            int target = (leader + 1) % 3;
            String from = hex(c.memberId(leader));
            String to = hex(c.memberId(target));
            Etcdctl.Result moved = c.ctl().run("move-leader", to);
            assertEquals(0, moved.exitCode(), moved.toString());
            assertEquals("Leadership transferred from " + from + " to " + to + "\n", moved.stdout());
            assertEquals(target, c.waitLeader(Duration.ofSeconds(30)));
            Etcdctl.Result bad = c.ctl().run("move-leader", "1234");
            assertEquals("Error: etcdserver: bad leader transferee", bad.err());
            c.ctl().ok("put", "after-move", "y");
        }
    }

    @Test
    void quotaRaisesAReplicatedNoSpaceAlarmUntilDisarmed() {
        try (Cluster c = Cluster.start(1, List.of("--quota-backend-bytes", "200000"))) {
            Etcdctl ctl = c.ctl(0);
            String value = "x".repeat(20_000);
            Etcdctl.Result r = null;
            int written = 0;
            for (int i = 0; i < 200; i++) {
                r = ctl.run("put", "big" + i, value);
                if (r.exitCode() != 0) {
                    break;
                }
                written++;
            }
            assertTrue(written > 0, "nothing fit in the quota");
            assertEquals(NO_SPACE, r.err(), r.toString());
            String id = c.memberId(0);
            String alarm = "memberID:" + id + " alarm:NOSPACE ";
            assertEquals(alarm + "\n", ctl.ok("alarm", "list"));
            JsonNode status = c.status(0);
            assertTrue(status.get("errors").toString().contains("\"" + alarm + "\""), status.toString());

            // writes that add data fail while the alarm is active; reads, deletes, compaction, defrag work
            assertEquals(NO_SPACE, ctl.run("put", "small", "v").err());
            assertEquals("Error: failed to grant lease (etcdserver: mvcc: database space exceeded)",
                ctl.run("lease", "grant", "100").err());
            assertEquals(value, ctl.ok("get", "big0", "--print-value-only").trim());
            long sizeBefore = status.get("dbSize").asLong();
            assertEquals(written + "\n", ctl.ok("del", "big", "--prefix"));
            String rev = Cluster.json(ctl.ok("get", "x", "-w", "json")).get("header").get("revision").asText();
            assertEquals("compacted revision " + rev + "\n", ctl.ok("compact", rev));
            assertEquals("Finished defragmenting etcd member[" + c.member(0).clientEndpoint() + "]\n", ctl.ok("defrag"));
            long sizeAfter = c.status(0).get("dbSize").asLong();
            assertTrue(sizeAfter < sizeBefore, "dbSize " + sizeBefore + " -> " + sizeAfter);
            assertEquals(NO_SPACE, ctl.run("put", "small", "v").err(), "still disarmed only by the operator");

            assertEquals(alarm + "\n", ctl.ok("alarm", "disarm"));
            assertEquals("", ctl.ok("alarm", "list"));
            assertEquals("OK\n", ctl.ok("put", "small", "v"));
            assertTrue(ctl.ok("lease", "grant", "100").contains("granted with TTL(100s)"));
        }
    }

    /** Polls until reading {@code key} at {@code rev} fails as compacted. */
    static void awaitCompacted(Cluster c, String key, long rev, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Etcdctl.Result last = null;
        while (System.nanoTime() < deadline) {
            last = c.ctl(0).run("get", key, "--rev=" + rev);
            if (COMPACTED.equals(last.err())) {
                return;
            }
            sleep(300);
        }
        throw new AssertionError("revision " + rev + " was not compacted within " + timeout + "; last: " + last);
    }

    @Test
    void autoCompactionRevisionModeKeepsTheLastRevisions() {
        Assumptions.assumeFalse(ServerProcess.targetIsEtcd(), "etcd compacts in revision mode only every 5 minutes");
        String opts = System.getProperty("etcsql.it.javaOpts", "-Xmx1g") + " -Detcsql.autoCompaction.revisionIntervalMs=500";
        try (Cluster c = Cluster.start(1, List.of("--auto-compaction-mode", "revision", "--auto-compaction-retention", "5"),
                Map.of("ETCSQL_JAVA_OPTS", opts))) {
            for (int i = 0; i < 20; i++) {
                c.ctl(0).ok("put", "k", "v" + i);
            }
            long current = Cluster.json(c.ctl(0).ok("get", "k", "-w", "json")).get("header").get("revision").asLong();
            awaitCompacted(c, "k", 2, Duration.ofSeconds(30));
            // kept: the last 5 revisions
            assertEquals("v19\n", c.ctl(0).ok("get", "k", "--print-value-only", "--rev=" + current));
            assertEquals("v15\n", c.ctl(0).ok("get", "k", "--print-value-only", "--rev=" + (current - 4)));
        }
    }

    @Test
    void autoCompactionPeriodicModeCompactsOldRevisions() {
        try (Cluster c = Cluster.start(1, List.of("--auto-compaction-retention", "1s"))) {
            for (int i = 0; i < 5; i++) {
                c.ctl(0).ok("put", "p", "v" + i);
            }
            awaitCompacted(c, "p", 3, Duration.ofSeconds(30));
            assertEquals("v4\n", c.ctl(0).ok("get", "p", "--print-value-only"));
        }
    }

    static boolean sleep(long ms) {
        ServerProcess.sleep(ms);
        return true;
    }
}
