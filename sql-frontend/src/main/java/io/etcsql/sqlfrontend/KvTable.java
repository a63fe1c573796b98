package io.etcsql.sqlfrontend;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcdserverpb.RangeRequest;
import io.etcsql.grpcapi.etcdserverpb.RangeResponse;
import io.etcsql.grpcapi.mvccpb.KeyValue;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
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
   * column (Calcite's scalar row format); a count-only scan yields one count.
   */
  public Enumerable<Object> scan(KvQuery query, int[] fields) {
    if (query.countOnly()) {
      return Linq4j.singletonEnumerable(count(query));
    }
    return new AbstractEnumerable<>() {
      @Override
      public Enumerator<Object> enumerator() {
        return Linq4j.iterableEnumerator(() -> new Pages(query, fields));
      }
    };
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
  private final class Pages implements Iterator<Object> {
    private final KvQuery query;
    private final int[] fields;
    private final List<KvQuery.KeyRange> ranges;
    private int rangeNo;
    private long rev = revision;
    private long left;
    private ByteString resumeKey;   // ascending: next page starts here; descending: next page ends here
    private boolean rangeDone = true;
    private Iterator<KeyValue> page = List.<KeyValue>of().iterator();

    Pages(KvQuery query, int[] fields) {
      this.query = query;
      this.fields = fields;
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
    public Object next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      KeyValue kv = page.next();
      if (fields.length == 1) {
        return column(kv, fields[0]);
      }
      Object[] row = new Object[fields.length];
      for (int i = 0; i < fields.length; i++) {
        row[i] = column(kv, fields[i]);
      }
      return row;
    }
  }
}
