package io.etcsql.sqlfrontend;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcdserverpb.RangeRequest;
import io.etcsql.grpcapi.etcdserverpb.WatchCreateRequest;
import io.etcsql.grpcapi.etcdserverpb.WatchRequest;
import io.etcsql.grpcapi.etcdserverpb.WatchResponse;
import io.etcsql.grpcapi.mvccpb.Event;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.calcite.DataContext;
import org.apache.calcite.linq4j.AbstractEnumerable;
import org.apache.calcite.linq4j.Enumerable;
import org.apache.calcite.linq4j.Enumerator;
import org.apache.calcite.linq4j.Linq4j;
import org.apache.calcite.rel.type.RelDataType;
import org.apache.calcite.rel.type.RelDataTypeFactory;
import org.apache.calcite.rex.RexNode;
import org.apache.calcite.schema.FilterableTable;
import org.apache.calcite.schema.impl.AbstractTable;
import org.apache.calcite.sql.type.SqlTypeName;

/**
 * Table {@code revisions}: one row per change still in history (etcd's events), from a start
 * revision up to the revision current when the scan began. Conditions on {@code key} (=, ranges,
 * LIKE prefix) choose the key range read and conditions on {@code revision} (or
 * {@code mod_revision}) its start and end. Over etcsql the rows come from its History service,
 * through the key index (one key's history without reading the rest), with {@code committed_at}
 * and {@code principal}; over a plain etcd they come from a Watch on that range, and those two
 * columns are NULL.
 */
final class RevisionsTable extends AbstractTable implements FilterableTable {
  static final int REVISION = 0;
  static final int KEY = 1;
  static final int MOD_REVISION = 6;
  static final int COMMITTED_AT = 9;
  static final int PRINCIPAL = 10;

  private final EtcdClient etcd;

  RevisionsTable(EtcdClient etcd) {
    this.etcd = etcd;
  }

  @Override
  public RelDataType getRowType(RelDataTypeFactory f) {
    RelDataType nullableText = f.createTypeWithNullability(f.createSqlType(SqlTypeName.VARCHAR), true);
    return f.builder()
        .add("revision", SqlTypeName.BIGINT)
        .add("key", SqlTypeName.VARCHAR)
        .add("event", SqlTypeName.VARCHAR)
        .add("value", SqlTypeName.VARCHAR)
        .add("prev_value", nullableText)
        .add("create_revision", SqlTypeName.BIGINT)
        .add("mod_revision", SqlTypeName.BIGINT)
        .add("version", SqlTypeName.BIGINT)
        .add("lease", SqlTypeName.BIGINT)
        .add("committed_at", f.createTypeWithNullability(f.createSqlType(SqlTypeName.TIMESTAMP), true))
        .add("principal", nullableText)
        .build();
  }

  @Override
  public Enumerable<Object[]> scan(DataContext root, List<RexNode> filters) {
    KvQuery.KeyRange range = KvQuery.KeyRange.ALL;
    long lo = 1;
    long hi = 0; // 0: up to the current revision
    boolean keysChosen = false;
    for (java.util.ListIterator<RexNode> it = filters.listIterator(); it.hasNext(); ) {
      List<RexNode> rest = new java.util.ArrayList<>();
      for (RexNode c : org.apache.calcite.plan.RelOptUtil.conjunctions(it.next())) {
        if (!keysChosen) {
          KvRules.KeyCondition k = KvRules.keyCondition(c, KEY);
          if (k != null) {
            keysChosen = true;
            if (k.ranges().isEmpty()) {
              return Linq4j.emptyEnumerable();
            }
            range = k.ranges().size() == 1 ? k.ranges().get(0) : span(k.ranges());
            if (!k.exact() || k.ranges().size() != 1) {
              rest.add(c); // the watched range holds more than these keys
            }
            continue;
          }
        }
        long[] b = KvRules.revisionBounds(c, REVISION);
        if (b == null) {
          b = KvRules.revisionBounds(c, MOD_REVISION);
        }
        if (b != null) {
          if (b[1] < 0) {
            return Linq4j.emptyEnumerable();
          }
          lo = Math.max(lo, b[0]);
          hi = hi == 0 ? b[1] : b[1] == 0 ? hi : Math.min(hi, b[1]);
          continue;
        }
        rest.add(c);
      }
      if (rest.isEmpty()) {
        it.remove(); // evaluated by the watch itself
      }
      // else Calcite evaluates the whole filter again above the scan (it takes back only filters
      // it gave): the watch still reads only the range and revisions found above
    }
    KvQuery.KeyRange watched = range;
    long from = lo;
    long to = hi;
    return new AbstractEnumerable<>() {
      @Override
      public Enumerator<Object[]> enumerator() {
        ChangePages pages = ChangePages.open(etcd, watched, from, to);
        Finishable h = pages != null ? pages : new History(watched, from, to);
        return new Enumerator<>() {
          private Object[] current;

          @Override
          public Object[] current() {
            return current;
          }

          @Override
          public boolean moveNext() {
            if (!h.hasNext()) {
              return false;
            }
            current = h.next();
            return true;
          }

          @Override
          public void reset() {
            throw new UnsupportedOperationException();
          }

          @Override
          public void close() {
            h.finish(); // a query that stops early (LIMIT) ends the watch
          }
        };
      }
    };
  }

  private static KvQuery.KeyRange span(List<KvQuery.KeyRange> ranges) {
    KvQuery.KeyRange first = ranges.get(0);
    KvQuery.KeyRange last = ranges.get(ranges.size() - 1);
    ByteString end = last.isSingle() ? last.key().concat(EtcdClient.ZERO) : last.end();
    return new KvQuery.KeyRange(first.key(), end);
  }

  /** A history reader that a query may stop early. */
  private interface Finishable extends Iterator<Object[]> {
    void finish();
  }

  /**
   * The history through etcsql's History service, one page at a time: read through the key
   * index (one key's history costs that key's changes), with commit time and principal. Rows
   * below the compaction point are gone, so a start below it (or a compaction during the scan)
   * resumes at the oldest revision held.
   */
  private static final class ChangePages implements Finishable {
    private final EtcdClient etcd;
    private final KvQuery.KeyRange range;
    private final long target;
    private long next;
    private Iterator<io.etcsql.grpcapi.etcsqlpb.Change> page;
    private boolean more;

    private ChangePages(EtcdClient etcd, KvQuery.KeyRange range, long target, io.etcsql.grpcapi.etcsqlpb.ChangesResponse first) {
      this.etcd = etcd;
      this.range = range;
      this.target = target;
      take(first);
    }

    /** The reader, or null when the server has no History service. */
    static ChangePages open(EtcdClient etcd, KvQuery.KeyRange range, long from, long to) {
      io.etcsql.grpcapi.etcsqlpb.ChangesResponse first = fetch(etcd, range, from <= 1 ? 0 : from, to);
      if (first == null) {
        return null;
      }
      return new ChangePages(etcd, range, to == 0 ? first.getHeader().getRevision() : to, first);
    }

    private static io.etcsql.grpcapi.etcsqlpb.ChangesResponse fetch(EtcdClient etcd, KvQuery.KeyRange range, long from,
        long to) {
      io.etcsql.grpcapi.etcsqlpb.ChangesRequest.Builder req = io.etcsql.grpcapi.etcsqlpb.ChangesRequest.newBuilder()
          .setKey(range.key()).setRangeEnd(range.end()).setMinRevision(from).setMaxRevision(to).setPrevKv(true);
      try {
        return Errors.call(() -> etcd.changes(req.build()), from, etcd);
      } catch (Errors.EtcdApiException e) {
        if (!(e.getCause() instanceof io.grpc.StatusRuntimeException s
            && Errors.COMPACTED.equals(s.getStatus().getDescription()))) {
          throw e;
        }
        return Errors.call(() -> etcd.changes(req.setMinRevision(0).build()), from, etcd);
      }
    }

    private void take(io.etcsql.grpcapi.etcsqlpb.ChangesResponse r) {
      page = r.getChangesList().iterator();
      more = r.getMore();
      next = r.getNextRevision();
    }

    @Override
    public boolean hasNext() {
      while (!page.hasNext() && more) {
        take(fetch(etcd, range, next, target));
      }
      return page.hasNext();
    }

    @Override
    public Object[] next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      io.etcsql.grpcapi.etcsqlpb.Change c = page.next();
      Object[] row = row(c.getEvent());
      row[COMMITTED_AT] = c.getCommittedAtUnixMs();
      row[PRINCIPAL] = c.getPrincipal().isEmpty() ? null : c.getPrincipal();
      return row;
    }

    @Override
    public void finish() {
      more = false;
      page = java.util.Collections.emptyIterator();
    }
  }

  private static Object[] row(Event e) {
    io.etcsql.grpcapi.mvccpb.KeyValue kv = e.getKv();
    boolean put = e.getType() == Event.EventType.PUT;
    return new Object[] {
        kv.getModRevision(),
        kv.getKey().toStringUtf8(),
        put ? "PUT" : "DELETE",
        kv.getValue().toStringUtf8(),
        e.hasPrevKv() ? e.getPrevKv().getValue().toStringUtf8() : null,
        kv.getCreateRevision(),
        kv.getModRevision(),
        kv.getVersion(),
        kv.getLease(),
        null,
        null};
  }

  /**
   * The history over a plain etcd: the events of a watch from {@code from} up to {@code to} (or
   * the revision current at the start), one response at a time (the stream asks for the next
   * response only when the previous one has been read, so a long history is never held in
   * memory).
   *
   * <p>When have all events up to the target arrived? Only an event at or past the target says
   * so: etcd 3.4 answers a progress request at once with the current revision even while an old
   * watch is still catching up (1000 revisions per pass), and sends nothing for a watch whose
   * range has no more events. So the watch also covers a key changed at the target revision
   * (learned first with a watch on every key from the target): it spans this range and that key,
   * events of other keys are dropped, and the event at the target ends the read.
   */
  private final class History implements Finishable {
    private static final long WATCH = 1;
    private static final long FENCE = 2;

    private final Deque<Object[]> rows = new ArrayDeque<>();
    private BlockingQueue<Object> responses = new LinkedBlockingQueue<>();
    private final long target;
    private final KvQuery.KeyRange range;
    private final long from;
    /** The range watched: this range and a key changed at the target revision (null until known). */
    private KvQuery.KeyRange watched;
    private io.grpc.stub.ClientCallStreamObserver<WatchRequest> requests;
    private boolean done;

    History(KvQuery.KeyRange range, long from, long to) {
      this.range = range;
      this.from = from;
      long current = Errors.call(() -> etcd.range(RangeRequest.newBuilder().setKey(EtcdClient.ZERO).setCountOnly(true)
          .build()), 0, etcd).getHeader().getRevision();
      target = to == 0 ? current : Math.min(to, current);
      if (from > target || target <= 1) {
        done = true; // nothing asked for, or an empty store (revision 1 has no event)
        return;
      }
      open();
      // first learn a key changed at the target revision
      requests.onNext(create(KvQuery.KeyRange.ALL, target, FENCE));
    }

    private static WatchRequest create(KvQuery.KeyRange r, long from, long id) {
      return WatchRequest.newBuilder().setCreateRequest(WatchCreateRequest.newBuilder()
          .setKey(r.key()).setRangeEnd(r.end()).setStartRevision(from).setWatchId(id).setPrevKv(id == WATCH)).build();
    }

    private void open() {
      BlockingQueue<Object> queue = new LinkedBlockingQueue<>(); // this stream's own: a canceled one may still speak
      responses = queue;
      requests = (io.grpc.stub.ClientCallStreamObserver<WatchRequest>) etcd.watch(
          new io.grpc.stub.ClientResponseObserver<WatchRequest, WatchResponse>() {
            @Override
            public void beforeStart(io.grpc.stub.ClientCallStreamObserver<WatchRequest> r) {
              r.disableAutoRequestWithInitial(1);
            }

            @Override
            public void onNext(WatchResponse value) {
              queue.add(value);
            }

            @Override
            public void onError(Throwable t) {
              queue.add(t);
            }

            @Override
            public void onCompleted() {
              queue.add(new IllegalStateException("the watch stream ended"));
            }
          });
    }

    private RuntimeException failure(String why, io.grpc.Status.Code code, Throwable cause) {
      finish();
      return new Errors.EtcdApiException("reading history failed: " + why, code, cause);
    }

    @Override
    public boolean hasNext() {
      while (rows.isEmpty() && !done) {
        Object next;
        try {
          next = responses.poll(EtcdClient.CALL_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw failure("interrupted", io.grpc.Status.Code.CANCELLED, e);
        }
        if (next == null) {
          throw failure("etcd sent nothing for " + EtcdClient.CALL_TIMEOUT_MS + " ms",
              io.grpc.Status.Code.DEADLINE_EXCEEDED, null);
        }
        if (next instanceof Throwable t) {
          throw failure(t.getMessage(), io.grpc.Status.fromThrowable(t).getCode(), t);
        }
        WatchResponse r = (WatchResponse) next;
        requests.request(1);
        if (r.getCompactRevision() != 0) {
          if (r.getWatchId() != WATCH || r.getCompactRevision() > target) {
            throw failure("history up to revision " + target + " was compacted while it was read",
                io.grpc.Status.Code.OUT_OF_RANGE, null);
          }
          // history before the compaction point is gone: start there
          requests.cancel("restarting after compaction", null);
          open();
          requests.onNext(create(watched, r.getCompactRevision(), WATCH));
          continue;
        }
        if (r.getCanceled()) {
          if (r.getWatchId() == FENCE) {
            continue; // canceled by us
          }
          throw failure(r.getCancelReason(), io.grpc.Status.Code.UNKNOWN, null);
        }
        if (r.getEventsCount() == 0) {
          continue; // created, or a progress notification
        }
        if (r.getWatchId() == FENCE) {
          if (watched == null) {
            watched = range.spanWith(r.getEvents(0).getKv().getKey());
            requests.onNext(WatchRequest.newBuilder().setCancelRequest(
                io.etcsql.grpcapi.etcdserverpb.WatchCancelRequest.newBuilder().setWatchId(FENCE)).build());
            requests.onNext(create(watched, from, WATCH));
          }
          continue;
        }
        for (Event e : r.getEventsList()) {
          long rev = e.getKv().getModRevision();
          if (rev > target) {
            finish();
            break;
          }
          if (range.contains(e.getKv().getKey())) {
            rows.add(row(e));
          }
          if (rev == target) {
            finish(); // the events of the target revision come in one response
          }
        }
      }
      return !rows.isEmpty();
    }

    @Override
    public void finish() {
      if (!done) {
        done = true;
        if (requests != null) {
          requests.cancel("history read", null);
        }
      }
    }

    @Override
    public Object[] next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      return rows.poll();
    }
  }
}
