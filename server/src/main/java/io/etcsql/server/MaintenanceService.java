package io.etcsql.server;

import io.etcsql.consensus.RaftNode;
import io.etcsql.grpcapi.etcdserverpb.MaintenanceGrpc;
import io.etcsql.grpcapi.etcdserverpb.StatusRequest;
import io.etcsql.grpcapi.etcdserverpb.StatusResponse;
import io.etcsql.kvstore.EtcdError;
import io.etcsql.grpcapi.etcdserverpb.AlarmMember;
import io.etcsql.grpcapi.etcdserverpb.AlarmRequest;
import io.etcsql.grpcapi.etcdserverpb.AlarmResponse;
import io.etcsql.grpcapi.etcdserverpb.AlarmType;
import io.etcsql.grpcapi.etcdserverpb.DefragmentRequest;
import io.etcsql.grpcapi.etcdserverpb.DefragmentResponse;
import io.etcsql.grpcapi.etcdserverpb.HashKVRequest;
import io.etcsql.grpcapi.etcdserverpb.HashKVResponse;
import io.etcsql.grpcapi.etcdserverpb.HashRequest;
import io.etcsql.grpcapi.etcdserverpb.HashResponse;
import io.etcsql.grpcapi.etcdserverpb.MoveLeaderRequest;
import io.etcsql.grpcapi.etcdserverpb.MoveLeaderResponse;
import io.etcsql.grpcapi.etcsqlpb.ReplicatedCommand;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import io.etcsql.server.config.Flags;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.etcsql.grpcapi.etcdserverpb.SnapshotRequest;
import io.etcsql.grpcapi.etcdserverpb.SnapshotResponse;
import com.google.protobuf.ByteString;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * etcd's Maintenance service: Status, Snapshot, Hash, HashKV, Defragment, Alarm and MoveLeader
 * (Downgrade, an etcd 3.5 RPC, answers UNIMPLEMENTED).
 */
final class MaintenanceService extends MaintenanceGrpc.MaintenanceImplBase {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(MaintenanceService.class);
  /** etcd sends snapshots in 32 KiB pieces. */
  private static final int SNAPSHOT_CHUNK = 32 * 1024;

  private final RaftNode node;
  private final ResponseHeaders headers;
  private final ClusterIdentity identity;
  private final Path scratchDir;
  private final Proposer proposer;
  private final long electionTimeoutMs;
  /** Runs the blocking operations (snapshots, defragmentation, leadership transfer) off gRPC threads. */
  private final java.util.concurrent.Executor blocking = java.util.concurrent.Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "maintenance");
    t.setDaemon(true);
    return t;
  });

  /** Receives each snapshot's duration in nanoseconds (etcd_disk_backend_snapshot_duration_seconds). */
  private final java.util.function.LongConsumer snapshotTimes;

  MaintenanceService(RaftNode node, ResponseHeaders headers, ClusterIdentity identity, Path scratchDir,
      Proposer proposer, long electionTimeoutMs, java.util.function.LongConsumer snapshotTimes) {
    this.snapshotTimes = snapshotTimes;
    this.proposer = proposer;
    this.electionTimeoutMs = electionTimeoutMs;
    this.node = node;
    this.headers = headers;
    this.identity = identity;
    this.scratchDir = scratchDir;
  }

  /**
   * Streams a consistent copy of the whole store (etcsql's snapshot format, ending with its
   * SHA-256), with {@code remaining_bytes} as etcd sends it. The copy is written to a scratch
   * file first so its size is known; writes continue meanwhile.
   */
  @Override
  public void snapshot(SnapshotRequest request, StreamObserver<SnapshotResponse> observer) {
    blocking.execute(() -> streamSnapshot(observer));
  }

  private void streamSnapshot(StreamObserver<SnapshotResponse> observer) {
    long start = System.nanoTime();
    Path file = null;
    try {
      file = Files.createTempFile(scratchDir, "snapshot-", ".out");
      try (OutputStream out = Files.newOutputStream(file)) {
        node.store().writeSnapshot(out);
      }
      long remaining = Files.size(file);
      try (InputStream in = Files.newInputStream(file)) {
        byte[] buf = new byte[SNAPSHOT_CHUNK];
        while (remaining > 0) {
          int n = in.readNBytes(buf, 0, (int) Math.min(buf.length, remaining));
          remaining -= n;
          if (observer instanceof ServerCallStreamObserver<SnapshotResponse> s && s.isCancelled()) {
            return;
          }
          observer.onNext(SnapshotResponse.newBuilder()
              .setHeader(headers.current())
              .setRemainingBytes(remaining)
              .setBlob(ByteString.copyFrom(buf, 0, n))
              .build());
        }
      }
      observer.onCompleted();
    } catch (Exception e) {
      observer.onError(GrpcErrors.toStatus(e));
    } finally {
      snapshotTimes.accept(System.nanoTime() - start); // as etcd: sent or not
      if (file != null) {
        try {
          Files.deleteIfExists(file);
        } catch (java.io.IOException ignored) {
          // best effort: a stale scratch file is removed with the next snapshot's directory scan
        }
      }
    }
  }

  @Override
  public void status(StatusRequest request, StreamObserver<StatusResponse> observer) {
    try {
      long size = node.store().sizeOnDisk();
      String leader = node.leaderPeerId();
      StatusResponse.Builder b = StatusResponse.newBuilder()
          .setHeader(headers.current())
          .setVersion(Flags.EMULATED_ETCD_VERSION)
          .setDbSize(size)
          .setDbSizeInUse(Math.min(size, node.store().sizeInUse()))
          .setLeader(ClusterIdentity.memberIdOf(leader))
          .setRaftIndex(node.commitIndex())
          .setRaftTerm(node.term())
          .setRaftAppliedIndex(node.appliedIndex())
          .setIsLearner(node.isLearner());
      if (leader == null) {
        b.addErrors(EtcdError.NO_LEADER.message());
      }
      for (AlarmMember a : node.store().alarms(AlarmType.NONE)) {
        b.addErrors(alarmText(a));
      }
      observer.onNext(b.build());
      observer.onCompleted();
    } catch (RuntimeException e) {
      observer.onError(GrpcErrors.toStatus(e));
    }
  }

  /**
   * An alarm as etcd prints it in Status.errors (gogoproto's compact text: {@code
   * memberID:<decimal> alarm:NOSPACE }, with its trailing space; a type without a name as its
   * number).
   */
  static String alarmText(AlarmMember a) {
    String type = a.getAlarm() == AlarmType.UNRECOGNIZED ? Integer.toString(a.getAlarmValue()) : a.getAlarm().name();
    return "memberID:" + Long.toUnsignedString(a.getMemberID()) + " alarm:" + type + " ";
  }

  @Override
  public void hash(HashRequest request, StreamObserver<HashResponse> observer) {
    Replies.now(() -> CompletableFuture.supplyAsync(() -> {
      long[] h = node.store().hash();
      return HashResponse.newBuilder().setHeader(headers.at(h[1])).setHash((int) h[0]).build();
    }, blocking), observer);
  }

  /** etcd's HashKV; {@code compact_revision} is -1 until the first compaction, as etcd's. */
  @Override
  public void hashKV(HashKVRequest request, StreamObserver<HashKVResponse> observer) {
    Replies.now(() -> CompletableFuture.supplyAsync(() -> {
      long[] h = node.store().hashKv(request.getRevision());
      return HashKVResponse.newBuilder()
          .setHeader(headers.at(h[1]))
          .setHash((int) h[0])
          .setCompactRevision(h[2] == 0 ? -1 : h[2])
          .build();
    }, blocking), observer);
  }

  /** Rewrites this member's revision segments compactly; the member keeps serving meanwhile. */
  @Override
  public void defragment(DefragmentRequest request, StreamObserver<DefragmentResponse> observer) {
    Replies.now(() -> CompletableFuture.supplyAsync(() -> {
      try {
        LOG.info("starting defragment");
        long freed = node.store().defragment();
        LOG.info("finished defragment ({} bytes of files given back)", freed);
        return DefragmentResponse.newBuilder().setHeader(headers.current()).build();
      } catch (java.io.IOException e) {
        throw new CompletionException(io.grpc.Status.UNKNOWN.withDescription(e.getMessage()).asRuntimeException());
      } catch (io.etcsql.kvstore.backend.UnrecoverableStoreException e) {
        LOG.error("stopping the member: {}", e.getMessage(), e);
        Runtime.getRuntime().halt(1); // no shutdown hooks: nothing more may be written
        throw e;
      }
    }, blocking), observer);
  }

  /** etcd's Alarm: every action (GET too) goes through Raft and answers what applying it gave. */
  @Override
  public void alarm(AlarmRequest request, StreamObserver<AlarmResponse> observer) {
    Replies.now(() -> proposer.raw(ReplicatedCommand.newBuilder().setAlarm(request).build())
        .thenApply(r -> r.getAlarm().toBuilder().setHeader(headers.current()).build()), observer);
  }

  /**
   * etcd's MoveLeader: only the leader answers ("etcdserver: not leader" elsewhere); the target
   * must be a voting member ("etcdserver: bad leader transferee"); the transfer waits for the
   * target to take over.
   */
  @Override
  public void moveLeader(MoveLeaderRequest request, StreamObserver<MoveLeaderResponse> observer) {
    Replies.now(() -> {
      if (!node.isLeader()) {
        throw EtcdError.NOT_LEADER.exception();
      }
      String target = ClusterIdentity.peerId(request.getTargetID());
      if (!node.configuration(false).containsKey(target)) {
        throw EtcdError.BAD_LEADER_TRANSFEREE.exception();
      }
      MoveLeaderResponse done = MoveLeaderResponse.newBuilder().setHeader(headers.current()).build();
      if (target.equals(node.selfPeerId())) {
        return CompletableFuture.completedFuture(done);
      }
      return CompletableFuture.supplyAsync(() -> {
        try {
          node.transferLeadership(target, Math.max(5_000, 5 * electionTimeoutMs));
        } catch (java.io.IOException e) {
          LOG.warn("leadership transfer to {} failed: {}", target, e.toString());
          throw EtcdError.LEADER_TRANSFER_TIMEOUT.exception();
        }
        return MoveLeaderResponse.newBuilder().setHeader(headers.current()).build();
      }, blocking);
    }, observer);
  }
}
