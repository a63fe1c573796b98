package io.etcsql.server;

import com.google.protobuf.MessageLite;
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
    return new RefusingListener<>(call, next.startCall(call, headers), message ->
        message instanceof MessageLite m && m.getSerializedSize() > limit
            ? Status.RESOURCE_EXHAUSTED.withDescription(String.format(
                "grpc: received message larger than max (%d vs. %d)", m.getSerializedSize(), limit))
            : null);
  }
}
