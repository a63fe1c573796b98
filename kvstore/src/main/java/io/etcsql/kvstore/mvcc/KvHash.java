package io.etcsql.kvstore.mvcc;

import io.etcsql.grpcapi.mvccpb.KeyValue;
import io.etcsql.kvstore.EtcdError;
import io.etcsql.kvstore.backend.RevisionRecord;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32C;

/**
 * etcd's consistency hashes ({@code mvcc/kvstore.go} {@code Hash} and {@code HashByRev}): CRC-32C
 * (Castagnoli) over the stored revisions in revision order, each as etcd stores it in bbolt's
 * {@code key} bucket: the revision key ({@code main:8 '_' sub:8}, plus {@code 't'} for a
 * tombstone) followed by the marshalled {@code mvccpb.KeyValue} (a tombstone stores only its key).
 *
 * <p>The result depends only on the applied history, so members at the same revision (and the
 * same compaction) answer the same hash.
 */
public final class KvHash {
  private static final byte[] KEY_BUCKET = "key".getBytes(StandardCharsets.US_ASCII);

  private KvHash() {}

  /**
   * etcd's {@code HashByRev}: the hash of every stored revision up to {@code revision} (0 = the
   * current one); revisions removed by compaction are not stored, so the hash covers
   * {@code (compactRevision, revision]} plus what compaction kept.
   *
   * @return {hash, current revision, compact revision}
   * @throws io.etcsql.kvstore.EtcdException COMPACTED if {@code 0 < revision <= compactRevision},
   *     FUTURE_REV if {@code revision > currentRevision}
   */
  public static long[] hashKv(MvccStore store, long revision) {
    try (AutoCloseable pin = store.pinHistory()) {
      long compact = store.compactRevision();
      long current = store.currentRevision();
      if (revision > 0 && revision <= compact) {
        throw EtcdError.COMPACTED.exception();
      }
      if (revision > current) {
        throw EtcdError.FUTURE_REV.exception();
      }
      long upTo = revision == 0 ? current : revision;
      CRC32C crc = new CRC32C();
      crc.update(KEY_BUCKET);
      hashRecords(store, upTo, crc);
      return new long[] {crc.getValue(), current, compact};
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * etcd's {@code Hash} (of the whole backend), for etcsql's store: the revisions up to
   * {@code revision}, then the compaction revision, the leases (by id) and the alarms. The caller
   * captures {@code revision}, {@code leases} and {@code alarms} at one applied index and holds
   * {@link MvccStore#pinHistory()} meanwhile.
   */
  public static long hashAll(MvccStore store, long revision, Map<Long, byte[]> leases, byte[] alarms) {
    CRC32C crc = new CRC32C();
    crc.update(KEY_BUCKET);
    hashRecords(store, revision, crc);
    crc.update("meta".getBytes(StandardCharsets.US_ASCII));
    crc.update(ByteBuffer.allocate(8).putLong(store.compactRevision()).array());
    crc.update("lease".getBytes(StandardCharsets.US_ASCII));
    for (Map.Entry<Long, byte[]> e : new TreeMap<>(leases).entrySet()) {
      crc.update(ByteBuffer.allocate(8).putLong(e.getKey()).array());
      crc.update(e.getValue());
    }
    crc.update("alarm".getBytes(StandardCharsets.US_ASCII));
    if (alarms != null) {
      crc.update(alarms);
    }
    return crc.getValue();
  }

  private static void hashRecords(MvccStore store, long upTo, CRC32C crc) {
    for (long[] at : store.log.revisionsUpTo(upTo)) {
      RevisionRecord rec = store.log.read(at[0], (int) at[1], true);
      if (rec == null) {
        continue; // deleted since listed (only a crash-recovery path could do this under the pin)
      }
      crc.update(revisionKey(rec));
      crc.update(storedValue(rec).toByteArray());
    }
  }

  /** etcd's {@code revToBytes} (+ {@code markTombstone}). */
  static byte[] revisionKey(RevisionRecord rec) {
    ByteBuffer b = ByteBuffer.allocate(rec.tombstone() ? 18 : 17);
    b.putLong(rec.mainRevision()).put((byte) '_').putLong(rec.subRevision());
    if (rec.tombstone()) {
      b.put((byte) 't');
    }
    return b.array();
  }

  /** The KeyValue etcd stores for a revision: everything for a put, only the key for a delete. */
  static KeyValue storedValue(RevisionRecord rec) {
    if (rec.tombstone()) {
      return KeyValue.newBuilder().setKey(rec.key()).build();
    }
    return KeyValue.newBuilder()
        .setKey(rec.key())
        .setCreateRevision(rec.createRevision())
        .setModRevision(rec.mainRevision())
        .setVersion(rec.version())
        .setValue(rec.value())
        .setLease(rec.lease())
        .build();
  }
}
