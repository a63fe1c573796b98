package io.etcsql.kvstore.watch;

import io.etcsql.grpcapi.mvccpb.Event;
import io.etcsql.kvstore.EtcdError;
import io.etcsql.kvstore.EtcdException;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Brings unsynced watchers up to date from history (etcd's syncWatchersLoop), on the hub's single
 * background thread. Each step serves one watcher with one bounded read ({@link
 * HistoryReader#events} with at most the free room of its delivery queue), then the watcher goes
 * to the back of the queue, so many slow watchers share the thread fairly. The read happens
 * outside the hub's lock; {@link HubState#caughtUp} then queues the events and switches the
 * watcher to synced if it reached the dispatched revision.
 */
final class CatchUp {
  private static final Logger LOG = LoggerFactory.getLogger(CatchUp.class);
  private static final long RETRY_MILLIS = 100;

  private final HubState state;
  private final HistoryReader history;
  private final ScheduledExecutorService executor;
  private final int batchEvents;
  private final AtomicBoolean stepQueued = new AtomicBoolean();

  CatchUp(HubState state, HistoryReader history, ScheduledExecutorService executor, int batchEvents) {
    this.state = state;
    this.history = history;
    this.executor = executor;
    this.batchEvents = batchEvents;
  }

  /** Some watcher may need catching up: make sure a step runs. Cheap, callable under the lock. */
  void wakeup() {
    if (stepQueued.compareAndSet(false, true)) {
      try {
        executor.execute(this::step);
      } catch (RejectedExecutionException closed) {
        stepQueued.set(false);
      }
    }
  }

  private void step() {
    stepQueued.set(false);
    HubState.CatchUpTask task = state.nextCatchUp();
    if (task == null) {
      return;
    }
    try {
      long compactRev = history.compactRevision();
      if (task.from() < compactRev) {
        state.compacted(task, compactRev);
      } else {
        WatchSpec spec = task.w().spec();
        int max = Math.min(batchEvents, state.catchUpRoom(task.w()));
        List<Event> events = history.events(spec.key(), spec.rangeEnd(), task.from(), task.to(), max);
        state.caughtUp(task, events);
      }
    } catch (EtcdException e) {
      if (e.error() == EtcdError.COMPACTED) {
        state.compacted(task, history.compactRevision());
      } else {
        retryLater(task, e);
      }
    } catch (RuntimeException e) {
      retryLater(task, e);
    }
    wakeup();
  }

  private void retryLater(HubState.CatchUpTask task, RuntimeException e) {
    LOG.warn("watch catch-up read failed; retrying in {} ms", RETRY_MILLIS, e);
    state.failed(task);
    try {
      executor.schedule(() -> state.retry(task.w()), RETRY_MILLIS, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException closed) {
      // the hub is closing
    }
  }
}
