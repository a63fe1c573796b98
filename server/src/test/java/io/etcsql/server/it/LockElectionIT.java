package io.etcsql.server.it;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcdserverpb.KVGrpc;
import io.etcsql.grpcapi.etcdserverpb.LeaseGrantRequest;
import io.etcsql.grpcapi.etcdserverpb.LeaseGrpc;
import io.etcsql.grpcapi.etcdserverpb.LeaseRevokeRequest;
import io.etcsql.grpcapi.etcdserverpb.RangeRequest;
import io.etcsql.grpcapi.mvccpb.KeyValue;
import io.etcsql.grpcapi.v3electionpb.CampaignRequest;
import io.etcsql.grpcapi.v3electionpb.CampaignResponse;
import io.etcsql.grpcapi.v3electionpb.ElectionGrpc;
import io.etcsql.grpcapi.v3electionpb.LeaderKey;
import io.etcsql.grpcapi.v3electionpb.LeaderRequest;
import io.etcsql.grpcapi.v3electionpb.LeaderResponse;
import io.etcsql.grpcapi.v3electionpb.ProclaimRequest;
import io.etcsql.grpcapi.v3electionpb.ResignRequest;
import io.etcsql.grpcapi.v3lockpb.LockGrpc;
import io.etcsql.grpcapi.v3lockpb.LockRequest;
import io.etcsql.grpcapi.v3lockpb.LockResponse;
import io.etcsql.grpcapi.v3lockpb.UnlockRequest;
import io.grpc.Context;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.function.Executable;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Distributed locks and leader election against one member: etcdctl's {@code lock} and {@code elect} (which use
 * etcd's client-side concurrency recipes over KV, Watch and Lease), and the v3lock / v3election gRPC services
 * (etcd's server-side recipes), whose outputs and errors are those of etcd 3.4.23 (errors: {@code UNKNOWN} with
 * etcd's text; run with {@code -Detcsql.it.target=etcd} to check the expectations against it).
 */
@ExtendWith(DumpLogsOnFailure.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class LockElectionIT {

    static final Duration WAIT = Duration.ofSeconds(15);
    /** How long a waiter must stay blocked to count as waiting. */
    static final Duration STILL_WAITING = Duration.ofMillis(1500);

    static Cluster cluster;
    static Etcdctl ctl;
    static ManagedChannel channel;

    @BeforeAll
    static void startCluster() {
        cluster = Cluster.start(1);
        ctl = cluster.ctl(0);
        channel = Grpc.newChannelBuilderForAddress("127.0.0.1", cluster.member(0).clientPort(),
                InsecureChannelCredentials.create()).build();
    }

    @AfterAll
    static void stopCluster() {
        if (channel != null) {
            channel.shutdownNow();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    static ByteString bs(String s) {
        return ByteString.copyFromUtf8(s);
    }

    static long grant(long ttl) {
        return LeaseGrpc.newBlockingStub(channel).leaseGrant(LeaseGrantRequest.newBuilder().setTTL(ttl).build()).getID();
    }

    static List<KeyValue> prefix(String prefix) {
        return KVGrpc.newBlockingStub(channel).range(RangeRequest.newBuilder().setKey(bs(prefix))
                .setRangeEnd(bs(prefix.substring(0, prefix.length() - 1) + (char) (prefix.charAt(prefix.length() - 1) + 1)))
                .build()).getKvsList();
    }

    static void assertStatus(Status.Code code, String description, Executable call) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call);
        assertEquals(code, e.getStatus().getCode(), e.toString());
        assertEquals(description, e.getStatus().getDescription());
    }

    /** A started etcdctl that printed its first {@code n} lines (the lock key or the leader key and value). */
    static List<String> firstLines(Etcdctl.Background p, int n) {
        List<String> lines = p.nextLines(n, WAIT);
        assertEquals(n, lines.size(), () -> "etcdctl printed " + lines + "; stderr: " + p.stderr());
        return lines;
    }

    // ---- etcdctl lock / elect (client-side recipes) ----

    @Test
    void etcdctlLockWaitsForTheHolderToUnlock() {
        try (Etcdctl.Background first = ctl.background("lock", "mylock");
             Etcdctl.Background second = startSecond("lock", "mylock", first)) {
            List<String> held = firstLines(first, 2);
            assertTrue(held.get(0).matches("mylock/[0-9a-f]+"), held.toString());
            assertEquals("", held.get(1), "the lock key's value is empty");
            assertEquals(List.of(), second.linesWithin(STILL_WAITING), "the second waits while the first holds it");

            assertEquals(0, first.terminate(WAIT), "SIGTERM unlocks and exits 0");
            List<String> next = firstLines(second, 2);
            assertTrue(next.get(0).matches("mylock/[0-9a-f]+"), next.toString());
            assertNotEquals(held.get(0), next.get(0), "each holder has its own session key");
            assertEquals(List.of(next.get(0)), prefix("mylock/").stream().map(kv -> kv.getKey().toStringUtf8()).toList());
        }
    }

    @Test
    void etcdctlLockOfAKilledHolderPassesOnWhenItsLeaseExpires() {
        try (Etcdctl.Background first = ctl.background("lock", "killedlock", "--ttl=3");
             Etcdctl.Background second = startSecond("lock", "killedlock", first)) {
            String heldKey = firstLines(first, 2).get(0);
            assertEquals(List.of(), second.linesWithin(STILL_WAITING));
            first.close(); // SIGKILL: no unlock, the session lease runs out
            String next = firstLines(second, 2).get(0);
            assertTrue(next.startsWith("killedlock/"), next);
            assertNotEquals(heldKey, next);
        }
    }

    /** Starts a second contender once {@code first} is running, so that the first one queues first. */
    private static Etcdctl.Background startSecond(String cmd, String name, Etcdctl.Background first, String... more) {
        String[] args = new String[2 + more.length];
        args[0] = cmd;
        args[1] = name;
        System.arraycopy(more, 0, args, 2, more.length);
        // the first one's key exists once it has queued (without consuming its output)
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (prefix(name + "/").isEmpty() && System.nanoTime() < deadline) {
            ServerProcess.sleep(50);
        }
        return ctl.background(args);
    }

    @Test
    void etcdctlLockRunsACommandWhileHoldingTheLock() {
        assertEquals("hi\n", ctl.ok("lock", "execlock", "--", "echo", "hi"));
        // the command sees the lock key in its environment, and the key exists while it runs
        Etcdctl.Result r = ctl.run("lock", "execlock", "--", "sh", "-c",
                "echo $ETCD_LOCK_KEY; " + Etcdctl.ETCDCTL + " --endpoints=" + ctl.endpoints()
                        + " get --prefix --keys-only execlock/");
        assertEquals(0, r.exitCode(), r.toString());
        List<String> lines = r.lines();
        assertTrue(lines.get(0).matches("execlock/[0-9a-f]+"), lines.toString());
        assertEquals(lines.get(0), lines.get(1), "the lock key exists while the command runs");
        assertEquals(List.of(), prefix("execlock/"), "unlocked after the command");
        // the command's exit code is etcdctl's failure
        Etcdctl.Result failed = ctl.run("lock", "execlock", "--", "false");
        assertEquals(1, failed.exitCode(), failed.toString());
        assertEquals("Error: exit status 1\n", failed.stderr());
    }

    @Test
    void etcdctlElectSecondCandidateLeadsAfterTheFirstQuits() {
        try (Etcdctl.Background listener = ctl.background("elect", "-l", "myelection")) {
            ServerProcess.sleep(EtcdctlWatchLeaseIT.watchSettleMillis());
            assertEquals(List.of(), listener.linesWithin(Duration.ofMillis(300)), "no leader yet: nothing printed");
            try (Etcdctl.Background p1 = ctl.background("elect", "myelection", "p1");
                 Etcdctl.Background p2 = startSecond("elect", "myelection", p1, "p2")) {
                List<String> lead1 = firstLines(p1, 2);
                assertTrue(lead1.get(0).matches("myelection/[0-9a-f]+"), lead1.toString());
                assertEquals("p1", lead1.get(1));
                assertEquals(lead1, firstLines(listener, 2), "the listener prints the leader's key and value");
                assertEquals(List.of(), p2.linesWithin(STILL_WAITING), "the second candidate waits");

                assertEquals(0, p1.terminate(WAIT), "SIGTERM resigns and exits 0");
                List<String> lead2 = firstLines(p2, 2);
                assertEquals("p2", lead2.get(1));
                assertNotEquals(lead1.get(0), lead2.get(0));
                assertEquals(lead2, firstLines(listener, 2), "the listener follows the new leader");
            }
        }
    }

    // ---- v3lock service ----

    @Test
    void lockWaitsForUnlockAndAnswersWithTheKey() throws Exception {
        var lock = LockGrpc.newBlockingStub(channel).withDeadlineAfter(15, TimeUnit.SECONDS);
        long l1 = grant(30);
        long l2 = grant(30);
        LockResponse first = lock.lock(LockRequest.newBuilder().setName(bs("glock")).setLease(l1).build());
        assertEquals("glock/" + Long.toHexString(l1), first.getKey().toStringUtf8());
        KeyValue kv = prefix("glock/").get(0);
        assertEquals(first.getHeader().getRevision(), kv.getCreateRevision(), "uncontended: the header of the put");
        assertEquals(l1, kv.getLease());
        assertEquals(ByteString.EMPTY, kv.getValue());

        // the same lease locks again at once: its key is reused
        LockResponse again = lock.lock(LockRequest.newBuilder().setName(bs("glock")).setLease(l1).build());
        assertEquals(first.getKey(), again.getKey());
        assertEquals(kv.getModRevision(), prefix("glock/").get(0).getModRevision(), "the key is not written again");

        var second = LockGrpc.newFutureStub(channel).withDeadlineAfter(15, TimeUnit.SECONDS)
                .lock(LockRequest.newBuilder().setName(bs("glock")).setLease(l2).build());
        Thread.sleep(STILL_WAITING.toMillis());
        assertFalse(second.isDone(), "the second waits for the holder");
        long unlocked = lock.unlock(UnlockRequest.newBuilder().setKey(first.getKey()).build()).getHeader().getRevision();
        LockResponse got = second.get(15, TimeUnit.SECONDS);
        assertEquals("glock/" + Long.toHexString(l2), got.getKey().toStringUtf8());
        assertEquals(unlocked, got.getHeader().getRevision(), "the header of the read that found no older key");
    }

    @Test
    void lockPassesOnWhenTheHoldersLeaseIsRevoked() throws Exception {
        long l1 = grant(30);
        long l2 = grant(30);
        LockGrpc.newBlockingStub(channel).lock(LockRequest.newBuilder().setName(bs("rlock")).setLease(l1).build());
        var second = LockGrpc.newFutureStub(channel).withDeadlineAfter(15, TimeUnit.SECONDS)
                .lock(LockRequest.newBuilder().setName(bs("rlock")).setLease(l2).build());
        Thread.sleep(STILL_WAITING.toMillis());
        assertFalse(second.isDone());
        LeaseGrpc.newBlockingStub(channel).leaseRevoke(LeaseRevokeRequest.newBuilder().setID(l1).build());
        assertEquals("rlock/" + Long.toHexString(l2), second.get(15, TimeUnit.SECONDS).getKey().toStringUtf8());
    }

    @Test
    void aWaiterThatGivesUpHasItsKeyDeleted() throws Exception {
        long l1 = grant(30);
        long l2 = grant(30);
        LockGrpc.newBlockingStub(channel).lock(LockRequest.newBuilder().setName(bs("clock")).setLease(l1).build());
        var waiter = LockGrpc.newBlockingStub(channel).withDeadlineAfter(1500, TimeUnit.MILLISECONDS);
        assertThrows(StatusRuntimeException.class,
                () -> waiter.lock(LockRequest.newBuilder().setName(bs("clock")).setLease(l2).build()));
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (prefix("clock/").size() > 1 && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertEquals(List.of("clock/" + Long.toHexString(l1)),
                prefix("clock/").stream().map(kv -> kv.getKey().toStringUtf8()).toList());
    }

    @Test
    void lockWithoutLeaseGrantsASixtySecondLease() {
        LockResponse r = LockGrpc.newBlockingStub(channel).lock(LockRequest.newBuilder().setName(bs("nolease")).build());
        KeyValue kv = prefix("nolease/").get(0);
        assertEquals(r.getKey(), kv.getKey());
        assertEquals("nolease/" + Long.toHexString(kv.getLease()), kv.getKey().toStringUtf8());
        long ttl = LeaseGrpc.newBlockingStub(channel).leaseTimeToLive(
                io.etcsql.grpcapi.etcdserverpb.LeaseTimeToLiveRequest.newBuilder().setID(kv.getLease()).build()).getGrantedTTL();
        assertEquals(60, ttl);
    }

    @Test
    void lockErrorsAreEtcds() {
        var lock = LockGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS);
        assertStatus(Status.Code.UNKNOWN, "etcdserver: requested lease not found",
                () -> lock.lock(LockRequest.newBuilder().setName(bs("elock")).setLease(0x7fff0001L).build()));
        assertStatus(Status.Code.UNKNOWN, "etcdserver: key is not provided",
                () -> lock.unlock(UnlockRequest.getDefaultInstance()));
        // unlocking what is not locked succeeds
        lock.unlock(UnlockRequest.newBuilder().setKey(bs("elock/none")).build());
    }

    // ---- v3election service ----

    @Test
    void campaignProclaimObserveResign() throws Exception {
        var election = ElectionGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
        ByteString name = bs("gelection");
        long l1 = grant(30);
        long l2 = grant(30);
        LinkedBlockingQueue<Object> observed = new LinkedBlockingQueue<>();
        Context.CancellableContext observing = Context.current().withCancellation();
        try {
            observing.run(() -> ElectionGrpc.newStub(channel).observe(LeaderRequest.newBuilder().setName(name).build(),
                    queue(observed)));
            assertStatus(Status.Code.UNKNOWN, "election: no leader",
                    () -> election.leader(LeaderRequest.newBuilder().setName(name).build()));

            CampaignResponse c1 = election.campaign(CampaignRequest.newBuilder().setName(name).setLease(l1)
                    .setValue(bs("a")).build());
            LeaderKey leader1 = c1.getLeader();
            assertEquals(LeaderKey.newBuilder().setName(name).setKey(bs("gelection/" + Long.toHexString(l1)))
                    .setRev(c1.getHeader().getRevision()).setLease(l1).build(), leader1);
            assertEquals("a", nextValue(observed));
            LeaderResponse now = election.leader(LeaderRequest.newBuilder().setName(name).build());
            assertEquals("a", now.getKv().getValue().toStringUtf8());
            assertEquals(leader1.getRev(), now.getKv().getCreateRevision());

            var c2 = ElectionGrpc.newFutureStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS)
                    .campaign(CampaignRequest.newBuilder().setName(name).setLease(l2).setValue(bs("b")).build());
            Thread.sleep(STILL_WAITING.toMillis());
            assertFalse(c2.isDone(), "the second candidate waits for the leader");

            long proclaimed = election.proclaim(ProclaimRequest.newBuilder().setLeader(leader1).setValue(bs("a2")).build())
                    .getHeader().getRevision();
            assertEquals("a2", nextValue(observed));
            assertEquals(proclaimed, election.leader(LeaderRequest.newBuilder().setName(name).build()).getKv().getModRevision());

            election.resign(ResignRequest.newBuilder().setLeader(leader1).build());
            LeaderKey leader2 = c2.get(15, TimeUnit.SECONDS).getLeader();
            assertEquals("gelection/" + Long.toHexString(l2), leader2.getKey().toStringUtf8());
            assertEquals("b", nextValue(observed), "observe moves on to the next leader");
            assertEquals("b", election.leader(LeaderRequest.newBuilder().setName(name).build()).getKv().getValue().toStringUtf8());

            // the old leader key is gone: Proclaim fails, Resign does nothing
            assertStatus(Status.Code.UNKNOWN, "election: not leader",
                    () -> election.proclaim(ProclaimRequest.newBuilder().setLeader(leader1).setValue(bs("x")).build()));
            election.resign(ResignRequest.newBuilder().setLeader(leader1).build());
            assertEquals("b", election.leader(LeaderRequest.newBuilder().setName(name).build()).getKv().getValue().toStringUtf8());

            election.resign(ResignRequest.newBuilder().setLeader(leader2).build());
            assertStatus(Status.Code.UNKNOWN, "election: no leader",
                    () -> election.leader(LeaderRequest.newBuilder().setName(name).build()));
            assertNull(observed.poll(500, TimeUnit.MILLISECONDS), "nothing while there is no leader");
        } finally {
            observing.cancel(null);
        }
    }

    @Test
    void campaignAgainWithAnotherValueProclaimsIt() {
        var election = ElectionGrpc.newBlockingStub(channel).withDeadlineAfter(15, TimeUnit.SECONDS);
        long lease = grant(30);
        CampaignResponse first = election.campaign(CampaignRequest.newBuilder().setName(bs("relection")).setLease(lease)
                .setValue(bs("v1")).build());
        CampaignResponse second = election.campaign(CampaignRequest.newBuilder().setName(bs("relection")).setLease(lease)
                .setValue(bs("v2")).build());
        assertEquals(first.getLeader(), second.getLeader(), "the same key and create revision");
        KeyValue kv = prefix("relection/").get(0);
        assertEquals("v2", kv.getValue().toStringUtf8());
        assertEquals(2, kv.getVersion());
        assertEquals(kv.getModRevision() - 1, second.getHeader().getRevision(), "the header of the Txn before the Put");
    }

    @Test
    void electionErrorsAreEtcds() {
        var election = ElectionGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS);
        assertStatus(Status.Code.UNKNOWN, "etcdserver: requested lease not found",
                () -> election.campaign(CampaignRequest.newBuilder().setName(bs("eelection")).setLease(0x7fff0002L)
                        .setValue(bs("v")).build()));
        assertStatus(Status.Code.UNKNOWN, "\"leader\" field must be provided",
                () -> election.proclaim(ProclaimRequest.newBuilder().setValue(bs("v")).build()));
        assertStatus(Status.Code.UNKNOWN, "\"leader\" field must be provided",
                () -> election.resign(ResignRequest.getDefaultInstance()));
        long lease = grant(30);
        LeaderKey wrongRevision = LeaderKey.newBuilder().setName(bs("eelection"))
                .setKey(bs("eelection/" + Long.toHexString(lease))).setRev(1).setLease(lease).build();
        assertStatus(Status.Code.UNKNOWN, "election: not leader",
                () -> election.proclaim(ProclaimRequest.newBuilder().setLeader(wrongRevision).setValue(bs("v")).build()));
        assertEquals(List.of(), prefix("eelection/"));
    }

    private static StreamObserver<LeaderResponse> queue(LinkedBlockingQueue<Object> q) {
        return new StreamObserver<>() {
            @Override
            public void onNext(LeaderResponse r) {
                q.add(r);
            }

            @Override
            public void onError(Throwable t) {
                q.add(t);
            }

            @Override
            public void onCompleted() {
                q.add("completed");
            }
        };
    }

    private static String nextValue(LinkedBlockingQueue<Object> q) throws InterruptedException {
        Object o = q.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertTrue(o instanceof LeaderResponse, () -> "observe gave " + o);
        LeaderResponse r = (LeaderResponse) o;
        assertTrue(r.getHeader().getRevision() >= r.getKv().getModRevision(), r.toString());
        return r.getKv().getValue().toStringUtf8();
    }
}
