package io.etcsql.kvstore.backend;

import java.io.File;
import java.io.IOException;
import net.openhft.chronicle.map.ChronicleMap;
import net.openhft.chronicle.map.ChronicleMapBuilder;

/**
 * Opens the store's Chronicle Map files, recovering them when the process that had them open
 * died.
 *
 * <p>A Chronicle Map keeps its segment locks inside the mapped file. A process killed while it
 * held one (SIGKILL in the middle of a put) leaves the lock set, and the next process to touch
 * that segment spins for 60 seconds and then fails. {@code recoverPersistedTo} clears such locks
 * and repairs a half-written entry; it must only run while no other process has the file open,
 * which the data directory's single owner guarantees. It reads each map's configuration from its
 * own header ({@code sameBuilderConfigAndLibraryVersion = false}), because segments rewritten by
 * defragmentation are sized differently from the builder used to open them.
 */
public final class PersistedMaps {
  private PersistedMaps() {}

  /**
   * Opens {@code file} (creating it if missing) with {@code builder}'s configuration; an existing
   * file is recovered first when {@code recover} is set.
   */
  public static <K, V> ChronicleMap<K, V> open(ChronicleMapBuilder<K, V> builder, File file, boolean recover)
      throws IOException {
    if (recover && file.exists() && file.length() > 0) {
      return builder.recoverPersistedTo(file, false);
    }
    return builder.createPersistedTo(file);
  }
}
