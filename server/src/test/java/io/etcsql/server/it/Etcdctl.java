package io.etcsql.server.it;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Runs the real {@code /usr/bin/etcdctl} (API v3) against some endpoints and captures exit code, stdout and stderr.
 */
public final class Etcdctl {

    public static final String ETCDCTL = System.getProperty("etcsql.it.etcdctl", "/usr/bin/etcdctl");
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

    private final String endpoints;
    /** Global flags given to every run (e.g. --cacert for https endpoints). */
    private final List<String> flags;

    /** @param endpoints one or more client URLs ("http://127.0.0.1:P"), joined with commas */
    public Etcdctl(String... endpoints) {
        this(List.of(), endpoints);
    }

    /** etcdctl with {@code flags} before each command's arguments (e.g. {@code --cacert=ca.pem}). */
    public Etcdctl(List<String> flags, String... endpoints) {
        this.endpoints = String.join(",", endpoints);
        this.flags = List.copyOf(flags);
    }

    public String endpoints() {
        return endpoints;
    }

    /** What one etcdctl run did. */
    public record Result(int exitCode, String stdout, String stderr) {

        /**
         * stderr without the client library's JSON log lines ({"level":"warn",...,"msg":"retrying of unary invoker
         * failed",...}), which carry timestamps and random ids; what is left is what etcdctl itself printed, such
         * as {@code Error: etcdserver: key not found}.
         */
        public String err() {
            return Arrays.stream(stderr.split("\n"))
                    .filter(l -> !l.startsWith("{\"level\""))
                    .filter(l -> !l.isEmpty())
                    .collect(Collectors.joining("\n"));
        }

        public List<String> lines() {
            if (stdout.isEmpty()) {
                return List.of();
            }
            String s = stdout.endsWith("\n") ? stdout.substring(0, stdout.length() - 1) : stdout;
            return List.of(s.split("\n", -1));
        }

        public boolean ok() {
            return exitCode == 0;
        }

        @Override
        public String toString() {
            String out = stdout.length() > 2000 ? stdout.substring(0, 2000) + "...(" + stdout.length() + " chars)"
                    : stdout;
            return "exit " + exitCode + "\n--- stdout ---\n" + out + "--- stderr ---\n" + stderr;
        }
    }

    /** {@code etcdctl --endpoints=... args}, no stdin. */
    public Result run(String... args) {
        return run(DEFAULT_TIMEOUT, null, args);
    }

    /** {@code etcdctl --endpoints=... args} with {@code stdin} fed to it (e.g. for txn). */
    public Result runWithInput(String stdin, String... args) {
        return run(DEFAULT_TIMEOUT, stdin, args);
    }

    /** Runs etcdctl and asserts it exits 0; returns stdout. */
    public String ok(String... args) {
        Result r = run(args);
        if (r.exitCode() != 0) {
            throw new AssertionError("etcdctl " + String.join(" ", args) + " failed: " + r);
        }
        return r.stdout();
    }

    public List<String> command(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ETCDCTL);
        cmd.add("--endpoints=" + endpoints);
        cmd.addAll(flags);
        cmd.addAll(Arrays.asList(args));
        return cmd;
    }

    private ProcessBuilder builder(String... args) {
        ProcessBuilder pb = new ProcessBuilder(command(args));
        pb.environment().keySet().removeIf(k -> k.startsWith("ETCDCTL"));
        pb.environment().put("ETCDCTL_API", "3");
        return pb;
    }

    /** Runs etcdctl, waiting at most {@code timeout} (then it is killed and the exit code is -1). */
    public Result run(Duration timeout, String stdin, String... args) {
        Path out = null;
        Path err = null;
        Process p = null;
        try {
            out = Files.createTempFile("etcdctl", ".out");
            err = Files.createTempFile("etcdctl", ".err");
            ProcessBuilder pb = builder(args);
            pb.redirectOutput(out.toFile());
            pb.redirectError(err.toFile());
            if (stdin == null) {
                pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            }
            p = pb.start();
            if (stdin != null) {
                try (OutputStream os = p.getOutputStream()) {
                    os.write(stdin.getBytes(StandardCharsets.UTF_8));
                } catch (IOException ignored) {
                    // etcdctl may exit before reading everything
                }
            }
            int code;
            if (p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                code = p.exitValue();
            } else {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
                code = -1;
            }
            return new Result(code, Files.readString(out), Files.readString(err));
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + command(args), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            if (p != null) {
                p.destroyForcibly();
            }
            throw new IllegalStateException(e);
        } finally {
            try {
                if (out != null) {
                    Files.deleteIfExists(out);
                }
                if (err != null) {
                    Files.deleteIfExists(err);
                }
            } catch (IOException ignored) {
                // best effort
            }
        }
    }

    /** Starts a long-running etcdctl (e.g. {@code watch}) whose stdout lines can be read as they come. */
    public Background background(String... args) {
        try {
            Path err = Files.createTempFile("etcdctl-bg", ".err");
            ProcessBuilder pb = builder(args);
            pb.redirectError(err.toFile());
            pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            return new Background(pb.start(), err);
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + command(args), e);
        }
    }

    /** A running etcdctl; its stdout is read line by line by a daemon thread. Close it to kill it. */
    public static final class Background implements AutoCloseable {
        private static final String EOF = new String("<EOF>");
        private final Process process;
        private final Path errFile;
        private final LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
        private final List<String> seen = new ArrayList<>();

        Background(Process process, Path errFile) {
            this.process = process;
            this.errFile = errFile;
            Thread t = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(
                        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    String l;
                    while ((l = r.readLine()) != null) {
                        lines.add(l);
                    }
                } catch (IOException ignored) {
                    // process killed
                } finally {
                    lines.add(EOF);
                }
            }, "etcdctl-stdout-" + process.pid());
            t.setDaemon(true);
            t.start();
        }

        /**
         * The next {@code n} stdout lines, waiting at most {@code timeout} in all. Returns fewer if the time runs out
         * or etcdctl exits.
         */
        public List<String> nextLines(int n, Duration timeout) {
            long deadline = System.nanoTime() + timeout.toNanos();
            List<String> got = new ArrayList<>();
            while (got.size() < n) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                String l;
                try {
                    l = lines.poll(left, TimeUnit.NANOSECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
                if (l == null) {
                    break;
                }
                if (l == EOF) {
                    lines.add(EOF);
                    break;
                }
                got.add(l);
                seen.add(l);
            }
            return got;
        }

        /** Lines that arrive within {@code d} (for asserting that nothing more came). */
        public List<String> linesWithin(Duration d) {
            return nextLines(Integer.MAX_VALUE, d);
        }

        /** Everything read so far through {@link #nextLines}. */
        public List<String> seen() {
            return seen;
        }

        /** The etcdctl process id (to pause it with SIGSTOP). */
        public long pid() {
            return process.pid();
        }

        public boolean isAlive() {
            return process.isAlive();
        }

        /** Waits for etcdctl to exit by itself; returns its exit code or null on timeout. */
        public Integer waitExit(Duration d) {
            try {
                if (process.waitFor(d.toMillis(), TimeUnit.MILLISECONDS)) {
                    return process.exitValue();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return null;
        }

        public String stderr() {
            try {
                return Files.readString(errFile);
            } catch (IOException e) {
                return "";
            }
        }

        /**
         * Sends SIGTERM (as Ctrl-C would: etcdctl lock unlocks, elect resigns) and waits at most {@code d} for
         * etcdctl to exit; returns its exit code or null on timeout.
         */
        public Integer terminate(Duration d) {
            process.destroy();
            return waitExit(d);
        }

        @Override
        public void close() {
            process.destroyForcibly();
            try {
                process.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            try {
                Files.deleteIfExists(errFile);
            } catch (IOException ignored) {
                // best effort
            }
        }
    }
}
