package io.etcsql.server;

import com.google.protobuf.CodedOutputStream;
import io.etcsql.grpcapi.etcdserverpb.ResponseHeader;
import io.etcsql.grpcapi.etcdserverpb.WatchCreateRequest;
import io.etcsql.grpcapi.etcdserverpb.WatchGrpc;
import io.etcsql.grpcapi.etcdserverpb.WatchRequest;
import io.etcsql.grpcapi.etcdserverpb.WatchResponse;
import io.etcsql.grpcapi.mvccpb.Event;
import io.etcsql.kvstore.watch.WatchHub;
import io.etcsql.kvstore.watch.WatchListener;
import io.etcsql.kvstore.watch.WatchSpec;
import io.etcsql.kvstore.watch.Watcher;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The etcd v3 Watch service over a {@link WatchHub}, behaving like etcd's
 * {@code v3rpc/watch.go}:
 *
 * <ul>
 *   <li>Create: an empty key means {@code "\0"}; {@code range_end = "\0"} means every key
 *       {@code >= key}; start revision 0 means the current revision + 1. The reply is {@code
 *       created=true} with the watch id and the current revision in its header, sent before any
 *       event of that watcher. {@code watch_id = 0} lets the server choose: the lowest unused id
 *       counting up from 0. An empty range or an id already in use on this stream is refused with
 *       {@code created=true, canceled=true, watch_id=-1} and etcd's reason text.
 *   <li>Events: one response per hub callback, header revision = the callback's revision; with
 *       {@code fragment=true}, a response larger than {@code maxResponseBytes} is split into
 *       several with {@code fragment=true} on all but the last (never splitting one event).
 *   <li>Compaction: {@code compact_revision} and {@code canceled=true}, header revision 0 (etcd
 *       sends the watcher's zero response revision); the id stays in use until cancelled, as in
 *       etcd.
 *   <li>Cancel: {@code canceled=true} for a known id (compacted ones included), nothing for an
 *       unknown one; no event of that watcher follows the cancel response.
 *   <li>Progress request: one header-only response with {@code watch_id=-1}, sent once every
 *       watcher of the stream is synced and has sent all its events (etcd 3.5 / 3.4.25+
 *       semantics; 3.4.23 answered at once with the store revision, which could run ahead of
 *       events still queued). A request while one is pending is ignored, as in etcd.
 *   <li>Progress notify: watchers created with {@code progress_notify} get the hub's periodic
 *       empty responses with their own id.
 *   <li>Client half-close keeps the stream open (etcd keeps sending until the client goes away);
 *       cancellation or an error ends it and cancels its watchers.
 * </ul>
 *
 * <p>Back-pressure: a watcher's listener is ready only while the gRPC stream {@link
 * ServerCallStreamObserver#isReady() is ready}; the stream's on-ready handler resumes the
 * watchers, so a slow client makes the hub buffer and then fall back to history, never drop.
 * All sends on one stream are serialized by one lock.
 */
public final class WatchService extends WatchGrpc.WatchImplBase {
  /** clientv3.InvalidWatchID. */
  static final long INVALID_WATCH_ID = -1;

  static final String EMPTY_RANGE = "mvcc: watcher range is empty";
  static final String DUPLICATE_ID = "mvcc: duplicate watch ID provided on the WatchStream";
  static final String STOPPED = "etcdserver: server stopped";

  private static final Logger LOG = LoggerFactory.getLogger(WatchService.class);

  private final WatchHub hub;
  private final Supplier<ResponseHeader> header;
  private final long maxResponseBytes;
  private final io.etcsql.kvstore.auth.AuthStore auth;

  public WatchService(WatchHub hub, Supplier<ResponseHeader> header, long maxResponseBytes) {
    this(hub, header, maxResponseBytes, null);
  }

  /**
   * @param header cluster_id, member_id and raft_term of this member; the service sets revision
   * @param maxResponseBytes the size above which a fragmenting watcher's response is split
   * @param auth read permission on the watched range is checked at creation, as etcd does; null:
   *     no checks
   */
  public WatchService(WatchHub hub, Supplier<ResponseHeader> header, long maxResponseBytes,
      io.etcsql.kvstore.auth.AuthStore auth) {
    this.auth = auth;
    if (auth != null) {
      auth.onChange(this::recheckAll);
    }
    this.hub = hub;
    this.header = header;
    this.maxResponseBytes = maxResponseBytes;
  }

  @Override
  public StreamObserver<WatchRequest> watch(StreamObserver<WatchResponse> responseObserver) {
    return new Stream((ServerCallStreamObserver<WatchResponse>) responseObserver);
  }

  /** Open streams, for checking their watchers again when permissions change. */
  private final java.util.Set<Stream> streams = ConcurrentHashMap.newKeySet();

  /**
   * After a change of users, roles or permissions (on the apply thread, before any later write is
   * published): every open watcher whose user may no longer read its range is cancelled, with
   * the reason a new watch would get. etcd 3.4 checks a watch only when it is created.
   */
  private void recheckAll() {
    for (Stream s : streams) {
      try {
        s.recheck();
      } catch (RuntimeException e) {
        LOG.warn("checking the watches of a stream again failed", e);
      }
    }
  }

  private ResponseHeader header(long revision) {
    return header.get().toBuilder().setRevision(revision).build();
  }

  /** One Watch RPC: its watchers and its serialized sending side. */
  private final class Stream implements StreamObserver<WatchRequest> {
    private final ServerCallStreamObserver<WatchResponse> out;
    private final Object sendLock = new Object();
    private boolean closed; // guarded by sendLock
    private final Map<Long, Entry> entries = new ConcurrentHashMap<>();
    private final Map<Long, Watcher> watchers = new ConcurrentHashMap<>();
    private final AtomicBoolean progressPending = new AtomicBoolean();
    /** The hub was told this stream closed. */
    private final AtomicBoolean ended = new AtomicBoolean();
    private long nextId; // request callbacks only (gRPC serializes them)
    /** Who opened the stream (its token), for the permission check of each watch it creates. */
    private final java.util.function.Supplier<io.etcsql.grpcapi.etcsqlpb.AuthHeader> who =
        io.etcsql.server.auth.AuthContext.resolver();

    Stream(ServerCallStreamObserver<WatchResponse> out) {
      this.out = out;
      streams.add(this);
      hub.streamOpened();
      out.setOnCancelHandler(this::close);
      out.setOnReadyHandler(this::resumeAll);
    }

    @Override
    public void onNext(WatchRequest request) {
      switch (request.getRequestUnionCase()) {
        case CREATE_REQUEST -> create(request.getCreateRequest());
        case CANCEL_REQUEST -> cancel(request.getCancelRequest().getWatchId());
        case PROGRESS_REQUEST -> requestProgress();
        default -> { } // etcd ignores requests it does not know
      }
    }

    @Override
    public void onError(Throwable t) {
      close();
    }

    @Override
    public void onCompleted() {
      // etcd keeps the stream (and its watchers) until the client cancels it.
    }

    private void create(WatchCreateRequest req) {
      byte[] key = req.getKey().isEmpty() ? new byte[] {0} : req.getKey().toByteArray();
      long rev = hub.currentRevision();
      if (auth != null) {
        try {
          io.etcsql.server.auth.Authz.checkRead(auth, who.get(), com.google.protobuf.ByteString.copyFrom(key),
              req.getRangeEnd());
        } catch (io.etcsql.kvstore.EtcdException denied) {
          // etcd's cancel reasons: these three by name, any other refusal as "permission denied"
          io.etcsql.kvstore.EtcdError e = denied.error();
          refuse(rev, goErrorText(switch (e) {
            case INVALID_AUTH_TOKEN, AUTH_OLD_REVISION, USER_EMPTY -> e;
            default -> io.etcsql.kvstore.EtcdError.PERMISSION_DENIED;
          }));
          return;
        }
      }
      long start = req.getStartRevision() == 0 ? rev + 1 : Math.max(1, req.getStartRevision());
      boolean noPut = false;
      boolean noDelete = false;
      for (WatchCreateRequest.FilterType f : req.getFiltersList()) {
        noPut |= f == WatchCreateRequest.FilterType.NOPUT;
        noDelete |= f == WatchCreateRequest.FilterType.NODELETE;
      }
      WatchSpec spec = new WatchSpec(key, req.getRangeEnd().toByteArray(), start, req.getPrevKv(),
          noPut, noDelete, req.getProgressNotify());
      if (spec.isEmptyRange()) {
        refuse(rev, EMPTY_RANGE);
        return;
      }
      long id = req.getWatchId();
      if (id == 0) {
        while (entries.containsKey(nextId)) {
          nextId++;
        }
        id = nextId++;
      } else if (entries.containsKey(id)) {
        refuse(rev, DUPLICATE_ID);
        return;
      }
      Entry entry = new Entry(id, req.getFragment(), com.google.protobuf.ByteString.copyFrom(key), req.getRangeEnd());
      Watcher watcher;
      try {
        watcher = hub.watch(spec, entry);
      } catch (IllegalStateException closedHub) {
        refuse(rev, STOPPED);
        return;
      }
      entry.watcher = watcher;
      entries.put(id, entry);
      watchers.put(id, watcher);
      if (isClosed()) {
        close(); // the client went away meanwhile
        return;
      }
      send(WatchResponse.newBuilder().setHeader(header(rev)).setWatchId(id).setCreated(true).build());
      entry.announced = true;
      watcher.resume();
    }

    /** Go's text of a gRPC status error, which etcd sends as the reason of a refused watch. */
    private static String goErrorText(io.etcsql.kvstore.EtcdError e) {
      StringBuilder code = new StringBuilder();
      for (String word : GrpcErrors.toStatus(e).getStatus().getCode().name().split("_")) {
        code.append(word.charAt(0)).append(word.substring(1).toLowerCase(java.util.Locale.ROOT));
      }
      return "rpc error: code = " + code + " desc = " + e.message();
    }

    private void refuse(long rev, String reason) {
      send(WatchResponse.newBuilder().setHeader(header(rev)).setWatchId(INVALID_WATCH_ID)
          .setCreated(true).setCanceled(true).setCancelReason(reason).build());
    }

    /** Cancels each watcher its user may no longer read (see {@link WatchService#recheckAll}). */
    void recheck() {
      if (!auth.enabled() || entries.isEmpty()) {
        return;
      }
      io.etcsql.grpcapi.etcsqlpb.AuthHeader now;
      try {
        // the user's permissions as they are now (a token issued before the change is not "old" here)
        now = who.get().toBuilder().setAuthRevision(auth.revision()).build();
      } catch (io.etcsql.kvstore.EtcdException deadToken) {
        for (long id : List.copyOf(entries.keySet())) {
          cancel(id, goErrorText(deadToken.error()));
        }
        return;
      }
      for (Entry e : List.copyOf(entries.values())) {
        try {
          io.etcsql.server.auth.Authz.checkRead(auth, now, e.key, e.rangeEnd);
        } catch (io.etcsql.kvstore.EtcdException denied) {
          cancel(e.id, goErrorText(denied.error() == io.etcsql.kvstore.EtcdError.USER_EMPTY
              ? denied.error() : io.etcsql.kvstore.EtcdError.PERMISSION_DENIED));
        }
      }
    }

    private void cancel(long id) {
      cancel(id, "");
    }

    private void cancel(long id, String reason) {
      Entry entry = entries.remove(id);
      if (entry == null) {
        return;
      }
      watchers.remove(id);
      entry.watcher.cancel();
      WatchResponse canceled = WatchResponse.newBuilder().setHeader(header(hub.currentRevision()))
          .setWatchId(id).setCanceled(true).setCancelReason(reason).build();
      synchronized (sendLock) {
        entry.cancelled = true;
        sendLocked(canceled);
      }
    }

    private void requestProgress() {
      if (!progressPending.compareAndSet(false, true)) {
        return;
      }
      hub.requestProgress(watchers.values(), rev -> {
        progressPending.set(false);
        send(WatchResponse.newBuilder().setHeader(header(rev)).setWatchId(INVALID_WATCH_ID).build());
      });
    }

    private void resumeAll() {
      for (Entry entry : entries.values()) {
        if (entry.announced) {
          entry.watcher.resume();
        }
      }
    }

    private boolean isClosed() {
      synchronized (sendLock) {
        return closed;
      }
    }

    private boolean isReady() {
      synchronized (sendLock) {
        return !closed && out.isReady();
      }
    }

    private void send(WatchResponse response) {
      synchronized (sendLock) {
        sendLocked(response);
      }
    }

    private void sendEvents(Entry entry, WatchResponse response) {
      synchronized (sendLock) {
        if (entry.cancelled) {
          return;
        }
        if (entry.fragment) {
          sendFragmentsLocked(response);
        } else {
          sendLocked(response);
        }
      }
    }

    /** etcd's sendFragments: split only when too big and there are at least two events. */
    private void sendFragmentsLocked(WatchResponse response) {
      List<Event> events = response.getEventsList();
      if (response.getSerializedSize() < maxResponseBytes || events.size() < 2) {
        sendLocked(response);
        return;
      }
      WatchResponse.Builder base = response.toBuilder().clearEvents().setFragment(true);
      long baseSize = base.build().getSerializedSize();
      int next = 0;
      while (next < events.size()) {
        List<Event> part = new ArrayList<>();
        long size = baseSize;
        while (next < events.size()) {
          int eventSize = CodedOutputStream.computeMessageSize(WatchResponse.EVENTS_FIELD_NUMBER, events.get(next));
          if (!part.isEmpty() && size + eventSize >= maxResponseBytes) {
            break;
          }
          part.add(events.get(next++));
          size += eventSize;
        }
        sendLocked(base.clone().addAllEvents(part).setFragment(next < events.size()).build());
      }
    }

    private void sendLocked(WatchResponse response) {
      if (closed) {
        return;
      }
      try {
        out.onNext(response);
      } catch (RuntimeException e) {
        LOG.debug("failed to send watch response; closing the stream", e);
        closed = true;
      }
    }

    private void close() {
      streams.remove(this);
      synchronized (sendLock) {
        closed = true;
      }
      if (ended.compareAndSet(false, true)) {
        hub.streamClosed();
      }
      for (Entry entry : entries.values()) {
        entry.watcher.cancel();
      }
      entries.clear();
      watchers.clear();
    }

    /** One watcher of the stream, and the hub's listener for it. */
    private final class Entry implements WatchListener {
      final long id;
      final boolean fragment;
      /** The watched range, for checking permissions again. */
      final com.google.protobuf.ByteString key;
      final com.google.protobuf.ByteString rangeEnd;
      volatile Watcher watcher;
      /** The created response was sent; events may follow. */
      volatile boolean announced;
      boolean cancelled; // guarded by sendLock

      Entry(long id, boolean fragment, com.google.protobuf.ByteString key, com.google.protobuf.ByteString rangeEnd) {
        this.id = id;
        this.fragment = fragment;
        this.key = key;
        this.rangeEnd = rangeEnd;
      }

      @Override
      public boolean isReady() {
        return announced && Stream.this.isReady();
      }

      @Override
      public void onEvents(long revision, List<Event> events) {
        sendEvents(this, WatchResponse.newBuilder().setHeader(header(revision)).setWatchId(id)
            .addAllEvents(events).build());
      }

      @Override
      public void onCompacted(long compactRevision) {
        sendEvents(this, WatchResponse.newBuilder().setHeader(header(0)).setWatchId(id)
            .setCompactRevision(compactRevision).setCanceled(true).build());
      }

      @Override
      public void onProgress(long revision) {
        sendEvents(this, WatchResponse.newBuilder().setHeader(header(revision)).setWatchId(id).build());
      }
    }
  }
}
