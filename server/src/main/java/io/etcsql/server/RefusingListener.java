package io.etcsql.server;

import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.Status;
import java.util.function.Function;

/**
 * A call listener for what refuses a call after seeing its message (request decoding, size
 * limit, learner guard): when {@code check} returns a status, the call is closed with it and
 * nothing more reaches the service (no message, half-close or readiness callbacks).
 *
 * <p>The service answers from its own threads (a keep-alive once the leader has answered, watch
 * events), so it may write while a later message is refused. Every write to the call therefore
 * goes through one lock, and a write after the call was closed is dropped: two concurrent writes,
 * or response headers after the refusal's trailers, would fail the whole HTTP/2 connection.
 */
final class RefusingListener<Q> extends ForwardingServerCallListener.SimpleForwardingServerCallListener<Q> {
  private final ServerCall<Q, ?> call;
  private final Function<Q, Status> check;
  private boolean refused;

  private RefusingListener(ServerCall<Q, ?> call, ServerCall.Listener<Q> delegate, Function<Q, Status> check) {
    super(delegate);
    this.call = call;
    this.check = check;
  }

  /**
   * Starts the call with {@code next}, refusing it when {@code check} returns a status for one of
   * its messages (null lets the message through).
   */
  static <Q, R> ServerCall.Listener<Q> start(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next,
      Function<Q, Status> check) {
    ServerCall<Q, R> serialized = new SerializedCall<>(call);
    return new RefusingListener<>(serialized, next.startCall(serialized, headers), check);
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

  /** A call whose writes are serialized, and dropped once it is closed. */
  private static final class SerializedCall<Q, R> extends ForwardingServerCall.SimpleForwardingServerCall<Q, R> {
    private boolean closed;

    SerializedCall(ServerCall<Q, R> call) {
      super(call);
    }

    @Override
    public synchronized void sendHeaders(Metadata headers) {
      if (!closed) {
        super.sendHeaders(headers);
      }
    }

    @Override
    public synchronized void sendMessage(R message) {
      if (!closed) {
        super.sendMessage(message);
      }
    }

    @Override
    public synchronized void close(Status status, Metadata trailers) {
      if (!closed) {
        closed = true;
        super.close(status, trailers);
      }
    }
  }
}
