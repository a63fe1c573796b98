package io.etcsql.kvstore.watch;

import io.etcsql.grpcapi.mvccpb.Event;
import io.etcsql.grpcapi.mvccpb.KeyValue;
import java.util.List;

/**
 * What the watch hub needs from the MVCC store to catch a watcher up from history. Declared
 * here, by its consumer, and implemented by the store (so {@code watch} never imports
 * {@code mvcc}).
 */
public interface HistoryReader {
  /** The newest revision applied to the store (0 before the first write). */
  long currentRevision();

  /** Revisions below this one are gone; reading them fails. 0 if never compacted. */
  long compactRevision();

  /**
   * The events of main revisions {@code fromRevision..toRevision} (both inclusive) whose key is
   * in {@code [key, rangeEnd)} (etcd's range conventions: empty rangeEnd = the single key,
   * {@code "\0"} = every key >= key), in revision order, without prev_kv. At most about
   * {@code maxEvents} events are returned, but never a partial main revision.
   *
   * @throws io.etcsql.kvstore.EtcdException COMPACTED if fromRevision is below the compaction point
   */
  List<Event> events(byte[] key, byte[] rangeEnd, long fromRevision, long toRevision, int maxEvents);

  /** The key's value just before {@code revision} (at revision - 1), or null if it had none. */
  KeyValue previous(byte[] key, long revision);
}
