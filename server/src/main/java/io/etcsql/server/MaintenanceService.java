package io.etcsql.server;

import io.etcsql.consensus.RaftNode;
import io.etcsql.grpcapi.etcdserverpb.MaintenanceGrpc;
import io.etcsql.grpcapi.etcdserverpb.StatusRequest;
import io.etcsql.grpcapi.etcdserverpb.StatusResponse;
import io.etcsql.kvstore.EtcdError;
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

/** etcd's Maintenance service (Status and Snapshot so far; the rest answers UNIMPLEMENTED). */
final class MaintenanceService extends MaintenanceGrpc.MaintenanceImplBase {
  /** etcd sends snapshots in 32 KiB pieces. */
  private static final int SNAPSHOT_CHUNK = 32 * 1024;

  private final RaftNode node;
  private final ResponseHeaders headers;
  private final ClusterIdentity identity;
  private final Path scratchDir;

  MaintenanceService(RaftNode node, ResponseHeaders headers, ClusterIdentity identity, Path scratchDir) {
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
      String leader = node.leaderName();
      StatusResponse.Builder b = StatusResponse.newBuilder()
          .setHeader(headers.current())
          .setVersion(Flags.EMULATED_ETCD_VERSION)
          .setDbSize(size)
          .setDbSizeInUse(size)
          .setLeader(identity.idOf(leader))
          .setRaftIndex(node.commitIndex())
          .setRaftTerm(node.term())
          .setRaftAppliedIndex(node.appliedIndex())
          .setIsLearner(node.isLearner());
      if (leader == null) {
        b.addErrors(EtcdError.NO_LEADER.message());
      }
      observer.onNext(b.build());
      observer.onCompleted();
    } catch (RuntimeException e) {
      observer.onError(GrpcErrors.toStatus(e));
    }
  }
}
