package io.etcsql.server;

import com.google.protobuf.MessageLite;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;

/**
 * Rejects a request message larger than etcd's gRPC receive limit ({@code --max-request-bytes}
 * plus 512 KiB of gRPC overhead), with the status and text etcd's Go gRPC server gives, so
 * clients see exactly what etcd would say.
 */
final class RequestSizeLimit implements ServerInterceptor {
  /** etcd's grpcOverheadBytes. */
  static final int GRPC_OVERHEAD_BYTES = 512 * 1024;

  private final int limit;

  RequestSizeLimit(int maxRequestBytes) {
    this.limit = maxRequestBytes + GRPC_OVERHEAD_BYTES;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    ServerCall.Listener<Q> delegate = next.startCall(call, headers);
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(delegate) {
      private boolean rejected;

      @Override
      public void onMessage(Q message) {
        if (rejected) {
          return;
        }
        if (message instanceof MessageLite m && m.getSerializedSize() > limit) {
          rejected = true;
          call.close(Status.RESOURCE_EXHAUSTED.withDescription(String.format(
              "grpc: received message larger than max (%d vs. %d)", m.getSerializedSize(), limit)), new Metadata());
          return;
        }
        super.onMessage(message);
      }

      @Override
      public void onHalfClose() {
        if (!rejected) {
          super.onHalfClose();
        }
      }

      @Override
      public void onReady() {
        if (!rejected) {
          super.onReady();
        }
      }
    };
  }
}
