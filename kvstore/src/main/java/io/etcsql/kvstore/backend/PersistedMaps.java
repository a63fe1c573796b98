package io.etcsql.kvstore.backend;

import java.io.File;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import net.openhft.chronicle.map.ChronicleMap;
import net.openhft.chronicle.map.ChronicleMapBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 *
 * <p>A recovered map is not used as it is: its entries are copied into a freshly created file
 * that then replaces it. Chronicle Map's maintainers warn that recovery is not a way to open a
 * map for normal use, and recovered maps have been reported to lose track of entries
 * (Chronicle-Map issue 251). A fresh copy has structures built by ordinary puts only. (The fault
 * harness once saw a member, whose maps had been recovered after a SIGKILL a minute earlier, fail
 * to find a record it had just written; the cause was not established, and this rules out one.)
 */
public final class PersistedMaps {
  private static final Logger LOG = LoggerFactory.getLogger(PersistedMaps.class);

  private PersistedMaps() {}

  /**
   * Opens {@code file} (creating it if missing) with {@code builder}'s configuration; an existing
   * file is recovered and rebuilt first when {@code recover} is set.
   *
   * @param entries the entries {@code builder} is configured for; a rebuilt copy is sized for at
   *     least this many, and for twice what it holds
   */
  public static <K, V> ChronicleMap<K, V> open(ChronicleMapBuilder<K, V> builder, long entries, File file,
      boolean recover) throws IOException {
    Files.deleteIfExists(rebuiltCopy(file).toPath()); // left by a crash during a rebuild
    if (recover && file.exists() && file.length() > 0) {
      rebuild(builder, entries, file);
    }
    return builder.createPersistedTo(file);
  }

  private static File rebuiltCopy(File file) {
    return new File(file.getPath() + ".rebuilt");
  }

  private static <K, V> void rebuild(ChronicleMapBuilder<K, V> builder, long entries, File file) throws IOException {
    File copy = rebuiltCopy(file);
    long n;
    try (ChronicleMap<K, V> recovered = builder.clone().recoverPersistedTo(file, false)) {
      n = recovered.longSize();
      try (ChronicleMap<K, V> fresh = builder.clone().entries(Math.max(entries, 2 * n + 16)).createPersistedTo(copy)) {
        for (Map.Entry<K, V> e : recovered.entrySet()) {
          fresh.put(e.getKey(), e.getValue());
        }
      }
    }
    try (FileChannel ch = FileChannel.open(copy.toPath(), StandardOpenOption.WRITE)) {
      ch.force(true);
    }
    Files.move(copy.toPath(), file.toPath(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    try (FileChannel dir = FileChannel.open(file.toPath().toAbsolutePath().getParent(), StandardOpenOption.READ)) {
      dir.force(true);
    }
    LOG.info("recovered {} ({} entries) and rebuilt it in a fresh file", file, n);
  }
}
