package io.etcsql.consensus;

import java.io.IOException;
import java.io.InputStream;

/**
 * Where a member that fell behind the leader's purged Raft log fetches a whole-store snapshot
 * (written by {@code KvStore.writeSnapshot} on the leader). Implemented by the server, which
 * knows how to reach a member.
 */
public interface SnapshotSource {
  /** Opens a stream of the named member's current snapshot. */
  InputStream open(String memberName) throws IOException;
}
