package io.etcsql.server.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * Leases keep their remaining TTL across a leader change and a restart: etcsql's leader replicates each lease's
 * remaining TTL every 5 s (like etcd's lease checkpointing, which etcd 3.4 only has behind an experimental flag), so
 * a new leader continues the countdown instead of granting the full TTL again.
 *
 * <p>The failover test is etcsql-only: etcd 3.4 (without --experimental-enable-lease-checkpoint) resets every lease
 * to its full TTL when a new leader is elected. The single-member restart test runs against both.
 */
@ExtendWith(DumpLogsOnFailure.class)
@Timeout(value = 120, unit = java.util.concurrent.TimeUnit.SECONDS)
class LeaseSurvivalIT {

    static final Pattern GRANTED = Pattern.compile("lease ([0-9a-f]{1,16}) granted with TTL\\((\\d+)s\\)\n");
    static final Pattern TTL = Pattern.compile("lease ([0-9a-f]{1,16}) granted with TTL\\((\\d+)s\\), "
            + "remaining\\((-?\\d+)s\\)\n");

    static String grant(Etcdctl ctl, int ttl) {
        String out = ctl.ok("lease", "grant", String.valueOf(ttl));
        Matcher m = GRANTED.matcher(out);
        assertTrue(m.matches(), out);
        assertEquals(String.valueOf(ttl), m.group(2), out);
        return m.group(1);
    }

    /** Remaining TTL in seconds as {@code etcdctl lease timetolive} prints it; asserts the granted TTL. */
    static long remaining(Etcdctl ctl, String id, int grantedTtl) {
        String out = ctl.ok("--command-timeout=5s", "lease", "timetolive", id);
        Matcher m = TTL.matcher(out);
        assertTrue(m.matches(), "timetolive of lease " + id + ": " + out);
        assertEquals(id, m.group(1), out);
        assertEquals(String.valueOf(grantedTtl), m.group(2), out);
        return Long.parseLong(m.group(3));
    }

    /** timetolive, retried (bounded) while the cluster has no leader yet. */
    static long remainingAfterFailover(Etcdctl ctl, String id, int grantedTtl, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Etcdctl.Result last = null;
        while (System.nanoTime() < deadline) {
            last = ctl.run(Duration.ofSeconds(10), null, "--dial-timeout=1s", "--command-timeout=2s", "lease",
                    "timetolive", id);
            if (last.exitCode() == 0) {
                Matcher m = TTL.matcher(last.stdout());
                assertTrue(m.matches(), "timetolive of lease " + id + ": " + last);
                assertEquals(String.valueOf(grantedTtl), m.group(2), last.stdout());
                return Long.parseLong(m.group(3));
            }
            ServerProcess.sleep(200);
        }
        throw new AssertionError("lease timetolive " + id + " never succeeded within " + timeout + "; last: " + last);
    }

    @Test
    void remainingTtlContinuesAfterLeaderIsKilled() {
        assumeFalse(ServerProcess.targetIsEtcd(),
                "etcd 3.4 resets leases to their full TTL on a leader change (no checkpointing by default)");
        try (Cluster cluster = Cluster.start(3)) {
            try {
                failover(cluster);
            } catch (Throwable t) {
                cluster.onFailure(t);
                throw t;
            }
        }
    }

    private void failover(Cluster cluster) {
        int leader = cluster.waitLeader(Duration.ofSeconds(10));
        Etcdctl all = cluster.ctl();
        String id = grant(all, 20);
        long granted = System.nanoTime();
        assertEquals("OK\n", all.ok("put", "ls/k", "leased", "--lease=" + id));
        assertEquals("ls/k\nleased\n", all.ok("get", "ls/k"));

        // wait past two checkpoint intervals' worth of the TTL: the last replicated remaining TTL is then <= ~14 s
        ServerProcess.sleep(11_000);
        long before = remaining(cluster.ctl(leader), id, 20);
        assertTrue(before > 0 && before <= 10, "remaining on the old leader after 11 s: " + before);

        cluster.member(leader).kill();
        long killedAtSec = (System.nanoTime() - granted) / 1_000_000_000L;
        int survivor = cluster.otherThan(leader);
        int newLeader = cluster.waitLeader(Duration.ofSeconds(15));
        assertTrue(newLeader != leader, "a survivor is leader");
        long after = remainingAfterFailover(cluster.ctl(survivor), id, 20, Duration.ofSeconds(15));
        long askedAtSec = (System.nanoTime() - granted) / 1_000_000_000L;
        System.out.println("lease " + id + ": remaining " + before + " s on the old leader; killed it "
                + killedAtSec + " s after grant; new leader reports remaining " + after + " s, "
                + askedAtSec + " s after grant");
        assertTrue(after > 0, "the lease is still alive after failover: remaining " + after);
        assertTrue(after <= 15, "the new leader continued from the checkpointed remaining TTL instead of "
                + "granting the full 20 s again: remaining " + after + " s, " + askedAtSec + " s after grant");
        assertEquals("ls/k\nleased\n", cluster.ctl(survivor).ok("get", "ls/k"), "key still attached");

        // no keep-alive: the key goes away within the remaining TTL (+ slack for the revoke to be applied)
        long deadline = System.nanoTime() + Duration.ofSeconds(after + 5).toNanos();
        String got = null;
        while (System.nanoTime() < deadline) {
            Etcdctl.Result r = cluster.ctl(survivor).run(Duration.ofSeconds(10), null, "--command-timeout=3s",
                    "get", "ls/k");
            if (r.exitCode() == 0) {
                got = r.stdout();
                if (got.isEmpty()) {
                    break;
                }
            }
            ServerProcess.sleep(250);
        }
        long goneAtSec = (System.nanoTime() - granted) / 1_000_000_000L;
        assertEquals("", got, "the leased key must be gone within remaining(" + after + "s) + 5 s of the "
                + "timetolive; " + goneAtSec + " s after grant");
        System.out.println("lease " + id + ": key gone " + goneAtSec + " s after grant (TTL 20 s)");
        assertEquals("lease " + id + " already expired\n",
                cluster.ctl(survivor).ok("lease", "timetolive", id));
    }

    @Test
    void singleMemberRestartKeepsLeaseAndKey() {
        try (Cluster cluster = Cluster.start(1)) {
            try {
                Etcdctl ctl = cluster.ctl();
                String id = grant(ctl, 30);
                assertEquals("OK\n", ctl.ok("put", "lr/k", "v", "--lease=" + id));
                ServerProcess.sleep(6_000); // past one checkpoint interval
                long before = remaining(ctl, id, 30);
                assertTrue(before > 0 && before <= 25, "remaining before the kill: " + before);

                cluster.member(0).kill();
                cluster.member(0).restart().waitReady();

                long after = remainingAfterFailover(ctl, id, 30, Duration.ofSeconds(15));
                System.out.println("lease " + id + ": remaining " + before + " s before SIGKILL, " + after
                        + " s after restart");
                assertTrue(after > 0 && after <= 30, "remaining after restart: " + after);
                assertEquals("lr/k\nv\n", ctl.ok("get", "lr/k"), "the leased key survived the restart");
                assertTrue(List.of(ctl.ok("lease", "list").split("\n")).contains(id), "lease list shows " + id);

                assertEquals("lease " + id + " keepalived with TTL(30)\n",
                        ctl.ok("lease", "keep-alive", "--once", id));
                long renewed = remaining(ctl, id, 30);
                assertTrue(renewed >= 28 && renewed <= 30, "remaining after keep-alive: " + renewed);
                assertEquals("lr/k\nv\n", ctl.ok("get", "lr/k"));
            } catch (Throwable t) {
                cluster.onFailure(t);
                throw t;
            }
        }
    }
}
