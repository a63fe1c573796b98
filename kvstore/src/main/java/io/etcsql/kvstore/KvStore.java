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
import java.nio.file.Path;
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

  private final RevisionLog log;
  private final MetaStore meta;
  private final MvccStore mvcc;
  private final Lessor lessor;
  private final WatchHub watchHub;
  private final Applier applier;
  private volatile long appliedTerm;
  private volatile long appliedIndex;

  private KvStore(Path dir, Options options) throws IOException {
    meta = new MetaStore(dir);
    undoPending();
    long[] applied = meta.applied();
    appliedTerm = applied[0];
    appliedIndex = applied[1];
    log = new RevisionLog(dir.resolve("revisions"), options.entriesPerSegment);
    Map<ByteString, Long> keyLeases = new HashMap<>();
    mvcc = new MvccStore(log, appliedIndex, meta.compactRevision(), keyLeases);
    lessor = new Lessor(meta, keyLeases);
    watchHub = new WatchHub(mvcc, options.progressNotifyInterval);
    applier = new Applier(mvcc, lessor, meta, watchHub);
    LOG.info("kv store at {}: applied index {} (term {}), revision {}", dir, appliedIndex, appliedTerm,
        mvcc.currentRevision());
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
    if (index <= appliedIndex) {
      return CommandResult.getDefaultInstance();
    }
    CommandResult result;
    try {
      result = applier.apply(index, cmd);
    } catch (EtcdException e) {
      result = CommandResult.newBuilder()
          .setError(ApplyError.newBuilder().setCode(e.error().name()).setMessage(e.error().message()))
          .build();
    }
    meta.setApplied(term, index);
    meta.clearPending();
    appliedTerm = term;
    appliedIndex = index;
    return result;
  }

  /** Records that a Raft entry with no key-value effect (configuration, no-op) was applied. */
  public void applyNoop(long term, long index) {
    if (index > appliedIndex) {
      meta.setApplied(term, index);
      appliedTerm = term;
      appliedIndex = index;
    }
  }

  /** A Range over the latest applied state (header carries only the revision). */
  public RangeResponse range(RangeRequest request) {
    return mvcc.range(request);
  }

  /** The client URLs member {@code name} announced through Raft, or an empty list. */
  public java.util.List<String> memberClientUrls(String name) {
    String urls = meta.memberClientUrls(name);
    return urls == null || urls.isEmpty() ? java.util.List.of() : java.util.List.of(urls.split("\n"));
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

  /** Forces everything applied so far to disk. */
  public void sync() throws IOException {
    log.sync();
    meta.sync();
  }

  @Override
  public void close() {
    watchHub.close();
    log.close();
    meta.close();
  }
}
