package io.etcsql.kvstore.mvcc;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.NavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * The ordered in-memory index of every key with history (etcd's treeIndex): key -> {@link
 * KeyIndex}. Holds keys and revisions only; values stay in the revision log on disk.
 *
 * <p>Range conventions (etcd's, used by every method taking {@code key, rangeEnd}):
 *
 * <ul>
 *   <li>empty {@code rangeEnd}: the single key {@code key};
 *   <li>{@code rangeEnd == "\0"}: every key {@code >= key} (so key "\0" with rangeEnd "\0" is
 *       the whole keyspace);
 *   <li>otherwise the half-open interval {@code [key, rangeEnd)}, empty if key >= rangeEnd.
 * </ul>
 *
 * Keys compare as unsigned bytes.
 */
final class KeyTree {
  static final ByteString ZERO = ByteString.copyFrom(new byte[] {0});

  private final ConcurrentSkipListMap<ByteString, KeyIndex> tree =
      new ConcurrentSkipListMap<>(ByteString.unsignedLexicographicalComparator());

  KeyIndex get(ByteString key) {
    return tree.get(key);
  }

  KeyIndex getOrCreate(ByteString key) {
    return tree.computeIfAbsent(key, KeyIndex::new);
  }

  void remove(ByteString key) {
    tree.remove(key);
  }

  int size() {
    return tree.size();
  }

  /** The key indexes in the range, in key order (a live view; see class doc for conventions). */
  Collection<KeyIndex> range(ByteString key, ByteString rangeEnd) {
    if (rangeEnd.isEmpty()) {
      KeyIndex ki = tree.get(key);
      return ki == null ? List.of() : List.of(ki);
    }
    NavigableMap<ByteString, KeyIndex> sub;
    if (rangeEnd.equals(ZERO)) {
      sub = tree.tailMap(key, true);
    } else {
      if (ByteString.unsignedLexicographicalComparator().compare(key, rangeEnd) >= 0) {
        return List.of();
      }
      sub = tree.subMap(key, true, rangeEnd, false);
    }
    return sub.values();
  }

  /** True if {@code k} is inside the range given by key/rangeEnd. */
  static boolean inRange(ByteString k, ByteString key, ByteString rangeEnd) {
    var cmp = ByteString.unsignedLexicographicalComparator();
    if (rangeEnd.isEmpty()) {
      return k.equals(key);
    }
    if (cmp.compare(k, key) < 0) {
      return false;
    }
    return rangeEnd.equals(ZERO) || cmp.compare(k, rangeEnd) < 0;
  }

  /** Every key index, in key order (a snapshot list). */
  List<KeyIndex> all() {
    return new ArrayList<>(tree.values());
  }
}
