package io.etcsql.kvstore.watch;

import java.util.Arrays;

/**
 * A key as a map key: equality by content and order as unsigned bytes (etcd's key order). The
 * array is not copied; callers hand over arrays they no longer change.
 */
final class ByteKey implements Comparable<ByteKey> {
  private final byte[] bytes;
  private final int hash;

  ByteKey(byte[] bytes) {
    this.bytes = bytes;
    this.hash = Arrays.hashCode(bytes);
  }

  byte[] bytes() {
    return bytes;
  }

  @Override
  public int compareTo(ByteKey other) {
    return Arrays.compareUnsigned(bytes, other.bytes);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ByteKey other && hash == other.hash && Arrays.equals(bytes, other.bytes);
  }

  @Override
  public int hashCode() {
    return hash;
  }
}
