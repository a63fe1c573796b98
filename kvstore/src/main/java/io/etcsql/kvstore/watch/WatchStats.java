package io.etcsql.kvstore.watch;

/**
 * A {@link WatchHub}'s watch streams, watchers and events at one moment: the values of etcd's
 * {@code etcd_debugging_mvcc_*} watch metrics.
 *
 * @param streams watch streams open ({@code watch_stream_total})
 * @param watchers watchers registered and not cancelled, compacted ones included ({@code
 *     watcher_total})
 * @param slowWatchers watchers behind the store that catch up from history ({@code
 *     slow_watcher_total})
 * @param pendingEvents events queued for watchers and not yet handed to them ({@code
 *     pending_events_total})
 * @param eventsSent events handed to watchers since start-up ({@code events_total})
 */
public record WatchStats(int streams, int watchers, int slowWatchers, long pendingEvents, long eventsSent) {}
