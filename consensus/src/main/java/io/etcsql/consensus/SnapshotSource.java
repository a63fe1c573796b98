package io.etcsql.consensus;

import java.io.IOException;
import java.io.InputStream;

/**
 * Where a member that fell behind the leader's purged Raft log fetches a whole-store snapshot
 * (written by {@code KvStore.writeSnapshot} on the leader). Implemented by the server, which
 * knows how to reach a member.
 */
public interface SnapshotSource {
  /**
   * Opens a stream of the current snapshot of the member with this Raft peer id.
   *
   * @param clientAddressHint the member's etcd client "host:port" as recorded in the Raft
   *     configuration, or empty: used when this member's own registry does not know it yet
   */
  InputStream open(String peerId, String clientAddressHint) throws IOException;
}
