package io.etcsql.sqlfrontend;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcdserverpb.Compare;
import io.etcsql.grpcapi.etcdserverpb.DeleteRangeRequest;
import io.etcsql.grpcapi.etcdserverpb.PutRequest;
import io.etcsql.grpcapi.etcdserverpb.RequestOp;
import io.etcsql.grpcapi.etcdserverpb.TxnRequest;
import io.etcsql.grpcapi.mvccpb.KeyValue;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.TreeMap;

/**
 * A JDBC transaction (auto-commit off) on one connection: optimistic, committed as one etcd Txn.
 *
 * <p>Every read of {@code kv} in the transaction is at one revision, pinned by its first read, so
 * the transaction sees one snapshot of the keyspace plus its own writes. What it read is
 * remembered: each row with its mod_revision, each key range scanned. Writes are buffered, newest
 * state per key. COMMIT sends them as one Txn guarded by compares: every row read still has the
 * mod_revision it was read with (neither changed nor deleted), and no key was created or changed
 * in a scanned range since the pinned revision. If any compare fails, nothing is written and the
 * commit fails with SQLState 40001. A transaction that wrote nothing commits without a Txn: its
 * reads were one snapshot already.
 *
 * <p>One connection's requests arrive one at a time; the transaction is handed to the scans of a
 * statement through {@link #current()} while the statement runs.
 */
final class SqlTransaction {
  private static final ThreadLocal<SqlTransaction> CURRENT = new ThreadLocal<>();
  private static final Comparator<ByteString> KEY_ORDER = ByteString.unsignedLexicographicalComparator();

  /** The state a key will have when the transaction commits; {@code value == null}: deleted. */
  record Pending(ByteString value, long lease, long createRevision, long version) {
    boolean deleted() {
      return value == null;
    }

    /** The row a scan shows for a pending write: revisions not known yet (mod_revision 0). */
    KeyValue asKeyValue(ByteString key) {
      return KeyValue.newBuilder().setKey(key).setValue(value).setLease(lease).setCreateRevision(createRevision)
          .setVersion(version).build();
    }
  }

  private long revision;
  /** Rows read: key -> mod_revision when read (0: read as absent). */
  private final Map<ByteString, Long> readRows = new HashMap<>();
  /** Multi-key ranges scanned. */
  private final Set<KvQuery.KeyRange> readRanges = new LinkedHashSet<>();
  private final NavigableMap<ByteString, Pending> writes = new TreeMap<>(KEY_ORDER);

  /** The transaction of the statement running on this thread, or null (auto-commit). */
  static SqlTransaction current() {
    return CURRENT.get();
  }

  /** Makes {@code tx} (may be null) current for the statement about to run; returns the previous one. */
  static SqlTransaction enter(SqlTransaction tx) {
    SqlTransaction before = CURRENT.get();
    if (tx == null) {
      CURRENT.remove();
    } else {
      CURRENT.set(tx);
    }
    return before;
  }

  /** The pinned read revision, 0 until the first read. */
  synchronized long revision() {
    return revision;
  }

  synchronized void pin(long rev) {
    if (revision == 0) {
      revision = rev;
    }
  }

  /** A row read at the pinned revision (it replaces "absent" for a key read before as a single key). */
  synchronized void readRow(ByteString key, long modRevision) {
    readRows.put(key, modRevision);
  }

  synchronized void readRange(KvQuery.KeyRange r) {
    if (r.isSingle()) {
      readRows.putIfAbsent(r.key(), 0L); // absent unless the scan returns it (then readRow sets it first)
    } else {
      readRanges.add(r);
    }
  }

  synchronized boolean hasWrites() {
    return !writes.isEmpty();
  }

  /** This transaction's pending writes within {@code r}, in key order. */
  synchronized NavigableMap<ByteString, Pending> writesIn(KvQuery.KeyRange r) {
    if (r.isSingle()) {
      Pending p = writes.get(r.key());
      TreeMap<ByteString, Pending> one = new TreeMap<>(KEY_ORDER);
      if (p != null) {
        one.put(r.key(), p);
      }
      return one;
    }
    boolean toEnd = r.end().equals(EtcdClient.ZERO);
    boolean fromStart = r.key().equals(EtcdClient.ZERO) && toEnd; // "\0".."\0": every key
    NavigableMap<ByteString, Pending> tail = fromStart ? writes : writes.tailMap(r.key(), true);
    return new TreeMap<>(toEnd ? tail : tail.headMap(r.end(), false));
  }

  /** The pending state of {@code key}, or null if the transaction has not written it. */
  synchronized Pending pending(ByteString key) {
    return writes.get(key);
  }

  /** Buffers the writes of one statement (all or none: the statement checked them first). */
  synchronized void write(Map<ByteString, Pending> statementWrites) {
    writes.putAll(statementWrites);
  }

  /**
   * The Txn that commits this transaction, or null when it wrote nothing. Keys read as absent
   * compare mod_revision = 0 (etcd compares a missing key as all zeros).
   */
  synchronized TxnRequest commitTxn() {
    if (writes.isEmpty()) {
      return null;
    }
    TxnRequest.Builder txn = TxnRequest.newBuilder();
    for (Map.Entry<ByteString, Long> e : readRows.entrySet()) {
      txn.addCompare(Compare.newBuilder().setKey(e.getKey()).setTarget(Compare.CompareTarget.MOD)
          .setResult(Compare.CompareResult.EQUAL).setModRevision(e.getValue()));
    }
    for (KvQuery.KeyRange r : readRanges) {
      txn.addCompare(Compare.newBuilder().setKey(r.key()).setRangeEnd(r.end()).setTarget(Compare.CompareTarget.MOD)
          .setResult(Compare.CompareResult.LESS).setModRevision(revision + 1));
    }
    for (Map.Entry<ByteString, Pending> e : writes.entrySet()) {
      Pending p = e.getValue();
      txn.addSuccess(p.deleted()
          ? RequestOp.newBuilder().setRequestDeleteRange(DeleteRangeRequest.newBuilder().setKey(e.getKey()))
          : RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(e.getKey()).setValue(p.value())
              .setLease(p.lease())));
    }
    return txn.build();
  }

  synchronized int rowsRead() {
    return readRows.size() + readRanges.size();
  }

  synchronized List<ByteString> writtenKeys() {
    return new ArrayList<>(writes.keySet());
  }
}
