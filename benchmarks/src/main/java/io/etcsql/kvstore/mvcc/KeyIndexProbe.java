package io.etcsql.kvstore.mvcc;

import com.google.protobuf.ByteString;

/**
 * The micro-benchmarks' handle on a store's in-memory key index ({@link KeyTree} of {@link
 * KeyIndex}), which kvstore keeps package-private. It lives in the benchmarks module, in
 * kvstore's package, so that kvstore exposes nothing for it; it does what {@link MvccStore} and
 * {@link WriteTxn} do with the index, without the revision log.
 */
public final class KeyIndexProbe {
  private final KeyTree index;

  public KeyIndexProbe(MvccStore store) {
    this.index = store.index;
  }

  /** A point lookup as a Range or a Put does: the key's revision as of {@code rev}, or null. */
  public Revision get(ByteString key, long rev) {
    KeyIndex ki = index.get(key);
    return ki == null ? null : ki.get(rev);
  }

  /** The index part of a Range over [key, rangeEnd) at {@code rev}: the keys live at rev, counted. */
  public int range(ByteString key, ByteString rangeEnd, long rev) {
    int live = 0;
    for (KeyIndex ki : index.range(key, rangeEnd)) {
      if (ki.get(rev) != null) {
        live++;
      }
    }
    return live;
  }

  /** The index update of a put as {@link WriteTxn#put} makes it. */
  public void put(ByteString key, long main, int sub) {
    index.getOrCreate(key).put(main, sub);
  }
}
