package io.etcsql.examples.cluster;

import io.etcsql.server.it.Etcdctl;
import io.etcsql.server.it.ServerProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * examples/cluster/cluster.sh as a user runs it: start three members, status, a write on one member
 * read on another, stop (every process gone), start again from the same data directories (the write
 * is still there), stop.
 */
class ClusterScriptIT {

    private static Path dir;
    private static final List<Integer> PORTS = new ArrayList<>();

    @BeforeAll
    static void pickPorts() throws IOException {
        Path root = Paths.get(System.getProperty("etcsql.it.workdir", System.getProperty("java.io.tmpdir")));
        Files.createDirectories(root);
        dir = Files.createTempDirectory(root, "cluster-script-");
        // each member takes P (client), P+1 (peer) and P+2 (SQL)
        while (PORTS.size() < 3) {
            int p = ServerProcess.freePort();
            if (free(p + 1) && free(p + 2) && PORTS.stream().noneMatch(q -> Math.abs(q - p) < 3)) {
                PORTS.add(p);
            }
        }
    }

    @AfterAll
    static void stopAnyway() throws Exception {
        if (dir != null) {
            script("stop");
        }
    }

    @Test
    void startStatusStopRestart() throws Exception {
        Result start = script("start");
        assertEquals(0, start.code, start.out);
        assertTrue(start.out.contains("cluster ready"), start.out);

        Result status = script("status");
        assertEquals(0, status.code, status.out);
        for (int i = 1; i <= 3; i++) {
            assertTrue(status.out.contains("m" + i + " running"), status.out);
            assertTrue(status.out.contains("| started |   m" + i + " |"), status.out);
        }
        // etcdctl's endpoint status table: exactly one member says IS LEADER true
        long leaders = status.out.lines()
                .filter(l -> l.startsWith("| 127.0.0.1:"))
                .filter(l -> l.split("\\|")[5].trim().equals("true"))
                .count();
        assertEquals(1, leaders, status.out);

        Etcdctl first = new Etcdctl("127.0.0.1:" + PORTS.get(0));
        Etcdctl third = new Etcdctl("127.0.0.1:" + PORTS.get(2));
        assertEquals("OK", first.ok("put", "/example/cluster", "written-on-m1").trim());
        assertEquals("written-on-m1", third.ok("get", "/example/cluster", "--print-value-only").trim());

        List<Long> pids = pids();
        Result stop = script("stop");
        assertEquals(0, stop.code, stop.out);
        for (int i = 1; i <= 3; i++) {
            assertTrue(stop.out.contains("m" + i + " stopped"), stop.out);
        }
        for (long pid : pids) {
            assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "pid " + pid + " still alive");
        }
        Result down = script("status");
        assertNotEquals(0, down.code, down.out);
        assertTrue(down.out.contains("m1 not running"), down.out);

        // again from the same data directories: the members rejoin as the same cluster, data intact
        Result again = script("start");
        assertEquals(0, again.code, again.out);
        assertEquals("written-on-m1", first.ok("get", "/example/cluster", "--print-value-only").trim());
        Result stopAgain = script("stop");
        assertEquals(0, stopAgain.code, stopAgain.out);
    }

    private static List<Long> pids() throws IOException {
        List<Long> pids = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            pids.add(Long.parseLong(Files.readString(dir.resolve("m" + i + ".pid")).trim()));
        }
        return pids;
    }

    private record Result(int code, String out) {
    }

    private static Result script(String command) throws Exception {
        Path sh = ServerProcess.home().resolve("examples/cluster/cluster.sh");
        ProcessBuilder pb = new ProcessBuilder(sh.toString(), command).redirectErrorStream(true);
        pb.environment().put("CLUSTER_DIR", dir.toString());
        pb.environment().put("CLUSTER_PORTS", PORTS.get(0) + " " + PORTS.get(1) + " " + PORTS.get(2));
        pb.environment().put("CLUSTER_TOKEN", dir.getFileName().toString());
        pb.environment().put("ETCDCTL", Etcdctl.ETCDCTL);
        pb.environment().put("ETCDCTL_API", "3");
        // the members outlive the script: their output goes to their logs, so this pipe closes when the script ends
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("cluster.sh " + command + " did not finish in 120 s");
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    private static boolean free(int port) {
        try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
