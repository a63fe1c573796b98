package io.etcsql.server.it;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * etcd 3.4's HTTP/JSON gateway on the client URL, driven with the real curl, while etcdctl (gRPC)
 * uses the same port: the KV, watch, lease, cluster, maintenance, lock and election routes, the
 * JSON (proto names, 64-bit integers as strings, bytes in base64), grpc-gateway's errors for bad
 * input, and /health, /version and /metrics. Runs against etcsql and etcd.
 */
@ExtendWith(DumpLogsOnFailure.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class GatewayIT {
    static final String CURL = System.getProperty("etcsql.it.curl", "/usr/bin/curl");

    static Cluster cluster;
    static String url;

    @BeforeAll
    static void start() {
        cluster = Cluster.start(1);
        url = cluster.member(0).clientEndpoint();
    }

    @AfterAll
    static void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    /** One curl exchange: status, headers (names lower-cased, trailers included) and body. */
    record Http(int status, Map<String, String> headers, String body) {
        JsonNode json() {
            return Cluster.json(body);
        }

        @Override
        public String toString() {
            return status + " " + headers + "\n" + body;
        }
    }

    static Http curl(String method, String path, String body, String... extra) {
        try {
            Path headers = Files.createTempFile(cluster.baseDir(), "curl", ".h");
            List<String> cmd = new ArrayList<>(List.of(CURL, "-s", "-S", "--http1.1", "-D", headers.toString(),
                    "-X", method, "--max-time", "20"));
            if (body != null) {
                cmd.addAll(List.of("--data-binary", "@-"));
            }
            cmd.addAll(List.of(extra));
            cmd.add(url + path);
            Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            try (var in = p.getOutputStream()) {
                if (body != null) {
                    in.write(body.getBytes(StandardCharsets.UTF_8));
                }
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "curl hangs");
            assertEquals(0, p.exitValue(), "curl " + cmd);
            List<String> lines = Files.readAllLines(headers);
            Files.delete(headers);
            int status = Integer.parseInt(lines.get(0).split(" ")[1]);
            Map<String, String> h = new LinkedHashMap<>();
            for (String l : lines.subList(1, lines.size())) {
                int colon = l.indexOf(':');
                if (colon > 0) {
                    h.put(l.substring(0, colon).toLowerCase(Locale.ROOT), l.substring(colon + 1).trim());
                }
            }
            return new Http(status, h, out);
        } catch (IOException e) {
            throw new AssertionError(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    static JsonNode post(String path, String body) {
        Http r = curl("POST", path, body);
        assertEquals(200, r.status(), r::toString);
        assertEquals("application/json", r.headers().get("content-type"), r::toString);
        return r.json();
    }

    static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    static String text(JsonNode base64) {
        return new String(Base64.getDecoder().decode(base64.asText()), StandardCharsets.UTF_8);
    }

    /** A streaming call: {@code curl -N}, its lines read as they come. */
    static final class Stream implements AutoCloseable {
        final Process process;
        final BufferedReader lines;

        Stream(String path, String body) throws IOException {
            process = new ProcessBuilder(CURL, "-s", "-N", "--http1.1", "-X", "POST", "-d", body, url + path)
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
            lines = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        }

        JsonNode next() throws IOException {
            String line = lines.readLine();
            assertTrue(line != null, "stream ended");
            return Cluster.json(line);
        }

        @Override
        public void close() {
            process.destroyForcibly();
        }
    }

    @Test
    @Order(1)
    void putAndRangeWithBase64KeysAndValuesAsEtcdctlSeesThem() {
        String value = "v\u00e9\u0001";
        JsonNode put = post("/v3/kv/put", "{\"key\":\"" + b64("gw/a") + "\",\"value\":\"" + b64(value) + "\"}");
        JsonNode h = put.get("header");
        assertTrue(h.get("revision").isTextual(), put::toString); // int64 as a string
        assertTrue(h.get("cluster_id").isTextual() && h.get("member_id").isTextual() && h.get("raft_term").isTextual(),
                put::toString);
        JsonNode range = post("/v3/kv/range", "{\"key\":\"" + b64("gw/a") + "\"}");
        assertEquals("1", range.get("count").asText(), range::toString);
        JsonNode kv = range.get("kvs").get(0);
        assertEquals(b64("gw/a"), kv.get("key").asText());
        assertEquals(value, text(kv.get("value")));
        assertEquals(h.get("revision").asText(), kv.get("mod_revision").asText(), range::toString);
        assertEquals("1", kv.get("version").asText());
        assertFalse(kv.has("lease"), range::toString); // default values are left out
        // etcdctl (gRPC on the same port) sees the value; the JSON names work as well as the proto ones
        assertEquals(List.of("gw/a", value), cluster.ctl().run("get", "gw/a").lines());
        cluster.ctl().ok("put", "gw/b", "2");
        JsonNode keysOnly = post("/v3/kv/range", "{\"key\":\"" + b64("gw/") + "\",\"rangeEnd\":\"" + b64("gw0")
                + "\",\"keys_only\":true,\"sortOrder\":\"DESCEND\",\"limit\":\"1\",\"unknown\":1}");
        assertEquals("2", keysOnly.get("count").asText(), keysOnly::toString);
        assertEquals(1, keysOnly.get("kvs").size());
        assertEquals(b64("gw/b"), keysOnly.get("kvs").get(0).get("key").asText());
        assertFalse(keysOnly.get("kvs").get(0).has("value"));
        assertTrue(keysOnly.get("more").asBoolean(), keysOnly::toString);
        // /v3beta/ is etcd's old prefix for the same routes
        assertEquals("2", post("/v3beta/kv/range", "{\"key\":\"" + b64("gw/") + "\",\"range_end\":\"" + b64("gw0")
                + "\",\"count_only\":true}").get("count").asText());
    }

    @Test
    @Order(2)
    void txnDeleteRangeAndCompaction() {
        cluster.ctl().ok("put", "gw/t", "old");
        JsonNode txn = post("/v3/kv/txn", "{\"compare\":[{\"key\":\"" + b64("gw/t") + "\",\"result\":\"EQUAL\","
                + "\"target\":\"VALUE\",\"value\":\"" + b64("old") + "\"}],"
                + "\"success\":[{\"request_put\":{\"key\":\"" + b64("gw/t") + "\",\"value\":\"" + b64("new") + "\"}}],"
                + "\"failure\":[{\"request_range\":{\"key\":\"" + b64("gw/t") + "\"}}]}");
        assertTrue(txn.get("succeeded").asBoolean(), txn::toString);
        assertTrue(txn.get("responses").get(0).get("response_put").has("header"), txn::toString);
        assertEquals(List.of("gw/t", "new"), cluster.ctl().run("get", "gw/t").lines());
        JsonNode failed = post("/v3/kv/txn", "{\"compare\":[{\"key\":\"" + b64("gw/t") + "\",\"target\":\"VALUE\","
                + "\"value\":\"" + b64("old") + "\"}],\"failure\":[{\"request_range\":{\"key\":\"" + b64("gw/t") + "\"}}]}");
        assertFalse(failed.has("succeeded"), failed::toString); // false is left out
        assertEquals("new", text(failed.get("responses").get(0).get("response_range").get("kvs").get(0).get("value")));

        cluster.ctl().ok("put", "gw/d/1", "x");
        cluster.ctl().ok("put", "gw/d/2", "y");
        JsonNode del = post("/v3/kv/deleterange", "{\"key\":\"" + b64("gw/d/") + "\",\"range_end\":\"" + b64("gw/d0")
                + "\",\"prev_kv\":true}");
        assertEquals("2", del.get("deleted").asText(), del::toString);
        assertEquals("x", text(del.get("prev_kvs").get(0).get("value")));

        long rev = post("/v3/kv/put", "{\"key\":\"" + b64("gw/c") + "\"}").get("header").get("revision").asLong();
        post("/v3/kv/put", "{\"key\":\"" + b64("gw/c") + "\",\"value\":\"" + b64("2") + "\"}");
        JsonNode compact = post("/v3/kv/compaction", "{\"revision\":\"" + (rev + 1) + "\",\"physical\":true}");
        assertTrue(compact.has("header"), compact::toString);
        Http old = curl("POST", "/v3/kv/range", "{\"key\":\"" + b64("gw/c") + "\",\"revision\":" + rev + "}");
        assertEquals(400, old.status(), old::toString);
        assertEquals("{\"error\":\"etcdserver: mvcc: required revision has been compacted\",\"message\":"
                + "\"etcdserver: mvcc: required revision has been compacted\",\"code\":11}", old.body());
        assertEquals("application/grpc", old.headers().get("grpc-trailer-content-type"), old::toString);
    }

    @Test
    @Order(3)
    void watchStreamsAPutMadeWithEtcdctl() throws IOException {
        try (Stream w = new Stream("/v3/watch", "{\"create_request\":{\"key\":\"" + b64("gw/w") + "\"}}")) {
            JsonNode created = w.next();
            assertTrue(created.get("result").get("created").asBoolean(), created::toString);
            cluster.ctl().ok("put", "gw/w", "seen");
            JsonNode event = w.next().get("result");
            JsonNode kv = event.get("events").get(0).get("kv");
            assertEquals(b64("gw/w"), kv.get("key").asText(), event::toString);
            assertEquals("seen", text(kv.get("value")));
            assertFalse(event.get("events").get(0).has("type"), event::toString); // PUT is the default
        }
        cluster.ctl().ok("del", "gw/w");
    }

    @Test
    @Order(4)
    void leaseGrantKeepAliveTimeToLiveRevoke() throws IOException {
        JsonNode grant = post("/v3/lease/grant", "{\"TTL\":60}");
        String id = grant.get("ID").asText();
        assertEquals("60", grant.get("TTL").asText(), grant::toString);
        cluster.ctl().ok("put", "gw/l", "v", "--lease=" + Long.toHexString(Long.parseLong(id)));
        try (Stream k = new Stream("/v3/lease/keepalive", "{\"ID\":\"" + id + "\"}")) {
            JsonNode ka = k.next().get("result");
            assertEquals(id, ka.get("ID").asText(), ka::toString);
            assertEquals("60", ka.get("TTL").asText(), ka::toString);
        }
        JsonNode ttl = post("/v3/kv/lease/timetolive", "{\"ID\":\"" + id + "\",\"keys\":true}");
        assertEquals("60", ttl.get("grantedTTL").asText(), ttl::toString);
        assertEquals(b64("gw/l"), ttl.get("keys").get(0).asText(), ttl::toString);
        boolean listed = false;
        for (JsonNode l : post("/v3/lease/leases", "{}").get("leases")) {
            listed |= l.get("ID").asText().equals(id);
        }
        assertTrue(listed);
        post("/v3/lease/revoke", "{\"ID\":\"" + id + "\"}");
        assertEquals(List.of(), cluster.ctl().run("get", "gw/l").lines());
        Http again = curl("POST", "/v3/lease/revoke", "{\"ID\":\"" + id + "\"}");
        assertEquals(404, again.status(), again::toString);
        assertEquals("{\"error\":\"etcdserver: requested lease not found\",\"message\":"
                + "\"etcdserver: requested lease not found\",\"code\":5}", again.body());
    }

    @Test
    @Order(5)
    void memberListAndMaintenanceStatus() {
        JsonNode members = post("/v3/cluster/member/list", "{}");
        JsonNode m = members.get("members").get(0);
        assertEquals(cluster.member(0).name(), m.get("name").asText(), members::toString);
        assertEquals(url, m.get("clientURLs").get(0).asText());
        assertEquals(members.get("header").get("member_id").asText(), m.get("ID").asText());
        JsonNode status = post("/v3/maintenance/status", "{}");
        assertEquals("3.4.23", status.get("version").asText(), status::toString);
        assertEquals(m.get("ID").asText(), status.get("leader").asText());
        assertTrue(status.get("raftIndex").isTextual() && status.get("dbSize").isTextual(), status::toString);
        assertTrue(post("/v3/maintenance/hash", "{}").get("hash").isNumber()); // uint32: a number
    }

    @Test
    @Order(6)
    void lockAndElection() throws IOException {
        JsonNode lock = post("/v3/lock/lock", "{\"name\":\"" + b64("gw-lock") + "\"}");
        String key = text(lock.get("key"));
        assertTrue(key.startsWith("gw-lock/"), lock::toString);
        assertEquals(List.of(key, ""), cluster.ctl().run("get", "--prefix", "gw-lock").lines());
        post("/v3/lock/unlock", "{\"key\":\"" + lock.get("key").asText() + "\"}");
        assertEquals(List.of(), cluster.ctl().run("get", "--prefix", "gw-lock").lines());

        String lease = post("/v3/lease/grant", "{\"TTL\":60}").get("ID").asText();
        JsonNode campaign = post("/v3/election/campaign", "{\"name\":\"" + b64("gw-e") + "\",\"lease\":\"" + lease
                + "\",\"value\":\"" + b64("one") + "\"}");
        JsonNode leader = campaign.get("leader");
        assertEquals(lease, leader.get("lease").asText(), campaign::toString);
        try (Stream observe = new Stream("/v3/election/observe", "{\"name\":\"" + b64("gw-e") + "\"}")) {
            assertEquals("one", text(observe.next().get("result").get("kv").get("value")));
            post("/v3/election/proclaim", "{\"leader\":" + leader + ",\"value\":\"" + b64("two") + "\"}");
            assertEquals("two", text(observe.next().get("result").get("kv").get("value")));
        }
        JsonNode now = post("/v3/election/leader", "{\"name\":\"" + b64("gw-e") + "\"}");
        assertEquals("two", text(now.get("kv").get("value")), now::toString);
        post("/v3/election/resign", "{\"leader\":" + leader + "}");
        Http none = curl("POST", "/v3/election/leader", "{\"name\":\"" + b64("gw-e") + "\"}");
        assertEquals(500, none.status(), none::toString); // etcd's plain error: Unknown
        assertEquals("{\"error\":\"election: no leader\",\"message\":\"election: no leader\",\"code\":2}", none.body());
    }

    @Test
    @Order(7)
    void badInputGetsGrpcGatewaysErrors() {
        String[][] cases = {
            // body, status, error message, code
            {"{bad", "400", "invalid character 'b' looking for beginning of object key string", "3"},
            {"{\"key\":\"Zm9v\"", "400", "unexpected EOF", "3"},
            {"[]", "400", "json: cannot unmarshal array into Go value of type map[string]json.RawMessage", "3"},
            {"{\"key\":\"!!\"}", "400", "illegal base64 data at input byte 0", "3"},
            {"{\"key\":\"Zm=v\"}", "400", "illegal base64 data at input byte 2", "3"},
            {"{\"key\":\"Zm9v\",\"limit\":\"x\"}", "400", "invalid character 'x' looking for beginning of value", "3"},
            {"{\"key\":\"Zm9v\",\"limit\":1.5}", "400", "json: cannot unmarshal number 1.5 into Go value of type int64", "3"},
            {"{\"key\":\"Zm9v\",\"keys_only\":\"true\"}", "400", "json: cannot unmarshal string into Go value of type bool", "3"},
            {"{\"key\":\"Zm9v\",\"sort_order\":\"NOPE\"}", "400",
                "unknown value \"NOPE\" for enum etcdserverpb.RangeRequest_SortOrder", "3"},
            {"{}", "400", "etcdserver: key is not provided", "3"},
            {"{\"key\":\"Zm9v\",\"revision\":\"1000000\"}", "400", "etcdserver: mvcc: required revision is a future revision", "11"},
        };
        for (String[] c : cases) {
            Http r = curl("POST", "/v3/kv/range", c[0]);
            assertEquals(Integer.parseInt(c[1]), r.status(), () -> c[0] + " -> " + r);
            String msg = new String(com.fasterxml.jackson.core.io.JsonStringEncoder.getInstance().quoteAsString(c[2]));
            assertEquals("{\"error\":\"" + msg + "\",\"message\":\"" + msg + "\",\"code\":" + c[3] + "}", r.body(),
                    () -> c[0] + " -> " + r);
        }
        Http watch = curl("POST", "/v3/watch", "{bad");
        assertEquals(500, watch.status(), watch::toString); // a stream's first message: Unknown
        assertEquals("{\"error\":\"invalid character 'b' looking for beginning of object key string\",\"message\":"
                + "\"invalid character 'b' looking for beginning of object key string\",\"code\":2}", watch.body());
        Http get = curl("GET", "/v3/kv/range", null);
        assertEquals(405, get.status(), get::toString);
        assertEquals("Method Not Allowed\n", get.body());
        for (String path : List.of("/v3/kv/nope", "/v3/", "/v3/kv/range:x", "/v3/kv/range/")) {
            Http nf = curl("POST", path, "{}");
            assertEquals(404, nf.status(), () -> path + " -> " + nf);
            assertEquals("Not Found\n", nf.body(), path);
        }
        for (String path : List.of("/v3alpha/kv/range", "/nope", "/health/x")) {
            Http nf = curl("POST", path, "{}");
            assertEquals(404, nf.status(), () -> path + " -> " + nf);
            assertEquals("404 page not found\n", nf.body(), path);
        }
        Http options = curl("OPTIONS", "/v3/kv/range", null);
        assertEquals(200, options.status(), options::toString);
        assertEquals("*", options.headers().get("access-control-allow-origin"));
    }

    @Test
    @Order(8)
    void healthVersionAndMetricsOnTheClientUrl() {
        Http health = curl("GET", "/health", null);
        assertEquals(200, health.status(), health::toString);
        assertEquals("{\"health\":\"true\"}", health.body());
        assertEquals("text/plain; charset=utf-8", health.headers().get("content-type"));
        Http version = curl("GET", "/version", null);
        assertEquals("{\"etcdserver\":\"3.4.23\",\"etcdcluster\":\"3.4.0\"}", version.body());
        Http post = curl("POST", "/health", "");
        assertEquals(405, post.status(), post::toString);
        assertEquals("GET", post.headers().get("allow"));
        Http metrics = curl("GET", "/metrics", null);
        assertEquals(200, metrics.status(), metrics::toString);
        assertTrue(metrics.headers().get("content-type").startsWith("text/plain; version=0.0.4"), metrics::toString);
        assertTrue(java.util.regex.Pattern.compile("(?m)^etcd_server_has_leader 1(\\.0)?$").matcher(metrics.body()).find(),
                metrics.body());
        // and gRPC still on the same port
        Etcdctl.Result endpointHealth = cluster.ctl().run("endpoint", "health");
        assertTrue(endpointHealth.ok() && endpointHealth.stderr().contains("is healthy"), endpointHealth::toString);
    }

    /** The Auth routes and the Authorization header; skipped while the member serves no Auth service. */
    @Test
    @Order(9)
    void authRoutesAndTheAuthorizationHeader() {
        Http list = curl("POST", "/v3/auth/user/list", "{}");
        Assumptions.assumeTrue(list.status() == 200, "no Auth service yet: " + list);
        Http bogus = curl("POST", "/v3/kv/range", "{\"key\":\"Zm9v\"}", "-H", "Authorization: bogus");
        assertEquals(401, bogus.status(), bogus::toString);
        assertEquals("{\"error\":\"etcdserver: invalid auth token\",\"message\":\"etcdserver: invalid auth token\","
                + "\"code\":16}", bogus.body());
        post("/v3/auth/user/add", "{\"name\":\"root\",\"password\":\"pw\"}");
        post("/v3/auth/user/grant", "{\"user\":\"root\",\"role\":\"root\"}");
        post("/v3/auth/enable", "{}");
        try {
            Http wrong = curl("POST", "/v3/auth/authenticate", "{\"name\":\"root\",\"password\":\"bad\"}");
            assertEquals(400, wrong.status(), wrong::toString);
            assertEquals("{\"error\":\"etcdserver: authentication failed, invalid user ID or password\",\"message\":"
                    + "\"etcdserver: authentication failed, invalid user ID or password\",\"code\":3}", wrong.body());
            String token = post("/v3/auth/authenticate", "{\"name\":\"root\",\"password\":\"pw\"}").get("token").asText();
            Http anonymous = curl("POST", "/v3/kv/range", "{\"key\":\"Zm9v\"}");
            assertEquals(400, anonymous.status(), anonymous::toString);
            assertEquals("{\"error\":\"etcdserver: user name is empty\",\"message\":\"etcdserver: user name is empty\","
                    + "\"code\":3}", anonymous.body());
            Http withToken = curl("POST", "/v3/kv/range", "{\"key\":\"" + b64("gw/a") + "\",\"count_only\":true}",
                    "-H", "Authorization: " + token);
            assertEquals(200, withToken.status(), withToken::toString);
            assertEquals("1", withToken.json().get("count").asText());
            Http disable = curl("POST", "/v3/auth/disable", "{}", "-H", "Authorization: " + token);
            assertEquals(200, disable.status(), disable::toString);
        } finally {
            curl("POST", "/v3/auth/disable", "{}", "-H", "Authorization: " + authenticate());
        }
        post("/v3/auth/user/delete", "{\"name\":\"root\"}");
    }

    /** A root token, or "" once auth is off. */
    private static String authenticate() {
        Http r = curl("POST", "/v3/auth/authenticate", "{\"name\":\"root\",\"password\":\"pw\"}");
        return r.status() == 200 ? r.json().path("token").asText("") : "";
    }

    /** --host-whitelist, --cors and --enable-grpc-gateway=false, on a member of their own. */
    @Test
    @Order(10)
    void hostWhitelistCorsAndTheGatewaySwitch() {
        String mine = url;
        try (Cluster c = Cluster.start(1, List.of("--host-whitelist", "localhost,127.0.0.1",
                "--cors", "http://app.example:8080", "--enable-grpc-gateway=false"))) {
            url = c.member(0).clientEndpoint();
            Http rebinding = curl("GET", "/health", null, "-H", "Host: rebind.example:2379");
            assertEquals(421, rebinding.status(), rebinding::toString);
            assertTrue(rebinding.body().startsWith("\netcd received your request, but the Host header was unrecognized.\n"),
                    rebinding.body());
            assertTrue(rebinding.body().contains("  - e.g. etcd --host-whitelist \"rebind.example\"\n"), rebinding.body());
            Http allowed = curl("GET", "/health", null, "-H", "Origin: http://app.example:8080");
            assertEquals(200, allowed.status(), allowed::toString);
            assertEquals("http://app.example:8080", allowed.headers().get("access-control-allow-origin"));
            Http other = curl("GET", "/health", null, "-H", "Origin: http://evil.example");
            assertEquals(null, other.headers().get("access-control-allow-origin"), other::toString);
            Http noGateway = curl("POST", "/v3/kv/range", "{\"key\":\"Zm9v\"}");
            assertEquals(404, noGateway.status(), noGateway::toString);
        } finally {
            url = mine;
        }
    }
}
