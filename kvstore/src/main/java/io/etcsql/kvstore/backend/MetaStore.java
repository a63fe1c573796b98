package io.etcsql.kvstore.backend;

import java.io.Closeable;
import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import net.openhft.chronicle.map.ChronicleMap;

/**
 * The store's small persistent state beside the revisions, in two Chronicle Map files:
 * {@code meta.cmap} (applied Raft index and term, compaction revision, the undo record of a
 * command being applied) and {@code leases.cmap} (lease id -> encoded lease).
 *
 * <p>Single writer (the apply thread); reads from any thread.
 */
public final class MetaStore implements Closeable {
  private static final byte[] APPLIED = "applied".getBytes(StandardCharsets.UTF_8);
  private static final byte[] COMPACT = "compact".getBytes(StandardCharsets.UTF_8);
  private static final byte[] PENDING = "pending".getBytes(StandardCharsets.UTF_8);

  private final File metaFile;
  private final File leaseFile;
  private final ChronicleMap<byte[], byte[]> meta;
  private final ChronicleMap<Long, byte[]> leases;

  public MetaStore(Path dir) throws IOException {
    Files.createDirectories(dir);
    metaFile = dir.resolve("meta.cmap").toFile();
    leaseFile = dir.resolve("leases.cmap").toFile();
    meta = ChronicleMap.of(byte[].class, byte[].class)
        .name("meta")
        .averageKeySize(8)
        .averageValueSize(256)
        .entries(1024)
        .maxBloatFactor(16)
        .createPersistedTo(metaFile);
    leases = ChronicleMap.of(Long.class, byte[].class)
        .name("leases")
        .averageValueSize(32)
        .entries(200_000)
        .maxBloatFactor(16)
        .createPersistedTo(leaseFile);
  }

  /** The Raft (term, index) of the last command fully applied, or (0, 0). */
  public long[] applied() {
    byte[] v = meta.get(APPLIED);
    if (v == null) {
      return new long[] {0, 0};
    }
    ByteBuffer b = ByteBuffer.wrap(v);
    return new long[] {b.getLong(), b.getLong()};
  }

  /** Records that the command at (term, index) is fully applied. */
  public void setApplied(long term, long index) {
    meta.put(APPLIED, ByteBuffer.allocate(16).putLong(term).putLong(index).array());
  }

  public long compactRevision() {
    byte[] v = meta.get(COMPACT);
    return v == null ? 0 : ByteBuffer.wrap(v).getLong();
  }

  public void setCompactRevision(long rev) {
    meta.put(COMPACT, ByteBuffer.allocate(8).putLong(rev).array());
  }

  /**
   * The undo record of a command whose apply had started when the process stopped, or null.
   * Format: raftIndex:8, then (leaseId:8, len:4, bytes) per lease the command changed, where
   * len -1 means the lease did not exist before.
   */
  public byte[] pending() {
    return meta.get(PENDING);
  }

  public void setPending(byte[] undo) {
    meta.put(PENDING, undo);
  }

  public void clearPending() {
    meta.remove(PENDING);
  }

  /** Client URLs a member announced (newline-separated), or null. */
  public String memberClientUrls(String name) {
    byte[] v = meta.get(("member/" + name).getBytes(StandardCharsets.UTF_8));
    return v == null ? null : new String(v, StandardCharsets.UTF_8);
  }

  public void setMemberClientUrls(String name, String urls) {
    meta.put(("member/" + name).getBytes(StandardCharsets.UTF_8), urls.getBytes(StandardCharsets.UTF_8));
  }

  /** Every member's announced client URLs: name -> newline-separated URLs. */
  public Map<String, String> allMembers() {
    Map<String, String> out = new HashMap<>();
    for (Map.Entry<byte[], byte[]> e : meta.entrySet()) {
      String k = new String(e.getKey(), StandardCharsets.UTF_8);
      if (k.startsWith("member/")) {
        out.put(k.substring("member/".length()), new String(e.getValue(), StandardCharsets.UTF_8));
      }
    }
    return out;
  }

  public byte[] lease(long id) {
    return leases.get(id);
  }

  public void putLease(long id, byte[] encoded) {
    leases.put(id, encoded);
  }

  public void removeLease(long id) {
    leases.remove(id);
  }

  /** A copy of every stored lease. */
  public Map<Long, byte[]> allLeases() {
    return new HashMap<>(leases);
  }

  /** Removes every lease and meta entry (before loading a snapshot). */
  public void clear() {
    leases.clear();
    meta.clear();
  }

  public long sizeOnDisk() {
    return metaFile.length() + leaseFile.length();
  }

  /** Forces written pages to disk. */
  public void sync() throws IOException {
    for (File f : new File[] {metaFile, leaseFile}) {
      try (FileChannel ch = FileChannel.open(f.toPath(), StandardOpenOption.WRITE)) {
        ch.force(true);
      }
    }
  }

  @Override
  public void close() {
    meta.close();
    leases.close();
  }
}
