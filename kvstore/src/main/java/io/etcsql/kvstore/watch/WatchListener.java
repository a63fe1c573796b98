package io.etcsql.kvstore.watch;

import io.etcsql.grpcapi.mvccpb.Event;
import java.util.List;

/**
 * Receives what one watcher sees. The hub calls these methods on its delivery threads, one at a
 * time per watcher and in order: never two calls for the same watcher concurrently, each call
 * happening-after the previous one returned. Calls for different watchers may run concurrently.
 *
 * <p>Back-pressure: before each call the hub asks {@link #isReady()}. While it answers false the
 * hub delivers nothing more to this watcher and buffers (a bounded number of events, then it stops
 * buffering and later re-reads the missing revisions from history; nothing is lost). The listener
 * must call {@link Watcher#resume()} once it becomes ready again.
 *
 * <p>Callbacks must not block for long; they may call back into the hub.
 */
public interface WatchListener {

  /**
   * Whether the listener can take another callback now. Must be cheap and non-blocking. After
   * answering false, the listener must call {@link Watcher#resume()} when it becomes ready.
   */
  default boolean isReady() {
    return true;
  }

  /**
   * Events of one or more whole main revisions, in revision order, with NOPUT/NODELETE filters
   * applied and prev_kv filled if requested; never empty.
   *
   * @param revision the watcher has seen every matching event up to and including this revision
   *     (the events' revision for live events; the end of the batch for catch-up batches, which
   *     can be above the last event's revision)
   */
  void onEvents(long revision, List<Event> events);

  /**
   * The watcher needs history below the compaction point; it is finished and no further callback
   * follows.
   *
   * @param compactRevision the store's compaction revision
   */
  void onCompacted(long compactRevision);

  /**
   * Progress notification: the watcher is synced and has seen every matching event up to and
   * including {@code revision}. Sent when the spec asked for progress notifications and the
   * watcher delivered nothing for a whole progress interval.
   */
  default void onProgress(long revision) {}
}
