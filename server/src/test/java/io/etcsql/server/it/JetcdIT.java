package io.etcsql.server.it;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcsql.grpcapi.etcdserverpb.Compare;
import io.etcsql.grpcapi.etcdserverpb.KVGrpc;
import io.etcsql.grpcapi.etcdserverpb.RequestOp;
import io.etcsql.grpcapi.etcdserverpb.TxnRequest;
import io.etcsql.grpcapi.etcdserverpb.TxnResponse;
import io.etcd.jetcd.kv.DeleteResponse;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.PutResponse;
import io.etcd.jetcd.lease.LeaseGrantResponse;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.lease.LeaseTimeToLiveResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.LeaseOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.support.CloseableClient;
import io.etcd.jetcd.watch.WatchEvent;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static io.etcsql.server.it.Clients.bs;
import static io.etcsql.server.it.Clients.str;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** The etcd v3 API through jetcd 0.8.7 (client retries off) against one member. */
@ExtendWith(DumpLogsOnFailure.class)
@Timeout(value = 120, unit = java.util.concurrent.TimeUnit.SECONDS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class JetcdIT {

    static Cluster cluster;
    static Client client;
    static KV kv;

    @BeforeAll
    static void startCluster() {
        cluster = Cluster.start(1);
        client = Clients.jetcd(cluster.endpoints());
        kv = client.getKVClient();
    }

    @AfterAll
    static void stopCluster() {
        if (client != null) {
            client.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    static <T> T get(CompletableFuture<T> f) {
        try {
            return f.get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new AssertionError("request failed: " + Status.fromThrowable(e), e);
        } catch (TimeoutException e) {
            throw new AssertionError("request timed out", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** The gRPC status a failed request ended with. */
    static Status failure(CompletableFuture<?> f) {
        try {
            Object r = f.get(10, TimeUnit.SECONDS);
            throw new AssertionError("expected a failure, got " + r);
        } catch (ExecutionException e) {
            return statusOf(e);
        } catch (TimeoutException e) {
            throw new AssertionError("request timed out", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /**
     * The gRPC status behind a jetcd failure. Most calls carry the StatusRuntimeException as cause; a few (e.g.
     * keepAliveOnce) only give an EtcdException whose ErrorCode mirrors the gRPC code.
     */
    static Status statusOf(Throwable e) {
        Status s = Status.fromThrowable(e);
        if (s.getCode() != Status.Code.UNKNOWN || s.getDescription() != null) {
            return s;
        }
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof io.etcd.jetcd.common.exception.EtcdException ee) {
                return Status.fromCode(Status.Code.valueOf(ee.getErrorCode().name())).withDescription(ee.getMessage());
            }
        }
        return s;
    }

    static void assertStatus(Status.Code code, String description, Status s) {
        assertEquals(code, s.getCode(), s::toString);
        assertEquals(description, s.getDescription(), s::toString);
    }

    static long currentRevision() {
        return get(kv.get(bs("\0"))).getHeader().getRevision();
    }

    @Test
    @Order(1)
    void headerRevisionsOnAFreshCluster() {
        GetResponse g = get(kv.get(bs("a")));
        assertEquals(1, g.getHeader().getRevision());
        assertNotEquals(0, g.getHeader().getClusterId());
        assertNotEquals(0, g.getHeader().getMemberId());
        assertTrue(g.getHeader().getRaftTerm() >= 1);
        assertEquals(0, g.getCount());

        for (int i = 0; i < 5; i++) {
            PutResponse p = get(kv.put(bs("a"), bs("v" + i)));
            assertEquals(2 + i, p.getHeader().getRevision());
            assertEquals(g.getHeader().getMemberId(), p.getHeader().getMemberId());
            assertEquals(g.getHeader().getClusterId(), p.getHeader().getClusterId());
        }
        KeyValue a = get(kv.get(bs("a"))).getKvs().get(0);
        assertEquals(2, a.getCreateRevision());
        assertEquals(6, a.getModRevision());
        assertEquals(5, a.getVersion());
        assertEquals(0, a.getLease());
        assertEquals(6, currentRevision());
    }

    @Test
    @Order(2)
    void putGetDelete() {
        PutResponse p1 = get(kv.put(bs("kv/1"), bs("one")));
        assertFalse(p1.hasPrevKv());
        PutResponse p2 = get(kv.put(bs("kv/1"), bs("uno"), PutOption.builder().withPrevKV().build()));
        assertTrue(p2.hasPrevKv());
        assertEquals("one", str(p2.getPrevKv().getValue()));
        assertEquals(p1.getHeader().getRevision(), p2.getPrevKv().getModRevision());
        assertEquals(p1.getHeader().getRevision() + 1, p2.getHeader().getRevision());
        get(kv.put(bs("kv/2"), bs("two")));
        get(kv.put(bs("kv/3"), bs("three")));

        GetResponse all = get(kv.get(bs("kv/"), GetOption.builder().isPrefix(true).build()));
        assertEquals(3, all.getCount());
        assertEquals(List.of("kv/1", "kv/2", "kv/3"), all.getKvs().stream().map(k -> str(k.getKey())).toList());
        assertEquals("uno", str(all.getKvs().get(0).getValue()));
        assertFalse(all.isMore());

        GetResponse count = get(kv.get(bs("kv/"), GetOption.builder().isPrefix(true).withCountOnly(true).build()));
        assertEquals(3, count.getCount());
        assertTrue(count.getKvs().isEmpty());

        GetResponse limited = get(kv.get(bs("kv/"), GetOption.builder().isPrefix(true).withLimit(1)
                .withSortField(GetOption.SortTarget.KEY).withSortOrder(GetOption.SortOrder.DESCEND).build()));
        assertEquals(3, limited.getCount());
        assertTrue(limited.isMore());
        assertEquals("kv/3", str(limited.getKvs().get(0).getKey()));

        GetResponse keysOnly = get(kv.get(bs("kv/"), GetOption.builder().isPrefix(true).withKeysOnly(true).build()));
        assertEquals(3, keysOnly.getKvs().size());
        assertTrue(keysOnly.getKvs().get(0).getValue().isEmpty());

        GetResponse serializable = get(kv.get(bs("kv/1"), GetOption.builder().withSerializable(true).build()));
        assertEquals("uno", str(serializable.getKvs().get(0).getValue()));

        DeleteResponse d = get(kv.delete(bs("kv/"), DeleteOption.builder().isPrefix(true).withPrevKV(true).build()));
        assertEquals(3, d.getDeleted());
        assertEquals(List.of("uno", "two", "three"), d.getPrevKvs().stream().map(k -> str(k.getValue())).toList());
        assertEquals(0, get(kv.delete(bs("kv/1"))).getDeleted());
        assertEquals(0, get(kv.get(bs("kv/"), GetOption.builder().isPrefix(true).build())).getCount());
    }

    @Test
    @Order(3)
    void txnAndCompares() {
        long r = get(kv.put(bs("tx/a"), bs("1"))).getHeader().getRevision();
        io.etcd.jetcd.kv.TxnResponse ok = get(kv.txn()
                .If(new Cmp(bs("tx/a"), Cmp.Op.EQUAL, CmpTarget.value(bs("1"))),
                        new Cmp(bs("tx/a"), Cmp.Op.EQUAL, CmpTarget.version(1)),
                        new Cmp(bs("tx/a"), Cmp.Op.EQUAL, CmpTarget.createRevision(r)),
                        new Cmp(bs("tx/a"), Cmp.Op.LESS, CmpTarget.modRevision(r + 1)))
                .Then(Op.put(bs("tx/b"), bs("yes"), PutOption.DEFAULT), Op.get(bs("tx/b"), GetOption.DEFAULT))
                .Else(Op.put(bs("tx/b"), bs("no"), PutOption.DEFAULT))
                .commit());
        assertTrue(ok.isSucceeded());
        assertEquals(r + 1, ok.getHeader().getRevision());
        assertEquals(1, ok.getPutResponses().size());
        assertEquals("yes", str(ok.getGetResponses().get(0).getKvs().get(0).getValue()), "reads see the txn's writes");

        io.etcd.jetcd.kv.TxnResponse no = get(kv.txn()
                .If(new Cmp(bs("tx/a"), Cmp.Op.GREATER, CmpTarget.version(1)))
                .Then(Op.put(bs("tx/b"), bs("yes2"), PutOption.DEFAULT))
                .Else(Op.put(bs("tx/b"), bs("no"), PutOption.DEFAULT), Op.delete(bs("tx/a"), DeleteOption.DEFAULT))
                .commit());
        assertFalse(no.isSucceeded());
        assertEquals(r + 2, no.getHeader().getRevision());
        assertEquals(1, no.getDeleteResponses().get(0).getDeleted());
        assertEquals("no", str(get(kv.get(bs("tx/b"))).getKvs().get(0).getValue()));

        // a read-only txn does not create a revision
        io.etcd.jetcd.kv.TxnResponse ro = get(kv.txn().Then(Op.get(bs("tx/b"), GetOption.DEFAULT)).commit());
        assertEquals(r + 2, ro.getHeader().getRevision());

        Status dup = failure(kv.txn().Then(Op.put(bs("tx/x"), bs("1"), PutOption.DEFAULT),
                Op.put(bs("tx/x"), bs("2"), PutOption.DEFAULT)).commit());
        assertStatus(Status.Code.INVALID_ARGUMENT, "etcdserver: duplicate key given in txn request", dup);

        Op[] ops = new Op[129];
        for (int i = 0; i < ops.length; i++) {
            ops[i] = Op.put(bs("tx/many/" + i), bs("v"), PutOption.DEFAULT);
        }
        assertStatus(Status.Code.INVALID_ARGUMENT, "etcdserver: too many operations in txn request",
                failure(kv.txn().Then(ops).commit()));
        assertEquals(r + 2, currentRevision());
        get(kv.delete(bs("tx/"), DeleteOption.builder().isPrefix(true).build()));
    }

    @Test
    @Order(4)
    void leaseCompareThroughRawGrpc() {
        // jetcd 0.8.7 has no lease compare target (its protos lack LEASE; etcdctl 3.4's txn panics on lease(...)),
        // so use the wire API through grpc-api's generated etcdserverpb stubs
        long lease = get(client.getLeaseClient().grant(60)).getID();
        get(kv.put(bs("lc"), bs("v"), PutOption.builder().withLeaseId(lease).build()));
        ManagedChannel ch = Grpc.newChannelBuilderForAddress("127.0.0.1", cluster.member(0).clientPort(),
                InsecureChannelCredentials.create()).build();
        try {
            KVGrpc.KVBlockingStub stub = KVGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS);
            TxnResponse t = stub.txn(leaseTxn(lease));
            assertTrue(t.getSucceeded());
            TxnResponse f = KVGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .txn(leaseTxn(lease + 1));
            assertFalse(f.getSucceeded());
            // a missing key has lease 0
            TxnResponse z = KVGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS).txn(
                    TxnRequest.newBuilder().addCompare(Compare.newBuilder()
                            .setKey(com.google.protobuf.ByteString.copyFromUtf8("lc-missing"))
                            .setTarget(Compare.CompareTarget.LEASE).setResult(Compare.CompareResult.EQUAL)
                            .setLease(0)).build());
            assertTrue(z.getSucceeded());
            try {
                KVGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS).put(
                        io.etcsql.grpcapi.etcdserverpb.PutRequest.newBuilder()
                                .setKey(com.google.protobuf.ByteString.copyFromUtf8("lc2")).setLease(12345).build());
                fail("put with an unknown lease must fail");
            } catch (StatusRuntimeException e) {
                assertStatus(Status.Code.NOT_FOUND, "etcdserver: requested lease not found", e.getStatus());
            }
        } finally {
            ch.shutdownNow();
        }
        get(client.getLeaseClient().revoke(lease));
    }

    private static TxnRequest leaseTxn(long lease) {
        return TxnRequest.newBuilder()
                .addCompare(Compare.newBuilder().setKey(com.google.protobuf.ByteString.copyFromUtf8("lc"))
                        .setTarget(Compare.CompareTarget.LEASE).setResult(Compare.CompareResult.EQUAL).setLease(lease))
                .addSuccess(RequestOp.newBuilder().setRequestRange(io.etcsql.grpcapi.etcdserverpb.RangeRequest.newBuilder()
                        .setKey(com.google.protobuf.ByteString.copyFromUtf8("lc"))))
                .build();
    }

    @Test
    @Order(5)
    void errorsAsStatusCodes() {
        assertStatus(Status.Code.INVALID_ARGUMENT, "etcdserver: key is not provided",
                failure(kv.put(ByteSequence.EMPTY, bs("v"))));
        assertStatus(Status.Code.OUT_OF_RANGE, "etcdserver: mvcc: required revision is a future revision",
                failure(kv.get(bs("x"), GetOption.builder().withRevision(currentRevision() + 10).build())));
        assertStatus(Status.Code.NOT_FOUND, "etcdserver: requested lease not found",
                failure(client.getLeaseClient().revoke(4242)));
        assertStatus(Status.Code.NOT_FOUND, "etcdserver: requested lease not found",
                failure(kv.put(bs("x"), bs("v"), PutOption.builder().withLeaseId(4242).build())));

        long before = currentRevision();
        // --max-request-bytes (1.5 MiB by default) is checked by etcd itself ...
        assertStatus(Status.Code.INVALID_ARGUMENT, "etcdserver: request is too large",
                failure(kv.put(bs("big"), ByteSequence.from(new byte[1536 * 1024]))));
        // ... while anything above max-request-bytes + 512 KiB (2 MiB) is refused by the gRPC server
        // (etcd 3.4: "grpc: received message larger than max (2621450 vs. 2097152)")
        Status tooBig = failure(kv.put(bs("big"), ByteSequence.from(new byte[2560 * 1024])));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, tooBig.getCode(), tooBig::toString);
        System.out.println("2.5 MiB put: " + tooBig.getCode() + " " + tooBig.getDescription());
        assertEquals(before, currentRevision());
        // and the connection is still usable
        PutResponse ok = get(kv.put(bs("big"), ByteSequence.from(new byte[1024 * 1024])));
        assertEquals(before + 1, ok.getHeader().getRevision());
        assertEquals(1024 * 1024, get(kv.get(bs("big"))).getKvs().get(0).getValue().size());
        get(kv.delete(bs("big")));
    }

    @Test
    @Order(6)
    void watchFromStartRevision() throws Exception {
        long r1 = get(kv.put(bs("w/a"), bs("1"))).getHeader().getRevision();
        get(kv.put(bs("w/b"), bs("2")));
        get(kv.delete(bs("w/a")));
        LinkedBlockingQueue<WatchEvent> events = new LinkedBlockingQueue<>();
        AtomicReference<Throwable> error = new AtomicReference<>();
        try (Watch.Watcher w = client.getWatchClient().watch(bs("w/"),
                WatchOption.builder().isPrefix(true).withRevision(r1).withPrevKV(true).build(),
                Watch.listener(resp -> events.addAll(resp.getEvents()), error::set))) {
            List<WatchEvent> got = take(events, 3);
            assertEquals(WatchEvent.EventType.PUT, got.get(0).getEventType());
            assertEquals("w/a", str(got.get(0).getKeyValue().getKey()));
            assertEquals(r1, got.get(0).getKeyValue().getModRevision());
            assertEquals(WatchEvent.EventType.PUT, got.get(1).getEventType());
            assertEquals(r1 + 1, got.get(1).getKeyValue().getModRevision());
            assertEquals(WatchEvent.EventType.DELETE, got.get(2).getEventType());
            assertEquals("w/a", str(got.get(2).getKeyValue().getKey()));
            assertEquals(r1 + 2, got.get(2).getKeyValue().getModRevision());
            assertEquals("1", str(got.get(2).getPrevKV().getValue()), "prev kv of the delete");

            long r4 = get(kv.put(bs("w/c"), bs("3"))).getHeader().getRevision();
            get(kv.put(bs("x/outside"), bs("no")));
            List<WatchEvent> live = take(events, 1);
            assertEquals("w/c", str(live.get(0).getKeyValue().getKey()));
            assertEquals(r4, live.get(0).getKeyValue().getModRevision());
            assertEquals(1, live.get(0).getKeyValue().getVersion());
            assertNull(events.poll(300, TimeUnit.MILLISECONDS));
            assertNull(error.get());
        }
        get(kv.delete(bs("w/"), DeleteOption.builder().isPrefix(true).build()));
    }

    static List<WatchEvent> take(LinkedBlockingQueue<WatchEvent> q, int n) throws InterruptedException {
        List<WatchEvent> got = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (got.size() < n && System.nanoTime() < deadline) {
            WatchEvent e = q.poll(100, TimeUnit.MILLISECONDS);
            if (e != null) {
                got.add(e);
            }
        }
        assertEquals(n, got.size(), "events: " + got);
        return got;
    }

    @Test
    @Order(7)
    void leaseGrantKeepAliveAndExpiry() throws Exception {
        LeaseGrantResponse g = get(client.getLeaseClient().grant(2));
        assertEquals(2, g.getTTL());
        long id = g.getID();
        assertTrue(id > 0);
        get(kv.put(bs("lease/k"), bs("v"), PutOption.builder().withLeaseId(id).build()));
        assertEquals(id, get(kv.get(bs("lease/k"))).getKvs().get(0).getLease());

        AtomicInteger keepAlives = new AtomicInteger();
        AtomicReference<Throwable> err = new AtomicReference<>();
        long start = System.nanoTime();
        try (CloseableClient ka = client.getLeaseClient().keepAlive(id, new StreamObserver<>() {
            @Override
            public void onNext(LeaseKeepAliveResponse r) {
                if (r.getID() == id && r.getTTL() == 2) {
                    keepAlives.incrementAndGet();
                }
            }

            @Override
            public void onError(Throwable t) {
                err.set(t);
            }

            @Override
            public void onCompleted() {
            }
        })) {
            // well past the TTL: the key must survive while kept alive
            while (System.nanoTime() - start < TimeUnit.MILLISECONDS.toNanos(4500)) {
                Thread.sleep(250);
            }
            assertEquals(1, get(kv.get(bs("lease/k"))).getCount(), "kept-alive lease expired");
            assertTrue(keepAlives.get() >= 2, "keep-alive responses: " + keepAlives.get());
            assertNull(err.get());
            LeaseTimeToLiveResponse ttl = get(client.getLeaseClient().timeToLive(id,
                    LeaseOption.builder().withAttachedKeys().build()));
            assertEquals(2, ttl.getGrantedTTL());
            assertTrue(ttl.getTTL() >= 0 && ttl.getTTL() <= 2, "ttl " + ttl.getTTL());
            assertEquals(List.of("lease/k"), ttl.getKeys().stream().map(Clients::str).toList());
        }
        long stopped = System.nanoTime();
        long goneMs = -1;
        while (System.nanoTime() - stopped < TimeUnit.SECONDS.toNanos(8)) {
            if (get(kv.get(bs("lease/k"))).getCount() == 0) {
                goneMs = (System.nanoTime() - stopped) / 1_000_000;
                break;
            }
            Thread.sleep(100);
        }
        assertTrue(goneMs >= 0 && goneMs <= 5000, "key still there after keep-alive stopped: " + goneMs);
        assertEquals(-1, get(client.getLeaseClient().timeToLive(id, LeaseOption.DEFAULT)).getTTL(),
                "an expired lease reports TTL -1");
        assertStatus(Status.Code.NOT_FOUND, "etcdserver: requested lease not found",
                failure(client.getLeaseClient().keepAliveOnce(id)));
    }

    @Test
    @Order(100)
    void compactionAndErrCompacted() throws Exception {
        long r1 = get(kv.put(bs("c"), bs("1"))).getHeader().getRevision();
        get(kv.put(bs("c"), bs("2")));
        long r3 = get(kv.put(bs("c"), bs("3"))).getHeader().getRevision();
        io.etcd.jetcd.kv.CompactResponse cr = get(kv.compact(r3));
        assertEquals(r3, cr.getHeader().getRevision(), "compaction creates no revision");

        Status s = failure(kv.get(bs("c"), GetOption.builder().withRevision(r1).build()));
        assertStatus(Status.Code.OUT_OF_RANGE, "etcdserver: mvcc: required revision has been compacted", s);
        assertStatus(Status.Code.OUT_OF_RANGE, "etcdserver: mvcc: required revision has been compacted",
                failure(kv.compact(r1)));
        assertStatus(Status.Code.OUT_OF_RANGE, "etcdserver: mvcc: required revision is a future revision",
                failure(kv.compact(r3 + 100)));
        assertEquals("3", str(get(kv.get(bs("c"), GetOption.builder().withRevision(r3).build()))
                .getKvs().get(0).getValue()));

        // a watch from a compacted revision is canceled, telling the compact revision
        LinkedBlockingQueue<Throwable> errors = new LinkedBlockingQueue<>();
        try (Watch.Watcher w = client.getWatchClient().watch(bs("c"), WatchOption.builder().withRevision(r1).build(),
                Watch.listener(resp -> { }, errors::add))) {
            Throwable t = errors.poll(10, TimeUnit.SECONDS);
            assertNotNull(t, "watch on a compacted revision must fail");
            assertTrue(t instanceof io.etcd.jetcd.common.exception.CompactedException, t.toString());
            assertEquals(r3, ((io.etcd.jetcd.common.exception.CompactedException) t).getCompactedRevision());
        }
    }
}
