package io.etcsql.server.it;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.PutResponse;
import io.etcd.jetcd.options.GetOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static io.etcsql.server.it.Clients.bs;
import static io.etcsql.server.it.Clients.str;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Acknowledged writes survive SIGKILL: on a single member (everything acknowledged is there after restart, with
 * the exact revision), and on three members under concurrent writers while a follower and then the leader are
 * killed and restarted (every acknowledged write ends up on every member, and the members agree on revisions).
 */
@ExtendWith(DumpLogsOnFailure.class)
@Timeout(value = 420, unit = java.util.concurrent.TimeUnit.SECONDS)
class CrashDurabilityIT {

    @Test
    void singleMemberKeepsEveryAcknowledgedPutAcrossSigkill() throws Exception {
        try (Cluster cluster = Cluster.start(1)) {
            try {
                singleMember(cluster);
            } catch (Throwable t) {
                cluster.onFailure(t);
                throw t;
            }
        }
    }

    private void singleMember(Cluster cluster) throws Exception {
        int n = 200;
        int threads = 4;
        Map<String, String> acked = new ConcurrentHashMap<>();
        try (Client c = Clients.jetcd(cluster.endpoints())) {
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                List<Future<?>> fs = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    final int tt = t;
                    fs.add(pool.submit(() -> {
                        for (int i = tt; i < n; i += threads) {
                            String k = String.format("d/%03d", i);
                            String v = "value-" + i + "-" + "x".repeat(i % 17);
                            PutResponse r = c.getKVClient().put(bs(k), bs(v)).get(10, TimeUnit.SECONDS);
                            assertTrue(r.getHeader().getRevision() > 1);
                            acked.put(k, v);
                        }
                        return null;
                    }));
                }
                for (Future<?> f : fs) {
                    f.get(60, TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
        }
        assertEquals(n, acked.size());
        ServerProcess m = cluster.member(0);
        m.kill(); // right after the last acknowledgement
        m.restart().waitReady();

        try (Client c = Clients.jetcd(cluster.endpoints())) {
            GetResponse all = c.getKVClient().get(bs("d/"), GetOption.builder().isPrefix(true).build())
                    .get(10, TimeUnit.SECONDS);
            assertEquals(n, all.getCount());
            assertEquals(n + 1, all.getHeader().getRevision(), "200 puts on a fresh cluster: revision 201");
            Set<Long> revs = new HashSet<>();
            for (KeyValue kv : all.getKvs()) {
                assertEquals(acked.get(str(kv.getKey())), str(kv.getValue()), str(kv.getKey()));
                assertEquals(kv.getCreateRevision(), kv.getModRevision());
                assertEquals(1, kv.getVersion());
                revs.add(kv.getModRevision());
            }
            assertEquals(n, revs.size(), "each put has its own revision");
            assertTrue(revs.stream().allMatch(r -> r >= 2 && r <= n + 1));
            // and it takes writes again, continuing the revision sequence
            assertEquals(n + 2, c.getKVClient().put(bs("d/after"), bs("x")).get(10, TimeUnit.SECONDS)
                    .getHeader().getRevision());
        }
    }

    @Test
    void threeMembersKeepEveryAcknowledgedWriteWhileFollowerAndLeaderAreKilled() throws Exception {
        try (Cluster cluster = Cluster.start(3)) {
            try {
                threeMembers(cluster);
            } catch (Throwable t) {
                cluster.onFailure(t);
                throw t;
            }
        }
    }

    private void threeMembers(Cluster cluster) throws Exception {
        Map<String, String> acked = new ConcurrentHashMap<>();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger failures = new AtomicInteger();
        List<Client> clients = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(3);
        List<Future<?>> writers = new ArrayList<>();
        try {
            for (int w = 0; w < 3; w++) {
                Client c = Clients.jetcd(cluster.member(w).clientEndpoint());
                clients.add(c);
                final int ww = w;
                writers.add(pool.submit(() -> {
                    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(90); // hard bound
                    for (int seq = 0; seq < 5000 && !stop.get() && System.nanoTime() < until; seq++) {
                        String k = String.format("c/%d/%05d", ww, seq);
                        String v = "w" + ww + "-" + seq;
                        try {
                            c.getKVClient().put(bs(k), bs(v)).get(3, TimeUnit.SECONDS);
                            acked.put(k, v);
                        } catch (Exception e) {
                            failures.incrementAndGet();
                            ServerProcess.sleep(50);
                        }
                    }
                    return null;
                }));
            }

            ServerProcess.sleep(2000);
            int leader = cluster.waitLeader(Duration.ofSeconds(10));
            int follower = cluster.otherThan(leader);
            cluster.member(follower).kill();
            int beforeFollowerRestart = acked.size();
            ServerProcess.sleep(2000);
            cluster.member(follower).restart().waitReady();
            ServerProcess.sleep(1000);

            leader = cluster.waitLeader(Duration.ofSeconds(10));
            cluster.member(leader).kill();
            int beforeLeaderRestart = acked.size();
            ServerProcess.sleep(3000);
            cluster.member(leader).restart().waitReady();
            ServerProcess.sleep(2000);
            int afterAll = acked.size();
            stop.set(true);
            for (Future<?> f : writers) {
                f.get(30, TimeUnit.SECONDS);
            }
            System.out.println("durability: acknowledged " + acked.size() + " writes, " + failures.get()
                    + " failed/unknown; acked before follower restart " + beforeFollowerRestart
                    + ", before leader restart " + beforeLeaderRestart + ", at end " + afterAll);
            assertTrue(afterAll > beforeLeaderRestart, "writes must go on after the leader is killed");
            assertTrue(acked.size() >= 50, "too few acknowledged writes: " + acked.size());
        } finally {
            stop.set(true);
            pool.shutdownNow();
            pool.awaitTermination(10, TimeUnit.SECONDS);
            for (Client c : clients) {
                c.close();
            }
        }

        // convergence: all members at the same revision (bounded wait)
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        List<Long> revs = List.of();
        while (System.nanoTime() < deadline) {
            revs = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                var s = cluster.status(i);
                revs.add(s == null ? -1L : s.get("header").get("revision").asLong());
            }
            if (revs.get(0) > 0 && revs.stream().distinct().count() == 1) {
                break;
            }
            ServerProcess.sleep(300);
        }
        assertEquals(1, revs.stream().distinct().count(), "members did not converge: revisions " + revs);

        Map<String, Long> reference = null;
        long referenceRev = -1;
        for (int i = 0; i < 3; i++) {
            try (Client c = Clients.jetcd(cluster.member(i).clientEndpoint())) {
                GetResponse all = c.getKVClient().get(bs("c/"),
                        GetOption.builder().isPrefix(true).withSerializable(true).build()).get(30, TimeUnit.SECONDS);
                Map<String, String> values = new HashMap<>();
                Map<String, Long> modRevs = new HashMap<>();
                for (KeyValue kv : all.getKvs()) {
                    String k = str(kv.getKey());
                    String v = str(kv.getValue());
                    // no write may be corrupted or misplaced: c/<w>/<seq> always holds w<w>-<seq>
                    String[] p = k.split("/");
                    assertEquals("w" + p[1] + "-" + Integer.parseInt(p[2]), v, "value of " + k);
                    values.put(k, v);
                    modRevs.put(k, kv.getModRevision());
                }
                List<String> missing = new ArrayList<>();
                for (Map.Entry<String, String> e : acked.entrySet()) {
                    if (!e.getValue().equals(values.get(e.getKey()))) {
                        missing.add(e.getKey());
                    }
                }
                assertTrue(missing.isEmpty(), cluster.member(i).name() + " lost " + missing.size()
                        + " acknowledged writes, e.g. " + missing.subList(0, Math.min(10, missing.size())));
                if (reference == null) {
                    reference = modRevs;
                    referenceRev = all.getHeader().getRevision();
                } else {
                    assertEquals(referenceRev, all.getHeader().getRevision(), "revision on " + i);
                    assertEquals(reference, modRevs, "members disagree on keys or mod revisions");
                }
            }
        }
    }
}
