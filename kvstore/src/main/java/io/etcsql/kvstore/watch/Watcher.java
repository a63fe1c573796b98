package io.etcsql.kvstore.watch;

/** A watcher registered with a {@link WatchHub}. Thread-safe. */
public interface Watcher {

  /** What this watcher watches, with {@code startRevision} resolved (never 0). */
  WatchSpec spec();

  /**
   * Stops the watcher: no callback starts after this returns (one already running on a delivery
   * thread may still finish). Idempotent.
   */
  void cancel();

  /**
   * Tells the hub that the listener became ready again after answering false to {@link
   * WatchListener#isReady()}. Cheap; harmless when the watcher was not waiting.
   */
  void resume();

  /**
   * Whether the watcher has every event up to the hub's dispatched revision in hand (buffered or
   * delivered) and receives new revisions live. A watcher catching up from history is unsynced.
   */
  boolean isSynced();
}
