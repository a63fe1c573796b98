package io.etcsql.kvstore.mvcc;

import java.util.concurrent.atomic.LongAdder;

/**
 * The ranges, puts and deletes this member's store has done, and its transactions of more than
 * one of them, counted as etcd's mvcc counts them ({@code etcd_mvcc_range_total},
 * {@code _put_total}, {@code _delete_total}, {@code _txn_total}; etcd's {@code metricsTxnWrite}).
 *
 * <p>etcd counts per mvcc transaction: each Range, Put and DeleteRange it makes (a Txn's compares
 * are Ranges, and so are the reads of the previous pair behind {@code prev_kv}, {@code
 * ignore_value} and {@code ignore_lease}), and the transaction itself when it made more than one.
 * A write Txn is two mvcc transactions: the read that evaluates its compares and checks its puts,
 * then the write that runs the chosen branch. A lease revocation is one write transaction
 * deleting each of the lease's keys. A read-only Txn is one read transaction, done by the member
 * a client asked only: etcsql replicates it like a write, so each member is told whether the
 * command it applies was proposed by itself ({@link #proposedHere}) and only that one counts it.
 *
 * <p>The operations of the command being applied are tallied by the apply thread ({@link
 * #range()}, {@link #put()}, {@link #delete()}) and added up by {@link #endTxn()}; Ranges served
 * to clients outside the apply thread use {@link #rangeServed()}. Only counted, never stored or
 * replicated. The totals may be read from any thread.
 */
public final class OpCounts {
  private final LongAdder ranges = new LongAdder();
  private final LongAdder puts = new LongAdder();
  private final LongAdder deletes = new LongAdder();
  private final LongAdder txns = new LongAdder();
  private final LongAdder putBytes = new LongAdder();
  // the mvcc transaction of the command being applied (apply thread only)
  private int txnRanges;
  private int txnPuts;
  private int txnDeletes;
  private long txnPutBytes;
  private boolean readOnlyTxn;
  private boolean proposedHere = true;

  /** A Range served by itself (a one-operation read transaction of its own). */
  public void rangeServed() {
    ranges.increment();
  }

  /** A Range inside the transaction being applied. */
  public void range() {
    txnRanges++;
  }

  /** A Put inside the transaction being applied, of a key and value of {@code bytes} together. */
  public void put(long bytes) {
    txnPuts++;
    txnPutBytes += bytes;
  }

  /** A DeleteRange inside the transaction being applied. */
  public void delete() {
    txnDeletes++;
  }

  /**
   * Whether the command about to be applied was proposed by this member (apply thread; true
   * until told otherwise).
   */
  public void proposedHere(boolean here) {
    proposedHere = here;
  }

  /** The transaction being applied is a read-only Txn: counted only where it was proposed. */
  public void readOnlyTxn() {
    readOnlyTxn = true;
  }

  /** Ends the transaction being applied (one with no operation counts nothing). */
  public void endTxn() {
    if (!readOnlyTxn || proposedHere) {
      if (txnRanges + txnPuts + txnDeletes > 1) {
        txns.increment();
      }
      ranges.add(txnRanges);
      puts.add(txnPuts);
      deletes.add(txnDeletes);
      putBytes.add(txnPutBytes);
    }
    readOnlyTxn = false;
    txnRanges = 0;
    txnPuts = 0;
    txnDeletes = 0;
    txnPutBytes = 0;
  }

  public long ranges() {
    return ranges.sum();
  }

  public long puts() {
    return puts.sum();
  }

  public long deletes() {
    return deletes.sum();
  }

  /** Bytes of the keys and values put ({@code etcd_debugging_mvcc_total_put_size_in_bytes}). */
  public long putBytes() {
    return putBytes.sum();
  }

  /** Transactions of more than one operation. */
  public long txns() {
    return txns.sum();
  }
}
