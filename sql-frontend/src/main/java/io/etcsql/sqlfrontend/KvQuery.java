package io.etcsql.sqlfrontend;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.List;

/**
 * What a scan of {@code kv} asks the etcd API for: the parts of a query that Range evaluates
 * exactly (key ranges, mod/create revision bounds, key order, limit, keys_only, count_only).
 * Immutable; each pushed-down operator makes a new one.
 *
 * @param ranges key ranges in ascending key order, disjoint; empty means no key at all
 * @param minModRevision etcd's min_mod_revision (0: none); likewise the other three bounds
 * @param descending keys in descending order
 * @param limit at most this many rows (-1: no limit)
 * @param keysOnly the value is not read
 * @param countOnly one row: the number of keys matched
 */
public record KvQuery(List<KeyRange> ranges, long minModRevision, long maxModRevision, long minCreateRevision,
    long maxCreateRevision, boolean descending, long limit, boolean keysOnly, boolean countOnly) {

  /** Every key, ascending, no bounds. */
  static final KvQuery ALL = new KvQuery(List.of(KeyRange.ALL), 0, 0, 0, 0, false, -1, false, false);

  /** A range of keys as etcd's Range takes it: [key, end); end empty: the key alone; end "\0": to the end. */
  public record KeyRange(ByteString key, ByteString end) {
    static final KeyRange ALL = new KeyRange(EtcdClient.ZERO, EtcdClient.ZERO);

    static KeyRange single(ByteString key) {
      return new KeyRange(key, ByteString.EMPTY);
    }

    boolean isSingle() {
      return end.isEmpty();
    }

    /** Whether {@code k} is in this range (etcd's conventions for {@code end}). */
    boolean contains(ByteString k) {
      java.util.Comparator<ByteString> order = ByteString.unsignedLexicographicalComparator();
      if (isSingle()) {
        return k.equals(key);
      }
      return order.compare(k, key) >= 0 && (end.equals(EtcdClient.ZERO) || order.compare(k, end) < 0);
    }

    /** The smallest range holding this one and key {@code k}. */
    KeyRange spanWith(ByteString k) {
      java.util.Comparator<ByteString> order = ByteString.unsignedLexicographicalComparator();
      ByteString start = order.compare(k, key) < 0 ? k : key;
      if (end.equals(EtcdClient.ZERO)) {
        return new KeyRange(start, end);
      }
      ByteString thisEnd = isSingle() ? key.concat(EtcdClient.ZERO) : end;
      ByteString kEnd = k.concat(EtcdClient.ZERO);
      return new KeyRange(start, order.compare(kEnd, thisEnd) > 0 ? kEnd : thisEnd);
    }

    @Override
    public String toString() {
      if (isSingle()) {
        return quote(key);
      }
      return "[" + quote(key) + ", " + (end.equals(EtcdClient.ZERO) ? "end" : quote(end)) + ")";
    }
  }

  /** A key as plan text: quoted UTF-8, with control characters as \xNN. */
  static String quote(ByteString b) {
    StringBuilder sb = new StringBuilder("'");
    b.toStringUtf8().codePoints().forEach(cp -> {
      if (cp < 0x20 || cp == 0x7f) {
        sb.append(String.format("\\x%02x", cp));
      } else if (cp == '\'') {
        sb.append("''");
      } else {
        sb.appendCodePoint(cp);
      }
    });
    return sb.append('\'').toString();
  }

  KvQuery withRanges(List<KeyRange> r) {
    return new KvQuery(r, minModRevision, maxModRevision, minCreateRevision, maxCreateRevision, descending, limit,
        keysOnly, countOnly);
  }

  KvQuery withModBounds(long min, long max) {
    return new KvQuery(ranges, min, max, minCreateRevision, maxCreateRevision, descending, limit, keysOnly,
        countOnly);
  }

  KvQuery withCreateBounds(long min, long max) {
    return new KvQuery(ranges, minModRevision, maxModRevision, min, max, descending, limit, keysOnly, countOnly);
  }

  KvQuery withOrder(boolean desc) {
    return new KvQuery(ranges, minModRevision, maxModRevision, minCreateRevision, maxCreateRevision, desc, limit,
        keysOnly, countOnly);
  }

  KvQuery withLimit(long n) {
    return new KvQuery(ranges, minModRevision, maxModRevision, minCreateRevision, maxCreateRevision, descending, n,
        keysOnly, countOnly);
  }

  KvQuery withKeysOnly() {
    return new KvQuery(ranges, minModRevision, maxModRevision, minCreateRevision, maxCreateRevision, descending,
        limit, true, countOnly);
  }

  KvQuery withCountOnly() {
    return new KvQuery(ranges, minModRevision, maxModRevision, minCreateRevision, maxCreateRevision, descending,
        limit, true, true);
  }

  boolean hasRevisionBounds() {
    return minModRevision != 0 || maxModRevision != 0 || minCreateRevision != 0 || maxCreateRevision != 0;
  }

  /** The plan text: only what differs from a full scan, so plans read as what was pushed down. */
  String describe() {
    List<String> parts = new ArrayList<>();
    if (!ranges.equals(List.of(KeyRange.ALL))) {
      parts.add("keys=" + ranges);
    }
    if (minModRevision != 0 || maxModRevision != 0) {
      parts.add("modRevision=[" + minModRevision + ".." + (maxModRevision == 0 ? "" : maxModRevision) + "]");
    }
    if (minCreateRevision != 0 || maxCreateRevision != 0) {
      parts.add("createRevision=[" + minCreateRevision + ".." + (maxCreateRevision == 0 ? "" : maxCreateRevision) + "]");
    }
    if (descending) {
      parts.add("order=descending");
    }
    if (limit >= 0) {
      parts.add("limit=" + limit);
    }
    if (countOnly) {
      parts.add("countOnly=true");
    } else if (keysOnly) {
      parts.add("keysOnly=true");
    }
    return String.join(", ", parts);
  }
}
