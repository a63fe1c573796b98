package io.etcsql.faulttests;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

/**
 * The kinds of fault a run injects. {@link #inject} applies one fault and returns how to undo it; the run heals it
 * after a hold time. MIXED picks one of the other kinds at each injection.
 */
enum Nemesis {
    /** kill -9 of the leader, restarted at heal. */
    KILL_LEADER,
    /** kill -9 of a follower, restarted at heal. */
    KILL_FOLLOWER,
    /** kill -9 of a majority (random members, leader possibly among them), restarted at heal. */
    KILL_MAJORITY,
    /** kill -9 of every member, all restarted at heal. */
    KILL_ALL,
    /** SIGSTOP of the leader for longer than the election timeout, SIGCONT at heal. */
    PAUSE_LEADER,
    /** The leader's links to and from everyone are cut. */
    PARTITION_LEADER,
    /** A random minority is cut off from the majority. */
    PARTITION_SPLIT,
    /** Two halves that can only both talk to one middle member (a bridge). */
    PARTITION_BRIDGE,
    /** A graceful restart (SIGTERM, start again) of a random member. */
    RESTART,
    /** One of the others (MEMBERSHIP included), chosen at random at each injection. */
    MIXED,
    /**
     * Membership changes under load: MemberRemove of the leader or a follower, then MemberAdd (sometimes as a learner,
     * promoted at heal) of a replacement on a new peer port, started into the existing cluster; healed once it has
     * joined. See {@link Membership}. Not in the defaults (each change takes several seconds).
     */
    MEMBERSHIP;

    /** An injected fault: what was done, and how to undo it. */
    record Fault(String description, Runnable heal) {
    }

    static final List<Nemesis> DEFAULTS = List.of(KILL_LEADER, KILL_FOLLOWER, KILL_MAJORITY, KILL_ALL, PAUSE_LEADER,
            PARTITION_LEADER, PARTITION_SPLIT, PARTITION_BRIDGE, RESTART, MIXED);

    private static final List<Nemesis> MIXABLE = List.of(KILL_LEADER, KILL_FOLLOWER, KILL_MAJORITY, KILL_ALL,
            PAUSE_LEADER, PARTITION_LEADER, PARTITION_SPLIT, PARTITION_BRIDGE, RESTART, MEMBERSHIP);

    Fault inject(FaultCluster c, Random rnd, Consumer<String> log) {
        int n = c.n;
        switch (this) {
            case MIXED -> {
                return MIXABLE.get(rnd.nextInt(MIXABLE.size())).inject(c, rnd, log);
            }
            case KILL_LEADER -> {
                int l = leaderOrRandom(c, rnd, log);
                return kill(c, List.of(l), "leader");
            }
            case KILL_FOLLOWER -> {
                int l = c.leader();
                List<Integer> others = others(n, l);
                return kill(c, List.of(others.get(rnd.nextInt(others.size()))), "follower (leader n" + (l + 1) + ")");
            }
            case KILL_MAJORITY -> {
                List<Integer> all = shuffled(n, rnd);
                return kill(c, all.subList(0, n / 2 + 1), "majority");
            }
            case KILL_ALL -> {
                return kill(c, shuffled(n, rnd), "all");
            }
            case PAUSE_LEADER -> {
                int l = leaderOrRandom(c, rnd, log);
                Member m = c.member(l);
                m.pause();
                return new Fault("SIGSTOP leader " + m.name + " (pid " + m.pid() + ")", () -> {
                    m.resume();
                    log.accept("SIGCONT " + m.name);
                });
            }
            case PARTITION_LEADER -> {
                int l = leaderOrRandom(c, rnd, log);
                c.partition(List.of(l), others(n, l));
                return partitionFault(c, "isolate leader n" + (l + 1), log);
            }
            case PARTITION_SPLIT -> {
                List<Integer> all = shuffled(n, rnd);
                int minority = 1 + rnd.nextInt(Math.max(1, (n - 1) / 2));
                List<Integer> a = all.subList(0, minority);
                List<Integer> b = all.subList(minority, n);
                c.partition(a, b);
                return partitionFault(c, "split " + names(a) + " | " + names(b), log);
            }
            case PARTITION_BRIDGE -> {
                if (n < 3) {
                    return new Fault("bridge needs 3 members: nothing done", () -> { });
                }
                List<Integer> all = shuffled(n, rnd);
                int bridge = all.get(0);
                List<Integer> rest = all.subList(1, n);
                List<Integer> a = rest.subList(0, rest.size() / 2);
                List<Integer> b = rest.subList(rest.size() / 2, rest.size());
                c.partition(a, b);
                return partitionFault(c, "bridge n" + (bridge + 1) + " between " + names(a) + " and " + names(b), log);
            }
            case RESTART -> {
                int i = rnd.nextInt(n);
                Member m = c.member(i);
                m.stop(15);
                return new Fault("SIGTERM " + m.name + " (restarted at heal)", () -> {
                    m.start();
                    log.accept("started " + m.name + " again");
                });
            }
            case MEMBERSHIP -> {
                return Membership.inject(c, rnd, log);
            }
            default -> throw new IllegalStateException(name());
        }
    }

    private static Fault kill(FaultCluster c, List<Integer> victims, String what) {
        List<Member> ms = new ArrayList<>();
        StringBuilder pids = new StringBuilder();
        for (int i : victims) {
            Member m = c.member(i);
            if (m.isAlive()) {
                pids.append(' ').append(m.name).append("(pid ").append(m.pid()).append(')');
            }
            m.kill();
            ms.add(m);
        }
        return new Fault("kill -9 " + what + ":" + pids, () -> {
            for (Member m : ms) {
                if (!m.isAlive()) {
                    m.start();
                }
            }
        });
    }

    private static Fault partitionFault(FaultCluster c, String what, Consumer<String> log) {
        String cut = c.cutLinks();
        return new Fault(what + "; cut links " + cut, c::healLinks);
    }

    private static int leaderOrRandom(FaultCluster c, Random rnd, Consumer<String> log) {
        int l = c.leader();
        if (l < 0) {
            l = rnd.nextInt(c.n);
            log.accept("no leader found; using n" + (l + 1));
        }
        return l;
    }

    private static List<Integer> others(int n, int notThis) {
        List<Integer> o = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (i != notThis) {
                o.add(i);
            }
        }
        return o;
    }

    private static List<Integer> shuffled(int n, Random rnd) {
        List<Integer> all = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            all.add(i);
        }
        Collections.shuffle(all, rnd);
        return all;
    }

    private static String names(List<Integer> idx) {
        List<String> s = new ArrayList<>();
        for (int i : idx) {
            s.add("n" + (i + 1));
        }
        return s.toString();
    }
}
