package io.etcsql.sqlfrontend;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.calcite.adapter.enumerable.EnumerableConvention;
import org.apache.calcite.adapter.enumerable.EnumerableRel;
import org.apache.calcite.adapter.enumerable.EnumerableRelImplementor;
import org.apache.calcite.adapter.enumerable.JavaRowFormat;
import org.apache.calcite.adapter.enumerable.PhysType;
import org.apache.calcite.adapter.enumerable.PhysTypeImpl;
import org.apache.calcite.linq4j.tree.Blocks;
import org.apache.calcite.linq4j.tree.Expression;
import org.apache.calcite.linq4j.tree.Expressions;
import org.apache.calcite.plan.Convention;
import org.apache.calcite.plan.RelOptCluster;
import org.apache.calcite.plan.RelOptCost;
import org.apache.calcite.plan.RelOptPlanner;
import org.apache.calcite.plan.RelOptTable;
import org.apache.calcite.plan.RelTraitSet;
import org.apache.calcite.rel.RelCollationTraitDef;
import org.apache.calcite.rel.RelCollations;
import org.apache.calcite.rel.RelFieldCollation;
import org.apache.calcite.rel.RelNode;
import org.apache.calcite.rel.RelWriter;
import org.apache.calcite.rel.core.TableScan;
import org.apache.calcite.rel.metadata.RelMetadataQuery;
import org.apache.calcite.rel.type.RelDataType;
import org.apache.calcite.rel.type.RelDataTypeFactory;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * A scan of {@code kv} through etcd's Range, with what was pushed into it ({@link KvQuery}) and
 * the columns it produces. Plans show it as {@code KvTableScan(table=[[etcd, kv]],
 * query=[keys=['a', 'b')...], fields=[...])}.
 */
public class KvTableScan extends TableScan {
  final KvTable kvTable;
  final KvQuery query;
  /** The table's columns this scan produces, in order; a count-only scan produces one count. */
  final int[] fields;
  private final @Nullable RelDataType countType;

  private KvTableScan(RelOptCluster cluster, RelTraitSet traits, RelOptTable table, KvTable kvTable, KvQuery query,
      int[] fields, @Nullable RelDataType countType) {
    super(cluster, traits, List.of(), table);
    this.kvTable = kvTable;
    this.query = query;
    this.fields = fields;
    this.countType = countType;
  }

  /**
   * The logical scan of the whole table, as {@link KvTable#toRel} makes it: the rules of {@link
   * KvRules} narrow logical scans; {@link KvRules#TO_ENUMERABLE} makes the one that runs.
   */
  static KvTableScan create(RelOptCluster cluster, RelOptTable table, KvTable kvTable) {
    int[] all = new int[KvTable.COLUMNS];
    Arrays.setAll(all, i -> i);
    return new KvTableScan(cluster, cluster.traitSetOf(Convention.NONE), table, kvTable, KvQuery.ALL, all, null);
  }

  /**
   * The runnable form: enumerable convention, and rows in key order (ascending unless the
   * query says descending), which the planner may use to drop a sort.
   */
  KvTableScan physical() {
    RelTraitSet t = getCluster().traitSetOf(EnumerableConvention.INSTANCE);
    int keyAt = indexOf(fields, KvTable.KEY);
    if (keyAt >= 0 && !query.countOnly()
        && getCluster().getPlanner().getRelTraitDefs().contains(RelCollationTraitDef.INSTANCE)) {
      t = t.replace(RelCollations.of(new RelFieldCollation(keyAt, query.descending()
          ? RelFieldCollation.Direction.DESCENDING : RelFieldCollation.Direction.ASCENDING)));
    }
    return new Enumerable(getCluster(), t, table, kvTable, query, fields, countType);
  }

  /** This scan, narrowed: of the same form (logical or enumerable) as this one. */
  KvTableScan make(RelTraitSet traits, KvQuery q, int[] f, @Nullable RelDataType count) {
    return new KvTableScan(getCluster(), traits, table, kvTable, q, f, count);
  }

  static int indexOf(int[] fields, int column) {
    for (int i = 0; i < fields.length; i++) {
      if (fields[i] == column) {
        return i;
      }
    }
    return -1;
  }

  KvTableScan with(KvQuery q) {
    return make(getTraitSet(), q, fields, countType);
  }

  KvTableScan withFields(int[] f) {
    boolean needsValue = indexOf(f, KvTable.VALUE) >= 0 || indexOf(f, KvTable.VALUE_BYTES) >= 0;
    KvQuery q = needsValue ? query : query.withKeysOnly();
    return make(getTraitSet(), q, f, countType);
  }

  KvTableScan counting(RelDataType type) {
    KvQuery q = query.withCountOnly();
    return make(getTraitSet(), q, new int[0], type);
  }

  boolean fieldsAreAllColumns() {
    if (fields.length != KvTable.COLUMNS) {
      return false;
    }
    for (int i = 0; i < fields.length; i++) {
      if (fields[i] != i) {
        return false;
      }
    }
    return true;
  }

  @Override
  public RelNode copy(RelTraitSet traitSet, List<RelNode> inputs) {
    return make(traitSet, query, fields, countType);
  }

  @Override
  public RelDataType deriveRowType() {
    if (countType != null) {
      return countType;
    }
    RelDataType all = table.getRowType();
    RelDataTypeFactory.Builder b = getCluster().getTypeFactory().builder();
    for (int f : fields) {
      b.add(all.getFieldList().get(f));
    }
    return b.build();
  }

  @Override
  public RelWriter explainTerms(RelWriter pw) {
    String q = query.describe();
    List<String> names = new ArrayList<>();
    if (countType == null) {
      for (int f : fields) {
        names.add(table.getRowType().getFieldNames().get(f));
      }
    }
    return super.explainTerms(pw)
        .itemIf("revision", kvTable.revision(), kvTable.revision() != 0)
        .itemIf("query", q, !q.isEmpty())
        .itemIf("fields", names, countType == null && !fieldsAreAllColumns());
  }

  @Override
  public void register(RelOptPlanner planner) {
    KvRules.register(planner);
  }

  /**
   * Cheaper the more it was narrowed, so the planner prefers the pushed-down forms: fewer keys,
   * fewer columns, no values.
   */
  @Override
  public @Nullable RelOptCost computeSelfCost(RelOptPlanner planner, RelMetadataQuery mq) {
    double rows = estimateRowCount(mq);
    double width = query.countOnly() ? 0.1 : (fields.length + (query.keysOnly() ? 0 : 4)) / 12.0;
    return planner.getCostFactory().makeCost(rows * width, rows * width, 0);
  }

  @Override
  public double estimateRowCount(RelMetadataQuery mq) {
    if (query.countOnly()) {
      return 1;
    }
    double rows = 0;
    for (KvQuery.KeyRange r : query.ranges()) {
      rows += r.isSingle() ? 1 : r.equals(KvQuery.KeyRange.ALL) ? 10_000 : 1_000;
    }
    if (query.hasRevisionBounds()) {
      rows /= 2;
    }
    if (query.limit() >= 0) {
      rows = Math.min(rows, query.limit());
    }
    return Math.max(rows, 1);
  }

  /**
   * The runnable scan ({@link #physical()}). A class of its own: Calcite's Volcano planner refuses
   * a physical node (an EnumerableRel) from a logical rewrite, and its ProjectRemoveRule turns
   * {@code SELECT * FROM kv} into the logical scan itself, which failed ("KvTableScan ... is a
   * PhysicalNode, which is not allowed in ProjectRemoveRule") while the logical scan was one.
   */
  static final class Enumerable extends KvTableScan implements EnumerableRel {
    private Enumerable(RelOptCluster cluster, RelTraitSet traits, RelOptTable table, KvTable kvTable, KvQuery query,
        int[] fields, @Nullable RelDataType countType) {
      super(cluster, traits, table, kvTable, query, fields, countType);
    }

    /** Plans show it as the scan it is. */
    @Override
    public String getRelTypeName() {
      return KvTableScan.class.getSimpleName();
    }

    @Override
    KvTableScan make(RelTraitSet traits, KvQuery q, int[] f, @Nullable RelDataType count) {
      return new Enumerable(getCluster(), traits, table, kvTable, q, f, count);
    }

    @Override
    public Result implement(EnumerableRelImplementor implementor, Prefer pref) {
      // one column: scalar rows; more: Object[] (what KvTable.scan produces)
      PhysType physType = PhysTypeImpl.of(implementor.getTypeFactory(), getRowType(),
          getRowType().getFieldCount() == 1 ? JavaRowFormat.SCALAR : JavaRowFormat.ARRAY, false);
      Expression t = implementor.stash(kvTable, KvTable.class);
      Expression q = implementor.stash(query, KvQuery.class);
      return implementor.result(physType, Blocks.toBlock(
          Expressions.call(t, "scan", q, Expressions.constant(fields))));
    }
  }
}
