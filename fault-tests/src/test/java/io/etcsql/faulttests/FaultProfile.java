package io.etcsql.faulttests;

import io.etcsql.faulttests.check.CheckResult;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A series of runs over the fault kinds (round robin), on one cluster that is reused from run to run (each run
 * uses its own key prefix) and replaced after a run that left it unhealthy or found a violation, or for every run
 * with {@code fresh}. Prints and returns a summary.
 *
 * <p>Also a main class: {@code java -cp ... io.etcsql.faulttests.FaultProfile RUNS SECONDS [MEMBERS] [KINDS]}.
 */
final class FaultProfile {

    record Settings(int runs, int seconds, int members, List<Nemesis> kinds, long seed, boolean fresh,
                    Duration budget, Path workDir, Path reports) {

        /** From system properties, with the short (CI) profile as defaults. */
        static Settings fromSystemProperties() {
            int members = intProp("fault.members", 3);
            List<Nemesis> kinds = new ArrayList<>();
            String k = System.getProperty("fault.kinds", "");
            if (k.isBlank()) {
                kinds.addAll(Nemesis.DEFAULTS);
            } else {
                for (String s : k.split(",")) {
                    kinds.add(Nemesis.valueOf(s.trim().toUpperCase(Locale.ROOT)));
                }
            }
            int runs = intProp("fault.runs", 2 * kinds.size());
            int seconds = intProp("fault.seconds", 6);
            String seedProp = System.getProperty("fault.seed", "");
            long seed = seedProp.isBlank() ? System.currentTimeMillis() : Long.parseLong(seedProp.trim());
            boolean fresh = Boolean.parseBoolean(System.getProperty("fault.fresh", "false").trim());
            // The short profile stops starting new runs after its budget; an explicit fault.runs has none by default.
            boolean explicit = !System.getProperty("fault.runs", "").isBlank();
            long budget = intProp("fault.budgetSeconds", explicit ? Integer.MAX_VALUE : 180);
            Path work = Paths.get(System.getProperty("fault.workdir", "target/fault-work"));
            Path reports = Paths.get(System.getProperty("fault.reports", "target/fault-reports"));
            return new Settings(runs, seconds, members, List.copyOf(kinds), seed, fresh, Duration.ofSeconds(budget),
                    work, reports);
        }

        private static int intProp(String name, int dflt) {
            String v = System.getProperty(name, "");
            return v.isBlank() ? dflt : Integer.parseInt(v.trim());
        }
    }

    record Summary(List<FaultRun.Outcome> outcomes, int skipped, long millis, String text) {
        int violations() {
            return outcomes.stream().mapToInt(o -> o.violations().size()).sum();
        }
    }

    static Summary run(Settings s) throws Exception {
        long t0 = System.nanoTime();
        Files.createDirectories(s.workDir());
        Files.createDirectories(s.reports());
        String javaOpts = System.getProperty("fault.javaOpts", "-Xmx512m");
        List<FaultRun.Outcome> outcomes = new ArrayList<>();
        int skipped = 0;
        FaultCluster cluster = null;
        System.out.println("fault profile: " + s);
        try {
            for (int r = 0; r < s.runs(); r++) {
                if (System.nanoTime() - t0 > s.budget().toNanos()) {
                    skipped = s.runs() - r;
                    System.out.println("time budget " + s.budget() + " used up: " + skipped + " run(s) not started");
                    break;
                }
                Nemesis kind = s.kinds().get(r % s.kinds().size());
                String runId = String.format(Locale.ROOT, "r%03d-%s-%d", r + 1,
                        kind.name().toLowerCase(Locale.ROOT).replace('_', '-'), s.seed() % 100000);
                if (cluster == null) {
                    cluster = new FaultCluster(s.members(), s.workDir(), javaOpts);
                    try {
                        cluster.startAll(Duration.ofSeconds(90));
                    } catch (RuntimeException e) {
                        // a cluster that cannot even start is a finding too: report it, try a fresh one next run
                        Path dir = s.reports().resolve(runId + "-startup");
                        Files.createDirectories(dir.resolve("logs"));
                        for (Member m : cluster.members) {
                            Files.write(dir.resolve("logs").resolve(m.name + ".log"), m.logFrom(0));
                        }
                        String msg = "cluster did not start: " + e.getMessage();
                        Files.writeString(dir.resolve("checks.txt"), "VIOLATIONS (1):\n- " + msg + "\n");
                        System.out.println("[" + runId + "] VIOLATION: " + msg.lines().findFirst().orElse(msg)
                                + "; report " + dir);
                        outcomes.add(new FaultRun.Outcome(runId, kind, 0, 0, 0, 0, 0, CheckResult.Status.UNKNOWN,
                                List.of(msg), "-", dir, 0, false));
                        cluster.close();
                        cluster = null;
                        continue;
                    }
                    System.out.println("started " + cluster + "; leader n" + (cluster.waitLeader(Duration.ofSeconds(10)) + 1)
                            + "; connections through the link proxies: " + cluster.proxyStats());
                }
                FaultRun run = new FaultRun(cluster, kind, runId, Duration.ofSeconds(s.seconds()), s.seed() + r,
                        s.reports(), Duration.ofSeconds(60));
                FaultRun.Outcome o = run.execute();
                System.out.println("[" + runId + "] connections through the link proxies so far: " + cluster.proxyStats());
                outcomes.add(o);
                if (!o.clusterHealthy() || !o.passed() || s.fresh()) {
                    cluster.close();
                    if (o.passed()) {
                        deleteTree(cluster.dir);
                    }
                    cluster = null;
                }
            }
        } finally {
            if (cluster != null) {
                cluster.close();
                if (outcomes.stream().allMatch(FaultRun.Outcome::passed)) {
                    deleteTree(cluster.dir);
                }
            }
        }
        long millis = (System.nanoTime() - t0) / 1_000_000;
        String text = summarize(s, outcomes, skipped, millis);
        System.out.println(text);
        Files.writeString(s.reports().resolve("summary-" + s.seed() + ".txt"), text);
        return new Summary(outcomes, skipped, millis, text);
    }

    static String summarize(Settings s, List<FaultRun.Outcome> outcomes, int skipped, long millis) {
        Map<Nemesis, int[]> per = new LinkedHashMap<>(); // runs, ops, ok, unknown, violations, failed runs, faults
        for (Nemesis k : s.kinds()) {
            per.put(k, new int[7]);
        }
        for (FaultRun.Outcome o : outcomes) {
            int[] a = per.computeIfAbsent(o.kind(), k -> new int[7]);
            a[0]++;
            a[1] += o.ops();
            a[2] += o.okOps();
            a[3] += o.unknownOps();
            a[4] += o.violations().size();
            a[5] += o.passed() ? 0 : 1;
            a[6] += o.faults();
        }
        StringBuilder sb = new StringBuilder("\n===== fault-injection summary =====\n");
        sb.append(String.format(Locale.ROOT, "%d members, %d s per run, seed %d, %d runs in %.1f s%s%n",
                s.members(), s.seconds(), s.seed(), outcomes.size(), millis / 1000.0,
                skipped > 0 ? " (" + skipped + " not started: time budget)" : ""));
        sb.append(String.format(Locale.ROOT, "%-18s %5s %7s %8s %7s %8s %10s %11s%n", "fault kind", "runs", "faults",
                "ops", "ok", "unknown", "violations", "failed runs"));
        int[] tot = new int[7];
        for (Map.Entry<Nemesis, int[]> e : per.entrySet()) {
            int[] a = e.getValue();
            sb.append(String.format(Locale.ROOT, "%-18s %5d %7d %8d %7d %8d %10d %11d%n", e.getKey(), a[0], a[6], a[1],
                    a[2], a[3], a[4], a[5]));
            for (int i = 0; i < 7; i++) {
                tot[i] += a[i];
            }
        }
        sb.append(String.format(Locale.ROOT, "%-18s %5d %7d %8d %7d %8d %10d %11d%n", "TOTAL", tot[0], tot[6], tot[1],
                tot[2], tot[3], tot[4], tot[5]));
        long linUnknown = outcomes.stream().filter(o -> o.linearizability() == CheckResult.Status.UNKNOWN).count();
        sb.append("linearizability: ").append(outcomes.stream()
                .filter(o -> o.linearizability() == CheckResult.Status.LINEARIZABLE).count()).append(" runs linearizable, ")
                .append(outcomes.stream().filter(o -> o.linearizability() == CheckResult.Status.NOT_LINEARIZABLE).count())
                .append(" not, ").append(linUnknown).append(" undecided (checker budget)\n");
        sb.append("convergence check: ").append(outcomes.stream().map(FaultRun.Outcome::hashMethod).distinct().toList())
                .append('\n');
        for (FaultRun.Outcome o : outcomes) {
            sb.append(String.format(Locale.ROOT, "  %-34s %6.1f s  ops %5d (ok %5d fail %4d unknown %4d)  faults %2d  %s%s%n",
                    o.runId(), o.millis() / 1000.0, o.ops(), o.okOps(), o.failOps(), o.unknownOps(), o.faults(),
                    o.passed() ? "PASS" : "FAIL: " + o.violations().size() + " violation(s)",
                    o.report() == null ? "" : " report " + o.report()));
        }
        return sb.toString();
    }

    static void deleteTree(Path dir) {
        try (var walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (java.io.IOException ignored) {
                    // best effort
                }
            });
        } catch (java.io.IOException ignored) {
            // best effort
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length >= 1) {
            System.setProperty("fault.runs", args[0]);
        }
        if (args.length >= 2) {
            System.setProperty("fault.seconds", args[1]);
        }
        if (args.length >= 3) {
            System.setProperty("fault.members", args[2]);
        }
        if (args.length >= 4) {
            System.setProperty("fault.kinds", args[3]);
        }
        Summary sum = run(Settings.fromSystemProperties());
        System.exit(sum.violations() == 0 ? 0 : 1);
    }
}
