package io.etcsql.server;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.mvccpb.Event;
import io.etcsql.grpcapi.mvccpb.KeyValue;
import io.etcsql.grpcapi.v3electionpb.LeaderResponse;
import io.etcsql.kvstore.watch.WatchListener;
import io.etcsql.kvstore.watch.WatchSpec;
import io.etcsql.kvstore.watch.Watcher;
import io.etcsql.sqlfrontend.EtcdClient;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Observe call: etcd's {@code concurrency.Election.observe} loop, driven by watch callbacks
 * instead of a goroutine.
 *
 * <ol>
 *   <li>Read the first-created key under the prefix. If there is none, watch the prefix from that
 *       read's revision and take the first PUT (its header revision set to the key's mod
 *       revision).
 *   <li>Send that key-value, then watch that key from the next revision: send every PUT of it,
 *       and on its deletion start again at 1.
 * </ol>
 *
 * The stream ends (OK, as etcd's server returns nil when the observe channel closes) when a read
 * fails or a watcher is compacted; it stops when the client cancels. Sends are serialized: at most
 * one watcher of the call is live at a time, and each step starts after the previous one ended.
 */
final class LeaderObserver {
  private static final Logger LOG = LoggerFactory.getLogger(LeaderObserver.class);

  private final ConcurrencyClient client;
  private final ByteString prefix;
  private final ServerCallStreamObserver<LeaderResponse> out;
  private final Object lock = new Object();
  private boolean closed; // guarded by lock
  private Watcher current; // guarded by lock

  LeaderObserver(ConcurrencyClient client, ByteString prefix, ServerCallStreamObserver<LeaderResponse> out) {
    this.client = client;
    this.prefix = prefix;
    this.out = out;
  }

  void start() {
    out.setOnCancelHandler(() -> {
      Watcher w;
      synchronized (lock) {
        closed = true;
        w = current;
      }
      if (w != null) {
        w.cancel();
      }
    });
    observeFirst();
  }

  /** Step 1: the current leader, or the first key put under the prefix. */
  private void observeFirst() {
    if (isClosed()) {
      return;
    }
    client.range(ConcurrencyClient.firstCreated(prefix)).whenComplete((r, e) -> {
      if (e != null) {
        LOG.debug("observe {}: read failed, ending the stream", prefix.toStringUtf8(), e);
        finish();
      } else if (r.getKvsCount() > 0) {
        follow(r.getHeader().getRevision(), r.getKvs(0));
      } else {
        startWatch(WatchSpec.of(prefix.toByteArray(), EtcdClient.prefixEnd(prefix).toByteArray(),
            r.getHeader().getRevision()), new Listener() {
              @Override
              void handle(long revision, List<Event> events) {
                for (Event ev : events) {
                  if (ev.getType() == Event.EventType.PUT) {
                    stopWatch(this);
                    follow(ev.getKv().getModRevision(), ev.getKv());
                    return;
                  }
                }
              }
            });
      }
    });
  }

  /** Step 2: send the leader, then its changes until it is deleted. */
  private void follow(long revision, KeyValue leader) {
    if (!send(revision, leader)) {
      return;
    }
    startWatch(WatchSpec.of(leader.getKey().toByteArray(), null, revision + 1), new Listener() {
      @Override
      void handle(long rev, List<Event> events) {
        for (Event ev : events) {
          if (ev.getType() == Event.EventType.DELETE) {
            stopWatch(this);
            observeFirst();
            return;
          }
          if (!send(rev, ev.getKv())) {
            return;
          }
        }
      }
    });
  }

  private boolean send(long revision, KeyValue kv) {
    synchronized (lock) {
      if (closed) {
        return false;
      }
      try {
        out.onNext(ElectionService.leaderResponse(client.headers().at(revision), kv));
        return true;
      } catch (RuntimeException e) {
        LOG.debug("observe {}: send failed, stopping", prefix.toStringUtf8(), e);
        closed = true;
        return false;
      }
    }
  }

  /**
   * A watcher of this call. Once stopped it ignores further callbacks; it ends the stream when it
   * is compacted.
   */
  private abstract class Listener implements WatchListener {
    private Watcher watcher; // guarded by lock
    private boolean stopped; // guarded by lock

    abstract void handle(long revision, List<Event> events);

    @Override
    public final void onEvents(long revision, List<Event> events) {
      synchronized (lock) {
        if (stopped || closed) {
          return;
        }
      }
      handle(revision, events);
    }

    @Override
    public void onCompacted(long compactRevision) {
      stopWatch(this);
      finish();
    }
  }

  private void startWatch(WatchSpec spec, Listener listener) {
    Watcher w;
    try {
      w = client.watch(spec, listener);
    } catch (RuntimeException e) {
      finish();
      return;
    }
    boolean stale;
    synchronized (lock) {
      listener.watcher = w;
      stale = closed || listener.stopped;
      if (!stale) {
        current = w;
      }
    }
    if (stale) {
      w.cancel();
    }
  }

  /**
   * Stops a listener and cancels its watcher; called from its own callback, which may run before
   * {@link #startWatch} stored the watcher (startWatch then cancels it).
   */
  private void stopWatch(Listener listener) {
    Watcher w;
    synchronized (lock) {
      listener.stopped = true;
      w = listener.watcher;
      if (w != null && current == w) {
        current = null;
      }
    }
    if (w != null) {
      w.cancel();
    }
  }

  private boolean isClosed() {
    synchronized (lock) {
      return closed;
    }
  }

  private void finish() {
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      try {
        out.onCompleted();
      } catch (RuntimeException e) {
        LOG.debug("observe {}: completing failed", prefix.toStringUtf8(), e);
      }
    }
  }
}
