package io.etcsql.server;

import io.etcsql.consensus.RaftNode;
import io.etcsql.grpcapi.etcdserverpb.MaintenanceGrpc;
import io.etcsql.grpcapi.etcdserverpb.StatusRequest;
import io.etcsql.grpcapi.etcdserverpb.StatusResponse;
import io.etcsql.kvstore.EtcdError;
import io.etcsql.server.config.Flags;
import io.grpc.stub.StreamObserver;

/** etcd's Maintenance service (Status so far; the rest answers UNIMPLEMENTED). */
final class MaintenanceService extends MaintenanceGrpc.MaintenanceImplBase {
  private final RaftNode node;
  private final ResponseHeaders headers;
  private final ClusterIdentity identity;

  MaintenanceService(RaftNode node, ResponseHeaders headers, ClusterIdentity identity) {
    this.node = node;
    this.headers = headers;
    this.identity = identity;
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
