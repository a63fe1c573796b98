package io.etcsql.sqlfrontend;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcdserverpb.RangeRequest;
import io.etcsql.grpcapi.etcdserverpb.WatchCreateRequest;
import io.etcsql.grpcapi.etcdserverpb.WatchProgressRequest;
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
 * Table {@code revisions}: one row per change still in history (etcd's events), read with a
 * Watch from a start revision up to the revision current when the scan began. Conditions on
 * {@code key} (=, ranges, LIKE prefix) choose the watched key range and conditions on
 * {@code revision} (or {@code mod_revision}) its start and end, so the history of one key or
 * prefix is read without the rest. {@code committed_at} and {@code principal} are NULL: the
 * etcd API does not carry them.
 */
final class RevisionsTable extends AbstractTable implements FilterableTable {
  static final int REVISION = 0;
  static final int KEY = 1;
  static final int MOD_REVISION = 6;

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
        History h = new History(watched, from, to);
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
   * The events of one watch, from {@code from} to {@code to} (or the revision current at the
   * start), one response at a time: the stream asks the server for the next response only
   * when the previous one has been read, so a long history is never held in memory.
   */
  private final class History implements Iterator<Object[]> {
    private final Deque<Object[]> rows = new ArrayDeque<>();
    private BlockingQueue<Object> responses = new LinkedBlockingQueue<>();
    private final long target;
    /** The watched keys (kept to restart the watch at the compaction point). */
    private KvQuery.KeyRange range;
    private io.grpc.stub.ClientCallStreamObserver<WatchRequest> requests;
    private boolean done;

    History(KvQuery.KeyRange range, long from, long to) {
      long current = Errors.call(() -> etcd.range(RangeRequest.newBuilder().setKey(EtcdClient.ZERO).setCountOnly(true)
          .build()), 0, etcd).getHeader().getRevision();
      target = to == 0 ? current : Math.min(to, current);
      if (from > target) {
        done = true;
        return;
      }
      start(range, from);
    }

    private void start(KvQuery.KeyRange range, long from) {
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
      requests.onNext(WatchRequest.newBuilder().setCreateRequest(WatchCreateRequest.newBuilder()
          .setKey(range.key()).setRangeEnd(range.end()).setStartRevision(from).setPrevKv(true)).build());
      this.range = range;
    }

    @Override
    public boolean hasNext() {
      while (rows.isEmpty() && !done) {
        Object next;
        try {
          next = responses.poll(200, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          finish();
          throw new IllegalStateException("interrupted while reading history", e);
        }
        if (next == null) {
          // caught up with no event at the target revision: a progress notification says so
          requests.onNext(WatchRequest.newBuilder().setProgressRequest(WatchProgressRequest.getDefaultInstance()).build());
          continue;
        }
        if (next instanceof Throwable t) {
          finish();
          throw new Errors.EtcdApiException("reading history failed: " + t.getMessage(),
              io.grpc.Status.fromThrowable(t).getCode(), t);
        }
        WatchResponse r = (WatchResponse) next;
        requests.request(1);
        if (r.getCompactRevision() != 0) {
          // history before the compaction point is gone: start there
          requests.cancel("restarting after compaction", null);
          if (r.getCompactRevision() > target) {
            done = true;
          } else {
            start(range, r.getCompactRevision());
          }
          continue;
        }
        if (r.getCanceled()) {
          finish();
          throw new Errors.EtcdApiException("reading history failed: " + r.getCancelReason(),
              io.grpc.Status.Code.UNKNOWN, null);
        }
        for (Event e : r.getEventsList()) {
          if (e.getKv().getModRevision() > target) {
            finish();
            break;
          }
          rows.add(row(e));
        }
        if (!r.getCreated() && r.getEventsCount() == 0 && r.getHeader().getRevision() >= target) {
          finish(); // a progress notification: every event up to its revision was sent
        }
        if (!rows.isEmpty() && (long) rows.peekLast()[REVISION] >= target) {
          finish();
        }
      }
      return !rows.isEmpty();
    }

    void finish() {
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
