package io.etcsql.sqlfrontend;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcdserverpb.RangeRequest;
import io.etcsql.grpcapi.etcdserverpb.RangeResponse;
import io.etcsql.grpcapi.mvccpb.KeyValue;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import org.apache.calcite.linq4j.AbstractEnumerable;
import org.apache.calcite.linq4j.Enumerable;
import org.apache.calcite.linq4j.Enumerator;
import org.apache.calcite.linq4j.Linq4j;
import org.apache.calcite.plan.RelOptTable;
import org.apache.calcite.rel.RelNode;
import org.apache.calcite.rel.type.RelDataType;
import org.apache.calcite.rel.type.RelDataTypeFactory;
import org.apache.calcite.schema.TranslatableTable;
import org.apache.calcite.schema.impl.AbstractTable;
import org.apache.calcite.sql.type.SqlTypeName;

/**
 * Table {@code kv}: the live keys at the read revision (the latest, or a fixed one for
 * {@code kv_at(revision)}), read with etcd's Range in pages. Scans are planned as
 * {@link KvTableScan}, which takes what Range evaluates exactly (see {@link KvRules}).
 */
public final class KvTable extends AbstractTable implements TranslatableTable {
  static final int KEY = 0;
  static final int VALUE = 1;
  static final int CREATE_REVISION = 2;
  static final int MOD_REVISION = 3;
  static final int VERSION = 4;
  static final int LEASE = 5;
  static final int KEY_BYTES = 6;
  static final int VALUE_BYTES = 7;
  static final int COLUMNS = 8;

  /** Keys per Range request: a scan holds at most one page of rows at a time. */
  static final int PAGE_SIZE = 1000;

  private final EtcdClient etcd;
  private final long revision;

  KvTable(EtcdClient etcd, long revision) {
    this.etcd = etcd;
    this.revision = revision;
  }

  /** The revision this table reads at; 0: the latest (linearizable). */
  long revision() {
    return revision;
  }

  @Override
  public RelDataType getRowType(RelDataTypeFactory f) {
    return f.builder()
        .add("key", SqlTypeName.VARCHAR)
        .add("value", SqlTypeName.VARCHAR)
        .add("create_revision", SqlTypeName.BIGINT)
        .add("mod_revision", SqlTypeName.BIGINT)
        .add("version", SqlTypeName.BIGINT)
        .add("lease", SqlTypeName.BIGINT)
        .add("key_bytes", SqlTypeName.VARBINARY)
        .add("value_bytes", SqlTypeName.VARBINARY)
        .build();
  }

  @Override
  public RelNode toRel(RelOptTable.ToRelContext context, RelOptTable relOptTable) {
    return KvTableScan.create(context.getCluster(), relOptTable, this);
  }

  /**
   * Runs a scan: called by the code Calcite generates for {@link KvTableScan}. Rows are
   * {@code Object[]} of the columns in {@code fields}, or the value itself when there is one
   * column (Calcite's scalar row format); a count-only scan yields one count. Inside a JDBC
   * transaction ({@link SqlTransaction}) the scan reads at the transaction's revision, records
   * what it read, and shows the transaction's own pending writes.
   */
  public Enumerable<Object> scan(KvQuery query, int[] fields) {
    SqlTransaction tx = revision == 0 ? SqlTransaction.current() : null;
    if (query.countOnly() && tx == null) {
      return Linq4j.singletonEnumerable(count(query));
    }
    return new AbstractEnumerable<>() {
      @Override
      public Enumerator<Object> enumerator() {
        Iterator<KeyValue> rows = rows(query, tx);
        if (query.countOnly()) {
          long n = 0;
          while (rows.hasNext()) {
            rows.next();
            n++;
          }
          return Linq4j.singletonEnumerable((Object) n).enumerator();
        }
        return Linq4j.iterableEnumerator(() -> new Iterator<Object>() {
          @Override
          public boolean hasNext() {
            return rows.hasNext();
          }

          @Override
          public Object next() {
            return project(rows.next(), fields);
          }
        });
      }
    };
  }

  private static Object project(KeyValue kv, int[] fields) {
    if (fields.length == 1) {
      return column(kv, fields[0]);
    }
    Object[] row = new Object[fields.length];
    for (int i = 0; i < fields.length; i++) {
      row[i] = column(kv, fields[i]);
    }
    return row;
  }

  /** The matching key-values in scan order: etcd's, merged with a transaction's pending writes. */
  private Iterator<KeyValue> rows(KvQuery query, SqlTransaction tx) {
    if (tx == null || !tx.hasWrites()) {
      return new Pages(query, tx);
    }
    List<Map.Entry<ByteString, SqlTransaction.Pending>> pending = new ArrayList<>();
    for (KvQuery.KeyRange r : query.ranges()) {
      pending.addAll(tx.writesIn(r).entrySet());
    }
    if (pending.isEmpty()) {
      return new Pages(query, tx);
    }
    if (query.descending()) {
      java.util.Collections.reverse(pending);
    }
    return new Merged(new Pages(query.withLimit(-1), tx), pending, query);
  }

  private long count(KvQuery query) {
    long total = 0;
    long rev = revision;
    for (KvQuery.KeyRange r : query.ranges()) {
      RangeResponse resp = range(request(query, r, rev).setCountOnly(true));
      rev = resp.getHeader().getRevision();
      total += resp.getCount();
    }
    return query.limit() >= 0 ? Math.min(total, query.limit()) : total;
  }

  private RangeRequest.Builder request(KvQuery q, KvQuery.KeyRange r, long rev) {
    RangeRequest.Builder b = RangeRequest.newBuilder().setKey(r.key()).setRangeEnd(r.end()).setRevision(rev)
        .setKeysOnly(q.keysOnly())
        .setMinModRevision(q.minModRevision()).setMaxModRevision(q.maxModRevision())
        .setMinCreateRevision(q.minCreateRevision()).setMaxCreateRevision(q.maxCreateRevision());
    if (q.descending()) {
      b.setSortOrder(RangeRequest.SortOrder.DESCEND).setSortTarget(RangeRequest.SortTarget.KEY);
    }
    return b;
  }

  private RangeResponse range(RangeRequest.Builder b) {
    return Errors.call(() -> etcd.range(b.build()), b.getRevision(), etcd);
  }

  static Object column(KeyValue kv, int field) {
    return switch (field) {
      case KEY -> kv.getKey().toStringUtf8();
      case VALUE -> kv.getValue().toStringUtf8();
      case CREATE_REVISION -> kv.getCreateRevision();
      case MOD_REVISION -> kv.getModRevision();
      case VERSION -> kv.getVersion();
      case LEASE -> kv.getLease();
      case KEY_BYTES -> new org.apache.calcite.avatica.util.ByteString(kv.getKey().toByteArray());
      case VALUE_BYTES -> new org.apache.calcite.avatica.util.ByteString(kv.getValue().toByteArray());
      default -> throw new IllegalArgumentException("no column " + field);
    };
  }

  /**
   * The rows of a scan, one Range page at a time, all pages at the revision of the first (so a
   * scan is one consistent snapshot even while writes go on).
   */
  private final class Pages implements Iterator<KeyValue> {
    private final KvQuery query;
    private final SqlTransaction tx;
    private final List<KvQuery.KeyRange> ranges;
    private int rangeNo;
    private long rev;
    private long left;
    private ByteString resumeKey;   // ascending: next page starts here; descending: next page ends here
    private boolean rangeDone = true;
    private Iterator<KeyValue> page = List.<KeyValue>of().iterator();

    Pages(KvQuery query, SqlTransaction tx) {
      this.query = query;
      this.tx = tx;
      this.rev = tx == null ? revision : tx.revision();
      this.ranges = new ArrayList<>(query.ranges());
      if (query.descending()) {
        java.util.Collections.reverse(ranges);
      }
      this.left = query.limit() >= 0 ? query.limit() : Long.MAX_VALUE;
    }

    @Override
    public boolean hasNext() {
      while (!page.hasNext()) {
        if (left <= 0) {
          return false;
        }
        if (rangeDone) {
          if (rangeNo >= ranges.size()) {
            return false;
          }
          rangeNo++;
          rangeDone = false;
          resumeKey = null;
        }
        fetch(ranges.get(rangeNo - 1));
      }
      return true;
    }

    private void fetch(KvQuery.KeyRange r) {
      KvQuery.KeyRange part = r;
      if (resumeKey != null) {
        part = query.descending() ? new KvQuery.KeyRange(r.key(), resumeKey) : new KvQuery.KeyRange(resumeKey, r.end());
      }
      RangeResponse resp = range(request(query, part, rev).setLimit(Math.min(left, PAGE_SIZE)));
      rev = resp.getHeader().getRevision();
      List<KeyValue> kvs = resp.getKvsList();
      if (tx != null) {
        tx.pin(rev);
        if (resumeKey == null) {
          tx.readRange(r);
        }
        for (KeyValue kv : kvs) {
          tx.readRow(kv.getKey(), kv.getModRevision());
        }
      }
      if (!resp.getMore() || kvs.isEmpty() || r.isSingle()) {
        rangeDone = true;
      } else {
        ByteString last = kvs.get(kvs.size() - 1).getKey();
        resumeKey = query.descending() ? last : last.concat(EtcdClient.ZERO);
      }
      left -= kvs.size();
      page = kvs.iterator();
    }

    @Override
    public KeyValue next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      return page.next();
    }
  }

  /**
   * etcd's rows merged with a transaction's pending writes (both in scan order): a pending write
   * replaces the stored row of its key, a pending delete hides it; the limit applies after merging.
   */
  private static final class Merged implements Iterator<KeyValue> {
    private final Iterator<KeyValue> stored;
    private final Iterator<Map.Entry<ByteString, SqlTransaction.Pending>> pending;
    private final KvQuery query;
    private final java.util.Comparator<ByteString> order;
    private long left;
    private KeyValue s;
    private Map.Entry<ByteString, SqlTransaction.Pending> p;
    private KeyValue next;

    Merged(Iterator<KeyValue> stored, List<Map.Entry<ByteString, SqlTransaction.Pending>> pending, KvQuery query) {
      this.stored = stored;
      this.pending = pending.iterator();
      this.query = query;
      java.util.Comparator<ByteString> asc = ByteString.unsignedLexicographicalComparator();
      this.order = query.descending() ? asc.reversed() : asc;
      this.left = query.limit() >= 0 ? query.limit() : Long.MAX_VALUE;
    }

    private boolean matches(KeyValue kv) {
      return (query.minModRevision() == 0 || kv.getModRevision() >= query.minModRevision())
          && (query.maxModRevision() == 0 || kv.getModRevision() <= query.maxModRevision())
          && (query.minCreateRevision() == 0 || kv.getCreateRevision() >= query.minCreateRevision())
          && (query.maxCreateRevision() == 0 || kv.getCreateRevision() <= query.maxCreateRevision());
    }

    @Override
    public boolean hasNext() {
      while (next == null && left > 0) {
        if (s == null && stored.hasNext()) {
          s = stored.next();
        }
        if (p == null && pending.hasNext()) {
          p = pending.next();
        }
        if (s == null && p == null) {
          return false;
        }
        int c = s == null ? 1 : p == null ? -1 : order.compare(s.getKey(), p.getKey());
        if (c < 0) {
          next = s;
          s = null;
        } else {
          if (c == 0) {
            s = null; // the transaction's write replaces the stored row
          }
          KeyValue kv = p.getValue().deleted() ? null : p.getValue().asKeyValue(p.getKey());
          p = null;
          if (kv != null && matches(kv)) {
            next = query.keysOnly() ? kv.toBuilder().clearValue().build() : kv;
          }
        }
      }
      return next != null;
    }

    @Override
    public KeyValue next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      KeyValue kv = next;
      next = null;
      left--;
      return kv;
    }
  }
}
