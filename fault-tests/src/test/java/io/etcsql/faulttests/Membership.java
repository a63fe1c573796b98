package io.etcsql.faulttests;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.MemberAddRequest;
import io.etcd.jetcd.api.MemberAddResponse;
import io.etcd.jetcd.api.MemberListRequest;
import io.etcd.jetcd.api.MemberPromoteRequest;
import io.etcd.jetcd.api.MemberRemoveRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.grpc.StatusRuntimeException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The MEMBERSHIP nemesis: replaces a member under load through the etcd Cluster API. Inject: MemberRemove of the
 * leader or of a follower (asked of another member), wait until the removed process stops by itself (SIGTERM after
 * 10 s), wipe its data dir, MemberAdd a replacement on a new peer port (as a voter, or one time in three as a
 * learner) and start it with --initial-cluster-state existing. Heal: wait until the replacement has joined (the
 * member list shows its name and it serves a serializable Get), then promote it if it is a learner.
 *
 * <p>A removal that etcd's strict reconfiguration checks refuse ("unhealthy cluster", "not enough started
 * members") is logged and skipped: the product is right to refuse it.
 */
final class Membership {

    private static final long RPC_MS = 10_000;
    /** A new JVM takes 10 s and more to start on a busy 2-core machine; then it catches up. */
    private static final long JOIN_MS = 90_000;

    private final FaultCluster c;
    private final Random rnd;
    private final Consumer<String> log;
    private final int slot;
    private final String name;
    private final boolean learner;
    private String peerUrl;
    /** The replacement's member id once MemberAdd went through, else 0. */
    private long id;

    private Membership(FaultCluster c, Random rnd, Consumer<String> log, int slot, boolean learner) {
        this.c = c;
        this.rnd = rnd;
        this.log = log;
        this.slot = slot;
        this.name = "n" + (slot + 1);
        this.learner = learner;
    }

    static Nemesis.Fault inject(FaultCluster c, Random rnd, Consumer<String> log) {
        if (c.n < 2) {
            return new Nemesis.Fault("membership needs 2 members: nothing done", () -> { });
        }
        int leader = c.leader();
        int victim;
        if (leader >= 0 && rnd.nextBoolean()) {
            victim = leader;
        } else {
            List<Integer> followers = new ArrayList<>();
            for (int i = 0; i < c.n; i++) {
                if (i != leader) {
                    followers.add(i);
                }
            }
            victim = followers.get(rnd.nextInt(followers.size()));
        }
        Membership m = new Membership(c, rnd, log, victim, rnd.nextInt(3) == 0);
        String what = "remove " + m.name + " (" + (victim == leader ? "leader" : "follower") + ", id "
                + hex(c.memberId(victim)) + ")";
        String removed = m.remove();
        if (removed != null) {
            return new Nemesis.Fault(what + ": " + removed + "; nothing else done", () -> { });
        }
        m.add(30_000);
        return new Nemesis.Fault(what + "; replacement " + m.name + " at " + m.peerUrl + " as a "
                + (m.learner ? "learner" : "voter") + (m.id == 0 ? " NOT added yet" : ", id " + hex(m.id)), m::heal);
    }

    /**
     * MemberRemove of the slot's member, then waits until its process is gone and prepares the slot's new peer
     * port. Returns null when removed, else why nothing was done.
     */
    private String remove() {
        long oldId = c.memberId(slot);
        Member old = c.member(slot);
        int via = other();
        long t0 = System.nanoTime();
        try {
            c.clusterApi(via, RPC_MS).memberRemove(MemberRemoveRequest.newBuilder().setID(oldId).build());
            log.accept("MemberRemove " + name + " via n" + (via + 1) + ": ok in " + ms(t0) + " ms");
        } catch (StatusRuntimeException e) {
            String err = describe(e);
            if (refused(err)) {
                log.accept("MemberRemove " + name + " via n" + (via + 1) + " refused (skipped): " + err);
                return "refused by n" + (via + 1) + " (" + err + ")";
            }
            // the outcome is unknown: it is removed if the member lists drop it
            log.accept("MemberRemove " + name + " via n" + (via + 1) + " failed after " + ms(t0) + " ms: " + err
                    + "; watching the member list");
            if (!awaitUnlisted(oldId, 10_000)) {
                log.accept(name + " is still a member after 10 s: not removed (skipped)");
                return "MemberRemove failed (" + err + ") and " + name + " is still a member";
            }
            log.accept(name + " left the member list");
        }
        // etcsql stops a removed member by itself
        long t1 = System.nanoTime();
        while (old.isAlive() && ms(t1) < 10_000) {
            FaultCluster.sleep(100);
        }
        if (old.isAlive()) {
            log.accept(old + " still running 10 s after its removal: SIGTERM");
            old.stop(10);
        } else {
            log.accept(name + " (removed) exited by itself " + ms(t1) + " ms after the removal");
        }
        try {
            peerUrl = c.renewPeerPorts(slot);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return null;
    }

    /** MemberAdd of the replacement (retried for up to {@code timeoutMs}), then starts it; true once started. */
    private boolean add(long timeoutMs) {
        long t0 = System.nanoTime();
        String lastError = null;
        int attempts = 0;
        List<io.etcd.jetcd.api.Member> members = null;
        while (id == 0 && ms(t0) < timeoutMs) {
            int via = other();
            attempts++;
            try {
                MemberAddResponse r = c.clusterApi(via, RPC_MS).memberAdd(MemberAddRequest.newBuilder()
                        .addPeerURLs(peerUrl).setIsLearner(learner).build());
                id = r.getMember().getID();
                members = r.getMembersList();
                log.accept("MemberAdd " + peerUrl + (learner ? " (learner)" : "") + " via n" + (via + 1) + ": id "
                        + hex(id) + " after " + attempts + " attempt(s), " + ms(t0) + " ms");
            } catch (StatusRuntimeException e) {
                String err = describe(e);
                if (!err.equals(lastError)) {
                    log.accept("MemberAdd " + peerUrl + " via n" + (via + 1) + ": " + err + " (retrying)");
                    lastError = err;
                }
                if (err.contains("Peer URLs already exists")) {
                    // an earlier attempt went through after all
                    io.etcd.jetcd.api.Member m = listed(peerUrl);
                    if (m != null) {
                        id = m.getID();
                        members = memberList();
                        log.accept("MemberAdd " + peerUrl + ": an earlier attempt added it, id " + hex(id));
                        break;
                    }
                }
                FaultCluster.sleep(500);
            }
        }
        if (id == 0 || members == null) {
            log.accept("MemberAdd " + peerUrl + " did not succeed within " + timeoutMs + " ms (" + attempts
                    + " attempts): " + lastError);
            return false;
        }
        List<String> initial = new ArrayList<>();
        for (io.etcd.jetcd.api.Member m : members) {
            String url = m.getPeerURLs(0);
            initial.add(URI.create(url).getHost() + "=" + url);
        }
        Member m = c.replace(slot, id, String.join(",", initial));
        m.start();
        log.accept("started replacement " + m + " with --initial-cluster " + String.join(",", initial));
        return true;
    }

    /** Waits until the replacement has joined (and promotes it if it is a learner). */
    private void heal() {
        if (id == 0 && !add(60_000)) {
            // never restart the removed member (its data dir is gone): leave an unstarted replacement that is no
            // member, so that the run's final heal fails and reports it
            c.replace(slot, 0, name + "=" + peerUrl);
            log.accept("GAVE UP adding a replacement for " + name + "; the run's final heal will fail");
            return;
        }
        long t0 = System.nanoTime();
        boolean started = false;
        boolean serving = false;
        while (!(started && serving) && ms(t0) < JOIN_MS) {
            if (!c.member(slot).isAlive()) {
                log.accept("replacement " + c.member(slot) + " exited\n" + c.member(slot).logTail(20));
                return;
            }
            if (!started) {
                io.etcd.jetcd.api.Member m = listed(peerUrl);
                started = m != null && !m.getName().isEmpty();
            }
            serving = started && servesSerializable();
            if (!(started && serving)) {
                FaultCluster.sleep(300);
            }
        }
        if (!(started && serving)) {
            log.accept("replacement " + name + " has not joined within " + JOIN_MS + " ms (started " + started
                    + ", serving " + serving + ")");
            return;
        }
        log.accept("replacement " + name + " joined: started and serving after " + ms(t0) + " ms");
        if (learner) {
            promote(60_000);
        }
    }

    /** MemberPromote, retried while the learner is not in sync yet. */
    private void promote(long timeoutMs) {
        long t0 = System.nanoTime();
        int notReady = 0;
        String lastError = null;
        while (ms(t0) < timeoutMs) {
            int via = other();
            try {
                c.clusterApi(via, RPC_MS).memberPromote(MemberPromoteRequest.newBuilder().setID(id).build());
                log.accept("MemberPromote " + name + " via n" + (via + 1) + ": ok after " + ms(t0) + " ms ("
                        + notReady + " times not in sync yet)");
                return;
            } catch (StatusRuntimeException e) {
                String err = describe(e);
                if (err.contains("in sync with leader")) {
                    notReady++;
                } else {
                    if (!err.equals(lastError)) {
                        log.accept("MemberPromote " + name + " via n" + (via + 1) + ": " + err + " (retrying)");
                        lastError = err;
                    }
                    io.etcd.jetcd.api.Member m = listed(peerUrl);
                    if (m != null && !m.getIsLearner()) {
                        log.accept("MemberPromote " + name + ": an earlier attempt promoted it");
                        return;
                    }
                }
                FaultCluster.sleep(300);
            }
        }
        log.accept("MemberPromote " + name + " did not succeed within " + timeoutMs + " ms (" + notReady
                + " times not in sync): " + lastError);
    }

    private boolean servesSerializable() {
        try {
            KVGrpc.newBlockingStub(c.channel(slot)).withDeadlineAfter(2, TimeUnit.SECONDS).range(RangeRequest
                    .newBuilder().setKey(ByteString.copyFromUtf8("/ft-ready")).setSerializable(true).build());
            return true;
        } catch (RuntimeException e) {
            c.channel(slot).resetConnectBackoff();
            return false;
        }
    }

    /** A random running member other than the slot (the next one if none runs). */
    private int other() {
        List<Integer> up = new ArrayList<>();
        for (int i = 0; i < c.n; i++) {
            if (i != slot && c.member(i).isUp()) {
                up.add(i);
            }
        }
        return up.isEmpty() ? (slot + 1) % c.n : up.get(rnd.nextInt(up.size()));
    }

    /** The member list (serializable) from the first other member that answers, or null. */
    private List<io.etcd.jetcd.api.Member> memberList() {
        for (int k = 1; k < c.n; k++) {
            int i = (slot + k) % c.n;
            if (!c.member(i).isUp()) {
                continue;
            }
            try {
                return c.clusterApi(i, 3000).memberList(MemberListRequest.getDefaultInstance()).getMembersList();
            } catch (StatusRuntimeException e) {
                // try the next one
            }
        }
        return null;
    }

    private io.etcd.jetcd.api.Member listed(String url) {
        List<io.etcd.jetcd.api.Member> ms = memberList();
        if (ms != null) {
            for (io.etcd.jetcd.api.Member m : ms) {
                if (m.getPeerURLsList().contains(url)) {
                    return m;
                }
            }
        }
        return null;
    }

    private boolean awaitUnlisted(long memberId, long timeoutMs) {
        long t0 = System.nanoTime();
        while (ms(t0) < timeoutMs) {
            List<io.etcd.jetcd.api.Member> ms = memberList();
            if (ms != null && ms.stream().noneMatch(m -> m.getID() == memberId)) {
                return true;
            }
            FaultCluster.sleep(300);
        }
        return false;
    }

    /** etcd's strict reconfiguration checks said no: nothing was changed. */
    private static boolean refused(String err) {
        return err.contains("unhealthy cluster") || err.contains("not enough started members");
    }

    private static String describe(StatusRuntimeException e) {
        return e.getStatus().getCode() + " " + e.getStatus().getDescription();
    }

    private static long ms(long fromNanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - fromNanos);
    }

    private static String hex(long id) {
        return Long.toHexString(id);
    }
}
