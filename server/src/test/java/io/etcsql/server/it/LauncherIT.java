package io.etcsql.server.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * The {@code bin/etcsql} launcher as a process supervisor or a user sees it: its PID is the server JVM (so signals
 * reach the server), SIGTERM is a clean shutdown, flag errors and {@code --version} look like etcd's, and a member
 * can be configured entirely through {@code ETCD_*} environment variables.
 *
 * <p>The JVM and "not supported yet" checks are etcsql-only (skipped with {@code -Detcsql.it.target=etcd}); the
 * others also run against etcd, which checks the expectations themselves.
 */
@ExtendWith(DumpLogsOnFailure.class)
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class LauncherIT {

    /** What a one-shot run of the server command printed (stdout and stderr together) and its exit code. */
    record Run(int exitCode, String output) {
    }

    /** Runs {@code bin/etcsql args} (or etcd) in a scratch directory, waiting at most 60 s. */
    static Run runCommand(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ServerProcess.targetIsEtcd() ? System.getProperty("etcsql.it.etcd", "/usr/bin/etcd")
                : ServerProcess.home().resolve("bin/etcsql").toString());
        cmd.addAll(Arrays.asList(args));
        Path root = Paths.get(System.getProperty("etcsql.it.workdir", System.getProperty("java.io.tmpdir")));
        Files.createDirectories(root);
        Path dir = Files.createTempDirectory(root, "launcher-");
        Path out = dir.resolve("out.txt");
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd);
            pb.directory(dir.toFile());
            pb.redirectErrorStream(true);
            pb.redirectOutput(out.toFile());
            pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            pb.environment().keySet().removeIf(k -> k.startsWith("ETCD"));
            String javaOpts = System.getProperty("etcsql.it.javaOpts");
            if (javaOpts != null && !javaOpts.isBlank()) {
                pb.environment().put("ETCSQL_JAVA_OPTS", javaOpts);
            }
            Process p = pb.start();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
                throw new AssertionError(cmd + " did not exit within 60 s; output:\n" + Files.readString(out));
            }
            return new Run(p.exitValue(), Files.readString(out));
        } finally {
            Cluster.deleteTree(dir);
        }
    }

    @Test
    void launcherPidIsTheJvm() throws Exception {
        assumeFalse(ServerProcess.targetIsEtcd(), "etcsql only: checks that bin/etcsql execs the JVM");
        try (Cluster cluster = Cluster.start(1)) {
            try {
                ServerProcess m = cluster.member(0);
                long pid = m.pid();
                byte[] raw = Files.readAllBytes(Paths.get("/proc/" + pid + "/cmdline"));
                List<String> argv = List.of(new String(raw, StandardCharsets.UTF_8).split("\0"));
                assertTrue(argv.get(0).endsWith("java"), "argv[0] of pid " + pid + " is the java binary: " + argv);
                assertTrue(argv.contains("io.etcsql.server.EtcsqlMain"), "pid " + pid + " runs EtcsqlMain: " + argv);
                String exe = Files.readSymbolicLink(Paths.get("/proc/" + pid + "/exe")).toString();
                assertTrue(exe.endsWith("/java"), "/proc/" + pid + "/exe is java, not a shell: " + exe);
                // and it has no child JVM (the shell did not fork one)
                assertEquals(0, ProcessHandle.of(pid).orElseThrow().children().count(), "no child processes");
            } catch (Throwable t) {
                cluster.onFailure(t);
                throw t;
            }
        }
    }

    @Test
    void sigtermExitsCleanlyAndDataSurvives() {
        try (Cluster cluster = Cluster.start(1)) {
            try {
                ServerProcess m = cluster.member(0);
                assertEquals("OK\n", cluster.ctl().ok("put", "term/k", "before SIGTERM"));
                long t0 = System.nanoTime();
                Integer code = m.stop(Duration.ofSeconds(10));
                long ms = (System.nanoTime() - t0) / 1_000_000;
                System.out.println("SIGTERM: exited with " + code + " after " + ms + " ms");
                assertTrue(code != null, "the member did not exit within 10 s of SIGTERM (it was SIGKILLed)");
                assertTrue(code == 0 || code == 143, "exit code after SIGTERM: " + code);

                m.restart().waitReady();
                assertEquals("term/k\nbefore SIGTERM\n", cluster.ctl().ok("get", "term/k"));
                assertEquals("OK\n", cluster.ctl().ok("put", "term/k2", "after restart"));
            } catch (Throwable t) {
                cluster.onFailure(t);
                throw t;
            }
        }
    }

    @Test
    void unsupportedFlagIsRefused() throws Exception {
        assumeFalse(ServerProcess.targetIsEtcd(), "etcsql only: etcd supports --enable-pprof");
        Run r = runCommand("--enable-pprof");
        assertNotEquals(0, r.exitCode(), r.output());
        assertTrue(r.output().contains("etcsql: flag --enable-pprof is not supported yet"), r.output());
    }

    @Test
    void unknownFlagIsRefusedLikeEtcd() throws Exception {
        Run r = runCommand("--bogus");
        assertEquals(2, r.exitCode(), r.output());
        assertTrue(r.output().startsWith("flag provided but not defined: -bogus\n"), r.output());
    }

    @Test
    void versionLooksLikeEtcd() throws Exception {
        Run r = runCommand("--version");
        assertEquals(0, r.exitCode(), r.output());
        assertTrue(r.output().startsWith("etcd Version: 3.4."), r.output());
        assertTrue(r.output().lines().anyMatch(l -> l.startsWith("Go OS/Arch: ")), r.output());
    }

    @Test
    void configuredThroughEtcdEnvironmentVariables() {
        Cluster cluster = Cluster.create(1, List.of());
        try (cluster) {
            try {
                ServerProcess m = cluster.member(0);
                Map<String, String> env = new LinkedHashMap<>();
                env.put("ETCD_NAME", m.name());
                env.put("ETCD_DATA_DIR", m.dataDir().toString());
                env.put("ETCD_LISTEN_CLIENT_URLS", m.clientEndpoint());
                env.put("ETCD_ADVERTISE_CLIENT_URLS", m.clientEndpoint());
                env.put("ETCD_LISTEN_PEER_URLS", m.peerUrl());
                env.put("ETCD_INITIAL_ADVERTISE_PEER_URLS", m.peerUrl());
                env.put("ETCD_INITIAL_CLUSTER", m.name() + "=" + m.peerUrl());
                m.setFlags(List.of()); // no flags at all: everything comes from the environment
                m.setEnv(env);
                m.start().waitReady();

                // (polled: see memberListShowsTheNameAsSoonAsTheMemberAnswers for the race this tolerates)
                String list = awaitStartedMemberList(cluster, m, Duration.ofSeconds(10));
                assertTrue(list.matches("[0-9a-f]+, started, " + m.name() + ", \\Q" + m.peerUrl() + ", "
                        + m.clientEndpoint() + "\\E, false\n"), list);
                assertEquals("OK\n", cluster.ctl().ok("put", "env/k", "v"));
                assertEquals("env/k\nv\n", cluster.ctl().ok("get", "env/k"));
                assertTrue(Files.isDirectory(m.dataDir()), "ETCD_DATA_DIR " + m.dataDir() + " was created");
                Path cwdDefault = cluster.baseDir().resolve(m.name() + ".cwd").resolve("default.etcd");
                assertTrue(!Files.exists(cwdDefault), "no default data dir in the working directory: " + cwdDefault);
            } catch (Throwable t) {
                cluster.onFailure(t);
                throw t;
            }
        }
    }

    /** {@code etcdctl member list}, polled (bounded) until it shows the member as started with its name. */
    static String awaitStartedMemberList(Cluster cluster, ServerProcess m, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        String list = null;
        while (System.nanoTime() < deadline) {
            list = cluster.ctl().ok("member", "list");
            if (list.contains(", started, " + m.name() + ", ")) {
                return list;
            }
            ServerProcess.sleep(200);
        }
        return list;
    }

    /**
     * etcd serves clients only after it has published its name and client URLs through Raft, so as soon as a fresh
     * member answers at all, {@code member list} shows it as started with its name. (Three fresh members in a row,
     * since a race does not show every time.)
     */
    @Test
    void memberListShowsTheNameAsSoonAsTheMemberAnswers() {
        for (int round = 0; round < 3; round++) {
            try (Cluster cluster = Cluster.start(1)) {
                try {
                    ServerProcess m = cluster.member(0);
                    String list = cluster.ctl().ok("member", "list");
                    assertTrue(list.matches("[0-9a-f]+, started, " + m.name() + ", \\Q" + m.peerUrl() + ", "
                            + m.clientEndpoint() + "\\E, false\n"), "round " + round + ": " + list);
                } catch (Throwable t) {
                    cluster.onFailure(t);
                    throw t;
                }
            }
        }
    }
}
