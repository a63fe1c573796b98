package io.etcsql.faulttests;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.HashKVRequest;
import io.etcd.jetcd.api.HashKVResponse;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.KeyValue;
import io.etcd.jetcd.api.MaintenanceGrpc;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RangeResponse;
import io.etcsql.faulttests.check.CheckResult;
import io.etcsql.faulttests.check.LinearizabilityChecker;
import io.etcsql.faulttests.check.Op;
import io.etcsql.faulttests.check.RegisterModel;
import io.etcsql.faulttests.check.Result;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * One run: workload + watchers for {@code seconds} while a {@link Nemesis} injects faults at intervals, then heal
 * everything, wait for convergence, and check:
 * <ol>
 *   <li>linearizability of the history (per key, {@link LinearizabilityChecker} with {@link RegisterModel});</li>
 *   <li>durability: every acknowledged put/CAS is in the store's history of its key at the revision it was
 *       acknowledged with (so it is present or superseded); every value the store holds was written by some
 *       invocation that was not reported FAIL; final serializable reads equal on every member and equal to one
 *       linearizable read;</li>
 *   <li>convergence: HashKV equal on all members at the same revision (fallback when HashKV is UNIMPLEMENTED: a
 *       full serializable Range of the keyspace at that revision, compared member by member);</li>
 *   <li>watches: each member's live watch saw strictly increasing revisions without duplicates, and exactly the
 *       events of a fresh watch from revision 1 (which must itself be identical on every member).</li>
 * </ol>
 * A failing run writes a report directory: history, faults, checks, watch logs and member logs.
 */
final class FaultRun {

    /** What a run found. */
    record Outcome(String runId, Nemesis kind, int ops, int okOps, int failOps, int unknownOps, int faults,
                   CheckResult.Status linearizability, List<String> violations, String hashMethod, Path report,
                   long millis, boolean clusterHealthy) {
        boolean passed() {
            return violations.isEmpty();
        }
    }

    private final FaultCluster cluster;
    private final Nemesis kind;
    private final String runId;
    private final Duration length;
    private final long seed;
    private final Path reportsRoot;
    private final Duration checkBudget;
    private final List<String> faultLog = Collections.synchronizedList(new ArrayList<>());
    private final List<String> checkLog = new ArrayList<>();
    private final List<String> violations = new ArrayList<>();
    private long origin;

    FaultRun(FaultCluster cluster, Nemesis kind, String runId, Duration length, long seed, Path reportsRoot,
             Duration checkBudget) {
        this.cluster = cluster;
        this.kind = kind;
        this.runId = runId;
        this.length = length;
        this.seed = seed;
        this.reportsRoot = reportsRoot;
        this.checkBudget = checkBudget;
    }

    private void log(String s) {
        String line = String.format(Locale.ROOT, "%10.3f ms  %s", (System.nanoTime() - origin) / 1e6, s);
        faultLog.add(line);
        System.out.println("[" + runId + "] " + line);
    }

    private void check(String s) {
        checkLog.add(s);
    }

    private void violation(String s) {
        violations.add(s);
        checkLog.add("VIOLATION: " + s);
        System.out.println("[" + runId + "] VIOLATION: " + (s.length() > 300 ? s.substring(0, 300) + "..." : s));
    }

    Outcome execute() throws InterruptedException {
        long started = System.nanoTime();
        origin = started;
        long[] logOffsets = new long[cluster.n];
        for (int i = 0; i < cluster.n; i++) {
            logOffsets[i] = cluster.member(i).logSize();
        }
        String prefix = "/ft/" + runId + "/";
        Random rnd = new Random(seed);
        log("run " + runId + ": nemesis " + kind + ", " + cluster.n + " members, " + length.toSeconds() + " s, seed "
                + seed + ", keys under " + prefix);
        List<WatchRecorder> watchers = new ArrayList<>();
        for (int i = 0; i < cluster.n; i++) {
            watchers.add(new WatchRecorder(i, cluster.channel(i), prefix, origin));
        }
        int threads = Integer.getInteger("fault.threads", 2 * cluster.n);
        Workload workload = new Workload(cluster, prefix, Integer.getInteger("fault.keys", 5), threads,
                Duration.ofMillis(Long.getLong("fault.opTimeoutMs", 3000)), seed);
        long end = origin + length.toNanos();
        Thread wl = new Thread(() -> {
            try {
                workload.run(end);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "workload-" + runId);
        wl.setDaemon(true);
        wl.start();
        int faults = 0;
        boolean healthy = true;
        String hashMethod = "-";
        CheckResult.Status lin = CheckResult.Status.UNKNOWN;
        List<Workload.Rec> history = List.of();
        try {
            // nemesis schedule: quiet, fault (held 2-4 s: longer than the 1 s election timeout), heal, quiet, ...
            sleepUntil(Math.min(end, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(800 + rnd.nextInt(700))));
            while (System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(2500) < end) {
                Nemesis.Fault f;
                try {
                    f = kind.inject(cluster, rnd, this::log);
                } catch (RuntimeException e) {
                    log("nemesis failed: " + e);
                    break;
                }
                faults++;
                log("FAULT " + f.description());
                long hold = 2000 + rnd.nextInt(2000);
                sleepUntil(Math.min(end, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(hold)));
                f.heal().run();
                log("HEAL  " + f.description());
                sleepUntil(Math.min(end, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1000 + rnd.nextInt(1500))));
            }
            sleepUntil(end);
            wl.join(TimeUnit.SECONDS.toMillis(30));
            history = workload.history();
            log("workload done: " + history.size() + " ops");

            // heal everything and wait for convergence
            try {
                cluster.healAll(Duration.ofSeconds(90));
                log("healed: all links up, all members running and serving");
            } catch (RuntimeException e) {
                healthy = false;
                violation("cluster did not recover within 90 s after healing: " + e.getMessage());
            }
            long rev = healthy ? cluster.converge(Duration.ofSeconds(60)) : -1;
            if (healthy && rev < 0) {
                healthy = false;
                violation("members did not converge to the same revision within 60 s after healing");
            }
            log("converged at revision " + rev);

            // 1. linearizability
            List<Op> ops = new ArrayList<>();
            for (Workload.Rec r : history) {
                ops.add(r.op());
            }
            CheckResult cr = LinearizabilityChecker.check(ops, new RegisterModel(), checkBudget);
            lin = cr.status();
            check(cr.describe());
            if (cr.status() == CheckResult.Status.NOT_LINEARIZABLE) {
                violation("history is not linearizable: " + cr.violations().size() + " key(s)\n" + cr.describe());
            } else if (cr.status() == CheckResult.Status.UNKNOWN) {
                check("linearizability check ran out of its " + checkBudget.toSeconds() + " s budget: UNKNOWN");
            }
            log("linearizability: " + cr.status() + " in " + cr.elapsed().toMillis() + " ms");

            if (healthy) {
                List<WatchRecorder.Ev> storeHistory = checkStore(prefix, workload, history, rev);
                hashMethod = checkHashes(rev);
                checkWatches(watchers, storeHistory);
            }
        } finally {
            for (WatchRecorder w : watchers) {
                w.close();
            }
            wl.interrupt();
        }
        int ok = 0;
        int fail = 0;
        int unknown = 0;
        for (Workload.Rec r : history) {
            switch (r.op().result().status()) {
                case OK -> ok++;
                case FAIL -> fail++;
                default -> unknown++;
            }
        }
        log("ops: " + history.size() + " (ok " + ok + ", fail " + fail + ", unknown " + unknown + "), faults "
                + faults + ", violations " + violations.size());
        Path report = null;
        if (!violations.isEmpty() || Boolean.getBoolean("fault.reportAll")) {
            report = writeReport(history, watchers, logOffsets);
        }
        return new Outcome(runId, kind, history.size(), ok, fail, unknown, faults, lin, List.copyOf(violations),
                hashMethod, report, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started), healthy);
    }

    // ---------------------------------------------------------------- check 2: the store vs. the acknowledged ops

    private List<WatchRecorder.Ev> checkStore(String prefix, Workload workload, List<Workload.Rec> history,
                                              long rev) {
        int n = cluster.n;
        // final state: serializable range of the prefix at rev on every member, and one linearizable read
        List<List<String>> finals = new ArrayList<>();
        long maxMod = 0;
        for (int i = 0; i < n; i++) {
            try {
                RangeResponse r = range(i, prefix, true, rev);
                finals.add(kvLines(r.getKvsList()));
                for (KeyValue kv : r.getKvsList()) {
                    maxMod = Math.max(maxMod, kv.getModRevision());
                }
            } catch (RuntimeException e) {
                violation("final serializable read on n" + (i + 1) + " failed: " + e);
                finals.add(null);
            }
        }
        for (int i = 1; i < n; i++) {
            if (!Objects.equals(finals.get(0), finals.get(i))) {
                violation("final serializable reads at revision " + rev + " differ: n1 " + finals.get(0) + " vs n"
                        + (i + 1) + " " + finals.get(i));
            }
        }
        try {
            // at rev: a write whose client timed out (UNKNOWN) may still apply after convergence
            int l = Math.max(0, cluster.leader());
            RangeResponse r = range(l, prefix, false, rev);
            List<String> lin = kvLines(r.getKvsList());
            if (!lin.equals(finals.get(0))) {
                violation("final linearizable read on n" + (l + 1) + " " + lin + " differs from the serializable reads "
                        + finals.get(0));
            }
        } catch (RuntimeException e) {
            violation("final linearizable read failed: " + e);
        }
        check("final values (" + workload.keys().size() + " keys, revision " + rev + "): " + finals.get(0));

        // the store's history of the prefix: a fresh watch from revision 1 on every member, all identical
        List<WatchRecorder.Ev> storeHistory = null;
        for (int i = 0; i < n; i++) {
            List<WatchRecorder.Ev> h = maxMod == 0 ? List.of()
                    : WatchRecorder.readAll(cluster.channel(i), prefix, maxMod, 20_000);
            if (h == null) {
                violation("a fresh watch from revision 1 on n" + (i + 1) + " did not deliver revision " + maxMod
                        + " within 20 s");
                continue;
            }
            if (storeHistory == null) {
                storeHistory = h;
            } else if (!storeHistory.equals(h)) {
                violation("the history of " + prefix + " (fresh watch from revision 1) differs between n1 and n" + (i + 1)
                        + ": first difference " + firstDifference(storeHistory, h));
            }
        }
        if (storeHistory == null) {
            return null;
        }
        check("store history of " + prefix + ": " + storeHistory.size() + " events up to revision " + maxMod);
        Map<Long, WatchRecorder.Ev> byRev = new HashMap<>();
        for (WatchRecorder.Ev e : storeHistory) {
            if (byRev.put(e.revision(), e) != null) {
                violation("two events of " + prefix + " at revision " + e.revision() + " although every txn writes one key");
            }
        }
        Set<String> invoked = new HashSet<>();
        Set<String> failed = new HashSet<>();
        int acked = 0;
        for (Workload.Rec r : history) {
            Op op = r.op();
            Result res = op.result();
            if (op.kind() != Op.Kind.READ) {
                invoked.add(op.key() + "=" + op.value());
                if (res.status() == Result.Status.FAIL) {
                    failed.add(op.key() + "=" + op.value());
                }
            }
            boolean ackedWrite = res.isOk() && (op.kind() == Op.Kind.WRITE || (op.kind() == Op.Kind.CAS
                    && res.succeeded()));
            if (ackedWrite) {
                acked++;
                WatchRecorder.Ev e = byRev.get(res.revision());
                if (e == null || !e.type().equals("PUT") || !e.key().equals(op.key())
                        || !e.value().equals(op.value())) {
                    violation("LOST WRITE: acknowledged " + op.describe(origin) + " but the store has at revision "
                            + res.revision() + ": " + (e == null ? "nothing under " + prefix : e.line()));
                }
            }
            if (res.isOk() && op.kind() == Op.Kind.READ && res.value() != null) {
                WatchRecorder.Ev e = byRev.get(res.revision());
                if (e == null || !e.key().equals(op.key()) || !e.value().equals(res.value())) {
                    violation("read " + op.describe(origin) + " but the store has at revision " + res.revision() + ": "
                            + (e == null ? "nothing" : e.line()));
                }
            }
        }
        for (WatchRecorder.Ev e : storeHistory) {
            String kv = e.key() + "=" + e.value();
            if (!invoked.contains(kv)) {
                violation("the store holds a value nobody wrote: " + e.line());
            } else if (failed.contains(kv)) {
                violation("a write reported as FAIL (certainly not applied) is in the store: " + e.line());
            }
        }
        check("durability: " + acked + " acknowledged writes checked against the store history");
        return storeHistory;
    }

    private RangeResponse range(int i, String prefix, boolean serializable, long rev) {
        RangeRequest.Builder b = RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8(prefix))
                .setRangeEnd(WatchRecorder.prefixEnd(prefix)).setSerializable(serializable);
        if (rev > 0) {
            b.setRevision(rev);
        }
        return KVGrpc.newBlockingStub(cluster.channel(i)).withDeadlineAfter(5, TimeUnit.SECONDS).range(b.build());
    }

    private static List<String> kvLines(List<KeyValue> kvs) {
        List<String> out = new ArrayList<>();
        for (KeyValue kv : kvs) {
            out.add(kv.getKey().toStringUtf8() + "=" + kv.getValue().toStringUtf8() + "@" + kv.getModRevision() + "/c"
                    + kv.getCreateRevision() + "/v" + kv.getVersion());
        }
        return out;
    }

    private static String firstDifference(List<WatchRecorder.Ev> a, List<WatchRecorder.Ev> b) {
        for (int i = 0; i < Math.max(a.size(), b.size()); i++) {
            WatchRecorder.Ev x = i < a.size() ? a.get(i) : null;
            WatchRecorder.Ev y = i < b.size() ? b.get(i) : null;
            if (!Objects.equals(x, y)) {
                return "#" + i + ": " + (x == null ? "none" : x.line()) + " vs " + (y == null ? "none" : y.line());
            }
        }
        return "none";
    }

    // ---------------------------------------------------------------- check 3: same state everywhere

    private String checkHashes(long rev) {
        int n = cluster.n;
        long[] hashes = new long[n];
        boolean unimplemented = false;
        for (int i = 0; i < n; i++) {
            try {
                HashKVResponse r = MaintenanceGrpc.newBlockingStub(cluster.channel(i))
                        .withDeadlineAfter(30, TimeUnit.SECONDS)
                        .hashKV(HashKVRequest.newBuilder().setRevision(rev).build());
                hashes[i] = r.getHash() & 0xffffffffL;
            } catch (StatusRuntimeException e) {
                if (e.getStatus().getCode() == Status.Code.UNIMPLEMENTED) {
                    unimplemented = true;
                    break;
                }
                violation("HashKV(" + rev + ") on n" + (i + 1) + " failed: " + e.getStatus());
                return "HashKV";
            }
        }
        if (!unimplemented) {
            StringBuilder s = new StringBuilder("HashKV at revision " + rev + ":");
            boolean same = true;
            for (int i = 0; i < n; i++) {
                s.append(" n").append(i + 1).append('=').append(Long.toHexString(hashes[i]));
                same &= hashes[i] == hashes[0];
            }
            check(s.toString());
            if (!same) {
                violation("members disagree: " + s);
            }
            return "HashKV";
        }
        // fallback: the whole keyspace at revision rev, serializable, on every member
        List<List<String>> all = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            try {
                RangeResponse r = KVGrpc.newBlockingStub(cluster.channel(i)).withDeadlineAfter(30, TimeUnit.SECONDS)
                        .range(RangeRequest.newBuilder().setKey(ByteString.copyFrom(new byte[] {0}))
                                .setRangeEnd(ByteString.copyFrom(new byte[] {0})).setSerializable(true)
                                .setRevision(rev).build());
                all.add(kvLines(r.getKvsList()));
            } catch (RuntimeException e) {
                violation("full Range at revision " + rev + " on n" + (i + 1) + " failed: " + e);
                return "Range fallback (HashKV UNIMPLEMENTED)";
            }
        }
        for (int i = 1; i < n; i++) {
            if (!all.get(0).equals(all.get(i))) {
                List<String> onlyA = new ArrayList<>(all.get(0));
                onlyA.removeAll(all.get(i));
                List<String> onlyB = new ArrayList<>(all.get(i));
                onlyB.removeAll(all.get(0));
                violation("keyspace at revision " + rev + " differs between n1 and n" + (i + 1) + ": only on n1 "
                        + head(onlyA) + ", only on n" + (i + 1) + " " + head(onlyB));
            }
        }
        check("HashKV is UNIMPLEMENTED: compared the full keyspace (" + all.get(0).size() + " keys) at revision " + rev
                + " on every member with a serializable Range");
        return "Range fallback (HashKV UNIMPLEMENTED)";
    }

    private static String head(List<String> l) {
        return l.size() <= 5 ? l.toString() : l.subList(0, 5) + "... (" + l.size() + ")";
    }

    // ---------------------------------------------------------------- check 4: watches

    private void checkWatches(List<WatchRecorder> watchers, List<WatchRecorder.Ev> storeHistory) {
        if (storeHistory == null) {
            return;
        }
        long last = storeHistory.isEmpty() ? 0 : storeHistory.get(storeHistory.size() - 1).revision();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        for (WatchRecorder w : watchers) {
            while (w.lastRevision() < last && System.nanoTime() < deadline) {
                FaultCluster.sleep(100);
            }
        }
        for (WatchRecorder w : watchers) {
            String name = "n" + (w.memberIndex + 1);
            List<WatchRecorder.Ev> evs = w.events();
            long prev = 0;
            Set<Long> seen = new HashSet<>();
            for (WatchRecorder.Ev e : evs) {
                if (!seen.add(e.revision())) {
                    violation("watch on " + name + " delivered revision " + e.revision() + " twice");
                } else if (e.revision() <= prev) {
                    violation("watch on " + name + " went back from revision " + prev + " to " + e.revision());
                }
                prev = Math.max(prev, e.revision());
            }
            if (!evs.equals(storeHistory)) {
                if (evs.size() < storeHistory.size() && evs.equals(storeHistory.subList(0, evs.size()))) {
                    violation("watch on " + name + " stopped at revision " + w.lastRevision() + " (" + evs.size() + " of "
                            + storeHistory.size() + " events) 20 s after convergence");
                } else {
                    violation("watch on " + name + " differs from the store history: first difference "
                            + firstDifference(storeHistory, evs));
                }
            }
            check("watch on " + name + ": " + evs.size() + " events, " + w.incidents().stream()
                    .filter(s -> s.contains("re-watching")).count() + " re-watches");
        }
    }

    // ---------------------------------------------------------------- report

    private Path writeReport(List<Workload.Rec> history, List<WatchRecorder> watchers, long[] logOffsets) {
        try {
            Path dir = reportsRoot.resolve(runId);
            Files.createDirectories(dir.resolve("logs"));
            List<Workload.Rec> sorted = new ArrayList<>(history);
            sorted.sort(Comparator.comparingLong(r -> r.op().invokeNanos()));
            StringBuilder h = new StringBuilder("# one line per operation, by invocation time (ms since the run "
                    + "started); member = the member the client called; ? = no completion (UNKNOWN)\n");
            for (Workload.Rec r : sorted) {
                h.append(r.op().describe(origin)).append("  @n").append(r.member() + 1);
                if (r.error() != null) {
                    h.append("  [").append(r.error()).append(']');
                }
                h.append('\n');
            }
            Files.writeString(dir.resolve("history.txt"), h, StandardCharsets.UTF_8);
            Files.writeString(dir.resolve("faults.txt"), String.join("\n", faultLog) + "\n", StandardCharsets.UTF_8);
            StringBuilder c = new StringBuilder("run " + runId + " nemesis " + kind + "\n\nVIOLATIONS ("
                    + violations.size() + "):\n");
            for (String v : violations) {
                c.append("- ").append(v).append('\n');
            }
            c.append("\nCHECKS:\n");
            for (String s : checkLog) {
                c.append(s).append('\n');
            }
            Files.writeString(dir.resolve("checks.txt"), c, StandardCharsets.UTF_8);
            for (WatchRecorder w : watchers) {
                StringBuilder s = new StringBuilder("# incidents\n");
                for (String i : w.incidents()) {
                    s.append(i).append('\n');
                }
                s.append("# events\n");
                for (WatchRecorder.Ev e : w.events()) {
                    s.append(e.line()).append('\n');
                }
                Files.writeString(dir.resolve("watch-n" + (w.memberIndex + 1) + ".txt"), s, StandardCharsets.UTF_8);
            }
            for (int i = 0; i < cluster.n; i++) {
                Member m = cluster.member(i);
                Files.write(dir.resolve("logs").resolve(m.name + ".log"), m.logFrom(logOffsets[i]));
            }
            System.out.println("[" + runId + "] report: " + dir);
            return dir;
        } catch (IOException e) {
            System.err.println("cannot write the report of " + runId + ": " + e);
            return null;
        }
    }

    private static void sleepUntil(long nanos) throws InterruptedException {
        long left;
        while ((left = nanos - System.nanoTime()) > 0) {
            Thread.sleep(Math.max(1, Math.min(200, TimeUnit.NANOSECONDS.toMillis(left))));
        }
    }
}
