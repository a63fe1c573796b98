package io.etcsql.server;

import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/** Completes unary gRPC calls from futures, mapping failures through {@link GrpcErrors}. */
final class Replies {
  private Replies() {}

  static <T> void send(CompletableFuture<T> future, StreamObserver<T> observer) {
    future.whenComplete((value, error) -> {
      if (error != null) {
        observer.onError(GrpcErrors.toStatus(error));
      } else {
        observer.onNext(value);
        observer.onCompleted();
      }
    });
  }

  /** Runs a synchronous handler; its exceptions (validation errors) become statuses. */
  static <T> void now(Supplier<CompletableFuture<T>> handler, StreamObserver<T> observer) {
    CompletableFuture<T> f;
    try {
      f = handler.get();
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    send(f, observer);
  }
}
