package io.etcsql.server.metrics;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * What the metrics and the health check read from a running member, at scrape time. The member
 * ({@code EtcdNode}) implements it over its Raft node and store; tests use a fake. Any method may
 * throw a {@link RuntimeException} while the member is starting or stopping: the value is then
 * left out of that scrape.
 */
public interface MemberStatus {
  /** Whether this member knows a Raft leader. */
  boolean hasLeader();

  boolean isLeader();

  boolean isLearner();

  /** Leader changes this member has seen, the first leader included. */
  long leaderChangesSeen();

  /** Index of the last Raft entry known committed. */
  long committedIndex();

  /** Index of the last Raft entry applied to the store. */
  long appliedIndex();

  /** Proposals this member sent and that were not answered yet. */
  long proposalsPending();

  /** Proposals this member sent that failed to commit (timeout, no leader, stopped). */
  long proposalsFailed();

  /** Bytes of the store's files (etcd's db size). */
  long dbSizeBytes();

  /** Bytes the stored data takes (etcd's db size in use). */
  long dbSizeInUseBytes();

  /** Keys in the store's key index. */
  long keys();

  long currentRevision();

  /** The auth store's revision. */
  long authRevision();

  long compactRevision();

  /** Ranges the store did, as etcd's mvcc counts them (compares and prev_kv reads included). */
  long ranges();

  /** Puts the store applied. */
  long puts();

  /** DeleteRanges the store applied (one per key of a revoked lease). */
  long deletes();

  /** The store's mvcc transactions of more than one operation. */
  long txns();

  /** Bytes of the keys and values the store put. */
  long putBytes();

  /** The store's watch streams, watchers and events now. */
  io.etcsql.kvstore.watch.WatchStats watches();

  long leasesGranted();

  long leasesRevoked();

  /** Lease keep-alives this member renewed while leader. */
  long leasesRenewed();

  /** Leases this member revoked while leader because they expired. */
  long leasesExpired();

  /** Whether a snapshot from the leader is being installed. */
  boolean installingSnapshot();

  /** Applied Raft entries that took longer than 100 ms. */
  long slowApplies();

  /** Linearizable reads whose read index timed out. */
  long slowReadIndexes();

  /** Linearizable reads whose read index failed otherwise (leader change, no leader). */
  long readIndexesFailed();

  /** The backend quota in bytes, negative when there is none. */
  long quotaBackendBytes();

  /** This member's id in hexadecimal. */
  String memberIdHex();

  /** The names of the active alarms ({@code NOSPACE}, {@code CORRUPT}). */
  List<String> alarms();

  /** Completes once a linearizable read would see everything committed now (etcd's QGET). */
  CompletableFuture<Void> linearizableRead();
}
