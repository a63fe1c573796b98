package io.etcsql.examples.registry;

import io.etcsql.server.it.Cluster;
import io.etcsql.server.it.DumpLogsOnFailure;
import io.etcsql.server.it.Etcdctl;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs the example the way a user does, through its {@code run} script, against one real member: a discoverer and two
 * registrars (TTL 3 s) as separate JVMs. Checks what they print, and the keys with the real etcdctl: both instances
 * come up and exactly one leads; SIGKILL on the leader makes its entry go when its lease expires and hands
 * leadership to the other; SIGTERM on the other revokes its lease, so its entry goes at once.
 */
@ExtendWith(DumpLogsOnFailure.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RegistryAppIT {

    static final Path RUN = Paths.get(System.getProperty("etcsql.home", "../..")).toAbsolutePath().normalize()
            .resolve("examples/service-registry/run");
    static final long TTL_SECONDS = 3;
    /** A JVM with jetcd takes a few seconds to start on a busy 2-core machine. */
    static final Duration START = Duration.ofSeconds(30);

    static Cluster cluster;
    final List<App> apps = new ArrayList<>();

    @BeforeAll
    static void startCluster() {
        cluster = Cluster.start(1);
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @AfterEach
    void killApps() {
        for (App a : apps) {
            a.kill();
        }
    }

    @Test
    void registerDiscoverAndFailOver() throws InterruptedException {
        String endpoint = cluster.endpoints()[0];
        App discover = start("discover", "discover", "--service", "web", "--endpoints", endpoint);
        // registering only once the watch is set up shows the instances arriving as events, not in the first get
        discover.await(0, "watching /services/web/ from revision \\d+", START);

        // one after the other: two JVMs starting at once on a busy machine could take longer than a 2 s TTL to
        // send their first keep-alive
        App a1 = start("a1", "register", "--service", "web", "--id", "a1", "--addr", "127.0.0.1:8081",
                "--ttl", Long.toString(TTL_SECONDS), "--endpoints", endpoint);
        String lease1 = a1.await(0, "registered a1 lease=([0-9a-f]+)", START).group(1);
        App a2 = start("a2", "register", "--service", "web", "--id", "a2", "--addr", "127.0.0.1:8082",
                "--ttl", Long.toString(TTL_SECONDS), "--endpoints", endpoint);
        String lease2 = a2.await(0, "registered a2 lease=([0-9a-f]+)", START).group(1);
        discover.await(0, "up a1 127\\.0\\.0\\.1:8081", START);
        discover.await(0, "up a2 127\\.0\\.0\\.1:8082", START);

        // exactly one wins the election; the other keeps campaigning
        App leader = awaitLeader(a1, a2);
        App other = leader == a1 ? a2 : a1;
        String otherLease = other == a1 ? lease1 : lease2;
        discover.await(0, "leader is " + leader.name, START);
        Thread.sleep(1000);
        assertEquals(List.of(), other.matching("leader: .*"), "two leaders:\n" + other.transcript());
        assertEquals(1, leader.matching("leader: .*").size(), leader.transcript());

        // what etcdctl sees: the two entries, and two candidates in the election, the leader's created first
        assertEquals(List.of("/services/web/a1", "127.0.0.1:8081", "/services/web/a2", "127.0.0.1:8082"),
                ctl("get", "/services/web/", "--prefix"));
        assertEquals(List.of(leader.name, other.name),
                ctl("get", "/election/web/", "--prefix", "--sort-by=CREATE", "--order=ASCEND", "--print-value-only"));

        // SIGKILL: no shutdown hook runs, so the entry and the leadership go only when the lease expires
        int mark = discover.mark();
        long killed = System.nanoTime();
        leader.kill();
        Duration fewTtls = Duration.ofSeconds(5 * TTL_SECONDS);
        Line down = discover.awaitLine(mark, "down " + leader.name, fewTtls);
        other.await(0, "leader: " + other.name, fewTtls);
        discover.await(mark, "leader is " + other.name, fewTtls);
        System.out.printf("down %s %d ms after SIGKILL (TTL %d s)%n", leader.name,
                (down.nanos - killed) / 1_000_000, TTL_SECONDS);
        assertEquals(List.of("/services/web/" + other.name, other == a1 ? "127.0.0.1:8081" : "127.0.0.1:8082"),
                ctl("get", "/services/web/", "--prefix"));
        assertEquals(List.of(other.name), ctl("get", "/election/web/", "--prefix", "--print-value-only"));

        // SIGTERM: the shutdown hook resigns and revokes; a revoke that succeeds means the lease had not expired,
        // and the entry goes within the TTL, not after it
        mark = discover.mark();
        long terminated = System.nanoTime();
        other.terminate();
        other.await(0, "resigned " + other.name, START);
        other.await(0, "revoked lease=" + otherLease, START);
        down = discover.awaitLine(mark, "down " + other.name, Duration.ofSeconds(TTL_SECONDS * 5));
        long downMs = (down.nanos - terminated) / 1_000_000;
        System.out.printf("down %s %d ms after SIGTERM (TTL %d s)%n", other.name, downMs, TTL_SECONDS);
        assertTrue(downMs < TTL_SECONDS * 1000, "down came " + downMs + " ms after SIGTERM, not before the TTL");
        assertEquals(143, other.waitExit(START), "exit code after SIGTERM\n" + other.transcript());
        assertEquals(List.of(), ctl("get", "/services/web/", "--prefix"));
        assertEquals(List.of(), ctl("get", "/election/web/", "--prefix"));

        // discover saw every change exactly once, and nothing else
        assertEquals(1, discover.matching("up a1 .*").size(), discover.transcript());
        assertEquals(1, discover.matching("up a2 .*").size(), discover.transcript());
        assertEquals(1, discover.matching("down a1").size(), discover.transcript());
        assertEquals(1, discover.matching("down a2").size(), discover.transcript());
        assertEquals(List.of("leader is " + leader.name, "leader is " + other.name),
                discover.matching("leader is .*"), discover.transcript());
        assertTrue(discover.process.isAlive(), "discover exited\n" + discover.transcript());
    }

    /** Waits until one of the registrars prints "leader: ..." and returns it. */
    App awaitLeader(App... candidates) throws InterruptedException {
        long deadline = System.nanoTime() + START.toNanos();
        while (System.nanoTime() < deadline) {
            for (App a : candidates) {
                if (!a.matching("leader: " + a.name).isEmpty()) {
                    return a;
                }
            }
            Thread.sleep(50);
        }
        StringBuilder sb = new StringBuilder("no registrar became leader within " + START);
        for (App a : candidates) {
            sb.append('\n').append(a.transcript());
        }
        throw new AssertionError(sb);
    }

    /** etcdctl's stdout lines; it must succeed. */
    static List<String> ctl(String... args) {
        Etcdctl.Result r = cluster.ctl().run(args);
        assertTrue(r.ok(), () -> "etcdctl " + String.join(" ", args) + ": " + r);
        return r.lines();
    }

    App start(String name, String... args) {
        App a = new App(name, args);
        apps.add(a);
        return a;
    }

    /** A stdout line and when it was read. */
    record Line(String text, long nanos) {
    }

    /**
     * One run of the example's {@code run} script. The script execs java, so {@link #process} is the JVM itself and
     * signals reach it directly. Stdout lines are collected (and echoed to the test's output) as they come; stderr
     * goes to a file in the work directory.
     */
    static final class App {
        final String name;
        final Process process;
        final Path errFile;
        private final List<Line> lines = new ArrayList<>();

        App(String name, String... args) {
            this.name = name;
            List<String> cmd = new ArrayList<>();
            cmd.add(RUN.toString());
            cmd.addAll(List.of(args));
            try {
                Path dir = Paths.get(System.getProperty("etcsql.it.workdir", System.getProperty("java.io.tmpdir")));
                Files.createDirectories(dir);
                errFile = dir.resolve("registry-" + name + ".err");
                ProcessBuilder pb = new ProcessBuilder(cmd);
                // --endpoints is given; an inherited ETCDCTL_ENDPOINTS must not matter
                pb.environment().keySet().removeIf(k -> k.startsWith("ETCDCTL"));
                pb.redirectError(errFile.toFile());
                pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
                process = pb.start();
            } catch (IOException e) {
                throw new IllegalStateException("cannot run " + cmd, e);
            }
            Thread t = new Thread(this::read, "stdout-" + name);
            t.setDaemon(true);
            t.start();
        }

        private void read() {
            try (BufferedReader r = new BufferedReader(
                    new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String l;
                while ((l = r.readLine()) != null) {
                    System.out.println("[" + name + "] " + l);
                    synchronized (this) {
                        lines.add(new Line(l, System.nanoTime()));
                        notifyAll();
                    }
                }
            } catch (IOException ignored) {
                // killed
            }
        }

        /** The number of lines so far: {@link #await} from it sees only what comes later. */
        synchronized int mark() {
            return lines.size();
        }

        /** Waits for a line from index {@code from} on that matches {@code regex} entirely. */
        synchronized Line awaitLine(int from, String regex, Duration timeout) {
            Pattern p = Pattern.compile(regex);
            long deadline = System.nanoTime() + timeout.toNanos();
            int i = from;
            while (true) {
                for (; i < lines.size(); i++) {
                    if (p.matcher(lines.get(i).text).matches()) {
                        return lines.get(i);
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError("no line \"" + regex + "\" within " + timeout + "\n" + transcript());
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(this, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AssertionError(e);
                }
            }
        }

        /** Same, returning the match (for its groups). */
        Matcher await(int from, String regex, Duration timeout) {
            Matcher m = Pattern.compile(regex).matcher(awaitLine(from, regex, timeout).text);
            assertTrue(m.matches());
            return m;
        }

        /** Every line so far that matches {@code regex} entirely. */
        synchronized List<String> matching(String regex) {
            Pattern p = Pattern.compile(regex);
            return lines.stream().map(Line::text).filter(l -> p.matcher(l).matches()).toList();
        }

        /** Stdout and stderr so far, for failure messages. */
        synchronized String transcript() {
            StringBuilder sb = new StringBuilder("----- " + name + " (" + (process.isAlive() ? "running"
                    : "exit " + process.exitValue()) + ") stdout -----\n");
            lines.forEach(l -> sb.append(l.text).append('\n'));
            sb.append("----- ").append(name).append(" stderr -----\n");
            try {
                sb.append(Files.readString(errFile));
            } catch (IOException e) {
                sb.append("(").append(e).append(")");
            }
            return sb.toString();
        }

        Integer waitExit(Duration d) {
            try {
                return process.waitFor(d.toMillis(), TimeUnit.MILLISECONDS) ? process.exitValue() : null;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }

        /**
         * SIGTERM, through the ProcessHandle: Process.destroy() would also close our end of its stdout, and we want
         * to read what the shutdown hook prints.
         */
        void terminate() {
            process.toHandle().destroy();
        }

        /** SIGKILL (the JVM: no shutdown hook), and wait until it is gone. */
        void kill() {
            process.destroyForcibly();
            waitExit(Duration.ofSeconds(10));
        }
    }
}
