package io.etcsql.bench.load;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runs a request/response workload as etcd's benchmark does: {@code clients} clients, each with
 * one request outstanding, sending its next request when the previous one is answered, until
 * {@code warmup + total} requests were sent; the first {@code warmup} are not recorded. With a
 * rate, requests are spaced by {@code 1/rate} over all clients (a token bucket of one, as etcd's
 * {@code rate.NewLimiter(rate, 1)}); latency is measured from the moment a request is sent.
 *
 * <p>Requests are sent with asynchronous stubs: no thread waits for an answer, so a few event-loop
 * threads drive any number of clients.
 */
final class ClosedLoop {
  /** One kind of request. */
  interface Workload {
    /** Sends request number {@code seq} for {@code client}; calls {@code done} exactly once. */
    void send(int client, long seq, Outcome done);
  }

  /** The answer to one request: {@code error} is null when it succeeded. */
  interface Outcome {
    void done(Throwable error);
  }

  private final int clients;
  private final long warmup;
  private final long total;
  private final long intervalNanos;
  private final Workload workload;
  private final Results results;
  private final AtomicLong next = new AtomicLong();
  private final CountDownLatch finished;
  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "load-scheduler");
    t.setDaemon(true);
    return t;
  });
  private long nextSlot;
  private volatile long measureStart;
  private volatile long measureCpuStart;
  private long cpuNanos;

  ClosedLoop(int clients, long warmup, long total, long rate, Workload workload, Results results) {
    this.clients = clients;
    this.warmup = warmup;
    this.total = total;
    this.intervalNanos = rate > 0 ? 1_000_000_000L / rate : 0;
    this.workload = workload;
    this.results = results;
    this.finished = new CountDownLatch(clients);
  }

  /** Runs every request; returns the seconds from the first recorded request to the last answer. */
  double run() throws InterruptedException {
    measureStart = System.nanoTime();
    measureCpuStart = LoadMain.cpuNanos();
    for (int c = 0; c < clients; c++) {
      issue(c);
    }
    finished.await();
    long end = System.nanoTime();
    cpuNanos = LoadMain.cpuNanos() - measureCpuStart;
    scheduler.shutdownNow();
    return (end - measureStart) / 1e9;
  }

  private void issue(int client) {
    long seq = next.getAndIncrement();
    if (seq >= warmup + total) {
      finished.countDown();
      return;
    }
    if (seq == warmup && warmup > 0) {
      measureStart = System.nanoTime();
      measureCpuStart = LoadMain.cpuNanos();
    }
    long delay = reserve();
    if (delay > 0) {
      scheduler.schedule(() -> send(client, seq), delay, TimeUnit.NANOSECONDS);
    } else {
      send(client, seq);
    }
  }

  /** CPU time of this process (all its threads) from the first recorded request to the end of the run. */
  long cpuNanos() {
    return cpuNanos;
  }

  /** Nanoseconds to wait before the next request may go (0 without a rate). */
  private long reserve() {
    if (intervalNanos == 0) {
      return 0;
    }
    synchronized (this) {
      long now = System.nanoTime();
      long slot = Math.max(nextSlot, now);
      nextSlot = slot + intervalNanos;
      return slot - now;
    }
  }

  private void send(int client, long seq) {
    long start = System.nanoTime();
    try {
      workload.send(client, seq, error -> answered(client, seq, start, error));
    } catch (RuntimeException e) {
      answered(client, seq, start, e);
    }
  }

  private void answered(int client, long seq, long start, Throwable error) {
    long end = System.nanoTime();
    if (seq >= warmup) {
      if (error == null) {
        results.success(end - start);
      } else {
        results.error(error);
      }
    }
    if (error == null) {
      issue(client);
    } else {
      // a failure can be reported on the sending thread: go on from another one, not recursively
      scheduler.execute(() -> issue(client));
    }
  }
}
