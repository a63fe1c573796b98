package io.etcsql.consensus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcdserverpb.LeaseGrantRequest;
import io.etcsql.grpcapi.etcdserverpb.LeaseKeepAliveRequest;
import io.etcsql.grpcapi.etcdserverpb.LeaseTimeToLiveRequest;
import io.etcsql.grpcapi.etcdserverpb.LeaseTimeToLiveResponse;
import io.etcsql.grpcapi.etcdserverpb.PutRequest;
import io.etcsql.grpcapi.etcdserverpb.RangeRequest;
import io.etcsql.grpcapi.etcdserverpb.RequestOp;
import io.etcsql.grpcapi.etcdserverpb.TxnRequest;
import io.etcsql.grpcapi.etcsqlpb.CommandResult;
import io.etcsql.grpcapi.etcsqlpb.LeaderQuery;
import io.etcsql.grpcapi.etcsqlpb.LeaderQueryResult;
import io.etcsql.grpcapi.etcsqlpb.ReplicatedCommand;
import io.etcsql.grpcapi.mvccpb.KeyValue;
import io.etcsql.kvstore.EtcdError;
import io.etcsql.kvstore.KvStore;
import io.etcsql.kvstore.lease.Lease;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.ratis.util.NetUtils;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three real members in one JVM on 127.0.0.1, each with its own {@link KvStore}: replication,
 * linearizable local reads, leader failover, catch-up after a restart, and lease expiry driven
 * by the leader's {@link LeaseKeeper}.
 */
class RaftNodeTest {
  private static final ByteString ZERO = ByteString.copyFrom(new byte[] {0});
  private static final SnapshotSource NO_SNAPSHOTS = (name, clientAddress) -> {
    throw new IOException("this test never purges the Raft log");
  };

  @TempDir
  Path dir;
  private final Map<String, InetSocketAddress> peers = new LinkedHashMap<>();
  private final Map<String, Member> members = new LinkedHashMap<>();

  private record Member(String name, KvStore store, RaftNode node) {}

  // ports from Ratis' own test allocator: it never hands out one port twice in a JVM (binding
  // port 0 may return one just closed, and two members on one port cannot start)
  @BeforeEach
  void startCluster() throws IOException {
    for (String name : List.of("m1", "m2", "m3")) {
      peers.put(name, new InetSocketAddress("127.0.0.1", NetUtils.getFreePort()));
    }
    for (String name : peers.keySet()) {
      start(name);
    }
  }

  @AfterEach
  void stopCluster() {
    for (String name : new ArrayList<>(members.keySet())) {
      stop(name);
    }
  }

  private Member start(String name) throws IOException {
    return start(name, false);
  }

  /** Starts member {@code name}; {@code join}: it joins the running group (etcd's "existing"). */
  private Member start(String name, boolean join) throws IOException {
    KvStore store = KvStore.open(dir.resolve(name).resolve("kv"), new KvStore.Options(4096, Duration.ofMinutes(10)));
    RaftNodeConfig config = new RaftNodeConfig(name, peers, peers.get(name), "raft-node-test",
        dir.resolve(name).resolve("raft"), 100, 1000, 100_000, 2 * 1024 * 1024, 10_000, 1000, join);
    RaftNode node = RaftNode.start(config, store, NO_SNAPSHOTS);
    Member m = new Member(name, store, node);
    members.put(name, m);
    return m;
  }

  private void stop(String name) {
    Member m = members.remove(name);
    try {
      m.node.close();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } finally {
      m.store.close();
    }
  }

  // ---------------------------------------------------------------- helpers

  private static void await(Duration timeout, BooleanSupplier condition, String what) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        fail("timed out after " + timeout + " waiting for " + what);
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        fail("interrupted");
      }
    }
  }

  /** Waits until every running member knows the same leader, one of them; returns its name. */
  private String awaitLeader() {
    String[] leader = new String[1];
    await(Duration.ofSeconds(20), () -> {
      String first = null;
      for (Member m : members.values()) {
        String l = m.node.leaderPeerId();
        if (l == null || !members.containsKey(l) || (first != null && !first.equals(l))) {
          return false;
        }
        first = l;
      }
      leader[0] = first;
      return members.get(first).node.isLeader();
    }, "a leader known to all running members");
    return leader[0];
  }

  private static <T> T get(java.util.concurrent.CompletableFuture<T> f) {
    try {
      return f.get(20, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("request failed", e);
    }
  }

  private static ReplicatedCommand put(String key, String value, long lease) {
    return ReplicatedCommand.newBuilder().setPut(PutRequest.newBuilder()
        .setKey(ByteString.copyFromUtf8(key)).setValue(ByteString.copyFromUtf8(value)).setLease(lease)).build();
  }

  private static long proposedRevision(RaftNode node, ReplicatedCommand cmd) {
    CommandResult r = get(node.propose(cmd));
    assertTrue(r.hasPut() || r.hasTxn(), () -> "unexpected result " + r);
    return r.hasPut() ? r.getPut().getHeader().getRevision() : r.getTxn().getHeader().getRevision();
  }

  /** A linearizable read of every key on member {@code m}: barrier, then the local store. */
  private List<KeyValue> readAll(Member m) {
    get(m.node.readBarrier());
    return m.store.range(RangeRequest.newBuilder().setKey(ZERO).setRangeEnd(ZERO).build()).getKvsList();
  }

  private static List<String> describe(List<KeyValue> kvs) {
    return kvs.stream().map(kv -> kv.getKey().toStringUtf8() + "=" + kv.getValue().toStringUtf8() + "@"
        + kv.getModRevision()).toList();
  }

  private long grant(RaftNode node, long ttl) {
    CommandResult r = get(node.propose(ReplicatedCommand.newBuilder()
        .setLeaseGrant(LeaseGrantRequest.newBuilder().setTTL(ttl)).build()));
    assertTrue(r.hasLeaseGrant(), () -> "grant failed: " + r);
    assertNotEquals(0, r.getLeaseGrant().getID(), "the leader picks an id for a lease granted with id 0");
    assertEquals(ttl, r.getLeaseGrant().getTTL());
    return r.getLeaseGrant().getID();
  }

  private boolean everywhere(java.util.function.Predicate<Member> p) {
    return members.values().stream().allMatch(p);
  }

  // ---------------------------------------------------------------- tests

  @Test
  void proposalsThroughEveryMemberAreReadEverywhere() {
    awaitLeader();
    List<Long> revisions = new ArrayList<>();
    for (Member m : members.values()) {
      revisions.add(proposedRevision(m.node, put("key-" + m.name, "from-" + m.name, 0)));
    }
    assertEquals(List.of(2L, 3L, 4L), revisions, "one revision per proposal, in commit order");
    TxnRequest txn = TxnRequest.newBuilder()
        .addSuccess(RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder()
            .setKey(ByteString.copyFromUtf8("txn")).setValue(ByteString.copyFromUtf8("t")))).build();
    assertEquals(5, proposedRevision(members.get("m3").node, ReplicatedCommand.newBuilder().setTxn(txn).build()));

    CommandResult error = get(members.get("m2").node.propose(put("bad", "x", 12345)));
    assertEquals(EtcdError.LEASE_NOT_FOUND.name(), error.getError().getCode(), "apply errors come back as results");

    List<String> want = List.of("key-m1=from-m1@2", "key-m2=from-m2@3", "key-m3=from-m3@4", "txn=t@5");
    for (Member m : members.values()) {
      assertEquals(want, describe(readAll(m)), "linearizable read on " + m.name);
    }
  }

  @Test
  void aNewLeaderTakesOverAndARestartedMemberCatchesUp() throws IOException {
    String oldLeader = awaitLeader();
    assertEquals(2, proposedRevision(members.get(oldLeader).node, put("before", "1", 0)));
    stop(oldLeader);

    String newLeader = awaitLeader();
    assertNotEquals(oldLeader, newLeader);
    for (Member m : members.values()) {
      proposedRevision(m.node, put("during-" + m.name, "2", 0));
    }
    List<String> survivors = describe(readAll(members.get(newLeader)));
    assertEquals(3, survivors.size(), () -> survivors.toString());

    Member restarted = start(oldLeader);
    assertEquals(newLeader, awaitLeader(), "the restarted member follows the new leader");
    proposedRevision(restarted.node, put("after", "3", 0));
    List<String> want = describe(readAll(members.get(newLeader)));
    assertEquals(4, want.size());
    await(Duration.ofSeconds(20), () -> describe(readAll(restarted)).equals(want),
        "the restarted member to catch up");
    for (Member m : members.values()) {
      assertEquals(want, describe(readAll(m)), "identical state on " + m.name);
    }
  }

  /**
   * A follower whose Raft log lost entries the leader had recorded as matched (a kill before its
   * flush) is replicated to again, on an idle cluster, within a few election timeouts. Stock Ratis
   * 3.3.0 answered its INCONSISTENCY replies from the stale match index for as long as the
   * leadership lasted (RATIS-2523); the watchdog's step-down 15 s later was the only way out.
   */
  @Test
  void aFollowerWhoseLogLostItsTailIsReplicatedToAgain() throws IOException {
    String leader = awaitLeader();
    for (int i = 0; i < 20; i++) {
      proposedRevision(members.get(leader).node, put("k" + i, "v" + i, 0));
    }
    List<String> want = describe(readAll(members.get(leader)));
    String follower = members.keySet().stream().filter(n -> !n.equals(leader)).findFirst().orElseThrow();
    await(Duration.ofSeconds(10), () -> members.get(follower).node.appliedIndex()
        >= members.get(leader).node.appliedIndex(), "the follower to apply everything");
    stop(follower);
    // its log loses every entry (and its store and snapshot marker with it, so that neither is
    // ahead of the log); its term and vote stay
    try (var files = java.nio.file.Files.walk(dir.resolve(follower))) {
      for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
        String name = f.getFileName().toString();
        if (name.startsWith("log_") || name.startsWith("snapshot.")
            || f.startsWith(dir.resolve(follower).resolve("kv"))) {
          java.nio.file.Files.delete(f);
        }
      }
    }
    long started = System.nanoTime();
    Member back = start(follower);
    await(Duration.ofSeconds(8), () -> describe(back.store.range(RangeRequest.newBuilder()
        .setKey(ZERO).setRangeEnd(ZERO).build()).getKvsList()).equals(want),
        "the follower to be replicated to again (the watchdog would only step in after 15 s)");
    assertEquals(leader, awaitLeader(), "no change of leader was needed");
    assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(10));
  }

  /**
   * A member added at runtime, with an etcd client address recorded in the Raft configuration as
   * ConfigurationSync records it, becomes the leader: proposals through the original members, which
   * learn its address only from the configuration, reach it. (Ratis' client sends its requests to a
   * peer's client address when one is set; the etcd client port there made them fail until the
   * request timed out, and the whole cluster stopped taking writes after a membership change.)
   */
  @Test
  void proposalsReachALeaderThatJoinedAfterTheirMemberStarted() throws IOException {
    String first = awaitLeader();
    proposedRevision(members.get(first).node, put("before", "1", 0));
    peers.put("m4", new InetSocketAddress("127.0.0.1", NetUtils.getFreePort()));
    start("m4", true);
    Map<String, String> voters = new java.util.TreeMap<>();
    for (Map.Entry<String, InetSocketAddress> p : peers.entrySet()) {
      // an etcd client address where nothing speaks Raft (here: nothing listens at all)
      voters.put(p.getKey(), "127.0.0.1:" + p.getValue().getPort() + "|127.0.0.1:" + NetUtils.getFreePort());
    }
    members.get(first).node.setConfiguration(voters, Map.of());
    assertEquals(voters, members.get(first).node.configuration(false), "the addresses are recorded as given");
    members.get(first).node.transferLeadership("m4", 10_000);
    assertEquals("m4", awaitLeader());
    for (String name : List.of("m1", "m2", "m3")) {
      proposedRevision(members.get(name).node, put("via-" + name, "2", 0));
    }
    assertEquals(4, describe(readAll(members.get("m4"))).size(), "before + one key through each original member");
  }

  /** Peer id -> "127.0.0.1:port" of the named members, as ConfigurationSync passes them. */
  private Map<String, String> addresses(String... names) {
    Map<String, String> out = new java.util.TreeMap<>();
    for (String n : names) {
      out.put(n, "127.0.0.1:" + peers.get(n).getPort());
    }
    return out;
  }

  /**
   * Every original member is replaced: m4 and m5 join (and propose while outside the group, which
   * points their clients at the old leader), m1..m3 leave and stop. The new leader's proposals and
   * configuration changes must not depend on a client whose leader guess is a removed member: they
   * used to cycle through removed members until "request timed out".
   */
  @Test
  void aLeaderWhoseClientsPointedAtRemovedMembersStillProposesAndReconfigures() throws IOException {
    String first = awaitLeader();
    for (String name : List.of("m4", "m5")) {
      peers.put(name, new InetSocketAddress("127.0.0.1", NetUtils.getFreePort()));
    }
    for (String name : List.of("m4", "m5")) {
      proposedRevision(start(name, true).node, put("from-" + name, "outside", 0));
    }
    members.get(first).node.setConfiguration(addresses("m1", "m2", "m3", "m4", "m5"), Map.of());
    members.get(first).node.setConfiguration(addresses("m4", "m5"), Map.of());
    for (String name : List.of("m1", "m2", "m3")) {
      stop(name);
    }
    String leader = awaitLeader();
    if (!leader.equals("m4")) {
      members.get(leader).node.transferLeadership("m4", 10_000);
      assertEquals("m4", awaitLeader());
    }
    RaftNode m4 = members.get("m4").node;
    proposedRevision(m4, put("via-m4", "new leader", 0));
    proposedRevision(members.get("m5").node, put("via-m5", "follower", 0));
    m4.setConfiguration(addresses("m4", "m5"), Map.of()); // the leader's own configuration change
    assertEquals(addresses("m4", "m5"), m4.configuration(false));
    assertEquals(List.of("from-m4", "from-m5", "via-m4", "via-m5"),
        describe(readAll(members.get("m5"))).stream().map(d -> d.replaceAll("=.*", "")).toList());
  }

  @Test
  void followersOfFiveVotersReadThroughOneSharedBarrierEntry() throws IOException {
    stopCluster();
    peers.clear();
    for (String name : List.of("m1", "m2", "m3", "m4", "m5")) {
      peers.put(name, new InetSocketAddress("127.0.0.1", NetUtils.getFreePort()));
    }
    for (String name : peers.keySet()) {
      start(name);
    }
    String leader = awaitLeader();
    List<String> followers = members.keySet().stream().filter(n -> !n.equals(leader)).toList();
    Member reader = members.get(followers.get(0));
    proposedRevision(members.get(followers.get(1)).node, put("k", "v1", 0));
    // the write through another follower is visible to a linearizable read here at once
    assertEquals(List.of("k=v1@2"), describe(readAll(reader)));

    long before = reader.store.appliedIndex();
    List<java.util.concurrent.CompletableFuture<Void>> reads = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      reads.add(reader.node.readBarrier());
    }
    reads.forEach(RaftNodeTest::get);
    long entries = reader.store.appliedIndex() - before;
    assertTrue(entries >= 1 && entries <= 20,
        "200 concurrent reads on a follower of five voters share barrier entries, got " + entries);
    assertEquals(2, reader.store.mvcc().currentRevision(), "a barrier entry is no revision");
    proposedRevision(members.get(leader).node, put("k", "v2", 0));
    assertEquals(List.of("k=v2@3"), describe(readAll(reader)));
  }

  @Test
  void concurrentLinearizableReadsOnEveryMemberKeepBeingAnsweredWhileWritesGoOn() throws Exception {
    awaitLeader();
    // 30 readers per member, each asking for its next read as soon as one is answered (the way
    // a loaded client does), for 4 s while another thread writes: a round that completed inside
    // Ratis' heartbeat-reply handling once started the next round there and deadlocked the leader
    java.util.concurrent.atomic.AtomicLong answered = new java.util.concurrent.atomic.AtomicLong();
    java.util.concurrent.ConcurrentLinkedQueue<Throwable> failures = new java.util.concurrent.ConcurrentLinkedQueue<>();
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(4);
    List<java.util.concurrent.CompletableFuture<Void>> readers = new ArrayList<>();
    for (Member m : members.values()) {
      for (int i = 0; i < 30; i++) {
        readers.add(readUntil(m.node, end, answered, failures));
      }
    }
    int writes = 0;
    while (System.nanoTime() < end) {
      proposedRevision(members.values().iterator().next().node, put("w", "v" + writes++, 0));
    }
    java.util.concurrent.CompletableFuture.allOf(readers.toArray(new java.util.concurrent.CompletableFuture[0]))
        .get(30, TimeUnit.SECONDS);
    assertTrue(failures.isEmpty(), () -> "failed reads: " + failures);
    assertTrue(answered.get() > 300, "reads kept being answered: " + answered.get());
    for (Member m : members.values()) {
      get(m.node.readBarrier());
      assertEquals(List.of("w=v" + (writes - 1)), describe(readAll(m)).stream().map(x -> x.replaceAll("@.*", "")).toList(),
          "a linearizable read on " + m.name + " sees the last write");
    }
  }

  /** Linearizable reads on {@code node} one after another until {@code end}. */
  private static java.util.concurrent.CompletableFuture<Void> readUntil(RaftNode node, long end,
      java.util.concurrent.atomic.AtomicLong answered, java.util.Collection<Throwable> failures) {
    if (System.nanoTime() >= end) {
      return java.util.concurrent.CompletableFuture.completedFuture(null);
    }
    return node.readBarrier().handle((v, e) -> {
      if (e != null) {
        failures.add(e);
      } else {
        answered.incrementAndGet();
      }
      return e == null;
    }).thenComposeAsync(ok -> ok ? readUntil(node, end, answered, failures)
        : java.util.concurrent.CompletableFuture.completedFuture(null));
  }

  @Test
  void aReadBarrierRightAfterARestartWaitsForTheLeader() throws IOException {
    String leader = awaitLeader();
    String follower = members.keySet().stream().filter(n -> !n.equals(leader)).findFirst().orElseThrow();
    proposedRevision(members.get(leader).node, put("k", "v", 0));
    stop(follower);
    Member restarted = start(follower);
    // the member does not know the leader yet; the barrier must wait for it, not fail at once
    assertEquals(List.of("k=v@2"), describe(readAll(restarted)));
  }

  @Test
  void leasesExpireOnTheLeaderClockAndKeepAlivesRenewThem() {
    awaitLeader();
    Member follower = members.values().stream().filter(m -> !m.node.isLeader()).findFirst().orElseThrow();
    long start = System.nanoTime();
    long ephemeral = grant(follower.node, 3);
    long kept = grant(follower.node, 3);
    long longLived = grant(follower.node, 30);
    proposedRevision(follower.node, put("ephemeral", "e", ephemeral));
    proposedRevision(follower.node, put("kept", "k", kept));
    proposedRevision(follower.node, put("plain", "p", 0));

    LeaderQuery keepAlive = LeaderQuery.newBuilder().setKeepAlive(LeaseKeepAliveRequest.newBuilder().setID(kept)).build();
    // keep "kept" alive once a second until "ephemeral" has expired everywhere
    long nextKeepAlive = 0;
    while (!everywhere(m -> m.store.lessor().lookup(ephemeral) == null
        && m.store.range(RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8("ephemeral")).build()).getCount() == 0)) {
      assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(8), "the 3 s lease expired within ~6 s");
      if (System.nanoTime() >= nextKeepAlive) {
        LeaderQueryResult r = get(follower.node.askLeader(keepAlive));
        assertEquals(3, r.getKeepAlive().getTTL(), () -> "keep-alive renews the full TTL: " + r);
        nextKeepAlive = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
      }
      sleep(50);
    }
    assertTrue(System.nanoTime() - start >= TimeUnit.SECONDS.toNanos(3), "not revoked before its TTL");
    get(follower.node.askLeader(keepAlive));
    for (Member m : members.values()) {
      assertNotNull(m.store.lessor().lookup(kept), "the kept-alive lease lives on " + m.name);
      assertEquals(List.of("kept=k", "plain=p"), describe(readAll(m)).stream().map(s -> s.replaceAll("@.*", "")).toList());
    }

    LeaderQueryResult ttl = get(follower.node.askLeader(LeaderQuery.newBuilder()
        .setTimeToLive(LeaseTimeToLiveRequest.newBuilder().setID(kept).setKeys(true)).build()));
    LeaseTimeToLiveResponse t = ttl.getTimeToLive();
    assertEquals(3, t.getGrantedTTL());
    assertTrue(t.getTTL() >= 1 && t.getTTL() <= 3, () -> "remaining TTL " + t.getTTL());
    assertEquals(List.of(ByteString.copyFromUtf8("kept")), t.getKeysList());

    // the leader replicated checkpoints of the 30 s lease's remaining TTL to every member
    await(Duration.ofSeconds(5), () -> everywhere(m -> {
      Lease l = m.store.lessor().lookup(longLived);
      return l != null && l.remainingTtl() >= 1 && l.remainingTtl() < 30;
    }), "a checkpoint of the 30 s lease on every member");

    // without keep-alives the second lease expires too
    await(Duration.ofSeconds(8), () -> everywhere(m -> m.store.lessor().lookup(kept) == null), "lease expiry");
    for (Member m : members.values()) {
      assertEquals(List.of("plain=p"), describe(readAll(m)).stream().map(s -> s.replaceAll("@.*", "")).toList());
    }
    assertEquals(0, get(follower.node.askLeader(keepAlive)).getKeepAlive().getTTL(), "a revoked lease cannot be renewed");
  }

  @Test
  void concurrentKeepAlivesOnAFollowerEachGetTheirOwnLeasesAnswer() {
    awaitLeader();
    Member follower = members.values().stream().filter(m -> !m.node.isLeader()).findFirst().orElseThrow();
    List<Long> leases = new java.util.ArrayList<>();
    for (int i = 0; i < 20; i++) {
      leases.add(grant(follower.node, 10 + i));
    }
    // 200 keep-alives at once: the follower sends them to the leader several per request
    List<java.util.concurrent.CompletableFuture<LeaderQueryResult>> answers = new java.util.ArrayList<>();
    for (int round = 0; round < 10; round++) {
      for (long id : leases) {
        answers.add(follower.node.askLeader(
            LeaderQuery.newBuilder().setKeepAlive(LeaseKeepAliveRequest.newBuilder().setID(id)).build()));
      }
    }
    answers.add(follower.node.askLeader(LeaderQuery.newBuilder()
        .setKeepAlive(LeaseKeepAliveRequest.newBuilder().setID(424242)).build()));
    for (int i = 0; i < 200; i++) {
      io.etcsql.grpcapi.etcdserverpb.LeaseKeepAliveResponse r = get(answers.get(i)).getKeepAlive();
      assertEquals(leases.get(i % 20), r.getID(), "answer " + i + " is its own lease's");
      assertEquals(10 + i % 20, r.getTTL(), "renewed to the lease's own TTL");
    }
    assertEquals(0, get(answers.get(200)).getKeepAlive().getTTL(), "an unknown lease is not renewed");
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
