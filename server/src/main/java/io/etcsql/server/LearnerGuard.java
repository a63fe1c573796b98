package io.etcsql.server;

import io.etcsql.grpcapi.etcdserverpb.MaintenanceGrpc;
import io.etcsql.grpcapi.etcdserverpb.RangeRequest;
import io.etcsql.kvstore.EtcdError;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.StatusRuntimeException;

/**
 * A learner serves what etcd's learners serve: Status and serializable Range. Every other
 * request, and every stream, fails with "etcdserver: rpc not supported for learner".
 */
final class LearnerGuard implements ServerInterceptor {
  private final java.util.function.BooleanSupplier isLearner;

  /** @param isLearner whether this member is a learner in the replicated member registry */
  LearnerGuard(java.util.function.BooleanSupplier isLearner) {
    this.isLearner = isLearner;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    ServerCall.Listener<Q> delegate = next.startCall(call, headers);
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(delegate) {
      private boolean refused;

      @Override
      public void onMessage(Q message) {
        if (refused) {
          return;
        }
        if (isLearner.getAsBoolean() && !supported(call.getMethodDescriptor().getFullMethodName(), message)) {
          refused = true;
          StatusRuntimeException s = GrpcErrors.toStatus(EtcdError.NOT_SUPPORTED_FOR_LEARNER);
          call.close(s.getStatus(), new Metadata());
          return;
        }
        super.onMessage(message);
      }

      @Override
      public void onHalfClose() {
        if (!refused) {
          super.onHalfClose();
        }
      }

      @Override
      public void onReady() {
        if (!refused) {
          super.onReady();
        }
      }
    };
  }

  private static boolean supported(String method, Object message) {
    if (message instanceof RangeRequest r) {
      return r.getSerializable();
    }
    return MaintenanceGrpc.getStatusMethod().getFullMethodName().equals(method);
  }

}
