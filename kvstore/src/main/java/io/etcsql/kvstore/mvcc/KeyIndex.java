package io.etcsql.kvstore.mvcc;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.List;

/**
 * The history of one key: its revisions, grouped into generations. A generation starts when the
 * key is created and ends with the tombstone revision that deletes it; the last generation is
 * the current one (empty while the key does not exist). As in etcd's {@code keyIndex}:
 *
 * <pre>
 *   put(1.0) put(2.0) tombstone(3.0) put(4.0) tombstone(5.0)
 *   generations: {1.0, 2.0, t3.0} {4.0, t5.0} {}
 *
 *   compact(2): {2.0, t3.0} {4.0, t5.0} {}     (1.0 is removed: 2.0 is the newest at or below 2)
 *   compact(4): {4.0, t5.0} {}                 (the first generation ended before 4)
 *   compact(5): {}                             (only a tombstone would remain: the key is gone)
 * </pre>
 *
 * Thread-safety: mutated by the apply thread, read concurrently; all methods synchronize.
 */
final class KeyIndex {
  final ByteString key;
  private final List<Generation> generations = new ArrayList<>(1);

  private static final class Generation {
    long[] mains = new long[2];
    int[] subs = new int[2];
    int size;

    void add(long main, int sub) {
      if (size == mains.length) {
        mains = java.util.Arrays.copyOf(mains, size * 2);
        subs = java.util.Arrays.copyOf(subs, size * 2);
      }
      mains[size] = main;
      subs[size] = sub;
      size++;
    }

    boolean isEmpty() {
      return size == 0;
    }

    /** Index of the newest revision with main <= rev, or -1. */
    int floor(long rev) {
      for (int i = size - 1; i >= 0; i--) {
        if (mains[i] <= rev) {
          return i;
        }
      }
      return -1;
    }

    void dropBefore(int index, List<Revision> removed) {
      for (int i = 0; i < index; i++) {
        removed.add(new Revision(mains[i], subs[i]));
      }
      mains = java.util.Arrays.copyOfRange(mains, index, Math.max(size, index + 2));
      subs = java.util.Arrays.copyOfRange(subs, index, Math.max(size, index + 2));
      size -= index;
    }
  }

  KeyIndex(ByteString key) {
    this.key = key;
    generations.add(new Generation());
  }

  /** Records a put of this key at revision (main, sub). */
  synchronized void put(long main, int sub) {
    generations.get(generations.size() - 1).add(main, sub);
  }

  /**
   * Records the deletion of this key at (main, sub): the tombstone ends the current generation
   * and an empty one begins. The key must be live.
   */
  synchronized void tombstone(long main, int sub) {
    Generation g = generations.get(generations.size() - 1);
    if (g.isEmpty()) {
      throw new IllegalStateException("tombstone of a deleted key " + key.toStringUtf8());
    }
    g.add(main, sub);
    generations.add(new Generation());
  }

  /** Removes the newest revision (undo of a put or tombstone recorded at (main, sub)). */
  synchronized void undo(long main, int sub) {
    Generation g = generations.get(generations.size() - 1);
    if (g.isEmpty() && generations.size() > 1) {
      generations.remove(generations.size() - 1);
      g = generations.get(generations.size() - 1);
    }
    if (g.size > 0 && g.mains[g.size - 1] == main && g.subs[g.size - 1] == sub) {
      g.size--;
    }
  }

  /**
   * The revision holding the key's value as of {@code rev}, or null if the key did not exist
   * at {@code rev} (never created yet, deleted, or compacted away).
   */
  synchronized Revision get(long rev) {
    for (int gi = generations.size() - 1; gi >= 0; gi--) {
      Generation g = generations.get(gi);
      if (g.isEmpty()) {
        continue;
      }
      if (g.mains[0] > rev) {
        continue; // generation created after rev
      }
      boolean closed = gi < generations.size() - 1;
      if (closed && g.mains[g.size - 1] <= rev) {
        return null; // deleted at or before rev, not re-created by a later generation <= rev
      }
      int i = g.floor(rev);
      return i < 0 ? null : new Revision(g.mains[i], g.subs[i]);
    }
    return null;
  }

  /** True if the key exists now (its current generation has revisions). */
  synchronized boolean isLive() {
    return !generations.get(generations.size() - 1).isEmpty();
  }

  /**
   * Compacts history at {@code atRev}: every revision older than the newest one at or below
   * {@code atRev} is removed, and so is that one if it is a tombstone. The removed revisions are
   * added to {@code removed}, for their records to be deleted.
   *
   * @return true if nothing is left and the key can leave the index
   */
  synchronized boolean compact(long atRev, List<Revision> removed) {
    int gi = 0;
    // skip generations whose tombstone is at or below atRev: they are wholly history
    while (gi < generations.size() - 1) {
      Generation g = generations.get(gi);
      if (g.mains[g.size - 1] > atRev) {
        break;
      }
      for (int i = 0; i < g.size; i++) {
        removed.add(new Revision(g.mains[i], g.subs[i]));
      }
      gi++;
    }
    if (gi > 0) {
      generations.subList(0, gi).clear();
    }
    Generation g = generations.get(0);
    if (!g.isEmpty()) {
      int keep = g.floor(atRev);
      if (keep > 0) {
        g.dropBefore(keep, removed);
      }
    }
    return generations.size() == 1 && generations.get(0).isEmpty();
  }

  /** Every revision still indexed (for tests and hashing), oldest first. */
  synchronized List<Revision> revisions() {
    List<Revision> all = new ArrayList<>();
    for (Generation g : generations) {
      for (int i = 0; i < g.size; i++) {
        all.add(new Revision(g.mains[i], g.subs[i]));
      }
    }
    return all;
  }
}
