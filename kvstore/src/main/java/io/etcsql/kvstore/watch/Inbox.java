package io.etcsql.kvstore.watch;

import io.etcsql.grpcapi.mvccpb.Event;
import java.util.ArrayDeque;
import java.util.List;

/**
 * The hand-off from the store's apply thread to the hub's dispatcher: a bounded queue of
 * published revisions. {@link #publish} is O(1) and never waits for the dispatcher. When the queue
 * is full, further revisions are not queued but remembered as one {@link Gap}: their events are in
 * history, so the dispatcher turns every synced watcher unsynced and the catch-up task reads them.
 */
final class Inbox {
  /** A revision to fan out. */
  record Published(long revision, List<Event> events) {}

  /** Revisions {@code from..to} whose events were not queued. */
  record Gap(long from, long to) {}

  private final int capacity;
  private final ArrayDeque<Published> queue = new ArrayDeque<>();
  private long gapFrom;
  private long gapTo;
  private boolean closed;

  Inbox(int capacity) {
    this.capacity = capacity;
  }

  synchronized void publish(long revision, List<Event> events) {
    if (closed) {
      return;
    }
    if (gapFrom == 0 && queue.size() < capacity) {
      queue.add(new Published(revision, events));
    } else {
      if (gapFrom == 0) {
        gapFrom = revision;
      }
      gapTo = revision;
    }
    notifyAll();
  }

  /** Records revisions that became visible without being published: they are read back. */
  synchronized void gap(long from, long to) {
    if (closed || to < from) {
      return;
    }
    if (gapFrom == 0) {
      gapFrom = from;
    }
    gapTo = Math.max(gapTo, to);
    notifyAll();
  }

  /**
   * The next {@link Published} or {@link Gap} in revision order, waiting for one; null once
   * closed.
   */
  synchronized Object take() throws InterruptedException {
    while (!closed) {
      Published next = queue.poll();
      if (next != null) {
        return next;
      }
      if (gapFrom != 0) {
        Gap gap = new Gap(gapFrom, gapTo);
        gapFrom = 0;
        gapTo = 0;
        return gap;
      }
      wait();
    }
    return null;
  }

  synchronized void close() {
    closed = true;
    queue.clear();
    notifyAll();
  }
}
