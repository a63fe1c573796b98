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

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * KV through the real etcdctl 3.4 against one member: exact stdout, stderr and exit codes as etcd 3.4.23 gives them.
 * Tests run in order on one cluster; the first one relies on the cluster being fresh (revision 1).
 */
@ExtendWith(DumpLogsOnFailure.class)
@Timeout(value = 120, unit = java.util.concurrent.TimeUnit.SECONDS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class EtcdctlKvIT {

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

    static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    static JsonNode json(String... args) {
        String[] a = new String[args.length + 2];
        System.arraycopy(args, 0, a, 0, args.length);
        a[args.length] = "-w";
        a[args.length + 1] = "json";
        return Cluster.json(ctl.ok(a));
    }

    static long revision() {
        return json("get", "no-such-key-for-revision").get("header").get("revision").asLong();
    }

    /** Asserts an etcdctl failure: exit code and what it printed on stderr (without the client's JSON logs). */
    static void assertFails(int exitCode, String err, Etcdctl.Result r) {
        assertEquals(exitCode, r.exitCode(), () -> "exit code; " + r);
        assertEquals(err, r.err(), () -> "stderr; " + r);
        assertEquals("", r.stdout(), () -> "stdout; " + r);
    }

    @Test
    @Order(1)
    void revisionsOnAFreshCluster() {
        JsonNode empty = json("get", "foo");
        assertEquals(1, empty.get("header").get("revision").asLong(), "a fresh cluster is at revision 1");
        assertTrue(empty.get("header").has("cluster_id"));
        assertTrue(empty.get("header").has("member_id"));
        assertTrue(empty.get("header").get("raft_term").asLong() >= 1);
        assertFalse(empty.has("kvs"), empty.toString());
        assertFalse(empty.has("count"), "count 0 is omitted: " + empty);

        assertEquals("OK\n", ctl.ok("put", "foo", "bar"));
        JsonNode g = json("get", "foo");
        assertEquals(2, g.get("header").get("revision").asLong());
        assertEquals(1, g.get("count").asLong());
        assertFalse(g.has("more"));
        JsonNode kv = g.get("kvs").get(0);
        assertEquals(b64("foo"), kv.get("key").asText());
        assertEquals(b64("bar"), kv.get("value").asText());
        assertEquals(2, kv.get("create_revision").asLong());
        assertEquals(2, kv.get("mod_revision").asLong());
        assertEquals(1, kv.get("version").asLong());
        assertFalse(kv.has("lease"), "lease 0 is omitted: " + kv);

        JsonNode put = json("put", "foo", "baz");
        assertEquals(3, put.get("header").get("revision").asLong());
        assertFalse(put.has("prev_kv"));
        kv = json("get", "foo").get("kvs").get(0);
        assertEquals(2, kv.get("create_revision").asLong());
        assertEquals(3, kv.get("mod_revision").asLong());
        assertEquals(2, kv.get("version").asLong());

        JsonNode del = json("del", "foo");
        assertEquals(4, del.get("header").get("revision").asLong());
        assertEquals(1, del.get("deleted").asLong());
        g = json("get", "foo");
        assertEquals(4, g.get("header").get("revision").asLong());
        assertFalse(g.has("kvs"));

        // deleting nothing does not create a revision
        JsonNode del0 = json("del", "foo");
        assertEquals(4, del0.get("header").get("revision").asLong());
        assertFalse(del0.has("deleted"), "deleted 0 is omitted: " + del0);

        ctl.ok("put", "foo", "again");
        kv = json("get", "foo").get("kvs").get(0);
        assertEquals(5, kv.get("create_revision").asLong(), "a re-created key starts a new generation");
        assertEquals(5, kv.get("mod_revision").asLong());
        assertEquals(1, kv.get("version").asLong());
        ctl.ok("del", "foo");
        assertEquals(6, revision());
    }

    @Test
    @Order(2)
    void putGetDelPrintExactly() {
        assertEquals("OK\n", ctl.ok("put", "pg/k1", "hello world"));
        assertEquals("pg/k1\nhello world\n", ctl.ok("get", "pg/k1"));
        assertEquals("hello world\n", ctl.ok("get", "pg/k1", "--print-value-only"));
        assertEquals("", ctl.ok("get", "pg/missing"));
        assertEquals("OK\n", ctl.ok("put", "pg/k2", "v2"));
        assertEquals("OK\n", ctl.ok("put", "pg/k3", ""));
        assertEquals("pg/k3\n\n", ctl.ok("get", "pg/k3"), "empty value prints an empty line");
        assertEquals("1\n", ctl.ok("del", "pg/k1"));
        assertEquals("0\n", ctl.ok("del", "pg/k1"));
        assertEquals("0\n", ctl.ok("del", "pg/never"));
        assertEquals("2\n", ctl.ok("del", "pg/", "--prefix"));
        assertEquals("", ctl.ok("get", "pg/", "--prefix"));
    }

    @Test
    @Order(3)
    void rangeOptions() {
        // values chosen so that KEY, VALUE, CREATE, MODIFY and VERSION orders all differ
        ctl.ok("put", "r/c", "3");
        ctl.ok("put", "r/a", "5");
        ctl.ok("put", "r/e", "1");
        ctl.ok("put", "r/b", "4");
        ctl.ok("put", "r/d", "2");
        ctl.ok("put", "r/a", "5"); // r/a: version 2, newest mod
        ctl.ok("put", "r/e", "1");
        ctl.ok("put", "r/e", "1"); // r/e: version 3

        assertEquals("r/a\n5\nr/b\n4\nr/c\n3\nr/d\n2\nr/e\n1\n", ctl.ok("get", "r/", "--prefix"));
        assertEquals("r/a\n5\nr/b\n4\n", ctl.ok("get", "r/", "--prefix", "--limit=2"));
        assertEquals("r/b\n4\nr/c\n3\n", ctl.ok("get", "r/b", "r/d"), "[key, range_end)");
        assertEquals("r/e\n1\nr/d\n2\nr/c\n3\nr/b\n4\nr/a\n5\n",
                ctl.ok("get", "r/", "--prefix", "--sort-by=KEY", "--order=DESCEND"));
        assertEquals("1\n2\n3\n4\n5\n",
                ctl.ok("get", "r/", "--prefix", "--sort-by=VALUE", "--print-value-only"));
        assertEquals("r/c\n\nr/a\n\nr/e\n\nr/b\n\nr/d\n\n",
                ctl.ok("get", "r/", "--prefix", "--sort-by=CREATE", "--keys-only"), "--keys-only prints key + empty line");
        assertEquals("r/e\n\nr/a\n\nr/d\n\nr/b\n\nr/c\n\n",
                ctl.ok("get", "r/", "--prefix", "--sort-by=MODIFY", "--order=DESCEND", "--keys-only"));
        // VERSION ascending: r/b,r/c,r/d have version 1 (ties keep key order), r/a 2, r/e 3
        assertEquals("r/b\nr/c\nr/d\nr/a\nr/e\n",
                ctl.ok("get", "r/", "--prefix", "--sort-by=VERSION", "--keys-only").replace("\n\n", "\n"));
        assertEquals("r/c\n\nr/d\n\nr/e\n\n", ctl.ok("get", "r/c", "--from-key", "--keys-only", "--limit=3"));
        assertEquals("r/d\n2\n", ctl.ok("get", "r/d", "--from-key", "--limit=1"));

        JsonNode limited = json("get", "r/", "--prefix", "--limit=2");
        assertEquals(5, limited.get("count").asLong(), "count is the total in range, not the number returned");
        assertTrue(limited.get("more").asBoolean());
        assertEquals(2, limited.get("kvs").size());

        JsonNode keysOnly = json("get", "r/", "--prefix", "--keys-only");
        assertEquals(5, keysOnly.get("count").asLong());
        assertFalse(keysOnly.has("more"));
        for (JsonNode kv : keysOnly.get("kvs")) {
            assertFalse(kv.has("value"), "keys-only returns no value: " + kv);
            assertTrue(kv.get("mod_revision").asLong() > 0);
        }
        JsonNode all = json("get", "r/", "--prefix", "--limit=5");
        assertFalse(all.has("more"), "limit == count: no more: " + all);

        assertEquals("5\n", ctl.ok("del", "r/", "--prefix"));
    }

    @Test
    @Order(4)
    void oldRevisionReadsAndFutureRevision() {
        long r1 = json("put", "h", "v1").get("header").get("revision").asLong();
        long r2 = json("put", "h", "v2").get("header").get("revision").asLong();
        long r3 = json("del", "h").get("header").get("revision").asLong();
        long r4 = json("put", "h", "v3").get("header").get("revision").asLong();
        assertEquals(r1 + 1, r2);
        assertEquals(r2 + 1, r3);
        assertEquals(r3 + 1, r4);

        assertEquals("h\nv1\n", ctl.ok("get", "h", "--rev=" + r1));
        assertEquals("h\nv2\n", ctl.ok("get", "h", "--rev=" + r2));
        assertEquals("", ctl.ok("get", "h", "--rev=" + r3));
        assertEquals("h\nv3\n", ctl.ok("get", "h", "--rev=" + r4));
        assertEquals("h\nv3\n", ctl.ok("get", "h"));

        JsonNode old = json("get", "h", "--rev=" + r2);
        assertEquals(r4, old.get("header").get("revision").asLong(), "the header carries the current revision");
        JsonNode kv = old.get("kvs").get(0);
        assertEquals(r1, kv.get("create_revision").asLong());
        assertEquals(r2, kv.get("mod_revision").asLong());
        assertEquals(2, kv.get("version").asLong());

        assertFails(1, "Error: etcdserver: mvcc: required revision is a future revision",
                ctl.run("get", "h", "--rev=" + (r4 + 100)));
        assertEquals("h\nv3\n", ctl.ok("get", "h", "--rev=0"), "--rev=0 is the current revision");
        assertEquals("1\n", ctl.ok("del", "h"));
    }

    @Test
    @Order(5)
    void prevKv() {
        assertEquals("OK\n", ctl.ok("put", "p", "a", "--prev-kv"), "no previous value: just OK");
        assertEquals("OK\np\na\n", ctl.ok("put", "p", "b", "--prev-kv"));
        JsonNode put = json("put", "p", "c", "--prev-kv");
        assertEquals(b64("b"), put.get("prev_kv").get("value").asText());
        assertEquals(2, put.get("prev_kv").get("version").asLong());
        ctl.ok("put", "p2", "x");
        assertEquals("1\np\nc\n", ctl.ok("del", "p", "--prev-kv"));
        assertEquals("0\n", ctl.ok("del", "p", "--prev-kv"));
        ctl.ok("put", "p1", "y");
        assertEquals("2\np1\ny\np2\nx\n", ctl.ok("del", "p", "--prefix", "--prev-kv"));
    }

    @Test
    @Order(6)
    void ignoreValueIgnoreLeaseAndKeyErrors() {
        long before = revision();
        assertFails(1, "Error: etcdserver: key not found", ctl.run("put", "missing", "--ignore-value"));
        assertFails(1, "Error: etcdserver: key not found", ctl.run("put", "missing", "v", "--ignore-lease"));
        assertFails(1, "Error: etcdserver: key is not provided", ctl.run("put", "", "v"));
        assertFails(1, "Error: etcdserver: key is not provided", ctl.run("get", ""));
        assertFails(1, "Error: etcdserver: requested lease not found", ctl.run("put", "k", "v", "--lease=1234"));
        assertEquals(before, revision(), "failed requests create no revision");

        ctl.ok("put", "iv", "x");
        assertEquals("OK\n", ctl.ok("put", "iv", "--ignore-value"));
        JsonNode kv = json("get", "iv").get("kvs").get(0);
        assertEquals(b64("x"), kv.get("value").asText(), "--ignore-value keeps the value");
        assertEquals(2, kv.get("version").asLong(), "but it is a write: version goes up");
        assertEquals("OK\n", ctl.ok("put", "iv", "y", "--ignore-lease"));
        assertEquals("iv\ny\n", ctl.ok("get", "iv"));
        ctl.ok("del", "iv");
    }

    @Test
    @Order(7)
    void txnInteractive() {
        ctl.ok("put", "t1", "v1");
        ctl.ok("put", "t2", "v2");

        // compares, blank line, success ops, blank line, failure ops, blank line
        Etcdctl.Result ok = ctl.runWithInput("value(\"t1\") = \"v1\"\n\nput t3 yes\nget t1\n\nput t3 no\n\n", "txn");
        assertEquals(0, ok.exitCode(), ok::toString);
        assertEquals("SUCCESS\n\nOK\n\nt1\nv1\n", ok.stdout());
        assertEquals("t3\nyes\n", ctl.ok("get", "t3"));

        Etcdctl.Result fail = ctl.runWithInput("value(\"t1\") = \"zz\"\n\nput t3 yes\n\nput t3 no\ndel t2\n\n", "txn");
        assertEquals(0, fail.exitCode(), fail::toString);
        assertEquals("FAILURE\n\nOK\n\n1\n", fail.stdout());
        assertEquals("t3\nno\n", ctl.ok("get", "t3"));
        assertEquals("", ctl.ok("get", "t2"));

        assertEquals("FAILURE\n", ctl.runWithInput("value(\"t1\") = \"zz\"\n\nput t3 yes\n\n\n", "txn").stdout(),
                "no failure ops: just FAILURE");

        JsonNode t1 = json("get", "t1").get("kvs").get(0);
        long create = t1.get("create_revision").asLong();
        long mod = t1.get("mod_revision").asLong();
        String cmp = "version(\"t1\") = \"1\"\n"
                + "create(\"t1\") = \"" + create + "\"\n"
                + "mod(\"t1\") < \"" + (mod + 1) + "\"\n"
                + "mod(\"t1\") > \"" + (mod - 1) + "\"\n"
                + "value(\"t1\") > \"v0\"\n"
                + "value(\"t1\") != \"v2\"\n";
        Etcdctl.Result multi = ctl.runWithInput(cmp + "\nget t3\n\n\n", "txn", "-w", "json");
        assertEquals(0, multi.exitCode(), multi::toString);
        JsonNode m = Cluster.json(multi.stdout());
        assertTrue(m.get("succeeded").asBoolean(), m.toString());
        long rev = m.get("header").get("revision").asLong();
        JsonNode range = m.get("responses").get(0).get("Response").get("ResponseRange");
        assertEquals(rev, range.get("header").get("revision").asLong());
        assertEquals(b64("no"), range.get("kvs").get(0).get("value").asText());
        assertEquals(1, range.get("count").asLong());

        // each compare must hold: one false compare fails the whole txn
        assertEquals("FAILURE\n\nOK\n", ctl.runWithInput(cmp + "version(\"t1\") = \"2\"\n\n\nput t4 x\n\n", "txn")
                .stdout());
        assertEquals("FAILURE\n\nOK\n", ctl.runWithInput("mod(\"t1\") > \"" + mod + "\"\n\n\nput t4 y\n\n", "txn")
                .stdout());

        // a missing key: version/create/mod compare as 0; a value compare is always false (even !=)
        assertEquals("SUCCESS\n\n\n0\n", ctl.runWithInput(
                "version(\"nokey\") = \"0\"\ncreate(\"nokey\") = \"0\"\nmod(\"nokey\") = \"0\"\n\nget nokey\ndel nokey\n\n\n",
                "txn").stdout());
        assertEquals("FAILURE\n\nOK\n", ctl.runWithInput("value(\"nokey\") != \"x\"\n\n\nput t4 z\n\n", "txn")
                .stdout());

        // no compares: success branch
        JsonNode empty = Cluster.json(ctl.runWithInput("\nput t5 a\n\n\n", "txn", "-w", "json").stdout());
        assertTrue(empty.get("succeeded").asBoolean());
        JsonNode putResp = empty.get("responses").get(0).get("Response").get("ResponsePut");
        assertEquals(empty.get("header").get("revision").asLong(), putResp.get("header").get("revision").asLong());

        // a txn with several writes is one revision
        long before = revision();
        Etcdctl.Result three = ctl.runWithInput("\nput t6 a\nput t7 b\ndel t5\n\n\n", "txn");
        assertEquals("SUCCESS\n\nOK\n\nOK\n\n1\n", three.stdout());
        assertEquals(before + 1, revision());
        JsonNode t6 = json("get", "t6").get("kvs").get(0);
        JsonNode t7 = json("get", "t7").get("kvs").get(0);
        assertEquals(before + 1, t6.get("mod_revision").asLong());
        assertEquals(before + 1, t7.get("mod_revision").asLong());

        // reads in a txn see the txn's own earlier writes
        assertEquals("SUCCESS\n\nOK\n\nt8\nnew\n", ctl.runWithInput("\nput t8 new\nget t8\n\n\n", "txn").stdout());
        ctl.ok("del", "t", "--prefix");
    }

    @Test
    @Order(8)
    void txnErrors() {
        long before = revision();
        assertFails(1, "Error: etcdserver: duplicate key given in txn request",
                ctl.runWithInput("\nput d1 a\nput d1 b\n\n\n", "txn"));
        assertFails(1, "Error: etcdserver: duplicate key given in txn request",
                ctl.runWithInput("\nput d1 a\ndel d1\n\n\n", "txn"));
        assertFails(1, "Error: etcdserver: duplicate key given in txn request",
                ctl.runWithInput("\n\nput d1 a\ndel d1\n\n", "txn"));

        StringBuilder ops130 = new StringBuilder("\n");
        for (int i = 0; i < 130; i++) {
            ops130.append("put many/").append(i).append(" v\n");
        }
        assertFails(1, "Error: etcdserver: too many operations in txn request",
                ctl.runWithInput(ops130 + "\n\n", "txn"));
        assertEquals(before, revision());

        StringBuilder ops128 = new StringBuilder("\n");
        for (int i = 0; i < 128; i++) {
            ops128.append("put many/").append(i).append(" v\n");
        }
        Etcdctl.Result r = ctl.runWithInput(ops128 + "\n\n", "txn");
        assertEquals(0, r.exitCode(), r::toString);
        assertTrue(r.stdout().startsWith("SUCCESS\n\nOK\n"));
        assertEquals(before + 1, revision(), "128 puts are one revision");
        assertEquals("128\n", ctl.ok("del", "many/", "--prefix"));
    }

    @Test
    @Order(9)
    void requestTooLarge() {
        // --max-request-bytes defaults to 1.5 MiB: a 1.5 MiB value is refused by the server.
        // (A 2 MiB value would be refused by etcdctl itself, before sending: its gRPC send limit is 2 MiB.)
        String big = "a".repeat(1536 * 1024);
        long before = revision();
        assertFails(1, "Error: etcdserver: request is too large", ctl.runWithInput(big, "put", "big"));
        assertEquals(before, revision());

        String mib = "b".repeat(1024 * 1024);
        Etcdctl.Result ok = ctl.runWithInput(mib, "put", "big");
        assertEquals("OK\n", ok.stdout(), ok::toString);
        assertEquals(mib + "\n", ctl.ok("get", "big", "--print-value-only"));
        ctl.ok("del", "big");
    }

    @Test
    @Order(10)
    void endpointStatusHealthAndMemberList() {
        ServerProcess m = cluster.member(0);
        String status = ctl.ok("endpoint", "status");
        // e.g. "http://127.0.0.1:23790, 6d4da40a10139250, 3.4.23, 20 kB, true, false, 2, 13, 13, "
        assertTrue(status.matches("\\Q" + m.clientEndpoint() + "\\E, [0-9a-f]+, 3\\.4\\.\\d+, \\d+(\\.\\d+)? [kMG]?B, "
                + "true, false, \\d+, \\d+, \\d+, \n"), status);
        String id = status.split(", ")[1];

        JsonNode js = Cluster.json(ctl.ok("endpoint", "status", "-w", "json")).get(0);
        assertEquals(m.clientEndpoint(), js.get("Endpoint").asText());
        JsonNode st = js.get("Status");
        assertEquals(st.get("header").get("member_id").asText(), st.get("leader").asText(), "a single member leads");
        assertEquals(id, Long.toHexString(Long.parseUnsignedLong(st.get("leader").asText())));
        assertTrue(st.get("version").asText().startsWith("3.4."), st.toString());
        assertTrue(st.get("dbSize").asLong() > 0);
        assertTrue(st.get("raftIndex").asLong() >= st.get("raftAppliedIndex").asLong(), st.toString());
        assertTrue(st.get("raftTerm").asLong() >= 1);

        Etcdctl.Result health = ctl.run("endpoint", "health");
        assertEquals(0, health.exitCode(), health::toString);
        assertEquals("", health.stdout(), "etcdctl 3.4 prints endpoint health on stderr");
        assertTrue(health.err().matches("\\Q" + m.clientEndpoint()
                + "\\E is healthy: successfully committed proposal: took = \\S+"), health.err());

        String list = ctl.ok("member", "list");
        assertEquals(id + ", started, n1, " + m.peerUrl() + ", " + m.clientEndpoint() + ", false\n", list);
        JsonNode ml = Cluster.json(ctl.ok("member", "list", "-w", "json"));
        assertEquals(1, ml.get("members").size());
        JsonNode mem = ml.get("members").get(0);
        assertEquals("n1", mem.get("name").asText());
        assertEquals(List.of(m.peerUrl()), List.of(mem.get("peerURLs").get(0).asText()));
        assertEquals(m.clientEndpoint(), mem.get("clientURLs").get(0).asText());
        assertEquals(st.get("header").get("member_id").asText(), mem.get("ID").asText());
    }

    @Test
    @Order(100)
    void compaction() {
        long r1 = json("put", "c", "a").get("header").get("revision").asLong();
        long r2 = json("put", "c", "b").get("header").get("revision").asLong();
        long r3 = json("put", "c", "c").get("header").get("revision").asLong();
        assertEquals("compacted revision " + r2 + "\n", ctl.ok("compaction", String.valueOf(r2)));

        assertFails(1, "Error: etcdserver: mvcc: required revision has been compacted",
                ctl.run("get", "c", "--rev=" + r1));
        assertEquals("c\nb\n", ctl.ok("get", "c", "--rev=" + r2), "the compaction revision itself stays readable");
        assertEquals("c\nc\n", ctl.ok("get", "c", "--rev=" + r3));
        assertFails(1, "Error: etcdserver: mvcc: required revision has been compacted",
                ctl.run("compaction", String.valueOf(r1)));
        assertFails(1, "Error: etcdserver: mvcc: required revision has been compacted",
                ctl.run("compaction", String.valueOf(r2)));
        assertFails(1, "Error: etcdserver: mvcc: required revision is a future revision",
                ctl.run("compaction", String.valueOf(r3 + 1000)));
        assertEquals(r3, revision(), "compaction does not create a revision");
        assertEquals("compacted revision " + r3 + "\n", ctl.ok("compaction", "--physical", String.valueOf(r3)));
        assertEquals("c\nc\n", ctl.ok("get", "c"));
    }
}
