package io.etcsql.kvstore.mvcc;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcdserverpb.RangeRequest;
import io.etcsql.grpcapi.etcdserverpb.RangeResponse;
import io.etcsql.grpcapi.mvccpb.Event;
import io.etcsql.grpcapi.mvccpb.KeyValue;
import io.etcsql.kvstore.backend.RevisionRecord;
import java.util.ArrayList;
import java.util.List;

/**
 * One write transaction: all its changes share one main revision ({@code beginRevision + 1}),
 * numbered by sub revision in the order they were made. Reads through the transaction see its
 * own changes; other readers see none of them until {@link #commit()}.
 *
 * <p>Not thread-safe: used by the apply thread only.
 */
public final class WriteTxn {
  private final MvccStore store;
  private final long beginRevision;
  private final long raftIndex;
  private final long committedAt;
  private final String principal;
  private final List<RevisionRecord> records = new ArrayList<>();
  private final List<Event> events = new ArrayList<>();

  WriteTxn(MvccStore store, long beginRevision, long raftIndex, long committedAt, String principal) {
    this.store = store;
    this.beginRevision = beginRevision;
    this.raftIndex = raftIndex;
    this.committedAt = committedAt;
    this.principal = principal;
  }

  /** The revision this transaction's changes get. */
  public long revision() {
    return beginRevision + 1;
  }

  /** The newest revision this transaction sees: its own if it changed anything. */
  public long viewRevision() {
    return records.isEmpty() ? beginRevision : beginRevision + 1;
  }

  /** The revision before the transaction began. */
  public long beginRevision() {
    return beginRevision;
  }

  public boolean hasChanges() {
    return !records.isEmpty();
  }

  RevisionRecord pending(Revision at) {
    if (at.main() != revision() || at.sub() >= records.size()) {
      return null;
    }
    return records.get(at.sub());
  }

  /** A Range that sees this transaction's own changes. */
  public RangeResponse range(RangeRequest request) {
    return store.rangeAt(request, viewRevision(), this);
  }

  /** The key's current value as this transaction sees it, or null if it does not exist. */
  public KeyValue get(ByteString key) {
    return store.get(key, viewRevision(), true, this);
  }

  /**
   * The key's current KeyValue as this transaction sees it without its value (revisions,
   * version, lease: what a put needs), or null if it does not exist.
   */
  public KeyValue getWithoutValue(ByteString key) {
    return store.get(key, viewRevision(), false, this);
  }

  /** Keys in the range that exist as this transaction sees them, in key order. */
  public List<ByteString> liveKeys(ByteString key, ByteString rangeEnd) {
    return store.liveKeys(key, rangeEnd, viewRevision());
  }

  /**
   * Puts {@code value} at {@code key} with {@code lease} (0 = none).
   *
   * @return the previous KeyValue, or null if the key did not exist
   */
  public KeyValue put(ByteString key, ByteString value, long lease) {
    KeyValue prev = get(key);
    put(key, value, lease, prev);
    return prev;
  }

  /**
   * Puts {@code value} at {@code key} with {@code lease}, given the key's current KeyValue as
   * this transaction sees it ({@link #get} or {@link #getWithoutValue}; null if it does not
   * exist), so that a caller who read it already does not read it again.
   */
  public void put(ByteString key, ByteString value, long lease, KeyValue prev) {
    long rev = revision();
    int sub = records.size();
    long create = prev == null ? rev : prev.getCreateRevision();
    long version = prev == null ? 1 : prev.getVersion() + 1;
    RevisionRecord rec = new RevisionRecord(rev, sub, 0, key, value, false, create, version, lease,
        raftIndex, committedAt, principal);
    records.add(rec);
    store.index.getOrCreate(key).put(rev, sub);
    events.add(MvccStore.toEvent(rec, rev));
  }

  /**
   * Deletes every existing key in the range (see {@link KeyTree} for range conventions).
   *
   * @return the deleted keys' last KeyValues, in key order
   */
  public List<KeyValue> deleteRange(ByteString key, ByteString rangeEnd) {
    List<KeyValue> deleted = new ArrayList<>();
    for (ByteString k : liveKeys(key, rangeEnd)) {
      deleted.add(get(k));
      delete(k);
    }
    return deleted;
  }

  private void delete(ByteString key) {
    long rev = revision();
    int sub = records.size();
    RevisionRecord rec = new RevisionRecord(rev, sub, 0, key, ByteString.EMPTY, true, 0, 0, 0,
        raftIndex, committedAt, principal);
    records.add(rec);
    store.index.getOrCreate(key).tombstone(rev, sub);
    events.add(MvccStore.toEvent(rec, rev));
  }

  /**
   * Writes the transaction's records and makes its revision visible.
   *
   * @return the events it produced (empty if it changed nothing)
   */
  public List<Event> commit() {
    if (records.isEmpty()) {
      return List.of();
    }
    int subs = records.size();
    List<RevisionRecord> stamped = new ArrayList<>(subs);
    for (RevisionRecord r : records) {
      stamped.add(new RevisionRecord(r.mainRevision(), r.subRevision(), subs, r.key(), r.value(),
          r.tombstone(), r.createRevision(), r.version(), r.lease(), r.raftIndex(),
          r.committedAtUnixMs(), r.principal()));
    }
    store.log.writeRevision(revision(), stamped);
    store.publish(revision());
    return events;
  }
}
