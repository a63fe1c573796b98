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
 * command being applied), {@code leases.cmap} (lease id -> encoded lease) and {@code auth.state}
 * (users, roles and permissions).
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
  private final Path authFile;
  private byte[] auth;

  /**
   * Opens (creating if needed) the files in {@code dir}, recovering existing ones first when
   * {@code recover} is set (see {@link PersistedMaps}).
   */
  public MetaStore(Path dir, boolean recover) throws IOException {
    Files.createDirectories(dir);
    metaFile = dir.resolve("meta.cmap").toFile();
    leaseFile = dir.resolve("leases.cmap").toFile();
    authFile = dir.resolve("auth.state");
    meta = PersistedMaps.open(ChronicleMap.of(byte[].class, byte[].class)
        .name("meta")
        .averageKeySize(8)
        .averageValueSize(256)
        .entries(1024)
        .maxBloatFactor(16), 1024, metaFile, recover);
    leases = PersistedMaps.open(ChronicleMap.of(Long.class, byte[].class)
        .name("leases")
        .averageValueSize(32)
        .entries(200_000)
        .maxBloatFactor(16), 200_000, leaseFile, recover);
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
    pendingStored = true;
  }

  /** Removes the undo record (a lookup only if one was written since the last removal). */
  public void clearPending() {
    if (pendingStored) {
      meta.remove(PENDING);
      pendingStored = false;
    }
  }

  private static final String MEMBER_PREFIX = "member/";
  private static final byte[] CLUSTER_ID = "cluster-id".getBytes(StandardCharsets.UTF_8);

  private static byte[] memberKey(long id) {
    return (MEMBER_PREFIX + Long.toHexString(id)).getBytes(StandardCharsets.UTF_8);
  }

  /** The registered member (an encoded etcdserverpb.Member), or null. */
  public byte[] member(long id) {
    return meta.get(memberKey(id));
  }

  public void putMember(long id, byte[] encodedMember) {
    meta.put(memberKey(id), encodedMember);
  }

  public void removeMember(long id) {
    meta.remove(memberKey(id));
  }

  /** Every registered member: id -> encoded etcdserverpb.Member. */
  public Map<Long, byte[]> allMembers() {
    Map<Long, byte[]> out = new HashMap<>();
    for (Map.Entry<byte[], byte[]> e : meta.entrySet()) {
      String k = new String(e.getKey(), StandardCharsets.UTF_8);
      if (k.startsWith(MEMBER_PREFIX)) {
        out.put(Long.parseUnsignedLong(k.substring(MEMBER_PREFIX.length()), 16), e.getValue());
      }
    }
    return out;
  }

  private static final String REMOVED_MEMBER_PREFIX = "removed-member/";

  private static byte[] removedMemberKey(long id) {
    return (REMOVED_MEMBER_PREFIX + Long.toHexString(id)).getBytes(StandardCharsets.UTF_8);
  }

  /** Records that member {@code id} was removed: etcd never lets a removed id back in. */
  public void putRemovedMember(long id) {
    meta.put(removedMemberKey(id), new byte[] {1});
  }

  public boolean isRemovedMember(long id) {
    return meta.get(removedMemberKey(id)) != null;
  }

  /** The ids of every member removed so far. */
  public java.util.Set<Long> removedMembers() {
    java.util.Set<Long> out = new java.util.TreeSet<>(Long::compareUnsigned);
    for (byte[] key : meta.keySet()) {
      String k = new String(key, StandardCharsets.UTF_8);
      if (k.startsWith(REMOVED_MEMBER_PREFIX)) {
        out.add(Long.parseUnsignedLong(k.substring(REMOVED_MEMBER_PREFIX.length()), 16));
      }
    }
    return out;
  }

  /** The cluster id recorded at bootstrap, or 0. */
  public long clusterId() {
    byte[] v = meta.get(CLUSTER_ID);
    return v == null ? 0 : ByteBuffer.wrap(v).getLong();
  }

  public void setClusterId(long id) {
    meta.put(CLUSTER_ID, ByteBuffer.allocate(8).putLong(id).array());
  }

  private static final byte[] ALARMS = "alarms".getBytes(StandardCharsets.UTF_8);

  /** The active alarms, encoded as an {@code etcdserverpb.AlarmResponse} (alarms only), or null. */
  /** Whether an undo record may be stored (true until the first removal after opening). */
  private boolean pendingStored = true;

  public byte[] alarms() {
    return meta.get(ALARMS);
  }

  /** Replaces the stored alarms; null or empty removes them. */
  public void setAlarms(byte[] encoded) {
    if (encoded == null || encoded.length == 0) {
      meta.remove(ALARMS);
    } else {
      meta.put(ALARMS, encoded);
    }
  }

  /**
   * The auth store, encoded as an {@code etcsqlpb.AuthState}, or null before its first change.
   * It lives in its own file, {@code auth.state}, replaced whole on each change (write, fsync,
   * atomic rename), so a crash leaves either the old or the new state and no size limit applies.
   */
  public synchronized byte[] auth() {
    if (auth == null && Files.exists(authFile)) {
      try {
        auth = Files.readAllBytes(authFile);
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
    return auth;
  }

  /** Replaces the stored auth state; null or empty removes it. */
  public synchronized void setAuth(byte[] encoded) {
    try {
      if (encoded == null || encoded.length == 0) {
        Files.deleteIfExists(authFile);
        auth = null;
        return;
      }
      Path tmp = authFile.resolveSibling("auth.state.tmp");
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
          StandardOpenOption.TRUNCATE_EXISTING)) {
        ByteBuffer b = ByteBuffer.wrap(encoded);
        while (b.hasRemaining()) {
          ch.write(b);
        }
        ch.force(true);
      }
      Files.move(tmp, authFile, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
          java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      auth = encoded.clone();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("cannot write " + authFile, e);
    }
  }

  /** Bytes the stored entries (metadata and leases) take, keys and values. */
  public long bytesInUse() {
    long total = 0;
    for (Map.Entry<byte[], byte[]> e : meta.entrySet()) {
      total += e.getKey().length + e.getValue().length;
    }
    for (byte[] v : leases.values()) {
      total += 8 + v.length;
    }
    return total;
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
    setAuth(null);
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
