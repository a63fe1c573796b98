package io.etcsql.examples.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcsql.server.it.Cluster;
import io.etcsql.server.it.DumpLogsOnFailure;
import io.etcsql.server.it.Etcdctl;
import io.etcsql.server.it.ServerProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Runs the example as a user would, through its run script, against a real member serving SQL,
 * and checks with the real etcdctl that what it printed is what etcd holds. The tests run in order
 * on one member: init, set, init again, then concurrent increments.
 */
@ExtendWith(DumpLogsOnFailure.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ConfigAppIT {

    private static final Path RUN = ServerProcess.home().resolve("examples/config-app/run");
    private static final Pattern INCREMENTED = Pattern.compile(
            "/config/app/counter = (\\d+) after 30 increments: 30 commits, (\\d+) retries \\(SQLState 40001\\)");

    private Cluster cluster;
    private Etcdctl ctl;

    @BeforeAll
    void start() {
        cluster = Cluster.startWithSql(1);
        ctl = cluster.ctl();
    }

    @AfterAll
    void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    @Order(1)
    void initSeedsTheDefaultsAndShowListsThem() {
        Result init = ok("init");
        assertEquals(List.of(
                "inserted /config/app/db.url = jdbc:postgresql://db.internal:5432/orders",
                "inserted /config/app/db.pool.size = 10",
                "inserted /config/app/http.port = 8080",
                "inserted /config/app/cache.ttl.seconds = 300",
                "inserted /config/app/feature.new-checkout = false",
                "inserted /config/app/log.level = INFO",
                "inserted /config/app/counter = 0",
                "init: 7 inserted, 0 kept"), init.lines(), init::toString);

        Result show = ok("show", "/config/app/");
        List<String> lines = show.lines();
        assertEquals(9, lines.size(), show::toString);
        assertTrue(lines.get(0).matches("KEY +VALUE +MOD_REVISION"), show::toString);
        assertEquals("7 keys", lines.get(8), show::toString);
        List<String> keyValues = new ArrayList<>();
        int valueColumn = lines.get(0).indexOf("VALUE");
        int revisionColumn = lines.get(0).indexOf("MOD_REVISION");
        for (String line : lines.subList(1, 8)) {
            String[] cols = line.split(" +");
            keyValues.add(cols[0] + " " + cols[1]);
            // aligned: every value and revision starts under its header
            assertEquals(valueColumn, line.indexOf(cols[1], cols[0].length()), show::toString);
            assertEquals(revisionColumn, line.lastIndexOf(cols[2]), show::toString);
            // the revision it prints is etcd's own
            long modRevision = Cluster.json(ctl.ok("get", cols[0], "-w", "json")).get("kvs").get(0)
                    .get("mod_revision").asLong();
            assertEquals(modRevision, Long.parseLong(cols[2]), line);
        }
        // in key order, as the ORDER BY asks
        assertEquals(List.of(
                "/config/app/cache.ttl.seconds 300",
                "/config/app/counter 0",
                "/config/app/db.pool.size 10",
                "/config/app/db.url jdbc:postgresql://db.internal:5432/orders",
                "/config/app/feature.new-checkout false",
                "/config/app/http.port 8080",
                "/config/app/log.level INFO"), keyValues, show::toString);
    }

    @Test
    @Order(2)
    void setThenGet() {
        assertEquals(List.of("/config/app/log.level = DEBUG"), ok("set", "/config/app/log.level", "DEBUG").lines());
        assertEquals(List.of("DEBUG"), ok("get", "/config/app/log.level").lines());
        assertEquals("DEBUG\n", ctl.ok("get", "/config/app/log.level", "--print-value-only"));

        Result missing = run("get", "/config/app/no-such-key");
        assertEquals(1, missing.exitCode(), missing::toString);
        assertEquals("config-app: /config/app/no-such-key: not found\n", missing.stderr(), missing::toString);
    }

    @Test
    @Order(3)
    void aSecondInitKeepsWhatIsThere() {
        Result init = ok("init");
        assertEquals(8, init.lines().size(), init::toString);
        assertEquals("kept     /config/app/db.url (exists)", init.lines().get(0), init::toString);
        assertEquals("init: 0 inserted, 7 kept", init.lines().get(7), init::toString);
        // the value set before survives
        assertEquals(List.of("DEBUG"), ok("get", "/config/app/log.level").lines());
        assertEquals("DEBUG\n", ctl.ok("get", "/config/app/log.level", "--print-value-only"));
    }

    @Test
    @Order(4)
    void concurrentIncrementsLoseNoUpdate() throws Exception {
        ctl.ok("put", "/config/app/counter", "0");
        // two processes read and write the same key at once: a COMMIT whose read is stale fails with
        // 40001 and is retried, so all 60 increments land. Whether a retry was needed depends on timing.
        Running a = start("increment", "/config/app/counter", "30");
        Running b = start("increment", "/config/app/counter", "30");
        Result ra = a.finish();
        Result rb = b.finish();
        assertEquals(0, ra.exitCode(), ra::toString);
        assertEquals(0, rb.exitCode(), rb::toString);
        long last = 0;
        for (Result r : List.of(ra, rb)) {
            assertEquals(1, r.lines().size(), r::toString);
            Matcher m = INCREMENTED.matcher(r.lines().get(0));
            assertTrue(m.matches(), r::toString);
            last = Math.max(last, Long.parseLong(m.group(1)));
        }
        // whichever committed last saw the final value
        assertEquals(60, last, () -> ra + "\n" + rb);
        assertEquals(List.of("60"), ok("get", "/config/app/counter").lines());
        assertEquals("60\n", ctl.ok("get", "/config/app/counter", "--print-value-only"));
    }

    /** What one run of the script did. */
    record Result(int exitCode, String stdout, String stderr) {

        List<String> lines() {
            return stdout.isEmpty() ? List.of() : Arrays.asList(stdout.split("\n"));
        }

        @Override
        public String toString() {
            return "exit " + exitCode + "\n--- stdout ---\n" + stdout + "--- stderr ---\n" + stderr;
        }
    }

    /** The script running in the background, its output going to files. */
    record Running(Process process, Path out, Path err) {

        Result finish() throws IOException, InterruptedException {
            try {
                int code = -1;
                if (process.waitFor(120, TimeUnit.SECONDS)) {
                    code = process.exitValue();
                } else {
                    process.destroyForcibly();
                    process.waitFor(5, TimeUnit.SECONDS);
                }
                return new Result(code, Files.readString(out), Files.readString(err));
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        }
    }

    /** {@code examples/config-app/run --url <the member's JDBC URL> args...}, started. */
    private Running start(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(RUN.toString(), "--url", cluster.jdbcUrl()));
        cmd.addAll(Arrays.asList(args));
        Path out = Files.createTempFile("config-app", ".out");
        Path err = Files.createTempFile("config-app", ".err");
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().keySet().removeIf(k -> k.startsWith("ETCSQL_JDBC_"));
        pb.redirectOutput(out.toFile());
        pb.redirectError(err.toFile());
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        return new Running(pb.start(), out, err);
    }

    private Result run(String... args) {
        try {
            return start(args).finish();
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + RUN, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Runs the script and asserts it exits 0. */
    private Result ok(String... args) {
        Result r = run(args);
        assertEquals(0, r.exitCode(), () -> "run " + String.join(" ", args) + ": " + r);
        return r;
    }
}
