package io.etcsql.consensus;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Function;

/**
 * Sends items in batches with a bounded number under way: at most {@code maxInFlight} requests
 * are being answered at a time, and the items that arrive meanwhile go together in the next one
 * (at most {@code maxItems}, and no more than {@code maxBytes} unless one item alone is bigger);
 * one item alone goes as itself. Every item gets its own answer, in order; a request that fails
 * fails each of its items with the same error. Subclasses say how items are packed into one
 * request and how a request's answer is split into the items' answers.
 *
 * @param <T> an item, and a request (one item, or several packed)
 * @param <R> an answer to a request, and to an item
 */
abstract class InFlightBatcher<T, R> {
  private record Pending<T, R>(T item, int bytes, CompletableFuture<R> answer) {}

  private final Function<T, CompletableFuture<R>> send;
  private final Executor executor;
  private final int maxInFlight;
  private final int maxItems;
  private final long maxBytes;
  private final ArrayDeque<Pending<T, R>> queue = new ArrayDeque<>();
  private int inFlight;

  /**
   * @param send sends one request; its future must complete or fail within a bounded time
   * @param executor where a request's answers are handed out and the next request is sent: never
   *     the thread that completed the last one, which may be one of Ratis' own
   */
  InFlightBatcher(Function<T, CompletableFuture<R>> send, Executor executor, int maxInFlight, int maxItems,
      long maxBytes) {
    if (maxInFlight < 1 || maxItems < 1) {
      throw new IllegalArgumentException("maxInFlight and maxItems must be positive");
    }
    this.send = send;
    this.executor = executor;
    this.maxInFlight = maxInFlight;
    this.maxItems = maxItems;
    this.maxBytes = maxBytes;
  }

  /** The size that counts against {@code maxBytes}. */
  abstract int size(T item);

  /** One request carrying {@code items} (two or more), in their order. */
  abstract T pack(List<T> items);

  /**
   * The answers of the {@code count} items (two or more) of a request answered with {@code
   * answer}, in order.
   *
   * @throws IllegalStateException when the answer does not fit the request
   */
  abstract List<R> split(R answer, int count);

  /** Sends {@code item}, alone or with others; completes with its own answer. */
  final CompletableFuture<R> submit(T item) {
    Pending<T, R> p = new Pending<>(item, size(item), new CompletableFuture<>());
    List<Pending<T, R>> next;
    synchronized (this) {
      queue.add(p);
      next = nextRequest();
    }
    if (next != null) {
      start(next);
    }
    return p.answer();
  }

  /** The items of the next request if one may start now (counted in flight), else null. */
  private List<Pending<T, R>> nextRequest() {
    if (inFlight >= maxInFlight || queue.isEmpty()) {
      return null;
    }
    List<Pending<T, R>> out = new ArrayList<>();
    long bytes = 0;
    while (!queue.isEmpty() && out.size() < maxItems) {
      Pending<T, R> p = queue.peek();
      if (!out.isEmpty() && bytes + p.bytes() > maxBytes) {
        break;
      }
      out.add(queue.poll());
      bytes += p.bytes();
    }
    inFlight++;
    return out;
  }

  private void start(List<Pending<T, R>> request) {
    T packed = request.size() == 1 ? request.get(0).item() : pack(request.stream().map(Pending::item).toList());
    CompletableFuture<R> sent;
    try {
      sent = send.apply(packed);
    } catch (RuntimeException e) {
      sent = CompletableFuture.failedFuture(e);
    }
    sent.whenCompleteAsync((answer, error) -> {
      deliver(request, answer, error);
      List<Pending<T, R>> next;
      synchronized (this) {
        inFlight--;
        next = nextRequest();
      }
      if (next != null) {
        start(next);
      }
    }, executor);
  }

  private void deliver(List<Pending<T, R>> request, R answer, Throwable error) {
    if (error != null) {
      request.forEach(p -> p.answer().completeExceptionally(error));
    } else if (request.size() == 1) {
      request.get(0).answer().complete(answer);
    } else {
      List<R> answers;
      try {
        answers = split(answer, request.size());
      } catch (IllegalStateException e) {
        request.forEach(p -> p.answer().completeExceptionally(e));
        return;
      }
      for (int i = 0; i < request.size(); i++) {
        request.get(i).answer().complete(answers.get(i));
      }
    }
  }
}
