package io.etcsql.kvstore.backend;

import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import net.openhft.chronicle.map.ChronicleMap;

/**
 * Closes the maps of segments replaced by a defragmentation after a grace period, so a reader
 * that looked the old segment up just before the swap finishes its read on the old (still
 * mapped, unchanged) map. A reader slower than that retries on the new segment.
 */
final class SegmentRetirement {
  /** Longer than any single record read takes. */
  static final long GRACE_MS = 5_000;

  private final Queue<ChronicleMap<byte[], byte[]>> retired = new ConcurrentLinkedQueue<>();
  private ScheduledExecutorService closer; // created on first use

  synchronized void retire(ChronicleMap<byte[], byte[]> map) {
    retired.add(map);
    if (closer == null) {
      closer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "segment-retirement");
        t.setDaemon(true);
        return t;
      });
    }
    closer.schedule(() -> {
      if (retired.remove(map)) {
        map.close();
      }
    }, GRACE_MS, TimeUnit.MILLISECONDS);
  }

  /** Closes every retired map now (the log is closing). */
  synchronized void closeRetired() {
    if (closer != null) {
      closer.shutdownNow();
      closer = null;
    }
    ChronicleMap<byte[], byte[]> m;
    while ((m = retired.poll()) != null) {
      m.close();
    }
  }
}
