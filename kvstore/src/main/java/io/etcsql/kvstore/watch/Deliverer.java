package io.etcsql.kvstore.watch;

import io.etcsql.grpcapi.mvccpb.Event;
import io.etcsql.grpcapi.mvccpb.KeyValue;
import io.etcsql.kvstore.EtcdException;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs on the delivery threads: hands one watcher's queued notices to its listener, in order.
 * {@link HubState} schedules at most one task per watcher at a time, which is what keeps a
 * watcher's callbacks sequential. A task delivers a bounded number of notices, then yields so
 * other watchers get their turn. prev_kv lookups happen here, outside the hub's lock.
 */
final class Deliverer {
  private static final Logger LOG = LoggerFactory.getLogger(Deliverer.class);
  private static final int NOTICES_PER_TURN = 16;

  private final HubState state;
  private final HistoryReader history;

  Deliverer(HubState state, HistoryReader history) {
    this.state = state;
    this.history = history;
  }

  /** One delivery turn for {@code w}. */
  void run(HubWatcher w) {
    for (int i = 0; i < NOTICES_PER_TURN; i++) {
      Notice notice = state.nextNotice(w);
      if (notice == null) {
        return;
      }
      if (!w.listener.isReady()) {
        state.park(w);
        // The listener may have become ready (and called resume) before park: look again.
        if (w.listener.isReady()) {
          state.resume(w);
        }
        return;
      }
      try {
        deliver(w, notice);
      } catch (RuntimeException e) {
        LOG.warn("watch listener failed; the notice is dropped", e);
      }
      state.delivered(w, notice);
    }
    state.yieldTurn(w);
  }

  private void deliver(HubWatcher w, Notice notice) {
    if (notice instanceof Notice.Events events) {
      List<Event> list = w.spec().prevKv() ? withPrevious(events.events()) : events.events();
      w.listener.onEvents(events.revision(), list);
    } else if (notice instanceof Notice.Compacted compacted) {
      w.listener.onCompacted(compacted.compactRevision());
    } else if (notice instanceof Notice.Progress progress) {
      w.listener.onProgress(progress.revision());
    }
  }

  /** etcd: every event but a create gets the key's state at mod_revision - 1, when it has one. */
  private List<Event> withPrevious(List<Event> events) {
    List<Event> out = new ArrayList<>(events.size());
    for (Event e : events) {
      KeyValue kv = e.getKv();
      boolean create = e.getType() == Event.EventType.PUT && kv.getCreateRevision() == kv.getModRevision();
      KeyValue prev = null;
      if (!create) {
        try {
          prev = history.previous(kv.getKey().toByteArray(), kv.getModRevision());
        } catch (EtcdException ex) {
          prev = null; // compacted meanwhile: etcd sends the event without prev_kv
        }
      }
      out.add(prev == null ? e : e.toBuilder().setPrevKv(prev).build());
    }
    return out;
  }
}
