package io.etcsql.kvstore.watch;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.etcsql.grpcapi.mvccpb.Event;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

/**
 * A {@link WatchListener} that records every callback and checks the hub's ordering promises:
 * never two calls at once, revisions never going backwards, nothing after onCompacted. Its
 * readiness can be switched off and on to test back-pressure.
 */
final class RecordingListener implements WatchListener {
  final List<Event> events = new ArrayList<>();
  final List<Long> eventRevisions = new ArrayList<>();
  final List<Long> progress = new ArrayList<>();
  long compactedAt = -1;
  final List<String> violations = new ArrayList<>();
  private final AtomicBoolean inCall = new AtomicBoolean();
  private volatile boolean ready = true;
  private volatile Watcher watcher;
  private long lastRevision;
  int callsWhileNotReady;

  Watcher watchOn(WatchHub hub, WatchSpec spec) {
    watcher = hub.watch(spec, this);
    return watcher;
  }

  void setReady(boolean value) {
    ready = value;
    if (value && watcher != null) {
      watcher.resume();
    }
  }

  @Override
  public boolean isReady() {
    return ready;
  }

  @Override
  public void onEvents(long revision, List<Event> batch) {
    enter();
    synchronized (this) {
      if (!ready) {
        callsWhileNotReady++;
      }
      if (batch.isEmpty()) {
        violations.add("empty batch");
      }
      for (Event e : batch) {
        long r = e.getKv().getModRevision();
        if (r < lastRevision) {
          violations.add("revision went back: " + r + " after " + lastRevision);
        }
        if (r > revision) {
          violations.add("event " + r + " above response revision " + revision);
        }
        lastRevision = r;
        events.add(e);
      }
      eventRevisions.add(revision);
      if (compactedAt >= 0) {
        violations.add("events after compaction");
      }
    }
    leave();
  }

  @Override
  public void onCompacted(long compactRevision) {
    enter();
    synchronized (this) {
      compactedAt = compactRevision;
    }
    leave();
  }

  @Override
  public void onProgress(long revision) {
    enter();
    synchronized (this) {
      progress.add(revision);
    }
    leave();
  }

  private void enter() {
    if (!inCall.compareAndSet(false, true)) {
      synchronized (this) {
        violations.add("concurrent callback");
      }
    }
  }

  private void leave() {
    inCall.set(false);
  }

  synchronized List<Event> events() {
    return new ArrayList<>(events);
  }

  synchronized int eventCount() {
    return events.size();
  }

  synchronized List<Long> progress() {
    return new ArrayList<>(progress);
  }

  synchronized long compactedAt() {
    return compactedAt;
  }

  synchronized void assertNoViolations() {
    assertTrue(violations.isEmpty(), violations.toString());
  }

  static void await(BooleanSupplier condition, String what) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        fail("timed out waiting for " + what);
      }
      try {
        Thread.sleep(2);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        fail("interrupted");
      }
    }
  }
}
