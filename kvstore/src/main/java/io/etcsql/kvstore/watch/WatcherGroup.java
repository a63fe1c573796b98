package io.etcsql.kvstore.watch;

import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The synced watchers, indexed by what they watch (etcd's {@code watcherGroup}): single-key
 * watchers in a hash map by key, range watchers in a {@link RangeIndex}. Not thread-safe; the hub
 * guards it with its lock.
 */
final class WatcherGroup {
  private final Map<ByteKey, Set<HubWatcher>> byKey = new HashMap<>();
  private final RangeIndex<HubWatcher> ranges = new RangeIndex<>();
  private final Set<HubWatcher> all = new LinkedHashSet<>();

  void add(HubWatcher w) {
    if (!all.add(w)) {
      return;
    }
    WatchSpec spec = w.spec();
    if (spec.isSingleKey()) {
      byKey.computeIfAbsent(new ByteKey(spec.key()), k -> new LinkedHashSet<>()).add(w);
    } else {
      ranges.add(spec.key(), spec.isOpenEnded() ? null : spec.rangeEnd(), w);
    }
  }

  boolean remove(HubWatcher w) {
    if (!all.remove(w)) {
      return false;
    }
    WatchSpec spec = w.spec();
    if (spec.isSingleKey()) {
      ByteKey key = new ByteKey(spec.key());
      Set<HubWatcher> set = byKey.get(key);
      set.remove(w);
      if (set.isEmpty()) {
        byKey.remove(key);
      }
    } else {
      ranges.remove(spec.key(), spec.isOpenEnded() ? null : spec.rangeEnd(), w);
    }
    return true;
  }

  boolean contains(HubWatcher w) {
    return all.contains(w);
  }

  /** Every watcher (in insertion order); do not modify. */
  Set<HubWatcher> all() {
    return all;
  }

  /** Calls {@code action} for every watcher that watches {@code key}. */
  void forEachMatch(ByteKey key, Consumer<HubWatcher> action) {
    Set<HubWatcher> exact = byKey.get(key);
    if (exact != null) {
      exact.forEach(action);
    }
    ranges.forEachMatch(key, action);
  }
}
