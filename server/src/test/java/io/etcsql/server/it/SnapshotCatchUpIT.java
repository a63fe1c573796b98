package io.etcsql.server.it;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.options.GetOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalLong;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static io.etcsql.server.it.Clients.bs;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A follower that was down while the cluster wrote so much that the leader purged the log entries it still needs
 * ({@code --snapshot-count 50}; ~45 MB of values) catches up when restarted: it gets a snapshot of the leader's
 * store and serves every key. Then the whole cluster is SIGKILLed and restarted: every member comes back from its
 * snapshot plus log with every key, and takes writes. Runs against etcsql and etcd (etcd keeps 5000 entries after
 * a snapshot in memory, so there the follower may catch up from the log; the user-visible result is the same).
 */
@ExtendWith(DumpLogsOnFailure.class)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class SnapshotCatchUpIT {

    /**
     * 450 x 100 KB = ~45 MB: more than one whole Raft log segment of etcsql (Ratis 3.3's default maximum segment
     * size, 32 MiB), since only closed segments are purged.
     */
    static final int KEYS = 450;
    static final int VALUE_BYTES = 100_000;
    static final int WRITERS = 8;

    static String key(int i) {
        return String.format("snap/%03d", i);
    }

    /** Incompressible, reproducible value of key {@code i}. */
    static byte[] value(int i) {
        byte[] b = new byte[VALUE_BYTES];
        new Random(0x5eed0000L + i).nextBytes(b);
        return b;
    }

    @Test
    void laggingFollowerCatchesUpFromSnapshotAndClusterRestartsFromIt() throws Exception {
        try (Cluster cluster = Cluster.start(3, List.of("--snapshot-count", "50"))) {
            try {
                run(cluster);
            } catch (Throwable t) {
                cluster.onFailure(t);
                throw t;
            }
        }
    }

    private void run(Cluster cluster) throws Exception {
        long t0 = System.nanoTime();
        int leader = cluster.waitLeader(Duration.ofSeconds(10));
        int follower = cluster.otherThan(leader);
        int other = cluster.otherThan(leader, follower);
        assertEquals("OK\n", cluster.ctl().ok("put", "snap/before", "written before the kill"));
        awaitCount(cluster, follower, "snap/before", 1, Duration.ofSeconds(10));
        ServerProcess lagging = cluster.member(follower);
        long followerIndex = cluster.status(follower).get("raftIndex").asLong();
        lagging.kill();
        System.out.println("killed follower " + lagging.name() + "; leader is " + cluster.member(leader).name());

        // ~45 MB through the two running members, in parallel, no client retries
        AtomicInteger done = new AtomicInteger();
        try (Client c = Clients.jetcd(cluster.member(leader).clientEndpoint(), cluster.member(other).clientEndpoint())) {
            ExecutorService pool = Executors.newFixedThreadPool(WRITERS);
            try {
                List<Future<?>> fs = new ArrayList<>();
                for (int t = 0; t < WRITERS; t++) {
                    final int tt = t;
                    fs.add(pool.submit(() -> {
                        for (int i = tt; i < KEYS; i += WRITERS) {
                            c.getKVClient().put(bs(key(i)), ByteSequence.from(value(i))).get(20, TimeUnit.SECONDS);
                            done.incrementAndGet();
                        }
                        return null;
                    }));
                }
                for (Future<?> f : fs) {
                    f.get(90, TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
        }
        assertEquals(KEYS, done.get());
        System.out.println("wrote " + KEYS + " x " + VALUE_BYTES + " bytes in "
                + (System.nanoTime() - t0) / 1_000_000 + " ms since start");
        // a few small writes after the big ones, so the snapshot/purge point moves past them as well
        for (int i = 0; i < 60; i++) {
            cluster.ctl(leader).ok("put", "snap/small", "s" + i);
        }

        if (!ServerProcess.targetIsEtcd()) {
            assertLeaderPurgedBeyond(cluster.member(leader), followerIndex);
        }

        long restart = System.nanoTime();
        lagging.restart();
        // within 60 s a serializable read on the restarted follower shows every key (about 11 s on an idle
        // 2-core machine: the leader retries a dead follower every 5 s, then the 45 MB transfer and load)
        awaitCount(cluster, follower, "snap/", KEYS + 2, Duration.ofSeconds(60));
        System.out.println(lagging.name() + " caught up " + (System.nanoTime() - restart) / 1_000_000
                + " ms after its restart");
        assertAllValues(cluster, follower);
        assertEquals("snap/small\ns59\n", cluster.ctl(follower).ok("get", "snap/small", "--consistency=s"));
        // and linearizable reads through it work
        assertEquals("snap/before\nwritten before the kill\n", cluster.ctl(follower).ok("get", "snap/before"));
        assertEquals(KEYS + 2, countLinearizable(cluster, follower), "linearizable count via " + lagging.name());

        // SIGKILL everyone, restart everyone: all keys are still on every member
        for (ServerProcess m : cluster.members()) {
            m.kill();
        }
        for (ServerProcess m : cluster.members()) {
            m.start();
        }
        for (ServerProcess m : cluster.members()) {
            m.waitReady();
        }
        for (int i = 0; i < cluster.size(); i++) {
            awaitCount(cluster, i, "snap/", KEYS + 2, Duration.ofSeconds(20));
            assertAllValues(cluster, i);
            assertEquals("snap/small\ns59\n", cluster.ctl(i).ok("get", "snap/small", "--consistency=s"));
        }
        for (int i = 0; i < cluster.size(); i++) {
            assertEquals("OK\n", cluster.ctl(i).ok("put", "snap/after-restart/" + i, "v" + i));
        }
        for (int i = 0; i < cluster.size(); i++) {
            assertEquals("snap/after-restart/0\nv0\nsnap/after-restart/1\nv1\nsnap/after-restart/2\nv2\n",
                    cluster.ctl(i).ok("get", "snap/after-restart/", "--prefix"));
        }
        System.out.println("total " + (System.nanoTime() - t0) / 1_000_000 + " ms");
    }

    /** Polls (bounded) until a serializable count of the prefix on member {@code i} is {@code expected}. */
    static void awaitCount(Cluster cluster, int i, String prefix, long expected, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = null;
        try (Client c = Clients.jetcd(cluster.member(i).clientEndpoint())) {
            while (System.nanoTime() < deadline) {
                try {
                    GetResponse r = c.getKVClient().get(bs(prefix), GetOption.builder().isPrefix(true)
                            .withSerializable(true).withCountOnly(true).build()).get(5, TimeUnit.SECONDS);
                    last = "count " + r.getCount();
                    if (r.getCount() == expected) {
                        return;
                    }
                } catch (Exception e) {
                    last = e.toString();
                }
                ServerProcess.sleep(250);
            }
        }
        throw new AssertionError(cluster.member(i).name() + ": a serializable read of " + prefix + "* did not count "
                + expected + " keys within " + timeout + "; last: " + last);
    }

    /** Every big value on member {@code i} (serializable), compared byte for byte. */
    static void assertAllValues(Cluster cluster, int i) throws Exception {
        try (Client c = Clients.jetcd(cluster.member(i).clientEndpoint())) {
            GetResponse keys = c.getKVClient().get(bs("snap/"), GetOption.builder().isPrefix(true)
                    .withSerializable(true).withKeysOnly(true).build()).get(10, TimeUnit.SECONDS);
            assertEquals(KEYS + 2, keys.getKvs().size());
            for (int k = 0; k < KEYS; k++) {
                GetResponse r = c.getKVClient().get(bs(key(k)), GetOption.builder().withSerializable(true).build())
                        .get(10, TimeUnit.SECONDS);
                assertEquals(1, r.getKvs().size(), cluster.member(i).name() + " has " + key(k));
                byte[] got = r.getKvs().get(0).getValue().getBytes();
                if (!Arrays.equals(value(k), got)) {
                    assertArrayEquals(value(k), got, cluster.member(i).name() + ": value of " + key(k));
                }
            }
        }
    }

    /** A linearizable count of the keys under snap/ through member {@code i} only (jetcd, no retries). */
    static long countLinearizable(Cluster cluster, int i) throws Exception {
        try (Client c = Clients.jetcd(cluster.member(i).clientEndpoint())) {
            return c.getKVClient().get(bs("snap/"), GetOption.builder().isPrefix(true).withCountOnly(true).build())
                    .get(10, TimeUnit.SECONDS).getCount();
        }
    }

    /**
     * etcsql keeps its Raft log as Ratis segments {@code member/raft/<group>/current/log_<first>-<last>} and
     * {@code log_inprogress_<first>}: the leader's first kept index must be past the killed follower's last one
     * (its Raft index as {@code endpoint status} reported it just before the kill), else this test would not
     * exercise the catch-up by snapshot.
     */
    static void assertLeaderPurgedBeyond(ServerProcess leader, long followerIndex) throws IOException {
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        OptionalLong leaderFirst = segmentIndex(leader.dataDir(), true);
        while (System.nanoTime() < deadline && leaderFirst.isPresent() && leaderFirst.getAsLong() <= followerIndex + 1) {
            ServerProcess.sleep(500); // the purge runs after a snapshot, in the background
            leaderFirst = segmentIndex(leader.dataDir(), true);
        }
        System.out.println("Raft log: follower's index at the kill " + followerIndex + ", leader's first kept index "
                + leaderFirst);
        assertTrue(leaderFirst.isPresent(), "segments found under " + leader.dataDir());
        assertTrue(leaderFirst.getAsLong() > followerIndex + 1, "the leader purged its log beyond the follower's "
                + "last entry: leader's first segment starts at " + leaderFirst + ", follower's index was "
                + followerIndex);
    }

    /** The smallest first index (first=true) or the largest index (first=false) of the Raft log segments. */
    static OptionalLong segmentIndex(Path dataDir, boolean first) throws IOException {
        Path raft = dataDir.resolve("member").resolve("raft");
        if (!Files.isDirectory(raft)) {
            return OptionalLong.empty();
        }
        List<long[]> ranges = new ArrayList<>();
        try (Stream<Path> s = Files.walk(raft)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String n = p.getFileName().toString();
                if (n.startsWith("log_inprogress_")) {
                    long start = Long.parseLong(n.substring("log_inprogress_".length()));
                    ranges.add(new long[] {start, Long.MAX_VALUE});
                } else if (n.matches("log_\\d+-\\d+")) {
                    String[] f = n.substring(4).split("-");
                    ranges.add(new long[] {Long.parseLong(f[0]), Long.parseLong(f[1])});
                }
            }
        }
        if (ranges.isEmpty()) {
            return OptionalLong.empty();
        }
        if (first) {
            return ranges.stream().mapToLong(r -> r[0]).min();
        }
        // an open segment's last index is unknown from its name: count it as its first index (a lower bound)
        return ranges.stream().mapToLong(r -> r[1] == Long.MAX_VALUE ? r[0] : r[1]).max();
    }
}
