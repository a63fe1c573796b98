package io.etcsql.kvstore.watch;

import io.etcsql.grpcapi.mvccpb.Event;
import io.etcsql.kvstore.watch.HubWatcher.State;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every watcher's state and every transition between states, under one monitor (this object).
 * Holding one lock for the dispatcher, the catch-up task and the delivery bookkeeping is what
 * makes the unsynced-to-synced switch exact: the switch and the fan-out of a revision never
 * interleave, so a watcher gets each revision either from history or live, never both or
 * neither.
 *
 * <p>Invariants (etcd's watchableStore, adapted):
 *
 * <ul>
 *   <li>{@code dispatchedRev}: every synced watcher has queued every matching event up to it.
 *   <li>A SYNCED watcher is in {@code synced} and takes revisions {@code >= nextRev} live.
 *   <li>An UNSYNCED watcher needs revisions {@code nextRev..dispatchedRev} from history; it is in
 *       the catch-up queue unless its delivery queue is above the low-water mark, in which case
 *       draining it re-queues it.
 *   <li>A watcher's queue holds at most about {@code maxBufferedEvents} events: the dispatcher
 *       unsyncs a watcher instead of queueing more, and catch-up reads only into free room.
 * </ul>
 *
 * Nothing here blocks or reads history; callers do I/O outside the monitor.
 */
final class HubState {
  private static final Logger LOG = LoggerFactory.getLogger(HubState.class);

  /** A catch-up read to do outside the monitor: {@code w}'s events in {@code from..to}. */
  record CatchUpTask(HubWatcher w, long from, long to) {}

  /** A progress request; {@code atLeast} is the store's revision when it was made. */
  private record ProgressRequest(Collection<? extends Watcher> watchers, LongConsumer onProgress, long atLeast) {}

  private final HistoryReader history;
  private final int maxBufferedEvents;
  private final int lowWaterEvents;
  private final Consumer<HubWatcher> deliveryScheduler;
  private final Runnable catchUpWakeup;

  private final WatcherGroup synced = new WatcherGroup();
  private final ArrayDeque<HubWatcher> catchUpQueue = new ArrayDeque<>();
  private final Set<HubWatcher> progressWatchers = new LinkedHashSet<>();
  private final List<ProgressRequest> progressRequests = new ArrayList<>();
  private long dispatchedRev;
  private boolean closed;
  /** Every watcher registered and not cancelled (compacted ones too, as in etcd). */
  private final Set<HubWatcher> registered = new java.util.HashSet<>();
  private long eventsDelivered;

  HubState(
      HistoryReader history,
      int maxBufferedEvents,
      Consumer<HubWatcher> deliveryScheduler,
      Runnable catchUpWakeup) {
    this.history = history;
    this.maxBufferedEvents = maxBufferedEvents;
    this.lowWaterEvents = maxBufferedEvents / 2;
    this.deliveryScheduler = deliveryScheduler;
    this.catchUpWakeup = catchUpWakeup;
    this.dispatchedRev = history.currentRevision();
  }

  // ---- registration -------------------------------------------------------------------------

  synchronized HubWatcher register(WatchSpec spec, WatchListener listener) {
    if (closed) {
      throw new IllegalStateException("watch hub is closed");
    }
    long start = spec.startRevision() > 0 ? spec.startRevision() : history.currentRevision() + 1;
    WatchSpec resolved = new WatchSpec(spec.key(), spec.rangeEnd(), start, spec.prevKv(),
        spec.noPut(), spec.noDelete(), spec.progressNotify());
    HubWatcher w = new HubWatcher(this, resolved, listener, start);
    registered.add(w);
    long compactRev = history.compactRevision();
    if (start < compactRev) {
      w.state = State.FINISHED;
      w.queue.add(new Notice.Compacted(compactRev));
      scheduleDelivery(w);
      return w;
    }
    if (start > dispatchedRev) {
      w.state = State.SYNCED;
      synced.add(w);
    } else {
      w.state = State.UNSYNCED;
      queueCatchUp(w);
    }
    if (resolved.progressNotify()) {
      progressWatchers.add(w);
    }
    return w;
  }

  synchronized void cancel(HubWatcher w) {
    if (w.state == State.CANCELLED) {
      return;
    }
    w.state = State.CANCELLED;
    registered.remove(w);
    synced.remove(w);
    progressWatchers.remove(w);
    w.queue.clear();
    w.bufferedEvents = 0;
    checkProgressRequests();
  }

  synchronized boolean isSynced(HubWatcher w) {
    return w.state == State.SYNCED;
  }

  synchronized long dispatchedRevision() {
    return dispatchedRev;
  }

  /** The hub's watchers now; see {@link WatchStats}. */
  synchronized WatchStats stats(int streams) {
    int slow = 0;
    long pending = 0;
    for (HubWatcher w : registered) {
      if (w.state == State.UNSYNCED) {
        slow++;
      }
      pending += w.bufferedEvents;
    }
    return new WatchStats(streams, registered.size(), slow, pending, eventsDelivered);
  }

  synchronized void close() {
    closed = true;
    progressRequests.clear();
  }

  // ---- dispatch (the dispatcher thread) -----------------------------------------------------

  /** Fans revision {@code rev} out to the synced watchers it matches. */
  synchronized void dispatch(long rev, List<Event> events) {
    if (closed || rev <= dispatchedRev) {
      return;
    }
    Map<HubWatcher, List<Event>> matched = new LinkedHashMap<>();
    for (Event e : events) {
      ByteKey key = new ByteKey(e.getKv().getKey().toByteArray());
      synced.forEachMatch(key, w -> matched.computeIfAbsent(w, x -> new ArrayList<>()).add(e));
    }
    for (Map.Entry<HubWatcher, List<Event>> m : matched.entrySet()) {
      HubWatcher w = m.getKey();
      if (rev < w.nextRev) {
        continue;
      }
      if (w.bufferedEvents >= maxBufferedEvents) {
        unsync(w, rev);
        continue;
      }
      w.nextRev = rev + 1;
      queueEvents(w, rev, m.getValue());
    }
    dispatchedRev = rev;
    if (!progressRequests.isEmpty()) {
      checkProgressRequests();
    }
  }

  /** Revisions {@code from..to} were published but not queued: every synced watcher catches up. */
  synchronized void gap(long from, long to) {
    if (closed || to <= dispatchedRev) {
      return;
    }
    long first = Math.max(from, dispatchedRev + 1);
    for (HubWatcher w : new ArrayList<>(synced.all())) {
      unsync(w, first);
    }
    dispatchedRev = to;
    if (!progressRequests.isEmpty()) {
      checkProgressRequests();
    }
  }

  // ---- catch-up (the background thread) -----------------------------------------------------

  /** The next catch-up read to do, or null when no watcher needs one now. */
  synchronized CatchUpTask nextCatchUp() {
    HubWatcher w;
    while ((w = catchUpQueue.poll()) != null) {
      if (w.state != State.UNSYNCED) {
        w.catchUpQueued = false;
      } else if (w.nextRev > dispatchedRev) {
        w.catchUpQueued = false;
        markSynced(w);
      } else if (w.bufferedEvents > lowWaterEvents) {
        w.catchUpQueued = false; // draining its queue re-queues it
      } else {
        return new CatchUpTask(w, w.nextRev, dispatchedRev);
      }
    }
    return null;
  }

  /** How many events a catch-up read for {@code w} may bring in. */
  synchronized int catchUpRoom(HubWatcher w) {
    return Math.max(1, maxBufferedEvents - w.bufferedEvents);
  }

  /**
   * A catch-up read returned {@code events} (whole revisions from {@code task.from()}, at most up
   * to {@code task.to()}). Unless the read reached {@code to} or was empty, the events may stop
   * early, so only revisions up to the last event's are taken as covered.
   */
  synchronized void caughtUp(CatchUpTask task, List<Event> events) {
    HubWatcher w = task.w();
    w.catchUpQueued = false;
    if (w.state != State.UNSYNCED || w.nextRev != task.from()) {
      return;
    }
    long covered = task.to();
    if (!events.isEmpty()) {
      long last = events.get(events.size() - 1).getKv().getModRevision();
      covered = Math.max(task.from(), Math.min(covered, last));
    }
    w.nextRev = covered + 1;
    queueEvents(w, covered, events);
    if (w.nextRev > dispatchedRev) {
      markSynced(w);
    } else {
      queueCatchUp(w);
    }
  }

  /** {@code task}'s watcher needs revisions below the compaction point: it is finished. */
  synchronized void compacted(CatchUpTask task, long compactRevision) {
    HubWatcher w = task.w();
    w.catchUpQueued = false;
    if (w.state != State.UNSYNCED) {
      return;
    }
    w.state = State.FINISHED;
    progressWatchers.remove(w);
    w.queue.add(new Notice.Compacted(compactRevision));
    scheduleDelivery(w);
  }

  /** A catch-up read failed for another reason: {@code task} is dropped until {@link #retry}. */
  synchronized void failed(CatchUpTask task) {
    task.w().catchUpQueued = false;
  }

  synchronized void retry(HubWatcher w) {
    if (w.state == State.UNSYNCED) {
      queueCatchUp(w);
    }
  }

  // ---- delivery (the delivery threads) ------------------------------------------------------

  /** The notice to deliver next to {@code w}, or null (and the delivery task ends). */
  synchronized Notice nextNotice(HubWatcher w) {
    Notice next = w.state == State.CANCELLED ? null : w.queue.peek();
    if (next == null) {
      w.deliveryScheduled = false;
    }
    return next;
  }

  /** {@code notice} was handed to the listener. */
  synchronized void delivered(HubWatcher w, Notice notice) {
    if (notice instanceof Notice.Events events) {
      eventsDelivered += events.events().size();
    }
    if (w.queue.peek() != notice) {
      return; // cancelled meanwhile
    }
    w.queue.poll();
    if (notice instanceof Notice.Events events) {
      w.bufferedEvents -= events.events().size();
    }
    if (w.state == State.UNSYNCED) {
      queueCatchUp(w);
    }
    if (w.queue.isEmpty()) {
      checkProgressRequests();
    }
  }

  /** The listener is not ready: stop delivering until {@link #resume}. */
  synchronized void park(HubWatcher w) {
    w.deliveryScheduled = false;
    w.parked = true;
  }

  synchronized void resume(HubWatcher w) {
    if (w.parked) {
      w.parked = false;
      scheduleDelivery(w);
    }
  }

  /** The delivery task used its turn; queue another one if there is more. */
  synchronized void yieldTurn(HubWatcher w) {
    w.deliveryScheduled = false;
    scheduleDelivery(w);
  }

  // ---- progress ------------------------------------------------------------------------------

  /** One progress interval passed: notify synced progress watchers that queued nothing in it. */
  synchronized void progressTick() {
    for (HubWatcher w : progressWatchers) {
      if (w.state == State.SYNCED && !w.queuedSinceTick) {
        if (w.queue.peekLast() instanceof Notice.Progress) {
          w.queue.pollLast();
        }
        // a watcher created after a write the dispatcher has not reached yet starts after it: it
        // has seen everything before nextRev, so its progress is never older than that
        w.queue.add(new Notice.Progress(Math.max(dispatchedRev, w.nextRev - 1)));
        scheduleDelivery(w);
      }
      w.queuedSinceTick = false;
    }
  }

  synchronized void requestProgress(Collection<? extends Watcher> watchers, LongConsumer onProgress) {
    if (closed) {
      return;
    }
    ProgressRequest request = new ProgressRequest(watchers, onProgress, history.currentRevision());
    if (!tryAnswer(request)) {
      progressRequests.add(request);
    }
  }

  private void checkProgressRequests() {
    for (Iterator<ProgressRequest> it = progressRequests.iterator(); it.hasNext(); ) {
      if (tryAnswer(it.next())) {
        it.remove();
      }
    }
  }

  /**
   * Answers {@code request} if every watcher in it is synced (or finished) with nothing left to
   * deliver, and the dispatcher has reached the store's revision at the time of the request: then
   * every event up to {@code dispatchedRev} has been handed to the listeners, and the answer is
   * never older than a write acknowledged before the request (as in etcd, where watchers are
   * notified before a write returns). With no live watcher at all, the store's current revision
   * is as true and newer.
   */
  private boolean tryAnswer(ProgressRequest request) {
    boolean anyLive = false;
    for (Watcher x : request.watchers()) {
      HubWatcher w = (HubWatcher) x;
      if (w.state == State.CANCELLED) {
        continue;
      }
      if (w.state == State.UNSYNCED || !w.queue.isEmpty()) {
        return false;
      }
      anyLive |= w.state == State.SYNCED;
    }
    if (anyLive && dispatchedRev < request.atLeast()) {
      return false; // the dispatcher has yet to fan out revisions the requester may have seen
    }
    long rev = anyLive ? dispatchedRev : Math.max(dispatchedRev, history.currentRevision());
    try {
      request.onProgress().accept(rev);
    } catch (RuntimeException e) {
      LOG.warn("progress callback failed", e);
    }
    return true;
  }

  // ---- helpers -------------------------------------------------------------------------------

  private void queueEvents(HubWatcher w, long rev, List<Event> events) {
    List<Event> kept = filter(w.spec(), events);
    if (kept.isEmpty()) {
      return;
    }
    w.queue.add(new Notice.Events(rev, kept));
    w.bufferedEvents += kept.size();
    w.queuedSinceTick = true;
    scheduleDelivery(w);
  }

  private static List<Event> filter(WatchSpec spec, List<Event> events) {
    if (!spec.noPut() && !spec.noDelete()) {
      return events;
    }
    List<Event> kept = new ArrayList<>(events.size());
    for (Event e : events) {
      boolean put = e.getType() == Event.EventType.PUT;
      if (put ? !spec.noPut() : !spec.noDelete()) {
        kept.add(e);
      }
    }
    return kept;
  }

  private void unsync(HubWatcher w, long fromRev) {
    synced.remove(w);
    w.state = State.UNSYNCED;
    w.nextRev = Math.max(w.nextRev, fromRev);
    queueCatchUp(w);
  }

  private void markSynced(HubWatcher w) {
    w.state = State.SYNCED;
    synced.add(w);
    checkProgressRequests();
  }

  private void queueCatchUp(HubWatcher w) {
    if (!w.catchUpQueued && w.bufferedEvents <= lowWaterEvents) {
      w.catchUpQueued = true;
      catchUpQueue.add(w);
      catchUpWakeup.run();
    }
  }

  private void scheduleDelivery(HubWatcher w) {
    if (!w.deliveryScheduled && !w.parked && !w.queue.isEmpty() && !closed) {
      w.deliveryScheduled = true;
      deliveryScheduler.accept(w);
    }
  }
}
