package io.etcsql.server.it;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Watch and lease through the real etcdctl 3.4 against one member. */
@ExtendWith(DumpLogsOnFailure.class)
@Timeout(value = 120, unit = java.util.concurrent.TimeUnit.SECONDS)
class EtcdctlWatchLeaseIT {

    static final Duration WAIT = Duration.ofSeconds(10);
    static final Pattern GRANTED = Pattern.compile("lease ([0-9a-f]{1,16}) granted with TTL\\((\\d+)s\\)\n");

    static Cluster cluster;
    static Etcdctl ctl;

    @BeforeAll
    static void startCluster() {
        cluster = Cluster.start(1);
        ctl = cluster.ctl(0);
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    static long revision() {
        return Cluster.json(ctl.ok("get", "x", "-w", "json")).get("header").get("revision").asLong();
    }

    /** Waits until the background watch is registered: the watch stream is created before etcdctl prints. */
    static Etcdctl.Background watch(String... args) {
        String[] a = new String[args.length + 1];
        a[0] = "watch";
        System.arraycopy(args, 0, a, 1, args.length);
        Etcdctl.Background w = ctl.background(a);
        // etcdctl gives no "ready" signal; a short pause lets it connect and create the watch.
        ServerProcess.sleep(watchSettleMillis());
        assertTrue(w.isAlive(), () -> "etcdctl watch exited: " + w.stderr());
        return w;
    }

    /** How long to let a background {@code etcdctl watch} connect and create its watch before writing. */
    static long watchSettleMillis() {
        return ServerProcess.targetIsEtcd() ? 700 : 2000;
    }

    @Test
    void watchKeyPrintsPutAndDelete() {
        try (Etcdctl.Background w = watch("wk")) {
            ctl.ok("put", "wk", "a");
            ctl.ok("put", "wk-other", "ignored");
            ctl.ok("put", "wk", "hello world");
            ctl.ok("del", "wk");
            assertEquals(List.of("PUT", "wk", "a", "PUT", "wk", "hello world", "DELETE", "wk", ""),
                    w.nextLines(9, WAIT));
            assertEquals(List.of(), w.linesWithin(Duration.ofMillis(500)), "nothing for other keys");
        }
    }

    @Test
    void watchPrefixAndPrevKv() {
        try (Etcdctl.Background w = watch("wp/", "--prefix", "--prev-kv")) {
            ctl.ok("put", "wp/1", "a");
            ctl.ok("put", "wp/1", "b");
            ctl.ok("put", "wp/2", "c");
            ctl.ok("put", "wq", "not in prefix");
            ctl.ok("del", "wp/", "--prefix");
            // with --prev-kv a PUT of an existing key prints the previous key/value before the new one;
            // a DELETE prints the previous key/value, then the deleted key with an empty value
            assertEquals(List.of(
                    "PUT", "wp/1", "a",
                    "PUT", "wp/1", "a", "wp/1", "b",
                    "PUT", "wp/2", "c",
                    "DELETE", "wp/1", "b", "wp/1", "",
                    "DELETE", "wp/2", "c", "wp/2", ""), w.nextLines(21, WAIT));
        }
    }

    @Test
    void watchFromHistoricalRevision() {
        long r1 = Cluster.json(ctl.ok("put", "wh", "one", "-w", "json")).get("header").get("revision").asLong();
        ctl.ok("put", "wh", "two");
        ctl.ok("del", "wh");
        try (Etcdctl.Background w = watch("wh", "--rev=" + r1)) {
            assertEquals(List.of("PUT", "wh", "one", "PUT", "wh", "two", "DELETE", "wh", ""), w.nextLines(9, WAIT));
            ctl.ok("put", "wh", "three");
            assertEquals(List.of("PUT", "wh", "three"), w.nextLines(3, WAIT));
        }
        // --rev with --prefix replays only matching keys, in revision order
        try (Etcdctl.Background w = watch("wh", "--prefix", "--rev=" + (r1 + 1))) {
            assertEquals(List.of("PUT", "wh", "two", "DELETE", "wh", "", "PUT", "wh", "three"),
                    w.nextLines(9, WAIT));
        }
    }

    @Test
    void watchJsonCarriesRevisions() {
        try (Etcdctl.Background w = watch("wj", "-w", "json")) {
            ctl.ok("put", "wj", "v");
            List<String> lines = w.nextLines(1, WAIT);
            assertEquals(1, lines.size());
            JsonNode ev = Cluster.json(lines.get(0));
            long rev = revision();
            assertEquals(rev, ev.get("Header").get("revision").asLong(), ev.toString());
            JsonNode e0 = ev.get("Events").get(0);
            assertEquals(rev, e0.get("kv").get("mod_revision").asLong());
            assertEquals(rev, e0.get("kv").get("create_revision").asLong());
            assertEquals(1, e0.get("kv").get("version").asLong());
        }
    }

    static String grant(int ttl) {
        String out = ctl.ok("lease", "grant", String.valueOf(ttl));
        Matcher m = GRANTED.matcher(out);
        assertTrue(m.matches(), out);
        return m.group(1);
    }

    @Test
    void leaseGrantTimeToLiveListKeepAliveRevoke() {
        String id = grant(30);
        String out = ctl.ok("lease", "grant", "60");
        assertTrue(GRANTED.matcher(out).matches(), out);
        assertTrue(out.endsWith("granted with TTL(60s)\n"), out);

        assertEquals("OK\n", ctl.ok("put", "lkey/1", "v", "--lease=" + id));
        assertEquals("OK\n", ctl.ok("put", "lkey/2", "v", "--lease=" + id));
        JsonNode kv = Cluster.json(ctl.ok("get", "lkey/1", "-w", "json")).get("kvs").get(0);
        assertEquals(Long.parseUnsignedLong(id, 16), kv.get("lease").asLong(), kv.toString());

        // the remaining TTL counts down from the grant: a few etcdctl runs on a loaded machine take seconds
        String ttl = ctl.ok("lease", "timetolive", id);
        assertTrue(ttl.matches("lease " + id + " granted with TTL\\(30s\\), remaining\\((2[5-9]|30)s\\)\n"), ttl);
        String keys = ctl.ok("lease", "timetolive", id, "--keys");
        Matcher km = Pattern.compile("lease " + id
                + " granted with TTL\\(30s\\), remaining\\((?:2[5-9]|30)s\\), attached keys\\(\\[(.*)]\\)\n").matcher(keys);
        assertTrue(km.matches(), keys);
        assertEquals(Set.of("lkey/1", "lkey/2"), new HashSet<>(List.of(km.group(1).split(" "))), "key order is not fixed");

        JsonNode tj = Cluster.json(ctl.ok("lease", "timetolive", id, "--keys", "-w", "json"));
        assertEquals(Long.parseUnsignedLong(id, 16), tj.get("id").asLong());
        assertEquals(30, tj.get("granted-ttl").asLong());
        assertTrue(tj.get("ttl").asLong() >= 25 && tj.get("ttl").asLong() <= 30, tj.toString());
        assertEquals(2, tj.get("keys").size());

        String list = ctl.ok("lease", "list");
        List<String> lines = List.of(list.split("\n"));
        assertTrue(lines.get(0).matches("found \\d+ leases"), list);
        assertEquals(Integer.parseInt(lines.get(0).split(" ")[1]), lines.size() - 1, list);
        assertTrue(lines.contains(id), list);

        assertEquals("lease " + id + " keepalived with TTL(30)\n", ctl.ok("lease", "keep-alive", "--once", id));

        long before = revision();
        assertEquals("lease " + id + " revoked\n", ctl.ok("lease", "revoke", id));
        assertEquals("", ctl.ok("get", "lkey/", "--prefix"), "revoke deletes the attached keys");
        assertEquals(before + 1, revision(), "revoking a lease with keys is one revision");
        assertFalse(List.of(ctl.ok("lease", "list").split("\n")).contains(id));
    }

    @Test
    void leaseErrors() {
        Etcdctl.Result r = ctl.run("lease", "revoke", "1234");
        assertEquals(1, r.exitCode(), r::toString);
        assertEquals("Error: failed to revoke lease (etcdserver: requested lease not found)", r.err());

        r = ctl.run("lease", "keep-alive", "--once", "1234");
        assertEquals(2, r.exitCode(), r::toString);
        assertEquals("Error: etcdserver: requested lease not found", r.err());

        r = ctl.run("lease", "timetolive", "1234");
        assertEquals(0, r.exitCode(), r::toString);
        assertEquals("lease 0000000000001234 already expired\n", r.stdout(), "not found is printed as expired");

        r = ctl.run("put", "lx", "v", "--lease=1234");
        assertEquals(1, r.exitCode(), r::toString);
        assertEquals("Error: etcdserver: requested lease not found", r.err());

        // a TTL below the minimum (1.5 x election timeout, rounded up: 2s with the default 1000ms) is raised to it
        String out = ctl.ok("lease", "grant", "1");
        assertTrue(out.matches("lease [0-9a-f]+ granted with TTL\\(2s\\)\n"), out);
    }

    @Test
    void keyDisappearsWhenItsLeaseExpires() {
        // 5 s: long enough that the puts, the watch and the first read finish on a loaded machine
        String id = grant(5);
        long granted = System.nanoTime();
        ctl.ok("put", "lexp", "v", "--lease=" + id);
        ctl.ok("put", "lexp2", "v", "--lease=" + id);
        ctl.ok("put", "lkeep", "v");
        try (Etcdctl.Background w = watch("lexp", "--prefix")) {
            assertEquals("lexp\nv\n", ctl.ok("get", "lexp"));
            long goneAfter = -1;
            while (System.nanoTime() - granted < Duration.ofSeconds(12).toNanos()) {
                if (ctl.ok("get", "lexp", "--prefix").isEmpty()) {
                    goneAfter = (System.nanoTime() - granted) / 1_000_000;
                    break;
                }
                ServerProcess.sleep(100);
            }
            assertTrue(goneAfter >= 4500, "keys went away too early: " + goneAfter + " ms");
            assertTrue(goneAfter > 0 && goneAfter <= 9000, "keys still there " + goneAfter + " ms after grant");
            // the expiry is seen by watchers as DELETE events
            List<String> lines = w.nextLines(6, WAIT);
            List<String> expected = new ArrayList<>(List.of("DELETE", "lexp", "", "DELETE", "lexp2", ""));
            assertEquals(expected, lines);
        }
        assertEquals("lkeep\nv\n", ctl.ok("get", "lkeep"));
        assertEquals("lease " + id + " already expired\n", ctl.ok("lease", "timetolive", id));
        Etcdctl.Result r = ctl.run("lease", "keep-alive", "--once", id);
        assertEquals("Error: etcdserver: requested lease not found", r.err());
    }

    @Test
    void watchOnCompactedRevisionIsCanceled() {
        long r1 = Cluster.json(ctl.ok("put", "wc", "1", "-w", "json")).get("header").get("revision").asLong();
        ctl.ok("put", "wc", "2");
        long r3 = Cluster.json(ctl.ok("put", "wc", "3", "-w", "json")).get("header").get("revision").asLong();
        ctl.ok("compaction", String.valueOf(r3));
        try (Etcdctl.Background w = ctl.background("watch", "wc", "--rev=" + r1)) {
            Integer code = w.waitExit(WAIT);
            assertNotNull(code, "etcdctl watch should exit");
            assertEquals(5, code.intValue());
            assertEquals(List.of(), w.nextLines(1, Duration.ofMillis(200)));
            assertEquals("watch was canceled (etcdserver: mvcc: required revision has been compacted)\n"
                    + "Error: watch is canceled by the server\n", w.stderr());
        }
        try (Etcdctl.Background w = watch("wc", "--rev=" + r3)) {
            assertEquals(List.of("PUT", "wc", "3"), w.nextLines(3, WAIT), "the compaction revision can be watched");
        }
    }
}
