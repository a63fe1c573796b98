package io.etcsql.kvstore.backend;

import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * One stored revision of one key: the key's state after a change (or its deletion), plus the
 * audit fields every revision carries and the Raft index of the command that wrote it.
 *
 * <p>Binary layout of the encoded record (big-endian), split by {@link RevisionLog} into chunks
 * of at most {@link RevisionLog#CHUNK_BYTES}:
 *
 * <pre>
 * version:1 flags:1 subsInMain:4 createRevision:8 version:8 lease:8 raftIndex:8 committedAt:8
 * keyLen:4 key principalLen:4 principal valueLen:4 value
 * </pre>
 *
 * Everything before the value is the "header"; start-up reads only headers.
 */
public record RevisionRecord(
    long mainRevision,
    int subRevision,
    int subsInMain,
    ByteString key,
    ByteString value,
    boolean tombstone,
    long createRevision,
    long version,
    long lease,
    long raftIndex,
    long committedAtUnixMs,
    String principal) {

  private static final byte FORMAT = 1;
  private static final int FLAG_TOMBSTONE = 1;

  /** Encodes the whole record. */
  public byte[] encode() {
    byte[] p = principal.getBytes(StandardCharsets.UTF_8);
    int size = 1 + 1 + 4 + 8 * 5 + 4 + key.size() + 4 + p.length + 4 + value.size();
    ByteBuffer b = ByteBuffer.allocate(size);
    b.put(FORMAT).put((byte) (tombstone ? FLAG_TOMBSTONE : 0)).putInt(subsInMain);
    b.putLong(createRevision).putLong(version).putLong(lease).putLong(raftIndex).putLong(committedAtUnixMs);
    b.putInt(key.size());
    key.copyTo(b);
    b.putInt(p.length).put(p);
    b.putInt(value.size());
    value.copyTo(b);
    return b.array();
  }

  /**
   * Decodes a record; with {@code withValue} false the value is left empty (the bytes may hold
   * only a prefix of it, as the first chunk does).
   */
  public static RevisionRecord decode(long main, int sub, byte[] bytes, boolean withValue) {
    ByteBuffer b = ByteBuffer.wrap(bytes);
    byte format = b.get();
    if (format != FORMAT) {
      throw new IllegalStateException("unknown revision record format " + format + " at " + main + "_" + sub);
    }
    boolean tombstone = (b.get() & FLAG_TOMBSTONE) != 0;
    int subs = b.getInt();
    long create = b.getLong();
    long version = b.getLong();
    long lease = b.getLong();
    long raftIndex = b.getLong();
    long committedAt = b.getLong();
    int keyLen = b.getInt();
    ByteString key = ByteString.copyFrom(bytes, b.position(), keyLen);
    b.position(b.position() + keyLen);
    int pLen = b.getInt();
    String principal = new String(bytes, b.position(), pLen, StandardCharsets.UTF_8);
    b.position(b.position() + pLen);
    ByteString value = ByteString.EMPTY;
    if (withValue) {
      int vLen = b.getInt();
      value = ByteString.copyFrom(bytes, b.position(), vLen);
    }
    return new RevisionRecord(main, sub, subs, key, value, tombstone, create, version, lease,
        raftIndex, committedAt, principal);
  }
}
