package io.etcsql.kvstore.watch;

import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Members attached to key ranges {@code [start, end)} ({@code end == null}: unbounded), answering
 * "which members' ranges contain this key" without scanning every range. Not thread-safe.
 *
 * <p>Structure: a sorted map of elementary segments. Every distinct range start and end is a
 * boundary; the segment from one boundary to the next lists the distinct ranges that cover all of
 * it. A lookup is one {@code floorEntry} (O(log b) for b boundaries) plus the matches.
 *
 * <pre>
 *   ranges   A=[b,f)  B=[d,∞)  C=[d,e)
 *   segments b:{A}  d:{A,B,C}  e:{A,B}  f:{B}
 *   key "da" -> floor "d" -> A, B, C
 * </pre>
 *
 * Adding or removing a distinct range touches the segments it covers; members sharing the same
 * range (the common case: many clients watching one prefix) share one entry. A boundary is kept
 * while some distinct range starts or ends at it.
 */
final class RangeIndex<T> {
  private record Range(ByteKey start, ByteKey end) {}

  private final Map<Range, Set<T>> members = new HashMap<>();
  private final NavigableMap<ByteKey, Set<Range>> segments = new TreeMap<>();
  private final Map<ByteKey, Integer> boundaryUses = new HashMap<>();

  /** Attaches {@code member} to {@code [start, end)}; {@code end == null} means unbounded. */
  void add(byte[] start, byte[] end, T member) {
    Range range = new Range(new ByteKey(start), end == null ? null : new ByteKey(end));
    Set<T> set = members.get(range);
    if (set == null) {
      set = new LinkedHashSet<>();
      members.put(range, set);
      useBoundary(range.start);
      if (range.end != null) {
        useBoundary(range.end);
      }
      covered(range).values().forEach(segment -> segment.add(range));
    }
    set.add(member);
  }

  /** Detaches {@code member} from {@code [start, end)}; returns whether it was attached. */
  boolean remove(byte[] start, byte[] end, T member) {
    Range range = new Range(new ByteKey(start), end == null ? null : new ByteKey(end));
    Set<T> set = members.get(range);
    if (set == null || !set.remove(member)) {
      return false;
    }
    if (set.isEmpty()) {
      members.remove(range);
      covered(range).values().forEach(segment -> segment.remove(range));
      releaseBoundary(range.start);
      if (range.end != null) {
        releaseBoundary(range.end);
      }
    }
    return true;
  }

  /** Calls {@code action} for every member whose range contains {@code key}. */
  void forEachMatch(ByteKey key, Consumer<T> action) {
    Map.Entry<ByteKey, Set<Range>> segment = segments.floorEntry(key);
    if (segment == null) {
      return;
    }
    for (Range range : segment.getValue()) {
      members.get(range).forEach(action);
    }
  }

  /** Number of distinct ranges (for tests). */
  int distinctRanges() {
    return members.size();
  }

  private NavigableMap<ByteKey, Set<Range>> covered(Range range) {
    return range.end == null
        ? segments.tailMap(range.start, true)
        : segments.subMap(range.start, true, range.end, false);
  }

  private void useBoundary(ByteKey boundary) {
    if (boundaryUses.merge(boundary, 1, Integer::sum) == 1) {
      Map.Entry<ByteKey, Set<Range>> before = segments.lowerEntry(boundary);
      segments.put(boundary, before == null ? new LinkedHashSet<>() : new LinkedHashSet<>(before.getValue()));
    }
  }

  /**
   * When no range starts or ends at a boundary any more, its segment covers exactly what the
   * segment before it covers, so the two merge by dropping the boundary.
   */
  private void releaseBoundary(ByteKey boundary) {
    if (boundaryUses.merge(boundary, -1, Integer::sum) == 0) {
      boundaryUses.remove(boundary);
      segments.remove(boundary);
    }
  }
}
