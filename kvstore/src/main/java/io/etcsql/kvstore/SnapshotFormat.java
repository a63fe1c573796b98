package io.etcsql.kvstore;

import io.etcsql.kvstore.backend.MetaStore;
import io.etcsql.kvstore.backend.RevisionLog;
import io.etcsql.kvstore.backend.RevisionRecord;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The byte format of a whole-store snapshot (what a lagging follower installs, and what the
 * Maintenance.Snapshot RPC streams):
 *
 * <pre>
 * "etcsql-snapshot-v3" (modified UTF-8)
 * raftTerm:8 raftIndex:8 compactRevision:8 revision:8
 * leaseCount:4 { id:8 len:4 bytes }
 * clusterId:8 memberCount:4 { id:8 len:4 encodedMember }   len 0: the id of a removed member
 * alarmsLen:4 encodedAlarms                 the active alarms (an AlarmResponse's alarms); 0: none
 * authLen:4 encodedAuthState               users, roles, permissions (etcsqlpb.AuthState); not in v3
 * { 1:1 main:8 sub:4 len:4 encodedRecord }   every stored revision record, in revision order
 * 0:1
 * zero padding to a multiple of 512 bytes    (etcdctl snapshot save checks this, as for bbolt)
 * sha256:32                                 of everything before it
 * </pre>
 */
final class SnapshotFormat {
  private static final String MAGIC = "etcsql-snapshot-v4";
  /** The format before the auth store was added (no auth section); still read. */
  private static final String MAGIC_V3 = "etcsql-snapshot-v3";
  private static final int DIGEST_BYTES = 32;
  private static final int ALIGNMENT = 512;

  record Header(long term, long index, long compactRevision, long revision, boolean hasAuth) {}

  private SnapshotFormat() {}

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static void write(OutputStream raw, long term, long index, long compact, long revision,
      Map<Long, byte[]> leases, long clusterId, Map<Long, byte[]> members, java.util.Set<Long> removedMembers,
      byte[] alarms, byte[] auth, RevisionLog log) throws IOException {
    MessageDigest sha = sha256();
    BufferedOutputStream buffered = new BufferedOutputStream(raw, 64 * 1024);
    long[] written = new long[1];
    DataOutputStream d = new DataOutputStream(new java.io.FilterOutputStream(new DigestOutputStream(buffered, sha)) {
      @Override
      public void write(int b) throws IOException {
        out.write(b);
        written[0]++;
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
        written[0] += len;
      }
    });
    d.writeUTF(MAGIC);
    d.writeLong(term);
    d.writeLong(index);
    d.writeLong(compact);
    d.writeLong(revision);
    d.writeInt(leases.size());
    for (Map.Entry<Long, byte[]> e : leases.entrySet()) {
      d.writeLong(e.getKey());
      d.writeInt(e.getValue().length);
      d.write(e.getValue());
    }
    d.writeLong(clusterId);
    d.writeInt(members.size() + removedMembers.size());
    for (Map.Entry<Long, byte[]> e : members.entrySet()) {
      d.writeLong(e.getKey());
      d.writeInt(e.getValue().length);
      d.write(e.getValue());
    }
    for (long removed : removedMembers) {
      d.writeLong(removed);
      d.writeInt(0);
    }
    byte[] a = alarms == null ? new byte[0] : alarms;
    d.writeInt(a.length);
    d.write(a);
    d.writeInt(auth.length);
    d.write(auth);
    for (long[] rev : log.revisionsUpTo(revision)) {
      RevisionRecord rec = log.read(rev[0], (int) rev[1], true);
      if (rec == null) {
        throw new IllegalStateException("revision " + rev[0] + "_" + rev[1] + " vanished during a snapshot");
      }
      byte[] enc = rec.encode();
      d.writeByte(1);
      d.writeLong(rev[0]);
      d.writeInt((int) rev[1]);
      d.writeInt(enc.length);
      d.write(enc);
    }
    d.writeByte(0);
    int pad = (int) ((ALIGNMENT - written[0] % ALIGNMENT) % ALIGNMENT);
    d.write(new byte[pad]);
    d.flush();
    buffered.write(sha.digest());
    buffered.flush();
  }

  /** Copies a snapshot stream to {@code file}, checks its digest and returns its header. */
  static Header receive(InputStream in, Path file) throws IOException {
    Files.deleteIfExists(file);
    Files.copy(in, file);
    return check(file, true);
  }

  /**
   * Reads a snapshot file's header, first checking the digest at its end when {@code verifyDigest}
   * is set ("snapshot checksum mismatch" when it does not match).
   */
  static Header check(Path file, boolean verifyDigest) throws IOException {
    long size = Files.size(file);
    if (size < DIGEST_BYTES) {
      throw new IOException("snapshot is truncated (" + size + " bytes)");
    }
    if (verifyDigest) {
      MessageDigest sha = sha256();
      byte[] stored = new byte[DIGEST_BYTES];
      try (InputStream f = new BufferedInputStream(Files.newInputStream(file), 64 * 1024)) {
        byte[] buf = new byte[64 * 1024];
        long left = size - DIGEST_BYTES;
        while (left > 0) {
          int n = f.read(buf, 0, (int) Math.min(buf.length, left));
          if (n < 0) {
            throw new IOException("snapshot is truncated");
          }
          sha.update(buf, 0, n);
          left -= n;
        }
        if (f.readNBytes(stored, 0, DIGEST_BYTES) != DIGEST_BYTES) {
          throw new IOException("snapshot is truncated");
        }
      }
      if (!Arrays.equals(stored, sha.digest())) {
        throw new IOException("snapshot checksum mismatch: the snapshot is corrupt");
      }
    }
    try (DataInputStream d = new DataInputStream(new BufferedInputStream(Files.newInputStream(file)))) {
      return header(d);
    }
  }

  private static Header header(DataInputStream d) throws IOException {
    String magic = d.readUTF();
    if (!MAGIC.equals(magic) && !MAGIC_V3.equals(magic)) {
      throw new IOException("not an etcsql snapshot (format '" + magic + "')");
    }
    return new Header(d.readLong(), d.readLong(), d.readLong(), d.readLong(), MAGIC.equals(magic));
  }

  /**
   * Loads a verified snapshot file into an empty log and meta store. With {@code forNewCluster}
   * (a restore) the members, cluster id and alarms are left out and every record's Raft index is
   * reset to 0, because the new cluster's Raft log starts again from index 1. Users and roles are
 * kept in both cases.
   */
  static void load(Path file, RevisionLog log, MetaStore meta, boolean forNewCluster) throws IOException {
    try (DataInputStream d = new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 64 * 1024))) {
      Header header = header(d);
      int leases = d.readInt();
      for (int i = 0; i < leases; i++) {
        long id = d.readLong();
        byte[] enc = new byte[d.readInt()];
        d.readFully(enc);
        meta.putLease(id, enc);
      }
      long clusterId = d.readLong();
      int members = d.readInt();
      Map<Long, byte[]> memberList = new java.util.HashMap<>();
      List<Long> removedList = new ArrayList<>();
      for (int i = 0; i < members; i++) {
        long id = d.readLong();
        byte[] enc = new byte[d.readInt()];
        d.readFully(enc);
        if (enc.length == 0) {
          removedList.add(id);
        } else {
          memberList.put(id, enc);
        }
      }
      byte[] alarms = new byte[d.readInt()];
      d.readFully(alarms);
      if (header.hasAuth()) {
        byte[] auth = new byte[d.readInt()];
        d.readFully(auth);
        if (forNewCluster && auth.length > 0) {
          // the users and roles carry over (as etcd's restored db keeps its auth buckets); the
          // new cluster's log starts again from index 1
          auth = io.etcsql.grpcapi.etcsqlpb.AuthState.parseFrom(auth).toBuilder().setAppliedIndex(0).build()
              .toByteArray();
        }
        meta.setAuth(auth);
      }
      if (!forNewCluster) {
        meta.setClusterId(clusterId);
        memberList.forEach(meta::putMember);
        removedList.forEach(meta::putRemovedMember);
        meta.setAlarms(alarms);
      }
      List<RevisionRecord> batch = new ArrayList<>();
      long batchMain = -1;
      while (d.readByte() == 1) {
        long main = d.readLong();
        int sub = d.readInt();
        byte[] enc = new byte[d.readInt()];
        d.readFully(enc);
        if (main != batchMain && !batch.isEmpty()) {
          log.writeRevision(batchMain, batch);
          batch = new ArrayList<>();
        }
        batchMain = main;
        RevisionRecord r = RevisionRecord.decode(main, sub, enc, true);
        if (forNewCluster) {
          r = new RevisionRecord(r.mainRevision(), r.subRevision(), r.subsInMain(), r.key(), r.value(), r.tombstone(),
              r.createRevision(), r.version(), r.lease(), 0, r.committedAtUnixMs(), r.principal());
        }
        batch.add(r);
      }
      if (!batch.isEmpty()) {
        log.writeRevision(batchMain, batch);
      }
    }
    log.sync();
    meta.sync();
  }

}
