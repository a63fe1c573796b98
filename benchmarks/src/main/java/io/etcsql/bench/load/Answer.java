package io.etcsql.bench.load;

import io.grpc.stub.AbstractStub;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The observer of one unary call of the load tool: reports the call's outcome once, when it
 * completes; {@code check} may read the response and turn it into an error (or count it).
 */
final class Answer<R> implements StreamObserver<R> {
  private final ClosedLoop.Outcome done;
  private final Function<R, Throwable> check;
  private Throwable error;

  Answer(ClosedLoop.Outcome done, Function<R, Throwable> check) {
    this.done = done;
    this.check = check;
  }

  Answer(ClosedLoop.Outcome done) {
    this(done, null);
  }

  @Override
  public void onNext(R response) {
    if (check != null) {
      error = check.apply(response);
    }
  }

  @Override
  public void onError(Throwable t) {
    done.done(t);
  }

  @Override
  public void onCompleted() {
    done.done(error);
  }

  /** {@code stub} with a deadline of {@code timeoutNanos} from now, or without one when it is 0. */
  static <S extends AbstractStub<S>> S timed(S stub, long timeoutNanos) {
    return timeoutNanos > 0 ? stub.withDeadlineAfter(timeoutNanos, TimeUnit.NANOSECONDS) : stub;
  }
}
