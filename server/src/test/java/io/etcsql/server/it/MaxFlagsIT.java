package io.etcsql.server.it;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --max-txn-ops} and {@code --max-request-bytes} set on the command line are enforced with etcd's errors, and
 * a refused request writes nothing. Runs against etcsql and etcd.
 */
@ExtendWith(DumpLogsOnFailure.class)
@Timeout(value = 90, unit = java.util.concurrent.TimeUnit.SECONDS)
class MaxFlagsIT {

    static Cluster cluster;
    static Etcdctl ctl;

    @BeforeAll
    static void start() {
        cluster = Cluster.start(1, List.of("--max-txn-ops", "4", "--max-request-bytes", "65536"));
        ctl = cluster.ctl();
    }

    @AfterAll
    static void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    static long revision() {
        JsonNode j = Cluster.json(ctl.ok("get", "nothing-here", "-w", "json"));
        return j.get("header").get("revision").asLong();
    }

    static void assertFails(int exitCode, String err, Etcdctl.Result r) {
        assertEquals(exitCode, r.exitCode(), () -> "exit code; " + r);
        assertEquals(err, r.err(), () -> "stderr; " + r);
        assertEquals("", r.stdout(), () -> "stdout; " + r);
    }

    static String puts(String prefix, int n) {
        StringBuilder sb = new StringBuilder("\n"); // no compares
        for (int i = 0; i < n; i++) {
            sb.append("put ").append(prefix).append(i).append(" v").append(i).append('\n');
        }
        return sb.append("\n\n").toString(); // no failure ops
    }

    @Test
    void txnWithMoreOpsThanMaxTxnOpsIsRefused() {
        long before = revision();
        assertFails(1, "Error: etcdserver: too many operations in txn request",
                ctl.runWithInput(puts("five/", 5), "txn"));
        assertEquals("", ctl.ok("get", "five/", "--prefix"), "nothing of the refused txn was written");
        assertEquals(before, revision());

        // the limit itself is allowed
        Etcdctl.Result ok = ctl.runWithInput(puts("four/", 4), "txn");
        assertEquals(0, ok.exitCode(), ok::toString);
        assertEquals("SUCCESS\n\nOK\n\nOK\n\nOK\n\nOK\n", ok.stdout());
        assertEquals("four/0\nv0\nfour/1\nv1\nfour/2\nv2\nfour/3\nv3\n", ctl.ok("get", "four/", "--prefix"));
        assertEquals(before + 1, revision());
    }

    @Test
    void putLargerThanMaxRequestBytesIsRefused() {
        long before = revision();
        String big = "x".repeat(70000);
        assertFails(1, "Error: etcdserver: request is too large", ctl.runWithInput(big, "put", "big"));
        assertEquals("", ctl.ok("get", "big"), "the refused put wrote nothing");
        JsonNode got = Cluster.json(ctl.ok("get", "big", "-w", "json"));
        assertEquals(0, got.path("count").asLong(0), got.toString());
        assertTrue(got.path("kvs").isMissingNode(), got.toString());
        assertEquals(before, revision());

        // a value comfortably below the limit is accepted
        String fits = "y".repeat(60000);
        Etcdctl.Result ok = ctl.runWithInput(fits, "put", "fits");
        assertEquals("OK\n", ok.stdout(), ok::toString);
        assertEquals(fits + "\n", ctl.ok("get", "fits", "--print-value-only"));
        assertTrue(revision() > before);
    }
}
