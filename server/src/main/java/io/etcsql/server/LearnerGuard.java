package io.etcsql.server;

import io.etcsql.grpcapi.etcdserverpb.MaintenanceGrpc;
import io.etcsql.grpcapi.etcdserverpb.RangeRequest;
import io.etcsql.kvstore.EtcdError;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.util.function.BooleanSupplier;

/**
 * A learner serves what etcd's learners serve: Status and serializable Range. Every other
 * request, and every stream, fails with "etcdserver: rpc not supported for learner".
 */
final class LearnerGuard implements ServerInterceptor {
  private final BooleanSupplier isLearner;

  /** @param isLearner whether this member is a learner in the replicated member registry */
  LearnerGuard(BooleanSupplier isLearner) {
    this.isLearner = isLearner;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    String method = call.getMethodDescriptor().getFullMethodName();
    return RefusingListener.start(call, headers, next, message ->
        isLearner.getAsBoolean() && !supported(method, message)
            ? GrpcErrors.toStatus(EtcdError.NOT_SUPPORTED_FOR_LEARNER).getStatus()
            : null);
  }

  private static boolean supported(String method, Object message) {
    if (message instanceof RangeRequest r) {
      return r.getSerializable();
    }
    return MaintenanceGrpc.getStatusMethod().getFullMethodName().equals(method);
  }
}
