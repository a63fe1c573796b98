package io.etcsql.server.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Runtime membership changes with the real etcdctl, as an operator does them: add a member and
 * start it with {@code --initial-cluster-state existing}, add a learner and promote it, remove a
 * member (it stops) and remove the leader (the others carry on).
 */
@ExtendWith(DumpLogsOnFailure.class)
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class MembershipIT {
  private static final Duration WAIT = Duration.ofSeconds(40);

  /**
   * Starts member n4 joining {@code cluster}, already added with {@code member add}; waits until it
   * answers a serializable read (a learner fails etcdctl's health check, which reads linearizably).
   */
  private static ServerProcess startJoiner(Cluster cluster, int peerPort) {
    StringBuilder initial = new StringBuilder();
    for (ServerProcess m : cluster.members()) {
      initial.append(m.name()).append('=').append(m.peerUrl()).append(',');
    }
    initial.append("n4=http://127.0.0.1:").append(peerPort);
    int clientPort = ServerProcess.freePort();
    List<String> flags = new ArrayList<>(ServerProcess.memberFlags("n4", cluster.baseDir().resolve("n4.etcd"),
        clientPort, peerPort, initial.toString(), cluster.token(), List.of()));
    flags.set(flags.indexOf("--initial-cluster-state") + 1, "existing");
    ServerProcess n4 = new ServerProcess("n4", cluster.baseDir(), clientPort, peerPort, flags).start();
    Etcdctl ctl = new Etcdctl(n4.clientEndpoint());
    try {
      await(WAIT, "n4 serves", () -> ctl.run("--command-timeout=2s", "get", "k", "--consistency=s").exitCode() == 0);
    } catch (AssertionError e) {
      String log = n4.logTail(80);
      n4.kill(); // the caller never gets it to stop
      throw new AssertionError(e.getMessage() + "; n4's log:\n" + log, e);
    }
    return n4;
  }

  /** The id (hex) of the member named {@code name} in {@code member list} output, or null. */
  private static String idOf(String memberList, String name) {
    for (String line : memberList.split("\n")) {
      String[] f = line.split(", ");
      if (f.length >= 3 && f[2].equals(name)) {
        return f[0];
      }
    }
    return null;
  }

  private static void await(Duration timeout, String what, java.util.function.BooleanSupplier ok) {
    long end = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < end) {
      if (ok.getAsBoolean()) {
        return;
      }
      ServerProcess.sleep(250);
    }
    throw new AssertionError("timed out waiting until " + what);
  }

  @Test
  void addedMemberJoinsServesAndLeavesWhenRemoved() {
    try (Cluster cluster = Cluster.start(3)) {
      Etcdctl ctl = cluster.ctl(0);
      ctl.ok("put", "before/add", "v0");
      int peerPort = ServerProcess.freePort();
      String added = ctl.ok("member", "add", "n4", "--peer-urls=http://127.0.0.1:" + peerPort);
      assertTrue(added.startsWith("Member ") && added.contains(" added to cluster "), added);
      assertTrue(added.contains("ETCD_INITIAL_CLUSTER_STATE=\"existing\""), added);
      ServerProcess n4 = startJoiner(cluster, peerPort);
      try {
        Etcdctl viaN4 = new Etcdctl(n4.clientEndpoint());
        assertEquals("before/add\nv0\n", viaN4.ok("get", "before/add"));
        viaN4.ok("put", "after/add", "v4");
        assertEquals("after/add\nv4\n", cluster.ctl(1).ok("get", "after/add"));
        String list = ctl.ok("member", "list");
        assertEquals(4, list.split("\n").length, list);
        String id = idOf(list, "n4");
        assertTrue(list.contains(id + ", started, n4, http://127.0.0.1:" + peerPort + ", " + n4.clientEndpoint()
            + ", false"), list);

        String removed = ctl.ok("member", "remove", id);
        assertTrue(removed.contains(id + " removed from cluster "), removed); // etcdctl pads ids: %16x
        assertEquals(3, ctl.ok("member", "list").split("\n").length);
        await(Duration.ofSeconds(30), "the removed member stops", () -> !n4.isAlive());
        // etcsql computes an added member's id from its peer URLs: the same URL is the removed id,
        // which etcd never lets back in (ErrIDRemoved, answered as "member not found")
        Etcdctl.Result again = ctl.run("member", "add", "n4", "--peer-urls=http://127.0.0.1:" + peerPort);
        assertEquals(1, again.exitCode(), again.toString());
        assertEquals("Error: etcdserver: member not found", again.err());
        ctl.ok("put", "after/remove", "v");
        assertEquals("after/remove\nv\n", cluster.ctl(2).ok("get", "after/remove"));
      } finally {
        n4.kill();
      }
    }
  }

  /**
   * A member added after the leader purged its log cannot be sent the log from its start: it
   * installs the leader's store as a snapshot, then serves every key. (Ratis purges whole closed
   * log segments of 32 MiB, after a snapshot: --snapshot-count 20 and 40 MiB of values.)
   */
  @Test
  void aMemberAddedAfterTheLogWasPurgedJoinsFromASnapshot() throws Exception {
    try (Cluster cluster = Cluster.start(3, List.of("--snapshot-count", "20"))) {
      int keys = 60;
      String mib = "x".repeat(1024 * 1024);
      try (io.etcd.jetcd.Client c = Clients.jetcd(cluster.member(0).clientEndpoint())) {
        for (int i = 0; i < keys; i++) {
          c.getKVClient().put(bs("purged/" + i), bs(i < 40 ? mib : "v" + i)).get(20, TimeUnit.SECONDS);
        }
      }
      Etcdctl ctl = cluster.ctl(0);
      int peerPort = ServerProcess.freePort();
      ctl.ok("member", "add", "n4", "--peer-urls=http://127.0.0.1:" + peerPort);
      ServerProcess n4 = startJoiner(cluster, peerPort);
      try (io.etcd.jetcd.Client viaN4 = Clients.jetcd(n4.clientEndpoint())) {
        io.etcd.jetcd.options.GetOption serializableCount = io.etcd.jetcd.options.GetOption.builder()
            .isPrefix(true).withSerializable(true).withCountOnly(true).build();
        await(WAIT, "n4 has every key", () -> {
          try {
            return viaN4.getKVClient().get(bs("purged/"), serializableCount).get(5, TimeUnit.SECONDS).getCount() == keys;
          } catch (Exception e) {
            return false;
          }
        });
        String n4Log = n4.logTail(400);
        assertTrue(n4Log.contains("installing a snapshot from"), "n4 joined from the leader's snapshot:\n" + n4Log);
        assertEquals("purged/57\nv57\n", new Etcdctl(n4.clientEndpoint()).ok("get", "purged/57"));
        new Etcdctl(n4.clientEndpoint()).ok("put", "after/join", "v");
        assertEquals("after/join\nv\n", cluster.ctl(1).ok("get", "after/join"));
      } finally {
        n4.kill();
      }
    }
  }

  private static io.etcd.jetcd.ByteSequence bs(String s) {
    return io.etcd.jetcd.ByteSequence.from(s, java.nio.charset.StandardCharsets.UTF_8);
  }

  /** Adds n4 as a learner and starts it; returns it with its id. */
  private static ServerProcess startLearner(Cluster cluster, Etcdctl ctl, String[] idOut) {
    ctl.ok("put", "k", "v");
    int peerPort = ServerProcess.freePort();
    String added = ctl.ok("member", "add", "n4", "--learner", "--peer-urls=http://127.0.0.1:" + peerPort);
    assertTrue(added.contains(" added to cluster "), added);
    ServerProcess n4 = startJoiner(cluster, peerPort);
    String list = ctl.ok("member", "list");
    idOut[0] = idOf(list, "n4");
    assertTrue(list.contains(idOut[0] + ", started, n4, http://127.0.0.1:" + peerPort + ", "
        + n4.clientEndpoint() + ", true"), list);
    return n4;
  }

  /** What a learner test checks, given the cluster, its etcdctl, the learner's, and the learner's id. */
  private interface LearnerCheck {
    void run(Cluster cluster, Etcdctl ctl, Etcdctl viaLearner, String learnerId);
  }

  /** Starts 3 members and a learner n4, runs {@code check}, then stops everything. */
  private static void withLearner(LearnerCheck check) {
    try (Cluster cluster = Cluster.start(3)) {
      Etcdctl ctl = cluster.ctl(0);
      String[] id = new String[1];
      ServerProcess n4 = startLearner(cluster, ctl, id);
      try {
        check.run(cluster, ctl, new Etcdctl(n4.clientEndpoint()), id[0]);
      } catch (RuntimeException | Error e) {
        cluster.onFailure(e); // keeps the directory, with n4.log beside the members' logs
        throw e;
      } finally {
        n4.kill();
      }
    }
  }

  @Test
  void learnerServesSerializableReadsOnly() {
    withLearner((cluster, ctl, viaN4, id) -> {
        await(WAIT, "the learner has the data", () -> viaN4.run("get", "k", "--consistency=s").stdout().equals("k\nv\n"));
        Etcdctl.Result linearizable = viaN4.run("get", "k");
        assertEquals(1, linearizable.exitCode(), linearizable.toString());
        assertEquals("Error: etcdserver: rpc not supported for learner", linearizable.err());
        Etcdctl.Result put = viaN4.run("put", "k", "w");
        assertEquals("Error: etcdserver: rpc not supported for learner", put.err());
        assertEquals("k\nv\n", ctl.ok("get", "k"), "a refused request changes nothing");
    });
  }

  @Test
  void promotedLearnerServesLinearizableReads() {
    withLearner((cluster, ctl, viaN4, id) -> {
        String promoted = ctl.ok("member", "promote", id);
        assertTrue(promoted.contains(id + " promoted in cluster "), promoted);
        assertTrue(ctl.ok("member", "list").contains(id + ", started, n4, "));
        await(WAIT, "the promoted member serves linearizable reads", () -> viaN4.run("get", "k").stdout().equals("k\nv\n"));
        Etcdctl.Result again = ctl.run("member", "promote", id);
        assertEquals("Error: etcdserver: can only promote a learner member", again.err());
        // n4 now votes: remove one of the first three and kill another; the last one and n4 are
        // 2 of 3 voters, a quorum only if n4 votes (as a listener it would leave 1 of 2)
        int leader = cluster.waitLeader(Duration.ofSeconds(20));
        int removed = cluster.otherThan(leader);
        String removedId = idOf(ctl.ok("member", "list"), cluster.member(removed).name());
        Etcdctl viaLeader = cluster.ctl(leader);
        assertTrue(viaLeader.ok("member", "remove", removedId).contains(removedId + " removed from cluster "));
        await(WAIT, "three members left", () -> viaN4.ok("member", "list").split("\n").length == 3);
        cluster.member(leader).kill();
        await(WAIT, "writes go on with n4's vote", () -> viaN4.run("--command-timeout=3s", "put", "after/loss", "x").exitCode() == 0);
        assertEquals("after/loss\nx\n", viaN4.ok("get", "after/loss"));
    });
  }

  @Test
  void reconfigurationsThatWouldHurtTheQuorumAreRefusedAsEtcdDoes() {
    try (Cluster cluster = Cluster.start(3)) {
      Etcdctl ctl = cluster.ctl(0);
      // a learner that is not running is not in sync with the leader (etcd also refuses any add
      // until it has been connected to every voter for 5 s: "unhealthy cluster")
      String learnerUrl = "--peer-urls=http://127.0.0.1:" + ServerProcess.freePort();
      await(WAIT, "a learner is added", () -> ctl.run("member", "add", "n4", "--learner", learnerUrl).exitCode() == 0);
      String learnerId = idOf(ctl.ok("member", "list").replace(", unstarted, , ", ", unstarted, n4, "), "n4");
      Etcdctl.Result promote = ctl.run("member", "promote", learnerId);
      assertEquals(1, promote.exitCode(), promote.toString());
      assertEquals("Error: etcdserver: can only promote a learner member which is in sync with leader", promote.err());
      assertTrue(ctl.ok("member", "list").contains(learnerId + ", unstarted, , "), "still an unstarted learner");
      assertTrue(ctl.ok("member", "remove", learnerId).contains(" removed from cluster "), "a learner can always go");

      // with n3 down, removing the live n2 would leave one active voter of two: refused
      cluster.member(2).kill();
      // etcd's transport sees the closed connection at once; etcsql counts a peer inactive once the
      // leader has not heard from it for an election timeout (1 s here)
      ServerProcess.sleep(2000);
      String list = ctl.ok("member", "list");
      String n2 = idOf(list, "n2");
      String n3 = idOf(list, "n3");
      await(WAIT, "the leader notices n3 is gone", () -> {
        Etcdctl.Result r = ctl.run("member", "remove", n2);
        if (r.exitCode() == 0) {
          throw new AssertionError("n2 was removed although n3 is down: " + r);
        }
        return r.err().equals("Error: etcdserver: unhealthy cluster");
      });
      assertEquals(3, ctl.ok("member", "list").split("\n").length, "a refused removal changes nothing");
      // and adding a voter needs every voter connected
      Etcdctl.Result add = ctl.run("member", "add", "n5", "--peer-urls=http://127.0.0.1:" + ServerProcess.freePort());
      assertEquals("Error: etcdserver: unhealthy cluster", add.err());
      // removing the member that is down is allowed, once the leader can tell it is down: a
      // leader elected when n3 died (n3 may have led) calls no member down before it has led for
      // an election timeout, and until then answers "unhealthy cluster"
      String[] removed = new String[1];
      await(WAIT, "the member that is down is removed", () -> {
        Etcdctl.Result r = ctl.run("member", "remove", n3);
        if (r.exitCode() != 0 && !r.err().equals("Error: etcdserver: unhealthy cluster")) {
          throw new AssertionError("removing the member that is down failed: " + r);
        }
        removed[0] = r.stdout();
        return r.exitCode() == 0;
      });
      assertTrue(removed[0].contains(n3 + " removed from cluster "), removed[0]);
      ctl.ok("put", "after/removing/n3", "v");
    }
  }

  @Test
  void removingTheLeaderLeavesAWorkingCluster() {
    try (Cluster cluster = Cluster.start(3)) {
      int leader = cluster.waitLeader(Duration.ofSeconds(20));
      int other = cluster.otherThan(leader);
      Etcdctl ctl = cluster.ctl(other);
      String list = ctl.ok("member", "list");
      String leaderId = idOf(list, cluster.member(leader).name());
      String removed = ctl.ok("member", "remove", leaderId);
      assertTrue(removed.contains(leaderId + " removed from cluster "), removed);
      await(WAIT, "writes are accepted without the removed leader",
          () -> ctl.run("--command-timeout=2s", "put", "after/leader/removed", "v").exitCode() == 0);
      assertEquals(2, ctl.ok("member", "list").split("\n").length);
      int third = cluster.otherThan(leader, other);
      await(WAIT, "the other survivor has the write",
          () -> cluster.ctl(third).run("get", "after/leader/removed").stdout().equals("after/leader/removed\nv\n"));
    }
  }
}
