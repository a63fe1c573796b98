package io.etcsql.server;

import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.Status;
import java.util.function.Function;

/**
 * A call listener for interceptors that may refuse a request after seeing its message: when
 * {@code check} returns a status, the call is closed with it and nothing more reaches the
 * service (no message, half-close or readiness callbacks).
 */
final class RefusingListener<Q> extends ForwardingServerCallListener.SimpleForwardingServerCallListener<Q> {
  private final ServerCall<Q, ?> call;
  private final Function<Q, Status> check;
  private boolean refused;

  /** @param check the status to refuse a message with, or null to let it through */
  RefusingListener(ServerCall<Q, ?> call, ServerCall.Listener<Q> delegate, Function<Q, Status> check) {
    super(delegate);
    this.call = call;
    this.check = check;
  }

  @Override
  public void onMessage(Q message) {
    if (refused) {
      return;
    }
    Status status = check.apply(message);
    if (status != null) {
      refused = true;
      call.close(status, new Metadata());
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
}
