package io.etcsql.server;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcsql.grpcapi.etcdserverpb.Member;
import io.etcsql.grpcapi.etcsqlpb.MemberAttributes;
import io.etcsql.grpcapi.etcsqlpb.MemberBootstrap;
import io.etcsql.grpcapi.etcsqlpb.MemberChange;
import io.etcsql.grpcapi.etcsqlpb.ReplicatedCommand;
import io.etcsql.kvstore.KvStore;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RemovalWatchTest {
  @TempDir
  Path dir;

  /**
   * A member removed from the registry before Raft's configuration ever listed it (a learner the
   * leader had not added yet, or a promotion still staging) stops too; it used to run on forever.
   */
  @Test
  void aMemberRemovedBeforeRaftEverListedItStops() throws Exception {
    try (KvStore store = KvStore.open(dir, KvStore.Options.defaults())) {
      store.apply(1, 1, ReplicatedCommand.newBuilder().setMemberBootstrap(MemberBootstrap.newBuilder()
          .setClusterId(9).addMembers(Member.newBuilder().setID(1).addPeerURLs("http://a:1"))
          .addMembers(Member.newBuilder().setID(2).addPeerURLs("http://b:2"))).build());
      // member 1 has started, so removing 2 leaves a quorum of started members (etcd's rule)
      store.apply(1, 2, ReplicatedCommand.newBuilder().setMemberAttributes(MemberAttributes.newBuilder()
          .setMemberId(1).setName("n1")).build());
      CountDownLatch stopped = new CountDownLatch(1);
      try (RemovalWatch watch = new RemovalWatch(store, 2, () -> false, stopped::countDown)) {
        assertFalse(stopped.await(2500, TimeUnit.MILLISECONDS), "a registered member keeps running");
        store.apply(1, 3, ReplicatedCommand.newBuilder().setMemberChange(MemberChange.newBuilder().setRemove(2)).build());
        assertTrue(stopped.await(5, TimeUnit.SECONDS), "the removed member stops");
      }
    }
  }
}
