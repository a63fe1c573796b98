package io.etcsql.kvstore.watch;

import io.etcsql.grpcapi.mvccpb.Event;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers the store's changes to watchers (etcd's watchableStore + watcher groups).
 *
 * <pre>
 *  apply thread --publish--> Inbox --dispatcher--> synced watchers' queues --delivery--> listeners
 *                               (bounded; overflow        ^    |  full queue: unsync
 *                                = gap, read back)        |    v
 *                                                      catch-up task <-- HistoryReader.events
 * </pre>
 *
 * <p><b>Synced and unsynced.</b> A synced watcher receives each newly published revision from the
 * dispatcher. A watcher that starts at or below the dispatched revision, whose delivery queue is
 * full (a slow listener), or that was synced when the inbox overflowed, is unsynced: the catch-up
 * task reads its missing revisions from history in bounded batches into its queue, and when it
 * reaches the dispatched revision it rejoins the synced group. The switch happens under the same
 * lock as the fan-out of a revision, so nothing is lost or repeated. Slow watchers are never
 * dropped; they only fall back to history, which fails with {@link WatchListener#onCompacted} if
 * the revisions they need are compacted meanwhile.
 *
 * <p><b>Back-pressure.</b> Each watcher has a queue of at most about {@code maxBufferedEvents}
 * events (default {@value #DEFAULT_MAX_BUFFERED_EVENTS}). Delivery asks {@link
 * WatchListener#isReady()} before every callback and waits for {@link Watcher#resume()} when it
 * says no. {@link #publish} never waits: it queues up to {@value #DEFAULT_INBOX_REVISIONS}
 * revisions and beyond that only records the gap.
 *
 * <p><b>Matching.</b> Synced watchers are indexed by key (hash map) and by range (a sorted map of
 * elementary segments, see {@link RangeIndex}), so a revision costs O(events * (1 + log ranges))
 * plus the matches, not a scan of all watchers.
 *
 * <p><b>Threads.</b> A fixed set of daemon threads, whatever the number of watchers: one
 * dispatcher, one background thread (catch-up reads and progress ticks), and {@code
 * deliveryThreads} delivery threads (default {@value #DEFAULT_DELIVERY_THREADS}). {@link #close()}
 * stops them.
 *
 * <p><b>What it needs from the store.</b> {@link HistoryReader#currentRevision()} and {@link
 * HistoryReader#compactRevision()} may be called while the hub holds its lock, so they must be
 * cheap and must not wait for anything that calls into the hub other than {@link #publish}; reads
 * of events and previous values happen outside the lock, on hub threads.
 *
 * <p>Thread-safe.
 */
public final class WatchHub implements AutoCloseable {
  static final int DEFAULT_MAX_BUFFERED_EVENTS = 1024;
  static final int DEFAULT_CATCH_UP_BATCH_EVENTS = 512;
  static final int DEFAULT_INBOX_REVISIONS = 4096;
  static final int DEFAULT_DELIVERY_THREADS = 2;

  private static final Logger LOG = LoggerFactory.getLogger(WatchHub.class);

  private final HistoryReader history;
  private final Inbox inbox;
  private final HubState state;
  private final Thread dispatcher;
  private final ScheduledExecutorService background;
  private final ExecutorService delivery;
  private final AtomicInteger streams = new AtomicInteger();

  /**
   * A hub over {@code history}, with default limits, started at once.
   *
   * @param progressNotifyInterval how long a synced watcher that asked for progress notifications
   *     must stay idle before it gets one; zero or negative disables them
   */
  public WatchHub(HistoryReader history, Duration progressNotifyInterval) {
    this(history, progressNotifyInterval, DEFAULT_MAX_BUFFERED_EVENTS,
        DEFAULT_CATCH_UP_BATCH_EVENTS, DEFAULT_INBOX_REVISIONS, DEFAULT_DELIVERY_THREADS);
  }

  /** A hub with explicit limits (tests use small ones). */
  WatchHub(
      HistoryReader history,
      Duration progressNotifyInterval,
      int maxBufferedEvents,
      int catchUpBatchEvents,
      int inboxRevisions,
      int deliveryThreads) {
    this.history = Objects.requireNonNull(history, "history");
    this.inbox = new Inbox(inboxRevisions);
    this.background = Executors.newSingleThreadScheduledExecutor(daemons("etcsql-watch-catchup"));
    this.delivery = Executors.newFixedThreadPool(deliveryThreads, daemons("etcsql-watch-delivery"));
    CatchUp[] catchUp = new CatchUp[1];
    Deliverer[] deliverer = new Deliverer[1];
    this.state = new HubState(history, maxBufferedEvents,
        w -> submitDelivery(deliverer[0], w), () -> catchUp[0].wakeup());
    catchUp[0] = new CatchUp(state, history, background, catchUpBatchEvents);
    deliverer[0] = new Deliverer(state, history);
    this.dispatcher = daemons("etcsql-watch-dispatch").newThread(this::dispatchLoop);
    dispatcher.start();
    long intervalNanos = progressNotifyInterval == null ? 0 : progressNotifyInterval.toNanos();
    if (intervalNanos > 0) {
      background.scheduleAtFixedRate(
          state::progressTick, intervalNanos, intervalNanos, TimeUnit.NANOSECONDS);
    }
  }

  /**
   * Hands the hub the events of main revision {@code revision}, in sub-revision order, without
   * prev_kv. Called by the store's apply thread, in revision order, after the revision became
   * visible to {@link HistoryReader} readers. Returns at once (O(1)); revisions at or below the
   * already dispatched one are ignored; after {@link #close()} this does nothing.
   */
  public void publish(long revision, List<Event> events) {
    inbox.publish(revision, List.copyOf(events));
  }

  /**
   * Revisions {@code fromRevision..toRevision} became visible without being published (the
   * store was replaced by a snapshot from the leader): watchers read them back from history, or
   * are cancelled as compacted if history no longer has them. Never blocks.
   */
  public void skipped(long fromRevision, long toRevision) {
    inbox.gap(fromRevision, toRevision);
  }

  /**
   * Registers a watcher. Events from {@code spec.startRevision()} on (0: from the current
   * revision + 1) that match the spec go to {@code listener} as described on {@link
   * WatchListener}. A start revision below the compaction point ends with {@link
   * WatchListener#onCompacted}.
   *
   * @throws IllegalArgumentException if the spec's range is empty ({@link WatchSpec#isEmptyRange})
   * @throws IllegalStateException if the hub is closed
   */
  public Watcher watch(WatchSpec spec, WatchListener listener) {
    Objects.requireNonNull(listener, "listener");
    if (spec.isEmptyRange()) {
      throw new IllegalArgumentException("mvcc: watcher range is empty");
    }
    return state.register(spec, listener);
  }

  /**
   * Asks for one progress answer for a group of watchers (a gRPC stream's): {@code onProgress}
   * gets revision R at the first moment when every watcher of the group is synced and has handed
   * its listener every event up to R (cancelled and compacted watchers do not count). That can be
   * at once, on the caller's thread, or later on a hub thread. The group is read again at every
   * check, so it may be a live view (a concurrent collection) of the stream's watchers; it must
   * hold watchers of this hub. {@code onProgress} runs while the hub holds its lock and no
   * delivery for these watchers is under way, so what it sends is ordered after their events; it
   * must be quick and must not wait for other threads.
   */
  public void requestProgress(Collection<? extends Watcher> watchers, LongConsumer onProgress) {
    state.requestProgress(Objects.requireNonNull(watchers), Objects.requireNonNull(onProgress));
  }

  /** The store's current revision (what etcd reports in watch-created headers). */
  public long currentRevision() {
    return history.currentRevision();
  }

  /** A watch stream (one gRPC Watch call, whatever its watchers) opened: etcd's NewWatchStream. */
  public void streamOpened() {
    streams.incrementAndGet();
  }

  /** A stream counted by {@link #streamOpened()} closed; call once per stream. */
  public void streamClosed() {
    streams.decrementAndGet();
  }

  /** Counts of streams, watchers and events now (etcd's {@code etcd_debugging_mvcc_watch*} metrics). */
  public WatchStats stats() {
    return state.stats(streams.get());
  }

  /** The newest revision fanned out to synced watchers. */
  public long dispatchedRevision() {
    return state.dispatchedRevision();
  }

  /** Stops the hub's threads; watchers get no further callbacks. Idempotent. */
  @Override
  public void close() {
    inbox.close();
    state.close();
    dispatcher.interrupt();
    background.shutdownNow();
    delivery.shutdownNow();
  }

  private void dispatchLoop() {
    try {
      Object next;
      while ((next = inbox.take()) != null) {
        try {
          if (next instanceof Inbox.Published p) {
            state.dispatch(p.revision(), p.events());
          } else if (next instanceof Inbox.Gap g) {
            state.gap(g.from(), g.to());
          }
        } catch (RuntimeException e) {
          LOG.error("watch dispatch failed", e);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void submitDelivery(Deliverer deliverer, HubWatcher w) {
    try {
      delivery.execute(() -> deliverer.run(w));
    } catch (RejectedExecutionException closed) {
      // the hub is closing
    }
  }

  private static ThreadFactory daemons(String name) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, name + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
