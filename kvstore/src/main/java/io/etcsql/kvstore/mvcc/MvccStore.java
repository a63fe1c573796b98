package io.etcsql.kvstore.mvcc;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcdserverpb.RangeRequest;
import io.etcsql.grpcapi.etcdserverpb.RangeResponse;
import io.etcsql.grpcapi.etcdserverpb.ResponseHeader;
import io.etcsql.grpcapi.mvccpb.Event;
import io.etcsql.grpcapi.mvccpb.KeyValue;
import io.etcsql.kvstore.EtcdError;
import io.etcsql.kvstore.backend.RevisionLog;
import io.etcsql.kvstore.backend.RevisionRecord;
import io.etcsql.kvstore.watch.HistoryReader;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The multi-version key-value store: every change gets a revision, and any revision since the
 * last compaction can be read. Values live in the {@link RevisionLog} (off-heap, on disk); the
 * {@link KeyTree} keeps keys and revisions in memory.
 *
 * <p>One thread (the apply thread) writes, through {@link #beginWrite}; reads run concurrently
 * from any thread and see only whole, finished revisions. Errors are {@link
 * io.etcsql.kvstore.EtcdException}s: {@code COMPACTED} for a revision below the compaction point,
 * {@code FUTURE_REV} for one above the current revision.
 */
public final class MvccStore implements HistoryReader {
  private static final Logger LOG = LoggerFactory.getLogger(MvccStore.class);
  private static final Comparator<ByteString> KEY_ORDER = ByteString.unsignedLexicographicalComparator();

  final RevisionLog log;
  final KeyTree index = new KeyTree();
  private volatile long currentRevision;
  private volatile long compactRevision;
  /** Readers hold the read lock; compaction of the index takes the write lock. */
  private final ReentrantReadWriteLock compactLock = new ReentrantReadWriteLock();

  /**
   * Opens the store over {@code log}, rebuilding the key index from the stored records. Records
   * written by a command after {@code appliedIndex} (a crash in the middle of applying it) are
   * deleted: Raft will apply that command again.
   *
   * @param liveLeases filled with the lease of every live key that has one (key -> lease id)
   */
  public MvccStore(RevisionLog log, long appliedIndex, long compactRevision, Map<ByteString, Long> liveLeases) {
    this.log = log;
    List<RevisionRecord> headers = new ArrayList<>();
    List<RevisionRecord> unapplied = new ArrayList<>();
    log.forEachHeader(r -> (r.raftIndex() > appliedIndex ? unapplied : headers).add(r));
    for (RevisionRecord r : unapplied) {
      log.delete(r.mainRevision(), r.subRevision());
    }
    if (!unapplied.isEmpty()) {
      LOG.info("discarded {} records of commands after applied index {}", unapplied.size(), appliedIndex);
    }
    headers.sort(Comparator.comparingLong(RevisionRecord::mainRevision).thenComparingInt(RevisionRecord::subRevision));
    Map<ByteString, Long> leases = new HashMap<>();
    long rev = 0;
    for (RevisionRecord r : headers) {
      KeyIndex ki = index.getOrCreate(r.key());
      if (r.tombstone()) {
        if (ki.isLive()) {
          ki.tombstone(r.mainRevision(), r.subRevision());
        }
        leases.remove(r.key());
      } else {
        ki.put(r.mainRevision(), r.subRevision());
        if (r.lease() != 0) {
          leases.put(r.key(), r.lease());
        } else {
          leases.remove(r.key());
        }
      }
      rev = Math.max(rev, r.mainRevision());
    }
    liveLeases.putAll(leases);
    // as in etcd, an empty store is at revision 1: the first write gets revision 2
    this.currentRevision = Math.max(1, Math.max(rev, compactRevision));
    this.compactRevision = compactRevision;
    if (compactRevision > 0) {
      // finish a compaction that a crash may have interrupted (deleting is idempotent)
      compactIndexAndDelete(compactRevision);
    }
    LOG.info("mvcc store opened: {} keys, revision {}, compacted at {}", index.size(), currentRevision, compactRevision);
  }

  @Override
  public long currentRevision() {
    return currentRevision;
  }

  @Override
  public long compactRevision() {
    return compactRevision;
  }

  /** Number of keys with any history in the index. */
  public int indexedKeys() {
    return index.size();
  }

  // ---------------------------------------------------------------- reads

  /**
   * Serves a Range at {@code request.revision} (0 = current). The response header carries only
   * the store's current revision; the caller fills cluster, member and term.
   */
  public RangeResponse range(RangeRequest request) {
    compactLock.readLock().lock();
    try {
      return rangeAt(request, currentRevision, null);
    } finally {
      compactLock.readLock().unlock();
    }
  }

  /**
   * The Range algorithm of etcd's applier: fetch (all, if sorting or filtering, else limit+1),
   * filter by mod/create revision bounds, sort, truncate to the limit; count is the number of
   * keys in the range at the revision, before filters and limit.
   *
   * @param viewRevision the newest revision visible to this read
   * @param txn the write transaction whose own writes are visible, or null
   */
  RangeResponse rangeAt(RangeRequest r, long viewRevision, WriteTxn txn) {
    long rev = r.getRevision() <= 0 ? viewRevision : r.getRevision();
    if (rev > viewRevision) {
      throw EtcdError.FUTURE_REV.exception();
    }
    if (rev < compactRevision) {
      throw EtcdError.COMPACTED.exception();
    }
    long limit = r.getLimit();
    boolean fetchAll = r.getSortOrder() != RangeRequest.SortOrder.NONE
        || r.getMinModRevision() != 0 || r.getMaxModRevision() != 0
        || r.getMinCreateRevision() != 0 || r.getMaxCreateRevision() != 0;
    if (fetchAll) {
      limit = 0;
    }
    if (limit > 0) {
      limit++;
    }
    List<Revision> found = new ArrayList<>();
    long count = 0;
    for (KeyIndex ki : index.range(r.getKey(), r.getRangeEnd())) {
      Revision at = ki.get(rev);
      if (at == null) {
        continue;
      }
      count++;
      if (!r.getCountOnly() && (limit <= 0 || found.size() < limit)) {
        found.add(at);
      }
    }
    boolean needValue = !r.getKeysOnly() || r.getSortTarget() == RangeRequest.SortTarget.VALUE;
    List<KeyValue> kvs = new ArrayList<>(found.size());
    for (Revision at : found) {
      kvs.add(read(at, needValue, txn));
    }
    if (r.getMaxModRevision() != 0) {
      kvs.removeIf(kv -> kv.getModRevision() > r.getMaxModRevision());
    }
    if (r.getMinModRevision() != 0) {
      kvs.removeIf(kv -> kv.getModRevision() < r.getMinModRevision());
    }
    if (r.getMaxCreateRevision() != 0) {
      kvs.removeIf(kv -> kv.getCreateRevision() > r.getMaxCreateRevision());
    }
    if (r.getMinCreateRevision() != 0) {
      kvs.removeIf(kv -> kv.getCreateRevision() < r.getMinCreateRevision());
    }
    RangeRequest.SortOrder order = r.getSortOrder();
    if (r.getSortTarget() != RangeRequest.SortTarget.KEY && order == RangeRequest.SortOrder.NONE) {
      order = RangeRequest.SortOrder.ASCEND;
    }
    if (order == RangeRequest.SortOrder.ASCEND || order == RangeRequest.SortOrder.DESCEND) {
      Comparator<KeyValue> cmp = switch (r.getSortTarget()) {
        case VERSION -> Comparator.comparingLong(KeyValue::getVersion);
        case CREATE -> Comparator.comparingLong(KeyValue::getCreateRevision);
        case MOD -> Comparator.comparingLong(KeyValue::getModRevision);
        case VALUE -> Comparator.comparing(KeyValue::getValue, KEY_ORDER);
        default -> Comparator.comparing(KeyValue::getKey, KEY_ORDER);
      };
      kvs.sort(order == RangeRequest.SortOrder.DESCEND ? cmp.reversed() : cmp);
    }
    RangeResponse.Builder resp = RangeResponse.newBuilder();
    if (r.getLimit() > 0 && kvs.size() > r.getLimit()) {
      kvs = kvs.subList(0, (int) r.getLimit());
      resp.setMore(true);
    }
    for (KeyValue kv : kvs) {
      resp.addKvs(r.getKeysOnly() ? kv.toBuilder().clearValue().build() : kv);
    }
    return resp.setCount(count)
        .setHeader(ResponseHeader.newBuilder().setRevision(viewRevision))
        .build();
  }

  /** Reads the stored record at {@code at} as a KeyValue (the txn's pending writes first). */
  KeyValue read(Revision at, boolean withValue, WriteTxn txn) {
    RevisionRecord rec = txn != null ? txn.pending(at) : null;
    if (rec == null) {
      rec = log.read(at.main(), at.sub(), withValue);
    }
    if (rec == null) {
      if (at.main() <= compactRevision) {
        // removed by a compaction that overtook this read
        throw EtcdError.COMPACTED.exception();
      }
      // Not compacted, yet not stored: the store contradicts itself. Fail loudly rather than
      // answer "compacted", which inside an apply would make this member's state diverge.
      String msg = "store inconsistency: the key index holds revision " + at.main() + "_" + at.sub()
          + " but the revision log does not (compact revision " + compactRevision + ", current revision "
          + currentRevision + ", log segments " + java.util.Arrays.toString(log.segmentStarts()) + ")";
      LOG.error(msg);
      throw new IllegalStateException(msg);
    }
    return toKeyValue(rec, at.main());
  }

  static KeyValue toKeyValue(RevisionRecord rec, long modRevision) {
    KeyValue.Builder kv = KeyValue.newBuilder().setKey(rec.key()).setModRevision(modRevision);
    if (!rec.tombstone()) {
      kv.setCreateRevision(rec.createRevision()).setVersion(rec.version()).setLease(rec.lease())
          .setValue(rec.value());
    }
    return kv.build();
  }

  /** The live key's current KeyValue as of revision {@code rev}, or null. */
  KeyValue get(ByteString key, long rev, boolean withValue, WriteTxn txn) {
    KeyIndex ki = index.get(key);
    if (ki == null) {
      return null;
    }
    Revision at = ki.get(rev);
    return at == null ? null : read(at, withValue, txn);
  }

  /** The live keys in the range as of {@code rev}, in key order. */
  List<ByteString> liveKeys(ByteString key, ByteString rangeEnd, long rev) {
    List<ByteString> keys = new ArrayList<>();
    for (KeyIndex ki : index.range(key, rangeEnd)) {
      if (ki.get(rev) != null) {
        keys.add(ki.key);
      }
    }
    return keys;
  }

  // ---------------------------------------------------------------- history (watch)

  @Override
  public List<Event> events(byte[] key, byte[] rangeEnd, long fromRevision, long toRevision, int maxEvents) {
    List<Event> out = new ArrayList<>();
    compactLock.readLock().lock();
    try {
      if (fromRevision < compactRevision) {
        throw EtcdError.COMPACTED.exception();
      }
      scanRevisions(ByteString.copyFrom(key), ByteString.copyFrom(rangeEnd), fromRevision, toRevision, maxEvents,
          rec -> out.add(toEvent(rec, rec.mainRevision())));
      return out;
    } finally {
      compactLock.readLock().unlock();
    }
  }

  /**
   * Reads the records of keys in [k, end) revision by revision from {@code from} up to {@code to}
   * (at most the current revision), stopping after the revision at which {@code max} records were
   * given. Returns the last revision read. The caller holds the compaction read lock.
   */
  private long scanRevisions(ByteString k, ByteString end, long from, long to, int max,
      java.util.function.Consumer<RevisionRecord> sink) {
    long last = Math.min(to, currentRevision);
    int given = 0;
    long main = Math.max(1, from);
    for (; main <= last && given < max; main++) {
      RevisionRecord first = firstSurviving(main);
      if (first == null) {
        continue; // a main revision whose records were all compacted away
      }
      int subs = first.subsInMain();
      for (int sub = first.subRevision(); sub < subs; sub++) {
        RevisionRecord rec = sub == first.subRevision() ? first : log.read(main, sub, true);
        if (rec == null || !KeyTree.inRange(rec.key(), k, end)) {
          continue;
        }
        sink.accept(rec);
        given++;
      }
    }
    return main - 1;
  }

  /** Keys in a range above which {@link #changes} reads revision by revision instead of key by key. */
  private static final int CHANGES_BY_KEY_MAX_KEYS = 10_000;

  /** A page of {@link #changes}: the changes, and the revision to ask from next (0: no more). */
  public record ChangesPage(List<io.etcsql.grpcapi.etcsqlpb.Change> changes, long nextRevision) {
  }

  /**
   * The changes to keys in [key, end) with revisions in [from, to] (0: the oldest held, the
   * current), oldest first, with commit time and principal: about {@code limit} of them, never
   * splitting a revision. A range of few keys is read through the key index, so the cost is that
   * of those keys' history, not of the log.
   */
  public ChangesPage changes(ByteString key, ByteString end, long from, long to, int limit, boolean prevKv) {
    compactLock.readLock().lock();
    try {
      long lo = from == 0 ? Math.max(1, compactRevision) : from;
      if (lo < compactRevision) {
        throw EtcdError.COMPACTED.exception();
      }
      long hi = to == 0 ? currentRevision : Math.min(to, currentRevision);
      List<RevisionRecord> records = new ArrayList<>();
      long last = byKey(key, end, lo, hi, limit, records);
      if (last < 0) {
        last = scanRevisions(key, end, lo, hi, limit, records::add);
      }
      List<io.etcsql.grpcapi.etcsqlpb.Change> out = new ArrayList<>(records.size());
      for (RevisionRecord rec : records) {
        Event.Builder e = toEvent(rec, rec.mainRevision()).toBuilder();
        if (prevKv) {
          KeyValue prev = previous(rec.key().toByteArray(), rec.mainRevision());
          if (prev != null) {
            e.setPrevKv(prev);
          }
        }
        out.add(io.etcsql.grpcapi.etcsqlpb.Change.newBuilder().setEvent(e)
            .setCommittedAtUnixMs(rec.committedAtUnixMs()).setPrincipal(rec.principal()).build());
      }
      return new ChangesPage(out, last < hi ? last + 1 : 0);
    } finally {
      compactLock.readLock().unlock();
    }
  }

  /**
   * {@link #changes} through the key index: the indexed revisions of each key in range, sorted,
   * cut after the revision that reaches {@code limit}. Returns the last revision covered, or -1
   * when the range holds too many keys for this to pay.
   */
  private long byKey(ByteString key, ByteString end, long lo, long hi, int limit, List<RevisionRecord> out) {
    Collection<KeyIndex> keys = index.range(key, end);
    if (keys.size() > CHANGES_BY_KEY_MAX_KEYS) {
      return -1;
    }
    List<Revision> revs = new ArrayList<>();
    for (KeyIndex ki : keys) {
      for (Revision r : ki.revisions()) {
        if (r.main() >= lo && r.main() <= hi) {
          revs.add(r);
        }
      }
    }
    revs.sort(Comparator.comparingLong(Revision::main).thenComparingInt(Revision::sub));
    long last = hi;
    for (int i = 0; i < revs.size(); i++) {
      Revision r = revs.get(i);
      if (i >= limit && r.main() != revs.get(i - 1).main()) {
        last = revs.get(i - 1).main();
        break;
      }
      RevisionRecord rec = log.read(r.main(), r.sub(), true);
      if (rec == null) {
        throw new IllegalStateException("store inconsistency: the key index holds revision " + r.main() + "_" + r.sub()
            + " of " + r.main() + " but the revision log has no record of it");
      }
      out.add(rec);
    }
    return last;
  }

  /**
   * The newest revision committed at or before {@code unixMs} (commit times never decrease
   * along the log), searched among the revisions still held; 0 if the moment is before them.
   * Returns {revision, its commit time}.
   */
  public long[] revisionAt(long unixMs) {
    compactLock.readLock().lock();
    try {
      long lo = Math.max(1, compactRevision);
      long hi = currentRevision;
      long found = 0;
      long foundAt = 0;
      while (lo <= hi) {
        long mid = lo + (hi - lo) / 2;
        RevisionRecord first = firstSurviving(mid);
        if (first == null) {
          lo = mid + 1; // nothing held at this revision: look later
          continue;
        }
        if (first.committedAtUnixMs() <= unixMs) {
          found = mid;
          foundAt = first.committedAtUnixMs();
          lo = mid + 1;
        } else {
          hi = mid - 1;
        }
      }
      return new long[] {found, foundAt};
    } finally {
      compactLock.readLock().unlock();
    }
  }

  /** Most sub revisions probed for a revision whose first records were compacted away. */
  private static final int MAX_PROBED_SUBS = 1 << 16;

  /**
   * The lowest stored record of a main revision. Below the compaction point nothing is read;
   * at exactly the compaction revision its tombstones were removed, so the first surviving
   * sub revision (it carries the revision's sub count) may be later than 0.
   */
  private RevisionRecord firstSurviving(long main) {
    RevisionRecord first = log.read(main, 0, true);
    if (first != null || main != compactRevision) {
      return first;
    }
    for (int sub = 1; sub < MAX_PROBED_SUBS; sub++) {
      RevisionRecord rec = log.read(main, sub, true);
      if (rec != null) {
        return rec;
      }
    }
    return null;
  }

  static Event toEvent(RevisionRecord rec, long main) {
    return Event.newBuilder()
        .setType(rec.tombstone() ? Event.EventType.DELETE : Event.EventType.PUT)
        .setKv(toKeyValue(rec, main))
        .build();
  }

  @Override
  public KeyValue previous(byte[] key, long revision) {
    compactLock.readLock().lock();
    try {
      KeyIndex ki = index.get(ByteString.copyFrom(key));
      if (ki == null) {
        return null;
      }
      Revision at = ki.get(revision - 1);
      if (at == null) {
        return null;
      }
      RevisionRecord rec = log.read(at.main(), at.sub(), true);
      return rec == null ? null : toKeyValue(rec, at.main());
    } finally {
      compactLock.readLock().unlock();
    }
  }

  /**
   * Keeps compaction from deleting history until the returned handle is closed (for a
   * consistent snapshot that reads many records). Must be closed by the same thread.
   */
  public AutoCloseable pinHistory() {
    compactLock.readLock().lock();
    return () -> compactLock.readLock().unlock();
  }

  // ---------------------------------------------------------------- writes

  /**
   * Starts the write transaction that will become revision {@code currentRevision + 1}. Only
   * the apply thread calls this, and it finishes each transaction before starting the next.
   */
  public WriteTxn beginWrite(long raftIndex, long committedAtUnixMs, String principal) {
    return new WriteTxn(this, currentRevision, raftIndex, committedAtUnixMs, principal);
  }

  /** Makes revision {@code rev} visible to readers (after its records and index entries exist). */
  void publish(long rev) {
    currentRevision = rev;
  }

  /**
   * Compacts history at {@code rev}: revisions superseded at or before it can no longer be read
   * and their records are deleted from disk. Apply thread only; the caller has validated that
   * {@code compactRevision < rev <= currentRevision}.
   */
  public void compact(long rev) {
    compactIndexAndDelete(rev);
  }

  private void compactIndexAndDelete(long rev) {
    List<Revision> removed = new ArrayList<>();
    compactLock.writeLock().lock();
    try {
      compactRevision = rev;
      for (KeyIndex ki : index.all()) {
        if (ki.compact(rev, removed)) {
          index.remove(ki.key);
        }
      }
    } finally {
      compactLock.writeLock().unlock();
    }
    for (Revision r : removed) {
      log.delete(r.main(), r.sub());
    }
    log.dropEmptySegments();
    LOG.info("compacted at revision {}: {} records removed", rev, removed.size());
  }
}
