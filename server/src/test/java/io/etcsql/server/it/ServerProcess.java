package io.etcsql.server.it;

import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * One cluster member running as a real OS process: {@code bin/etcsql <etcd flags>} (target "etcsql") or
 * {@code /usr/bin/etcd <same flags>} (target "etcd"). Its stdout and stderr are appended to
 * {@code <baseDir>/<name>.log}; its data lives in {@code <baseDir>/<name>.etcd}. Only 127.0.0.1 is used.
 */
public final class ServerProcess {

    /** "etcsql" (default) or "etcd": system property {@code etcsql.it.target}. */
    public static String target() {
        String t = System.getProperty("etcsql.it.target", "etcsql").trim();
        if (t.isEmpty()) {
            t = "etcsql";
        }
        if (!t.equals("etcsql") && !t.equals("etcd")) {
            throw new IllegalArgumentException("etcsql.it.target must be etcsql or etcd, not " + t);
        }
        return t;
    }

    public static boolean targetIsEtcd() {
        return target().equals("etcd");
    }

    /** Root of the etcsql source tree (where bin/etcsql is): system property {@code etcsql.home}. */
    public static Path home() {
        String h = System.getProperty("etcsql.home");
        if (h != null && !h.isBlank()) {
            return Paths.get(h).toAbsolutePath().normalize();
        }
        // Fallback when run from an IDE: walk up from the working directory looking for bin/etcsql.
        Path p = Paths.get("").toAbsolutePath();
        for (Path q = p; q != null; q = q.getParent()) {
            if (Files.isRegularFile(q.resolve("bin/etcsql"))) {
                return q;
            }
        }
        return p;
    }

    /** How long a fresh start may take before the member answers: a JVM needs longer than etcd. */
    public static Duration defaultStartTimeout() {
        return targetIsEtcd() ? Duration.ofSeconds(30) : Duration.ofSeconds(60);
    }

    private static final Set<Integer> HANDED_OUT = Collections.synchronizedSet(new HashSet<>());

    /** A free TCP port on 127.0.0.1, found by binding port 0; never the same one twice in this JVM. */
    public static int freePort() {
        for (int i = 0; i < 50; i++) {
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                s.setReuseAddress(true);
                int port = s.getLocalPort();
                if (HANDED_OUT.add(port)) {
                    return port;
                }
            } catch (IOException e) {
                throw new IllegalStateException("cannot find a free port", e);
            }
        }
        throw new IllegalStateException("cannot find a free port");
    }

    private final String name;
    private final Path baseDir;
    private final Path dataDir;
    private final Path logFile;
    private final Path workDir;
    private final int clientPort;
    private final int peerPort;
    private volatile List<String> flags;
    private volatile Map<String, String> extraEnv = Map.of();
    private volatile Process process;
    private int starts;

    /**
     * @param baseDir    directory for this member's data dir and log
     * @param clientPort client port on 127.0.0.1
     * @param peerPort   peer port on 127.0.0.1
     * @param flags      the etcd flags, exactly as they would be given to etcd
     */
    public ServerProcess(String name, Path baseDir, int clientPort, int peerPort, List<String> flags) {
        this.name = name;
        this.baseDir = baseDir;
        this.dataDir = baseDir.resolve(name + ".etcd");
        this.logFile = baseDir.resolve(name + ".log");
        this.workDir = baseDir.resolve(name + ".cwd");
        this.clientPort = clientPort;
        this.peerPort = peerPort;
        this.flags = List.copyOf(flags);
    }

    /** The usual flags of one member of a cluster whose --initial-cluster is {@code initialCluster}. */
    public static List<String> memberFlags(String name, Path dataDir, int clientPort, int peerPort,
                                           String initialCluster, String token, List<String> extra) {
        List<String> f = new ArrayList<>();
        f.add("--name");
        f.add(name);
        f.add("--data-dir");
        f.add(dataDir.toString());
        f.add("--listen-client-urls");
        f.add("http://127.0.0.1:" + clientPort);
        f.add("--advertise-client-urls");
        f.add("http://127.0.0.1:" + clientPort);
        f.add("--listen-peer-urls");
        f.add("http://127.0.0.1:" + peerPort);
        f.add("--initial-advertise-peer-urls");
        f.add("http://127.0.0.1:" + peerPort);
        f.add("--initial-cluster");
        f.add(initialCluster);
        f.add("--initial-cluster-state");
        f.add("new");
        f.add("--initial-cluster-token");
        f.add(token);
        f.addAll(extra);
        return f;
    }

    public String name() {
        return name;
    }

    public Path dataDir() {
        return dataDir;
    }

    public Path logFile() {
        return logFile;
    }

    public int clientPort() {
        return clientPort;
    }

    public int peerPort() {
        return peerPort;
    }

    public String clientEndpoint() {
        return "http://127.0.0.1:" + clientPort;
    }

    public String peerUrl() {
        return "http://127.0.0.1:" + peerPort;
    }

    public List<String> flags() {
        return flags;
    }

    /** Replace the flags used by the next {@link #start()} (e.g. to add one). */
    public void setFlags(List<String> newFlags) {
        this.flags = List.copyOf(newFlags);
    }

    /**
     * Extra environment variables for the next {@link #start()}. They are added after the caller's {@code ETCD*}
     * variables are removed, so {@code ETCD_*} variables given here do reach the member (e.g. to configure it
     * through {@code ETCD_NAME}, {@code ETCD_DATA_DIR}, ... instead of flags).
     */
    public void setEnv(Map<String, String> env) {
        this.extraEnv = Map.copyOf(env);
    }

    public Map<String, String> env() {
        return extraEnv;
    }

    /** The command line that starts this member. */
    public List<String> command() {
        List<String> cmd = new ArrayList<>();
        if (targetIsEtcd()) {
            cmd.add(System.getProperty("etcsql.it.etcd", "/usr/bin/etcd"));
        } else {
            cmd.add(home().resolve("bin/etcsql").toString());
        }
        cmd.addAll(flags);
        if (!targetIsEtcd() && flags.stream().noneMatch(f -> f.startsWith("--listen-sql-urls"))) {
            // members on one machine would all take the default SQL port; SQL tests give their own
            cmd.add("--listen-sql-urls=");
        }
        return cmd;
    }

    /** Starts the process (does not wait for it to serve; see {@link #waitReady}). */
    public synchronized ServerProcess start() {
        if (isAlive()) {
            throw new IllegalStateException(name + " is already running (pid " + pid() + ")");
        }
        try {
            Files.createDirectories(baseDir);
            Files.createDirectories(workDir);
            starts++;
            Map<String, String> env = extraEnv;
            String envShown = env.isEmpty() ? "" : new java.util.TreeMap<>(env).entrySet().stream()
                    .map(e -> e.getKey() + "=" + e.getValue() + " ").collect(java.util.stream.Collectors.joining());
            Files.writeString(logFile, "\n===== start #" + starts + ": " + envShown + String.join(" ", command())
                            + "\n",
                    StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE,
                    java.nio.file.StandardOpenOption.APPEND);
            ProcessBuilder pb = new ProcessBuilder(command());
            pb.directory(workDir.toFile());
            pb.redirectErrorStream(true);
            pb.redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
            pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            // Neither ETCD_* nor ETCDCTL_* variables of the caller may change the member's configuration.
            pb.environment().keySet().removeIf(k -> k.startsWith("ETCD"));
            pb.environment().putAll(env);
            String javaOpts = System.getProperty("etcsql.it.javaOpts");
            if (javaOpts != null && !javaOpts.isBlank()) {
                pb.environment().put("ETCSQL_JAVA_OPTS", javaOpts);
            }
            process = pb.start();
            return this;
        } catch (IOException e) {
            throw new IllegalStateException("cannot start " + name + ": " + command(), e);
        }
    }

    public boolean isAlive() {
        Process p = process;
        return p != null && p.isAlive();
    }

    public long pid() {
        Process p = process;
        if (p == null) {
            throw new IllegalStateException(name + " was never started");
        }
        return p.pid();
    }

    /**
     * Waits until the member answers {@code etcdctl endpoint health} (a linearizable read, so it also needs a
     * leader). Fails early if the process exits.
     */
    public ServerProcess waitReady(Duration timeout) {
        return waitReady(timeout, new String[0]);
    }

    /** As {@link #waitReady(Duration)}, the health check run with {@code ctlArgs} (credentials, say). */
    public ServerProcess waitReady(Duration timeout, String... ctlArgs) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Etcdctl ctl = new Etcdctl(clientEndpoint());
        Etcdctl.Result last = null;
        while (System.nanoTime() < deadline) {
            if (!isAlive()) {
                throw new AssertionError(name + " exited with code " + exitCode() + " before it was ready\n"
                        + logTail(60));
            }
            List<String> args = new java.util.ArrayList<>(List.of(ctlArgs));
            args.addAll(List.of("--dial-timeout=1s", "--command-timeout=2s", "endpoint", "health"));
            last = ctl.run(Duration.ofSeconds(10), null, args.toArray(String[]::new));
            if (last.exitCode() == 0) {
                return this;
            }
            sleep(200);
        }
        throw new AssertionError(name + " not ready after " + timeout + "; last health check: " + last + "\n"
                + logTail(60));
    }

    public ServerProcess waitReady() {
        return waitReady(defaultStartTimeout());
    }

    /** The exit code of the last run, or null while it runs (or if it was never started). */
    public Integer exitCode() {
        Process p = process;
        if (p == null || p.isAlive()) {
            return null;
        }
        return p.exitValue();
    }

    /** SIGKILL, and wait until the process is gone. */
    public void kill() {
        Process p = process;
        if (p == null || !p.isAlive()) {
            return;
        }
        signal("KILL"); // same as p.destroyForcibly() on Unix, but explicit
        waitGone(p, Duration.ofSeconds(10));
        if (p.isAlive()) {
            p.destroyForcibly();
            waitGone(p, Duration.ofSeconds(10));
        }
    }

    /** SIGTERM; waits up to {@code grace} and then SIGKILLs. Returns the exit code (null if it had to be killed). */
    public Integer stop(Duration grace) {
        Process p = process;
        if (p == null || !p.isAlive()) {
            return exitCode();
        }
        p.destroy(); // SIGTERM
        waitGone(p, grace);
        if (p.isAlive()) {
            kill();
            return null;
        }
        return p.exitValue();
    }

    public Integer stop() {
        return stop(Duration.ofSeconds(15));
    }

    /** SIGSTOP: the process freezes (sockets stay open, nothing answers). */
    public void pause() {
        signal("STOP");
    }

    /** SIGCONT. */
    public void resume() {
        signal("CONT");
    }

    /** Starts again with the same flags and data dir, after a kill or stop. */
    public ServerProcess restart() {
        if (isAlive()) {
            kill();
        }
        return start();
    }

    private void signal(String sig) {
        long pid = pid();
        try {
            Process k = new ProcessBuilder("kill", "-" + sig, Long.toString(pid)).redirectErrorStream(true).start();
            if (!k.waitFor(10, TimeUnit.SECONDS)) {
                k.destroyForcibly();
                throw new IllegalStateException("kill -" + sig + " " + pid + " did not finish");
            }
        } catch (IOException e) {
            throw new IllegalStateException("kill -" + sig + " " + pid, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static void waitGone(Process p, Duration d) {
        try {
            p.waitFor(d.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The last {@code lines} lines of this member's log (all its starts). */
    public String logTail(int lines) {
        if (!Files.exists(logFile)) {
            return "(no log " + logFile + ")";
        }
        try (RandomAccessFile f = new RandomAccessFile(logFile.toFile(), "r")) {
            long len = f.length();
            long from = Math.max(0, len - 64 * 1024);
            f.seek(from);
            byte[] b = new byte[(int) (len - from)];
            f.readFully(b);
            String s = new String(b, StandardCharsets.UTF_8);
            String[] all = s.split("\n", -1);
            int start = Math.max(0, all.length - lines);
            StringBuilder sb = new StringBuilder("----- tail of " + logFile + " -----\n");
            for (int i = start; i < all.length; i++) {
                sb.append(all[i]).append('\n');
            }
            return sb.toString();
        } catch (IOException e) {
            return "(cannot read " + logFile + ": " + e + ")";
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public String toString() {
        return name + "(" + clientEndpoint() + (process == null ? "" : ", pid " + process.pid()
                + (isAlive() ? "" : ", exited")) + ")";
    }
}
