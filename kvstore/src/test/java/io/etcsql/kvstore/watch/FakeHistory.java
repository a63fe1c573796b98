package io.etcsql.kvstore.watch;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.mvccpb.Event;
import io.etcsql.grpcapi.mvccpb.KeyValue;
import io.etcsql.kvstore.EtcdError;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * An in-memory {@link HistoryReader} for tests: a list of revisions, each a list of events, plus
 * the live keys. {@link #events} stops before a revision that would exceed {@code maxEvents} (the
 * strict reading of the contract), so the hub's "a short batch may still be incomplete" handling
 * is exercised. Thread-safe.
 */
final class FakeHistory implements HistoryReader {
  private final List<List<Event>> revisions = new ArrayList<>(); // index = revision - 1
  private final Map<ByteString, KeyValue> live = new HashMap<>();
  private long compactRevision;
  private WatchHub hub;

  /** Publishes every new revision to {@code hub} (as the store's apply thread does). */
  synchronized FakeHistory publishTo(WatchHub hub) {
    this.hub = hub;
    return this;
  }

  static ByteString bs(String s) {
    return ByteString.copyFrom(s, StandardCharsets.UTF_8);
  }

  static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** One revision putting {@code key=value}; returns the revision. */
  long put(String key, String value) {
    return txn(new String[] {key, value});
  }

  /** One revision deleting {@code key} (no-op revision if absent is not created); returns it. */
  long delete(String key) {
    return txn(new String[] {key, null});
  }

  /** One revision with several changes: pairs {key, value} (value null = delete). */
  long txn(String[]... changes) {
    List<Event> events;
    long rev;
    WatchHub target;
    synchronized (this) {
      rev = revisions.size() + 1;
      events = new ArrayList<>();
      for (String[] c : changes) {
        events.add(c[1] == null ? deleteEvent(bs(c[0]), rev) : putEvent(bs(c[0]), bs(c[1]), rev));
      }
      revisions.add(List.copyOf(events));
      target = hub;
      if (target != null) {
        // publish in revision order: under the lock, as the single apply thread would
        target.publish(rev, events);
      }
    }
    return rev;
  }

  private Event putEvent(ByteString key, ByteString value, long rev) {
    KeyValue old = live.get(key);
    KeyValue kv = KeyValue.newBuilder().setKey(key).setValue(value).setModRevision(rev)
        .setCreateRevision(old == null ? rev : old.getCreateRevision())
        .setVersion(old == null ? 1 : old.getVersion() + 1).build();
    live.put(key, kv);
    return Event.newBuilder().setType(Event.EventType.PUT).setKv(kv).build();
  }

  private Event deleteEvent(ByteString key, long rev) {
    live.remove(key);
    KeyValue kv = KeyValue.newBuilder().setKey(key).setModRevision(rev).build();
    return Event.newBuilder().setType(Event.EventType.DELETE).setKv(kv).build();
  }

  synchronized void compact(long revision) {
    compactRevision = revision;
  }

  /** Every event of revisions {@code from..current} matching {@code spec}, for expectations. */
  synchronized List<Event> expected(WatchSpec spec, long from) {
    List<Event> out = new ArrayList<>();
    for (long r = Math.max(1, from); r <= revisions.size(); r++) {
      for (Event e : revisions.get((int) r - 1)) {
        if (spec.contains(e.getKv().getKey().toByteArray())) {
          out.add(e);
        }
      }
    }
    return out;
  }

  @Override
  public synchronized long currentRevision() {
    return revisions.size();
  }

  @Override
  public synchronized long compactRevision() {
    return compactRevision;
  }

  @Override
  public synchronized List<Event> events(
      byte[] key, byte[] rangeEnd, long fromRevision, long toRevision, int maxEvents) {
    if (fromRevision < compactRevision) {
      throw EtcdError.COMPACTED.exception();
    }
    WatchSpec spec = WatchSpec.of(key, rangeEnd, fromRevision);
    List<Event> out = new ArrayList<>();
    for (long r = fromRevision; r <= Math.min(toRevision, revisions.size()); r++) {
      List<Event> matching = new ArrayList<>();
      for (Event e : revisions.get((int) r - 1)) {
        if (spec.contains(e.getKv().getKey().toByteArray())) {
          matching.add(e);
        }
      }
      if (!out.isEmpty() && out.size() + matching.size() > maxEvents) {
        break;
      }
      out.addAll(matching);
    }
    return out;
  }

  @Override
  public synchronized KeyValue previous(byte[] key, long revision) {
    ByteString k = ByteString.copyFrom(key);
    KeyValue found = null;
    for (long r = 1; r < revision && r <= revisions.size(); r++) {
      for (Event e : revisions.get((int) r - 1)) {
        if (e.getKv().getKey().equals(k)) {
          found = e.getType() == Event.EventType.PUT ? e.getKv() : null;
        }
      }
    }
    return found;
  }
}
