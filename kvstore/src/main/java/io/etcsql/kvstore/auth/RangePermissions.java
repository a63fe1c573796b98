package io.etcsql.kvstore.auth;

import io.etcsql.grpcapi.authpb.Permission;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * One user's key permissions merged over all their roles, as etcd's unifiedRangePermissions: a
 * permission on a single key covers {@code [key, key\0)}, on a range {@code [key, range_end)},
 * and a range_end of {@code "\0"} means every key from {@code key} on. A single key is permitted
 * when one interval holds it; a range when the intervals together cover all of it.
 */
public final class RangePermissions {
  /** [start, end) with end null for "no upper bound". */
  private record Interval(byte[] start, byte[] end) {}

  private static final Comparator<byte[]> BYTES = Arrays::compareUnsigned;

  private final List<Interval> read;
  private final List<Interval> write;

  private RangePermissions(List<Interval> read, List<Interval> write) {
    this.read = read;
    this.write = write;
  }

  public static RangePermissions of(List<Permission> perms) {
    List<Interval> read = new ArrayList<>();
    List<Interval> write = new ArrayList<>();
    for (Permission p : perms) {
      byte[] key = p.getKey().toByteArray();
      byte[] end = p.getRangeEnd().toByteArray();
      Interval ivl;
      if (end.length == 0) {
        ivl = new Interval(key, successor(key));
      } else if (end.length == 1 && end[0] == 0) {
        ivl = new Interval(key, null);
      } else {
        ivl = new Interval(key, end);
      }
      switch (p.getPermType()) {
        case READ -> read.add(ivl);
        case WRITE -> write.add(ivl);
        default -> { // READWRITE
          read.add(ivl);
          write.add(ivl);
        }
      }
    }
    Comparator<Interval> byStart = (a, b) -> BYTES.compare(a.start(), b.start());
    read.sort(byStart);
    write.sort(byStart);
    return new RangePermissions(List.copyOf(read), List.copyOf(write));
  }

  private static byte[] successor(byte[] key) {
    return Arrays.copyOf(key, key.length + 1);
  }

  /**
   * Whether {@code [key, rangeEnd)} may be read ({@code write} false) or written: a single key
   * when rangeEnd is empty, from key on when it is {@code "\0"}.
   */
  public boolean permits(byte[] key, byte[] rangeEnd, boolean write) {
    List<Interval> ivls = write ? this.write : this.read;
    if (rangeEnd.length == 0) {
      for (Interval i : ivls) {
        if (BYTES.compare(i.start(), key) <= 0 && (i.end() == null || BYTES.compare(key, i.end()) < 0)) {
          return true;
        }
      }
      return false;
    }
    byte[] end = rangeEnd.length == 1 && rangeEnd[0] == 0 ? null : rangeEnd;
    // sweep: extend the covered prefix [key, covered) with intervals starting inside it
    byte[] covered = key;
    boolean progress = true;
    while (progress) {
      if (end != null && BYTES.compare(covered, end) >= 0) {
        return true;
      }
      progress = false;
      for (Interval i : ivls) {
        if (BYTES.compare(i.start(), covered) <= 0) {
          if (i.end() == null) {
            return true;
          }
          if (BYTES.compare(i.end(), covered) > 0) {
            covered = i.end();
            progress = true;
          }
        }
      }
    }
    return false;
  }
}
