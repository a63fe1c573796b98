package io.etcsql.examples.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.etcsql.server.it.Cluster;
import io.etcsql.server.it.DumpLogsOnFailure;
import io.etcsql.server.it.Etcdctl;
import io.etcsql.server.it.ServerProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Runs the example as a user would, {@code examples/audit/run --load-sample}, against a fresh real
 * member serving SQL, and compares what it printed with {@code expected/output.txt} after the
 * masking README.md describes (commit times, dates, lease ids and remaining TTLs differ on every
 * run). Then checks some of the reports against what etcd itself says, through etcdctl and the
 * raw revisions table. One member and one run for the whole class.
 */
@ExtendWith(DumpLogsOnFailure.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AuditReportsIT {

    private static final Path HERE = ServerProcess.home().resolve("examples/audit");
    private static final String ROOT = "--user=root:rootpw";

    private Cluster cluster;
    private Etcdctl ctl;
    private String output;
    /** The printed tables by report file name: header row first, then the rows, cells trimmed. */
    private Map<String, List<List<String>>> tables;

    @BeforeAll
    void loadAndRun() throws Exception {
        cluster = Cluster.startWithSql(1);
        ctl = cluster.ctl();
        ProcessBuilder pb = new ProcessBuilder(HERE.resolve("run").toString(), "--load-sample",
                "--endpoints", cluster.member(0).clientEndpoint(), "--url", cluster.jdbcUrl());
        // the caller's etcdctl settings must not redirect the sample's etcdctl calls
        pb.environment().keySet().removeIf(k -> k.startsWith("ETCDCTL"));
        Path err = Files.createTempFile(cluster.baseDir(), "run", ".err");
        pb.redirectError(err.toFile());
        Process p = pb.start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "run did not finish");
        output = new String(out, StandardCharsets.UTF_8);
        String stderr = Files.readString(err);
        assertEquals(0, p.exitValue(), () -> "run failed\n--- stdout ---\n" + output + "--- stderr ---\n" + stderr);
        tables = tables(output);
    }

    @AfterAll
    void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void outputIsTheCommittedExpectedOutputOnceMasked() throws IOException {
        String expected = Files.readString(HERE.resolve("expected/output.txt"));
        assertEquals(mask(expected), mask(output), () -> "printed:\n" + output);
        // README.md shows the same output verbatim
        assertTrue(Files.readString(HERE.resolve("README.md")).contains(expected),
                "README.md does not contain expected/output.txt");
    }

    @Test
    void whoChangedShowsAliceThenBobThenAliceAndEndsWithTheValueEtcdHolds() {
        List<List<String>> t = tables.get("who-changed.sql");
        assertEquals(List.of("revision", "committed_at", "principal", "event", "change"), t.get(0));
        List<List<String>> rows = t.subList(1, t.size());
        assertEquals(List.of("alice", "alice", "bob", "alice"), column(rows, 2));
        assertEquals(List.of("(new) -> 30s", "30s -> 45s", "45s -> 60s", "60s -> 30s"), column(rows, 4));
        // commit times never go back
        List<String> times = column(rows, 1);
        assertEquals(times.stream().sorted().toList(), times);
        JsonNode kv = Cluster.json(ctl.ok(ROOT, "get", "/config/web/timeout", "-w", "json")).get("kvs").get(0);
        assertEquals(rows.get(rows.size() - 1).get(0), kv.get("mod_revision").asText());
        assertEquals("30s", decode(kv.get("value")));
    }

    @Test
    void churnListsExactlyTheKeysWithMoreThanTwoValueChanges() throws Exception {
        // counted here from the raw history, independently of churn.sql's SQL
        Map<String, Integer> changes = new TreeMap<>();
        try (Connection c = DriverManager.getConnection(cluster.jdbcUrl(), "root", "rootpw");
             Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT key, event, value, prev_value FROM revisions")) {
            while (rs.next()) {
                String prev = rs.getString(4);
                if (rs.getString(2).equals("PUT") && prev != null && !prev.equals(rs.getString(3))) {
                    changes.merge(rs.getString(1), 1, Integer::sum);
                }
            }
        }
        Map<String, String> churned = new TreeMap<>();
        changes.forEach((k, n) -> {
            if (n > 2) {
                churned.put(k, n.toString());
            }
        });
        assertEquals(Set.of("/config/flags/new-checkout", "/config/web/replicas", "/config/web/timeout"),
                churned.keySet());
        List<List<String>> t = tables.get("churn.sql");
        Map<String, String> printed = new TreeMap<>();
        for (List<String> row : t.subList(1, t.size())) {
            printed.put(row.get(0), row.get(1));
        }
        assertEquals(churned, printed);
    }

    @Test
    void configAtRevisionIsWhatEtcdctlGetsAtThatRevisionAndConfigAtTimeTheSame() {
        String rev = output.lines().filter(l -> l.startsWith("sample loaded"))
                .map(l -> l.replaceAll(".* rev=(\\d+) .*", "$1")).findFirst().orElseThrow();
        Map<String, String> atRev = new TreeMap<>();
        for (JsonNode kv : Cluster.json(ctl.ok(ROOT, "get", "/config/", "--prefix", "--rev=" + rev, "-w", "json"))
                .get("kvs")) {
            atRev.put(decode(kv.get("key")), decode(kv.get("value")));
        }
        assertEquals("45s", atRev.get("/config/web/timeout"));
        for (String report : List.of("config-at-revision.sql", "config-at-time.sql")) {
            List<List<String>> t = tables.get(report);
            Map<String, String> printed = new TreeMap<>();
            for (List<String> row : t.subList(1, t.size())) {
                printed.put(row.get(0), row.get(1));
            }
            assertEquals(atRev, printed, report);
        }
    }

    @Test
    void leasesExpiringAreTheShortLeasesEtcdctlLists() {
        Set<String> shortLeases = new TreeSet<>();
        // "found 3 leases", then one hex id a line
        for (String hex : ctl.ok(ROOT, "lease", "list").lines().skip(1).map(String::trim).toList()) {
            JsonNode ttl = Cluster.json(ctl.ok(ROOT, "lease", "timetolive", hex, "-w", "json"));
            if (ttl.get("granted-ttl").asLong() < 600) {
                shortLeases.add(ttl.get("id").asText()); // decimal, as the report prints it
            }
        }
        assertEquals(2, shortLeases.size());
        List<List<String>> t = tables.get("leases-expiring.sql");
        List<List<String>> rows = t.subList(1, t.size());
        assertEquals(shortLeases, new TreeSet<>(column(rows, 0)));
        for (List<String> row : rows) {
            long granted = Long.parseLong(row.get(1));
            long remaining = Long.parseLong(row.get(2));
            assertTrue(remaining > 0 && remaining <= granted, row::toString);
        }
    }

    /**
     * The output with what differs between runs replaced (README.md, "Comparing outputs"): every
     * timestamp by {@code <time>}, every date by {@code <date>}, the cells of the columns
     * {@code lease} and {@code remaining_ttl} by {@code <lease>} and {@code <ttl>}; and, since
     * those change the widths of columns, table cells are trimmed and borders dropped.
     */
    static String mask(String text) {
        StringBuilder b = new StringBuilder();
        List<String> header = null;
        for (String line : text.split("\n", -1)) {
            line = line.replaceAll("\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}(\\.\\d+)?", "<time>")
                    .replaceAll("\\d{4}-\\d{2}-\\d{2}", "<date>");
            if (line.startsWith("+-")) {
                continue;
            }
            if (line.startsWith("|")) {
                List<String> cells = cells(line);
                if (header == null) {
                    header = cells;
                } else {
                    for (int i = 0; i < cells.size() && i < header.size(); i++) {
                        switch (header.get(i)) {
                            case "lease" -> cells.set(i, "<lease>");
                            case "remaining_ttl" -> cells.set(i, "<ttl>");
                            default -> { }
                        }
                    }
                }
                line = "| " + String.join(" | ", cells) + " |";
            } else {
                header = null;
            }
            b.append(line).append('\n');
        }
        return b.toString();
    }

    /** The tables of the run's output by report: "== name.sql: ..." starts one. */
    static Map<String, List<List<String>>> tables(String output) {
        Map<String, List<List<String>>> all = new LinkedHashMap<>();
        List<List<String>> current = null;
        for (String line : output.split("\n")) {
            if (line.startsWith("== ")) {
                current = new ArrayList<>();
                all.put(line.substring(3, line.indexOf(':')), current);
            } else if (line.startsWith("|") && current != null) {
                current.add(cells(line));
            }
        }
        return all;
    }

    private static List<String> cells(String line) {
        String inner = line.substring(1, line.length() - 1);
        List<String> cells = new ArrayList<>();
        for (String c : inner.split("\\|", -1)) {
            cells.add(c.trim());
        }
        return cells;
    }

    private static List<String> column(List<List<String>> rows, int i) {
        return rows.stream().map(r -> r.get(i)).collect(Collectors.toList());
    }

    private static String decode(JsonNode base64) {
        return new String(Base64.getDecoder().decode(base64.asText()), StandardCharsets.UTF_8);
    }
}
