package io.etcsql.faulttests;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.common.exception.EtcdException;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.PutResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etcsql.faulttests.check.Op;
import io.etcsql.faulttests.check.Result;
import io.grpc.Status;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Concurrent clients over a few keys: linearizable get, put, and compare-and-set (Txn if mod_revision == r then
 * put else get), each against a random member through one jetcd client per member with retries off. Every
 * invocation and completion is recorded as an {@link Op} with its member and error.
 */
final class Workload {

    /** One recorded operation: the checker's Op plus what the report needs. */
    record Rec(Op op, int member, String error) {
    }

    private final FaultCluster cluster;
    private final List<String> keys;
    private final int threads;
    private final Duration opTimeout;
    private final long seed;
    private final List<Rec> history = Collections.synchronizedList(new ArrayList<>());
    private final List<Client> clients = new ArrayList<>();
    private volatile boolean stop;

    Workload(FaultCluster cluster, String prefix, int keyCount, int threads, Duration opTimeout, long seed) {
        this.cluster = cluster;
        List<String> k = new ArrayList<>();
        for (int i = 0; i < keyCount; i++) {
            k.add(prefix + "k" + i);
        }
        this.keys = List.copyOf(k);
        this.threads = threads;
        this.opTimeout = opTimeout;
        this.seed = seed;
    }

    List<String> keys() {
        return keys;
    }

    List<Rec> history() {
        synchronized (history) {
            return new ArrayList<>(history);
        }
    }

    /** Runs the clients until {@code stopAtNanos}; returns when every thread has finished (bounded). */
    void run(long stopAtNanos) throws InterruptedException {
        for (Member m : cluster.members) {
            clients.add(Client.builder().endpoints(m.clientUrl()).retryMaxAttempts(0).waitForReady(false)
                    .connectTimeout(Duration.ofSeconds(2)).build());
        }
        List<Thread> ts = new ArrayList<>();
        try {
            for (int t = 0; t < threads; t++) {
                int process = t;
                Thread th = new Thread(() -> loop(process, stopAtNanos), "workload-" + t);
                th.setDaemon(true);
                ts.add(th);
                th.start();
            }
            for (Thread th : ts) {
                long left = stopAtNanos - System.nanoTime() + opTimeout.toNanos() + TimeUnit.SECONDS.toNanos(10);
                th.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            }
        } finally {
            stop = true;
            for (Client c : clients) {
                try {
                    c.close();
                } catch (RuntimeException ignored) {
                    // best effort
                }
            }
        }
    }

    private void loop(int process, long stopAtNanos) {
        Random rnd = new Random(seed * 31 + process);
        Map<String, Long> lastSeenRev = new HashMap<>();
        int seq = 0;
        while (!stop && System.nanoTime() < stopAtNanos) {
            String key = keys.get(rnd.nextInt(keys.size()));
            int member = rnd.nextInt(cluster.n);
            Client c = clients.get(member);
            int dice = rnd.nextInt(10);
            try {
                if (dice < 4) {
                    get(process, member, c, key, lastSeenRev);
                } else if (dice < 7) {
                    put(process, member, c, key, "p" + process + "-" + (seq++), lastSeenRev);
                } else {
                    cas(process, member, c, key, lastSeenRev.getOrDefault(key, 0L), "p" + process + "-" + (seq++),
                            lastSeenRev);
                }
            } catch (RuntimeException e) {
                // recorded already; keep going
            }
            // a short think time keeps the history small enough to check
            sleepQuietly(5 + rnd.nextInt(20));
        }
    }

    private void get(int process, int member, Client c, String key, Map<String, Long> seen) {
        long t0 = System.nanoTime();
        try {
            GetResponse r = await(c.getKVClient().get(bs(key), GetOption.DEFAULT));
            long t1 = System.nanoTime();
            KeyValue kv = r.getKvs().isEmpty() ? null : r.getKvs().get(0);
            String v = kv == null ? null : str(kv.getValue());
            long rev = kv == null ? 0 : kv.getModRevision();
            seen.put(key, rev);
            record(Op.read(process, t0, t1, key, Result.read(v, rev)), member, null);
        } catch (Throwable e) {
            long t1 = System.nanoTime();
            record(Op.read(process, t0, t1, key, classify(e)), member, describe(e));
        }
    }

    private void put(int process, int member, Client c, String key, String value, Map<String, Long> seen) {
        long t0 = System.nanoTime();
        try {
            PutResponse r = await(c.getKVClient().put(bs(key), bs(value), PutOption.DEFAULT));
            long t1 = System.nanoTime();
            long rev = r.getHeader().getRevision();
            seen.put(key, rev);
            record(Op.write(process, t0, t1, key, value, Result.written(rev)), member, null);
        } catch (Throwable e) {
            long t1 = System.nanoTime();
            record(Op.write(process, t0, t1, key, value, classify(e)), member, describe(e));
        }
    }

    private void cas(int process, int member, Client c, String key, long expected, String value,
                     Map<String, Long> seen) {
        long t0 = System.nanoTime();
        try {
            TxnResponse r = await(c.getKVClient().txn()
                    .If(new Cmp(bs(key), Cmp.Op.EQUAL, CmpTarget.modRevision(expected)))
                    .Then(io.etcd.jetcd.op.Op.put(bs(key), bs(value), PutOption.DEFAULT))
                    .Else(io.etcd.jetcd.op.Op.get(bs(key), GetOption.DEFAULT))
                    .commit());
            long t1 = System.nanoTime();
            if (r.isSucceeded()) {
                long rev = r.getHeader().getRevision();
                seen.put(key, rev);
                record(Op.cas(process, t0, t1, key, expected, value, Result.casSucceeded(rev)), member, null);
            } else {
                record(Op.cas(process, t0, t1, key, expected, value, Result.casFailed()), member, null);
                // The Else branch read the key atomically with the failed compare: a read in the same interval.
                List<GetResponse> gets = r.getGetResponses();
                if (!gets.isEmpty()) {
                    KeyValue kv = gets.get(0).getKvs().isEmpty() ? null : gets.get(0).getKvs().get(0);
                    String v = kv == null ? null : str(kv.getValue());
                    long rev = kv == null ? 0 : kv.getModRevision();
                    seen.put(key, rev);
                    record(Op.read(process, t0, t1, key, Result.read(v, rev)), member, "(else branch of the CAS)");
                }
            }
        } catch (Throwable e) {
            long t1 = System.nanoTime();
            record(Op.cas(process, t0, t1, key, expected, value, classify(e)), member, describe(e));
        }
    }

    private void record(Op op, int member, String error) {
        history.add(new Rec(op, member, error));
    }

    private <T> T await(CompletableFuture<T> f) throws Throwable {
        try {
            return f.get(opTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() == null ? e : e.getCause();
        } catch (TimeoutException e) {
            f.cancel(true);
            throw e;
        }
    }

    /**
     * FAIL only when etcd (or the transport) says the request was certainly not applied; everything else (timeouts,
     * UNAVAILABLE after sending, leader changes, ...) is UNKNOWN.
     */
    static Result classify(Throwable e) {
        String code = code(e);
        String msg = String.valueOf(describe(e));
        switch (code) {
            case "INVALID_ARGUMENT", "FAILED_PRECONDITION", "OUT_OF_RANGE", "NOT_FOUND", "PERMISSION_DENIED",
                 "UNAUTHENTICATED", "ALREADY_EXISTS" -> {
                return Result.fail();
            }
            default -> {
                // No TCP connection could be made: the request never left the client.
                if (msg.contains("Connection refused")) {
                    return Result.fail();
                }
                return Result.unknown();
            }
        }
    }

    static String code(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof EtcdException ee) {
                return ee.getErrorCode().name();
            }
            Status s = Status.fromThrowable(t);
            if (s.getCode() != Status.Code.UNKNOWN || t instanceof io.grpc.StatusRuntimeException
                    || t instanceof io.grpc.StatusException) {
                return s.getCode().name();
            }
            if (t instanceof TimeoutException) {
                return "CLIENT_TIMEOUT";
            }
        }
        return "UNKNOWN";
    }

    static String describe(Throwable e) {
        StringBuilder sb = new StringBuilder(code(e));
        for (Throwable t = e; t != null && t.getCause() != t; t = t.getCause()) {
            sb.append(" | ").append(t.getClass().getSimpleName()).append(": ").append(t.getMessage());
            if (sb.length() > 400) {
                break;
            }
        }
        return sb.toString().replace('\n', ' ');
    }

    static ByteSequence bs(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    static String str(ByteSequence b) {
        return b.toString(StandardCharsets.UTF_8);
    }

    private static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
