package io.etcsql.kvstore.watch;

import io.etcsql.grpcapi.mvccpb.Event;
import java.util.List;

/** One item of a watcher's delivery queue: what the hub will hand its listener next. */
sealed interface Notice {

  /** {@link WatchListener#onEvents}; events are filtered, prev_kv is filled at delivery. */
  record Events(long revision, List<Event> events) implements Notice {}

  /** {@link WatchListener#onCompacted}; the last notice of a watcher. */
  record Compacted(long compactRevision) implements Notice {}

  /** {@link WatchListener#onProgress}. */
  record Progress(long revision) implements Notice {}
}
