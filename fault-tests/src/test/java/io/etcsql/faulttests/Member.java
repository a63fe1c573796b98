package io.etcsql.faulttests;

import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One member as a real {@code bin/etcsql} process (a small copy of server's it.ServerProcess). stdout+stderr are
 * appended to {@code <dir>/nI.log}; ETCSQL_JAVA_OPTS carries the member's own hosts file.
 */
final class Member {

    final int index; // 1-based: member nI
    final String name;
    final int clientPort;
    final int realPeerPort; // where it binds (127.0.0.1)
    final int advertisedPeerPort; // the port in its nI URL, served by the proxies 127.0.k.I
    private final Path logFile;
    private final Path workDir;
    private final List<String> command;
    private final Map<String, String> env;
    private volatile Process process;
    private volatile boolean paused;
    private int starts;

    Member(int index, Path dir, int clientPort, int realPeerPort, int advertisedPeerPort, List<String> flags,
           Map<String, String> env) {
        this.index = index;
        this.name = "n" + index;
        this.clientPort = clientPort;
        this.realPeerPort = realPeerPort;
        this.advertisedPeerPort = advertisedPeerPort;
        this.logFile = dir.resolve(name + ".log");
        this.workDir = dir.resolve(name + ".cwd");
        List<String> cmd = new ArrayList<>();
        cmd.add(FaultCluster.home().resolve("bin/etcsql").toString());
        cmd.addAll(flags);
        this.command = List.copyOf(cmd);
        this.env = Map.copyOf(env);
    }

    Path logFile() {
        return logFile;
    }

    String clientUrl() {
        return "http://127.0.0.1:" + clientPort;
    }

    synchronized void start() {
        if (isAlive()) {
            throw new IllegalStateException(name + " is already running");
        }
        try {
            Files.createDirectories(workDir);
            starts++;
            Files.writeString(logFile, "\n===== start #" + starts + " at " + java.time.Instant.now() + ": " + env + " "
                            + String.join(" ", command) + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
            ProcessBuilder pb = new ProcessBuilder(command);
            pb.directory(workDir.toFile());
            pb.redirectErrorStream(true);
            pb.redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
            pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            pb.environment().keySet().removeIf(k -> k.startsWith("ETCD"));
            pb.environment().putAll(env);
            paused = false;
            process = pb.start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start " + name + ": " + command, e);
        }
    }

    boolean isAlive() {
        Process p = process;
        return p != null && p.isAlive();
    }

    boolean isPaused() {
        return paused;
    }

    /** Alive and not SIGSTOPped. */
    boolean isUp() {
        return isAlive() && !paused;
    }

    long pid() {
        return process.pid();
    }

    /** SIGKILL and wait until it is gone. */
    void kill() {
        Process p = process;
        if (p == null || !p.isAlive()) {
            return;
        }
        signal(p, "KILL");
        waitGone(p, 10);
        if (p.isAlive()) {
            p.destroyForcibly();
            waitGone(p, 10);
        }
        paused = false;
    }

    /** SIGTERM, then SIGKILL after {@code graceSeconds}. */
    void stop(int graceSeconds) {
        Process p = process;
        if (p == null || !p.isAlive()) {
            return;
        }
        if (paused) {
            resume();
        }
        p.destroy();
        waitGone(p, graceSeconds);
        if (p.isAlive()) {
            kill();
        }
    }

    void pause() {
        Process p = process;
        if (p != null && p.isAlive()) {
            signal(p, "STOP");
            paused = true;
        }
    }

    void resume() {
        Process p = process;
        if (p != null && p.isAlive()) {
            signal(p, "CONT");
        }
        paused = false;
    }

    private static void signal(Process p, String sig) {
        try {
            Process k = new ProcessBuilder("kill", "-" + sig, Long.toString(p.pid())).redirectErrorStream(true).start();
            if (!k.waitFor(10, TimeUnit.SECONDS)) {
                k.destroyForcibly();
            }
        } catch (IOException e) {
            throw new IllegalStateException("kill -" + sig + " " + p.pid(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void waitGone(Process p, int seconds) {
        try {
            p.waitFor(seconds, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    long logSize() {
        try {
            return Files.exists(logFile) ? Files.size(logFile) : 0;
        } catch (IOException e) {
            return 0;
        }
    }

    /** The log from byte {@code from} on (at most the last 8 MiB of it). */
    byte[] logFrom(long from) {
        try (RandomAccessFile f = new RandomAccessFile(logFile.toFile(), "r")) {
            long len = f.length();
            long start = Math.max(from, len - 8L * 1024 * 1024);
            f.seek(start);
            byte[] b = new byte[(int) (len - start)];
            f.readFully(b);
            return b;
        } catch (IOException e) {
            return ("(cannot read " + logFile + ": " + e + ")\n").getBytes(StandardCharsets.UTF_8);
        }
    }

    String logTail(int lines) {
        String s = new String(logFrom(Math.max(0, logSize() - 32 * 1024)), StandardCharsets.UTF_8);
        String[] all = s.split("\n", -1);
        StringBuilder sb = new StringBuilder("----- tail of " + logFile + " -----\n");
        for (int i = Math.max(0, all.length - lines); i < all.length; i++) {
            sb.append(all[i]).append('\n');
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        Process p = process;
        return name + (p == null ? "" : "(pid " + p.pid() + (p.isAlive() ? (paused ? ", STOPPED" : "") : ", dead")
                + ")");
    }
}
