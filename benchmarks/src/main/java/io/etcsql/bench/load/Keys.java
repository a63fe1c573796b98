package io.etcsql.bench.load;

import com.google.protobuf.ByteString;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The key space of put and txn-put, as etcd's benchmark builds it: key i is {@code key-size}
 * bytes, Go's {@code binary.PutVarint(i)} (zig-zag varint) followed by zero bytes. (etcd reuses
 * one buffer, so a short varint can keep bytes of a longer one; here every key is its own.)
 */
final class Keys {
  private final ByteString[] keys;
  private final boolean sequential;

  Keys(int keySize, int keySpaceSize, boolean sequential) {
    this.sequential = sequential;
    keys = new ByteString[keySpaceSize];
    for (int i = 0; i < keySpaceSize; i++) {
      byte[] k = new byte[keySize];
      long v = (long) i << 1; // zig-zag of a non-negative number
      int n = 0;
      while (true) {
        if (n >= keySize) {
          throw new IllegalArgumentException("--key-size " + keySize + " is too small for --key-space-size "
              + keySpaceSize);
        }
        if (v < 0x80) {
          k[n] = (byte) v;
          break;
        }
        k[n++] = (byte) (v | 0x80);
        v >>>= 7;
      }
      keys[i] = ByteString.copyFrom(k);
    }
  }

  int size() {
    return keys.length;
  }

  ByteString get(int index) {
    return keys[index];
  }

  /** The key index of request {@code seq}: {@code seq % size} with --sequential-keys, else random. */
  int indexFor(long seq) {
    return sequential ? (int) (seq % keys.length) : ThreadLocalRandom.current().nextInt(keys.length);
  }

  /** {@code size} random bytes (the value of every put of a run, as etcd's benchmark). */
  static ByteString randomBytes(int size) {
    byte[] b = new byte[size];
    ThreadLocalRandom.current().nextBytes(b);
    return ByteString.copyFrom(b);
  }
}
