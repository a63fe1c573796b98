package io.etcsql.kvstore.watch;

import java.util.ArrayDeque;

/**
 * A watcher's state inside the hub. Every mutable field is guarded by the {@link HubState}
 * monitor; the listener is only called by {@link Deliverer}.
 */
final class HubWatcher implements Watcher {
  enum State {
    /** In the synced group: receives each new revision from the dispatcher. */
    SYNCED,
    /** Behind: the catch-up task reads its missing revisions from history. */
    UNSYNCED,
    /** Compacted: delivers what it has queued, then nothing more. */
    FINISHED,
    /** Cancelled: delivers nothing more. */
    CANCELLED
  }

  private final HubState hub;
  private final WatchSpec spec;
  final WatchListener listener;

  State state;
  /** The first revision whose events this watcher still needs. */
  long nextRev;
  /** Notices not yet delivered; the head stays queued while it is being delivered. */
  final ArrayDeque<Notice> queue = new ArrayDeque<>();
  /** Events in {@link #queue}. */
  int bufferedEvents;
  /** A delivery task for this watcher is queued or running (at most one at a time). */
  boolean deliveryScheduled;
  /** The listener said it is not ready; delivery waits for {@link #resume()}. */
  boolean parked;
  /** Waiting in, or being served by, the catch-up queue. */
  boolean catchUpQueued;
  /** Events were queued since the last progress tick. */
  boolean queuedSinceTick;

  HubWatcher(HubState hub, WatchSpec spec, WatchListener listener, long nextRev) {
    this.hub = hub;
    this.spec = spec;
    this.listener = listener;
    this.nextRev = nextRev;
  }

  @Override
  public WatchSpec spec() {
    return spec;
  }

  @Override
  public void cancel() {
    hub.cancel(this);
  }

  @Override
  public void resume() {
    hub.resume(this);
  }

  @Override
  public boolean isSynced() {
    return hub.isSynced(this);
  }
}
