package io.etcsql.kvstore;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcdserverpb.RangeRequest;
import io.etcsql.grpcapi.etcdserverpb.RangeResponse;
import io.etcsql.grpcapi.etcsqlpb.ApplyError;
import io.etcsql.grpcapi.etcsqlpb.CommandResult;
import io.etcsql.grpcapi.etcsqlpb.ReplicatedCommand;
import io.etcsql.kvstore.backend.MetaStore;
import io.etcsql.kvstore.backend.RevisionLog;
import io.etcsql.kvstore.lease.Lessor;
import io.etcsql.kvstore.mvcc.MvccStore;
import io.etcsql.kvstore.watch.WatchHub;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One member's key-value state: the MVCC store, the lessor and the watch hub over one data
 * directory. Replicated commands are applied with {@link #apply}, one at a time and in log order;
 * reads ({@link #range}, the watch hub, the lessor) run concurrently from any thread.
 *
 * <p>Crash safety: every revision record carries the Raft index that wrote it, and the applied
 * index is stored after a command's effects. On open, records of a command past the stored
 * applied index are discarded (and a revoke's lease changes undone), so replaying the Raft log
 * applies each entry exactly once.
 */
public final class KvStore implements Closeable {
  private static final Logger LOG = LoggerFactory.getLogger(KvStore.class);

  private final Path dir;
  private final RevisionLog log;
  private final MetaStore meta;
  private WatchHub watchHub; // set once in the constructor
  private final io.etcsql.kvstore.auth.AuthStore auth;
  /** Held while a command is applied, and while a snapshot captures its starting point. */
  private final Object applyLock = new Object();
  // replaced together when a snapshot from the leader is installed
  private volatile MvccStore mvcc;
  private volatile Lessor lessor;
  private volatile Applier applier;
  private volatile java.util.List<io.etcsql.grpcapi.etcdserverpb.Member> members = java.util.List.of();
  private volatile long appliedTerm;
  private volatile long appliedIndex;
  private final io.etcsql.kvstore.mvcc.OpCounts ops = new io.etcsql.kvstore.mvcc.OpCounts();
  private final io.etcsql.kvstore.lease.LeaseCounts leaseCounts = new io.etcsql.kvstore.lease.LeaseCounts();

  private KvStore(Path dir, Options options) throws IOException {
    this.dir = dir;
    boolean recover = !takeClosedMarker(dir);
    if (recover && Files.exists(dir.resolve("meta.cmap"))) {
      LOG.warn("kv store at {} was not closed cleanly: recovering its map files", dir);
    }
    meta = new MetaStore(dir, recover);
    auth = new io.etcsql.kvstore.auth.AuthStore(meta);
    undoPending();
    log = new RevisionLog(dir.resolve("revisions"), options.entriesPerSegment, recover);
    load();
    watchHub = new WatchHub(new CurrentHistory(), options.progressNotifyInterval);
    applier = new Applier(mvcc, lessor, meta, watchHub, auth, ops, leaseCounts);
    LOG.info("kv store at {}: applied index {} (term {}), revision {}", dir, appliedIndex, appliedTerm,
        mvcc.currentRevision());
  }

  /** (Re)builds the in-memory state from what is on disk. */
  private void load() {
    refreshMembers();
    long[] applied = meta.applied();
    Map<ByteString, Long> keyLeases = new HashMap<>();
    MvccStore m = new MvccStore(log, applied[1], meta.compactRevision(), keyLeases);
    Lessor l = new Lessor(meta, keyLeases);
    if (watchHub != null) {
      applier = new Applier(m, l, meta, watchHub, auth, ops, leaseCounts);
      auth.reload();
    }
    lessor = l;
    mvcc = m;
    appliedTerm = applied[0];
    appliedIndex = applied[1];
  }

  /** Users, roles and permissions, and whether auth is on. */
  public io.etcsql.kvstore.auth.AuthStore auth() {
    return auth;
  }

  /** The watch hub's view of history: always the current MVCC store. */
  private final class CurrentHistory implements io.etcsql.kvstore.watch.HistoryReader {
    @Override
    public long currentRevision() {
      return mvcc.currentRevision();
    }

    @Override
    public long compactRevision() {
      return mvcc.compactRevision();
    }

    @Override
    public java.util.List<io.etcsql.grpcapi.mvccpb.Event> events(byte[] key, byte[] rangeEnd, long from, long to, int max) {
      return mvcc.events(key, rangeEnd, from, to, max);
    }

    @Override
    public io.etcsql.grpcapi.mvccpb.KeyValue previous(byte[] key, long revision) {
      ops.rangeServed(); // etcd reads a watch event's prev_kv with a Range
      return mvcc.previous(key, revision);
    }
  }

  /** Store tuning; the defaults suit production. */
  public record Options(long entriesPerSegment, Duration progressNotifyInterval) {
    public static Options defaults() {
      return new Options(64 * 1024, Duration.ofMinutes(10));
    }
  }

  /** Opens (creating if needed) the store in {@code dir}. */
  public static KvStore open(Path dir, Options options) throws IOException {
    return new KvStore(dir, options);
  }

  private void undoPending() {
    byte[] undo = meta.pending();
    if (undo == null) {
      return;
    }
    ByteBuffer b = ByteBuffer.wrap(undo);
    long index = b.getLong();
    if (index > meta.applied()[1]) {
      while (b.hasRemaining()) {
        long id = b.getLong();
        int len = b.getInt();
        byte[] enc = null;
        if (len >= 0) {
          enc = new byte[len];
          b.get(enc);
        }
        Lessor.restore(meta, id, enc);
      }
      LOG.info("undid the lease changes of interrupted command {}", index);
    }
    meta.clearPending();
  }

  /** The Raft (term, index) of the last applied command. */
  public long appliedIndex() {
    return appliedIndex;
  }

  public long appliedTerm() {
    return appliedTerm;
  }

  /**
   * Applies one replicated command. Deterministic: reads no clock, random source or network.
   * Errors a client should see (lease not found, compacted, ...) are returned as {@code
   * CommandResult.error}; they change nothing. A command at or below the applied index is
   * skipped (it was applied before a restart).
   */
  public CommandResult apply(long term, long index, ReplicatedCommand cmd) {
    synchronized (applyLock) {
      checkOpen();
      if (index <= appliedIndex) {
        return CommandResult.getDefaultInstance();
      }
      CommandResult result;
      if (cmd.hasBatch()) {
        cmd.getBatch().getCommandsList().forEach(KvStore::checkBatched); // before any change
        io.etcsql.grpcapi.etcsqlpb.BatchResult.Builder results = io.etcsql.grpcapi.etcsqlpb.BatchResult.newBuilder();
        for (ReplicatedCommand one : cmd.getBatch().getCommandsList()) {
          results.addResults(applyOne(index, batched(one, cmd.getCommittedAtUnixMs())));
        }
        result = CommandResult.newBuilder().setBatch(results).build();
      } else {
        result = applyOne(index, cmd);
      }
      switch (cmd.getRequestCase()) {
        case MEMBER_BOOTSTRAP, MEMBER_ATTRIBUTES, MEMBER_CHANGE -> refreshMembers();
        default -> { }
      }
      meta.setApplied(term, index);
      meta.clearPending();
      appliedTerm = term;
      appliedIndex = index;
      return result;
    }
  }

  private CommandResult applyOne(long index, ReplicatedCommand cmd) {
    try {
      return applier.apply(index, cmd);
    } catch (EtcdException e) {
      return CommandResult.newBuilder()
          .setError(ApplyError.newBuilder().setCode(e.error().name()).setMessage(e.error().message()))
          .build();
    } finally {
      ops.endTxn(); // the command's last mvcc transaction ends, failed or not
    }
  }

  /**
   * Whether a command may go in a Batch: Put, DeleteRange and Txn, whose only effects are records
   * carrying the entry's Raft index (see the Batch message).
   */
  public static boolean batchable(ReplicatedCommand command) {
    return switch (command.getRequestCase()) {
      case PUT, DELETE_RANGE, TXN -> true;
      default -> false;
    };
  }

  /** Anything else in a batch is a corrupt log. */
  private static void checkBatched(ReplicatedCommand one) {
    if (!batchable(one)) {
      throw new IllegalArgumentException("a " + one.getRequestCase() + " command in a batch");
    }
  }

  /** A command of a batch, with the batch's commit time. */
  private static ReplicatedCommand batched(ReplicatedCommand one, long committedAt) {
    return one.getCommittedAtUnixMs() == committedAt ? one : one.toBuilder().setCommittedAtUnixMs(committedAt).build();
  }

  /** Records that a Raft entry with no key-value effect (configuration, no-op) was applied. */
  public void applyNoop(long term, long index) {
    synchronized (applyLock) {
      checkOpen();
      if (index > appliedIndex) {
        meta.setApplied(term, index);
        appliedTerm = term;
        appliedIndex = index;
      }
    }
  }

  /**
   * Writes a consistent copy of the whole store (every revision still in history, leases,
   * members, the applied Raft index and term) to {@code out}; writes continue meanwhile.
   * Format: {@link SnapshotFormat}.
   *
   * @return the Raft (term, index) the copy corresponds to
   */
  public long[] writeSnapshot(java.io.OutputStream out) throws IOException {
    MvccStore m;
    long[] at;
    long compact;
    long revision;
    Map<Long, byte[]> leases;
    Map<Long, byte[]> members;
    java.util.Set<Long> removedMembers;
    long clusterId;
    byte[] alarms;
    byte[] authState;
    AutoCloseable pin;
    synchronized (applyLock) {
      m = mvcc;
      at = new long[] {appliedTerm, appliedIndex};
      compact = m.compactRevision();
      revision = m.currentRevision();
      leases = meta.allLeases();
      members = meta.allMembers();
      removedMembers = meta.removedMembers();
      clusterId = meta.clusterId();
      alarms = meta.alarms();
      authState = auth.encoded();
      pin = m.pinHistory();
    }
    try (pin) {
      SnapshotFormat.write(out, at[0], at[1], compact, revision, leases, clusterId, members, removedMembers, alarms,
          authState, log);
    } catch (IOException | RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IOException(e);
    }
    return at;
  }

  /**
   * Replaces this store's whole state with a snapshot written by {@link #writeSnapshot} (on the
   * leader), after verifying its checksum; on a bad snapshot nothing is changed. Watchers carry
   * on from history (or are cancelled as compacted).
   *
   * @return the Raft (term, index) the store is now at
   */
  public long[] installSnapshot(java.io.InputStream in) throws IOException {
    Path incoming = dir.resolve("snapshot.incoming");
    try {
      SnapshotFormat.Header header = SnapshotFormat.receive(in, incoming);
      synchronized (applyLock) {
        long before = mvcc.currentRevision();
        log.clear();
        meta.clear();
        SnapshotFormat.load(incoming, log, meta, false);
        meta.setCompactRevision(header.compactRevision());
        meta.setApplied(header.term(), header.index());
        load();
        LOG.info("installed snapshot at index {} (term {}), revision {}", header.index(), header.term(),
            mvcc.currentRevision());
        if (mvcc.currentRevision() > before) {
          watchHub.skipped(before + 1, mvcc.currentRevision());
        }
        return new long[] {header.term(), header.index()};
      }
    } finally {
      java.nio.file.Files.deleteIfExists(incoming);
    }
  }

  /**
   * Builds the store of a member of a new cluster from a saved snapshot (etcd's {@code snapshot
   * restore}): the keys with their history, the compaction revision and the leases; no members,
   * cluster id or alarms (the new cluster bootstraps its own), and applied index 0 so that the
   * new cluster's Raft log applies from its first entry. Revisions continue from the snapshot's.
   *
   * @param dir an empty or missing directory for the new store
   * @return the snapshot's revision
   */
  public static long restore(Path dir, Path snapshot, boolean verifyDigest) throws IOException {
    SnapshotFormat.Header header = SnapshotFormat.check(snapshot, verifyDigest);
    try (KvStore store = open(dir, Options.defaults())) {
      synchronized (store.applyLock) {
        if (store.mvcc.currentRevision() > 1 || !store.members().isEmpty()) {
          throw new IOException("the store at " + dir + " is not empty");
        }
        store.log.clear();
        store.meta.clear();
        SnapshotFormat.load(snapshot, store.log, store.meta, true);
        store.meta.setCompactRevision(header.compactRevision());
        store.meta.setApplied(0, 0);
        store.load();
        return store.mvcc.currentRevision();
      }
    }
  }

  /** A Range over the latest applied state (header carries only the revision). */
  public RangeResponse range(RangeRequest request) {
    ops.rangeServed();
    return mvcc.range(request);
  }

  /** The ranges, puts, deletes and txns this store did, as etcd's mvcc counts them. */
  public io.etcsql.kvstore.mvcc.OpCounts opCounts() {
    return ops;
  }

  /** The leases this store granted and revoked. */
  public io.etcsql.kvstore.lease.LeaseCounts leaseCounts() {
    return leaseCounts;
  }

  /**
   * Hands the duration in nanoseconds of every later write of an applied revision's records to
   * the revision files (etcsql's backend commit) to {@code nanos}, on the apply thread (so it
   * must be quick). Only measured, never stored or replicated.
   */
  public void onBackendCommit(java.util.function.LongConsumer nanos) {
    log.onWrite(nanos);
  }

  /**
   * The registered members (etcd's membership, replicated), in id order: a snapshot taken when a
   * command last changed them, so readers (every request's learner check) neither lock nor parse.
   */
  public java.util.List<io.etcsql.grpcapi.etcdserverpb.Member> members() {
    return members;
  }

  /** The registered member with this id, or null. */
  public io.etcsql.grpcapi.etcdserverpb.Member member(long id) {
    for (io.etcsql.grpcapi.etcdserverpb.Member m : members) {
      if (m.getID() == id) {
        return m;
      }
    }
    return null;
  }

  /** Re-reads the registry; called under the apply lock, so never half of a command's changes. */
  private void refreshMembers() {
    java.util.List<io.etcsql.grpcapi.etcdserverpb.Member> out = new java.util.ArrayList<>();
    for (byte[] enc : new java.util.TreeMap<>(meta.allMembers()).values()) {
      out.add(MemberRegistry.decode(enc));
    }
    members = java.util.List.copyOf(out);
  }

  /** The cluster id recorded when the cluster was bootstrapped, or 0 before that. */
  public long clusterId() {
    return meta.clusterId();
  }

  public MvccStore mvcc() {
    return mvcc;
  }

  public Lessor lessor() {
    return lessor;
  }

  public WatchHub watchHub() {
    return watchHub;
  }

  /** Size of the store's files on disk, in bytes. */
  public long sizeOnDisk() {
    return log.sizeOnDisk() + meta.sizeOnDisk();
  }

  // ---------------------------------------------------------------- maintenance (issue #3)

  /** The active alarms of type {@code type} ({@code NONE}: every alarm), as etcd's alarm store. */
  public java.util.List<io.etcsql.grpcapi.etcdserverpb.AlarmMember> alarms(
      io.etcsql.grpcapi.etcdserverpb.AlarmType type) {
    return new Alarms(meta).list(type);
  }

  /** Bytes the stored data takes (records, metadata, leases): Status.dbSizeInUse, and what the quota counts. */
  public long sizeInUse() {
    return log.sizeInUse() + meta.bytesInUse();
  }

  /**
   * etcd's {@code HashKV}: see {@link io.etcsql.kvstore.mvcc.KvHash#hashKv}.
   *
   * @return {hash, current revision, compact revision}
   */
  public long[] hashKv(long revision) {
    return io.etcsql.kvstore.mvcc.KvHash.hashKv(mvcc, revision);
  }

  /**
   * etcd's {@code Hash} of the whole store at one applied index: every stored revision, the
   * compaction revision, the leases and the alarms (see {@link io.etcsql.kvstore.mvcc.KvHash#hashAll}).
   *
   * @return {hash, revision}
   */
  public long[] hash() {
    MvccStore m;
    long revision;
    Map<Long, byte[]> leases;
    byte[] alarmBytes;
    AutoCloseable pin;
    synchronized (applyLock) {
      m = mvcc;
      revision = m.currentRevision();
      leases = meta.allLeases();
      alarmBytes = meta.alarms();
      pin = m.pinHistory();
    }
    try (pin) {
      return new long[] {io.etcsql.kvstore.mvcc.KvHash.hashAll(m, revision, leases, alarmBytes), revision};
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * etcd's defragmentation: rewrites every revision segment compactly, one at a time, holding
   * the apply lock only while one segment is copied (reads go on throughout).
   *
   * @return bytes of file size given back
   */
  public long defragment() throws IOException {
    long freed = 0;
    for (long first : log.segmentStarts()) {
      synchronized (applyLock) {
        freed += log.defragment(first);
      }
    }
    return freed;
  }

  /** Forces everything applied so far to disk. */
  public void sync() throws IOException {
    log.sync();
    meta.sync();
  }

  /**
   * A file present only while the store is closed after a clean {@link #close}. Open removes it;
   * its absence on the next open means the process died with the map files open, and they are
   * recovered (see {@link io.etcsql.kvstore.backend.PersistedMaps}).
   */
  private static final String CLOSED_MARKER = "closed-cleanly";

  /** Removes the clean-close marker; true if it was there. */
  private static boolean takeClosedMarker(Path dir) throws IOException {
    Files.createDirectories(dir);
    boolean clean = Files.deleteIfExists(dir.resolve(CLOSED_MARKER));
    if (clean) {
      syncDirectory(dir); // a crash from now on must find the marker gone
    }
    return clean;
  }

  private static void syncDirectory(Path dir) throws IOException {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    }
  }

  private volatile boolean closed;

  @Override
  public synchronized void close() {
    // under the apply lock: an entry being applied finishes first, and none starts after
    synchronized (applyLock) {
      if (closed) {
        return;
      }
      closed = true;
      watchHub.close();
      log.close();
      meta.close();
      try {
        Files.createFile(dir.resolve(CLOSED_MARKER));
        syncDirectory(dir);
      } catch (IOException e) {
        LOG.warn("cannot mark the kv store at {} closed; it will be recovered on the next open", dir, e);
      }
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("the kv store at " + dir + " is closed");
    }
  }
}
