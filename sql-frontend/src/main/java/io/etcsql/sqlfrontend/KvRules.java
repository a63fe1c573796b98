package io.etcsql.sqlfrontend;

import com.google.common.collect.BoundType;
import com.google.common.collect.Range;
import com.google.protobuf.ByteString;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import org.apache.calcite.plan.Convention;
import org.apache.calcite.plan.RelOptPlanner;
import org.apache.calcite.plan.RelOptRule;
import org.apache.calcite.plan.RelOptRuleCall;
import org.apache.calcite.plan.RelOptUtil;
import org.apache.calcite.rel.RelCollation;
import org.apache.calcite.rel.RelFieldCollation;
import org.apache.calcite.rel.RelNode;
import org.apache.calcite.rel.core.Aggregate;
import org.apache.calcite.rel.core.AggregateCall;
import org.apache.calcite.rel.core.Filter;
import org.apache.calcite.rel.core.Project;
import org.apache.calcite.rel.core.Sort;
import org.apache.calcite.rex.RexCall;
import org.apache.calcite.rex.RexInputRef;
import org.apache.calcite.rex.RexLiteral;
import org.apache.calcite.rex.RexNode;
import org.apache.calcite.rex.RexUtil;
import org.apache.calcite.sql.SqlKind;
import org.apache.calcite.util.NlsString;
import org.apache.calcite.util.Sarg;

/**
 * The planner rules that move work from Calcite into etcd's Range ({@link KvTableScan}): only
 * what Range evaluates exactly; anything else stays above the scan for Calcite to evaluate.
 */
final class KvRules {
  private KvRules() {
  }

  /** Key conditions (=, IN, ranges, LIKE 'prefix%') and mod/create revision bounds. */
  static final RelOptRule FILTER = new FilterRule();
  /** Column subsets; a scan that needs no value reads keys only. */
  static final RelOptRule PROJECT = new ProjectRule();
  /** ORDER BY key [ASC|DESC] and LIMIT. */
  static final RelOptRule SORT = new SortRule();
  /** COUNT(*) with no grouping: Range's count_only. */
  static final RelOptRule COUNT = new CountRule();

  /** A logical scan becomes the physical one (Calcite's enumerable convention, which runs it). */
  static final RelOptRule TO_ENUMERABLE = new ToEnumerableRule();

  static void register(RelOptPlanner planner) {
    planner.addRule(TO_ENUMERABLE);
    planner.addRule(FILTER);
    planner.addRule(PROJECT);
    planner.addRule(SORT);
    planner.addRule(COUNT);
  }

  /** A scan that still reads every row and column, so operators above it may move into it. */
  private static boolean plain(KvTableScan scan) {
    return !scan.query.countOnly() && scan.query.limit() < 0 && scan.fieldsAreAllColumns();
  }

  private static final class ToEnumerableRule extends RelOptRule {
    ToEnumerableRule() {
      super(operand(KvTableScan.class, Convention.NONE, any()), "KvToEnumerableRule");
    }

    @Override
    public void onMatch(RelOptRuleCall call) {
      KvTableScan scan = call.rel(0);
      call.transformTo(scan.physical());
    }
  }

  // ------------------------------------------------------------------ filter

  private static final class FilterRule extends RelOptRule {
    FilterRule() {
      super(operand(Filter.class, Convention.NONE, some(operand(KvTableScan.class, Convention.NONE, any()))), "KvFilterRule");
    }

    @Override
    public void onMatch(RelOptRuleCall call) {
      Filter filter = call.rel(0);
      KvTableScan scan = call.rel(1);
      if (!plain(scan) || scan.query.descending()) {
        return;
      }
      KvQuery q = scan.query;
      boolean keysPushed = !q.ranges().equals(List.of(KvQuery.KeyRange.ALL));
      List<RexNode> rest = new ArrayList<>();
      boolean pushed = false;
      for (RexNode c : RelOptUtil.conjunctions(filter.getCondition())) {
        if (!keysPushed) {
          KeyCondition k = keyCondition(c);
          if (k != null) {
            q = q.withRanges(k.ranges);
            keysPushed = true;
            pushed = true;
            if (!k.exact) {
              rest.add(c);
            }
            continue;
          }
        }
        long[] mod = revisionBounds(c, KvTable.MOD_REVISION);
        if (mod != null) {
          long[] b = intersect(q.minModRevision(), q.maxModRevision(), mod);
          q = b == null ? q.withRanges(List.of()) : q.withModBounds(b[0], b[1]);
          pushed = true;
          continue;
        }
        long[] create = revisionBounds(c, KvTable.CREATE_REVISION);
        if (create != null) {
          long[] b = intersect(q.minCreateRevision(), q.maxCreateRevision(), create);
          q = b == null ? q.withRanges(List.of()) : q.withCreateBounds(b[0], b[1]);
          pushed = true;
          continue;
        }
        rest.add(c);
      }
      if (!pushed) {
        return;
      }
      RelNode out = scan.with(q);
      if (!rest.isEmpty()) {
        out = filter.copy(filter.getTraitSet(), out, RexUtil.composeConjunction(filter.getCluster().getRexBuilder(), rest));
      }
      call.transformTo(out);
    }
  }

  /** Key ranges for a condition on {@code key}; exact: the ranges select exactly its rows. */
  record KeyCondition(List<KvQuery.KeyRange> ranges, boolean exact) {
  }

  private static KeyCondition keyCondition(RexNode c) {
    return keyCondition(c, KvTable.KEY);
  }

  /** Key ranges for a condition on the text key column {@code keyColumn}; null if none. */
  static KeyCondition keyCondition(RexNode c, int keyColumn) {
    if (!(c instanceof RexCall call) || call.getOperands().size() != 2) {
      return null;
    }
    RexNode left = call.getOperands().get(0);
    RexNode right = call.getOperands().get(1);
    if (!(left instanceof RexInputRef ref) || ref.getIndex() != keyColumn || !(right instanceof RexLiteral lit)) {
      return null;
    }
    switch (c.getKind()) {
      case EQUALS, GREATER_THAN, GREATER_THAN_OR_EQUAL, LESS_THAN, LESS_THAN_OR_EQUAL -> {
        NlsString v = lit.getValueAs(NlsString.class);
        if (v == null) {
          return null;
        }
        Range<NlsString> r = switch (c.getKind()) {
          case EQUALS -> Range.singleton(v);
          case GREATER_THAN -> Range.greaterThan(v);
          case GREATER_THAN_OR_EQUAL -> Range.atLeast(v);
          case LESS_THAN -> Range.lessThan(v);
          default -> Range.atMost(v);
        };
        KvQuery.KeyRange k = keyRange(r);
        return k == null ? null : new KeyCondition(k == EMPTY ? List.of() : List.of(k), true);
      }
      case LIKE -> {
        String pattern = text(lit);
        if (pattern == null) {
          return null;
        }
        int wild = firstWildcard(pattern);
        if (wild <= 0) {
          return null; // no literal prefix (or no wildcard: Calcite handles LIKE 'abc' as equality)
        }
        ByteString prefix = utf8(pattern.substring(0, wild));
        boolean exact = wild == pattern.length() - 1 && pattern.charAt(wild) == '%';
        return new KeyCondition(List.of(new KvQuery.KeyRange(prefix, EtcdClient.prefixEnd(prefix))), exact);
      }
      case SEARCH -> {
        Sarg<?> sarg = lit.getValueAs(Sarg.class);
        if (sarg == null) {
          return null;
        }
        List<KvQuery.KeyRange> ranges = new ArrayList<>();
        for (Range<?> r : sarg.rangeSet.asRanges()) {
          KvQuery.KeyRange k = keyRange(r);
          if (k == null) {
            return null;
          }
          if (k != EMPTY) {
            ranges.add(k);
          }
        }
        return new KeyCondition(ranges, true);
      }
      default -> {
        return null;
      }
    }
  }

  private static final KvQuery.KeyRange EMPTY = new KvQuery.KeyRange(ByteString.EMPTY, ByteString.EMPTY);

  /** One range of a Sarg over text keys as an etcd key range; null if not text. */
  private static KvQuery.KeyRange keyRange(Range<?> r) {
    ByteString lo = EtcdClient.ZERO;
    if (r.hasLowerBound()) {
      String v = asText(r.lowerEndpoint());
      if (v == null) {
        return null;
      }
      lo = utf8(v);
      if (r.lowerBoundType() == BoundType.OPEN) {
        lo = lo.concat(EtcdClient.ZERO);
      }
    }
    if (r.hasLowerBound() && r.hasUpperBound() && r.lowerEndpoint().equals(r.upperEndpoint())) {
      return lo.isEmpty() ? EMPTY : KvQuery.KeyRange.single(lo); // a point
    }
    ByteString hi = EtcdClient.ZERO; // to the end of the keyspace
    if (r.hasUpperBound()) {
      String v = asText(r.upperEndpoint());
      if (v == null) {
        return null;
      }
      hi = utf8(v);
      if (r.upperBoundType() == BoundType.CLOSED) {
        hi = hi.concat(EtcdClient.ZERO);
      }
      if (hi.isEmpty()) {
        return EMPTY; // key < '': no key
      }
    }
    if (lo.isEmpty()) {
      lo = EtcdClient.ZERO;
    }
    return new KvQuery.KeyRange(lo, hi);
  }

  private static String asText(Object o) {
    return o instanceof NlsString n ? n.getValue() : null;
  }

  private static String text(RexLiteral lit) {
    NlsString s = lit.getValueAs(NlsString.class);
    return s == null ? null : s.getValue();
  }

  static ByteString utf8(String s) {
    return ByteString.copyFromUtf8(s);
  }

  private static int firstWildcard(String pattern) {
    for (int i = 0; i < pattern.length(); i++) {
      char ch = pattern.charAt(i);
      if (ch == '%' || ch == '_' || ch == '\\') {
        return i;
      }
    }
    return -1;
  }

  /** [min, max] (0 = unbounded) for a comparison of {@code column} with a number; null if none. */
  static long[] revisionBounds(RexNode c, int column) {
    if (!(c instanceof RexCall call) || call.getOperands().size() != 2) {
      return null;
    }
    RexNode left = call.getOperands().get(0);
    RexNode right = call.getOperands().get(1);
    if (!(left instanceof RexInputRef ref) || ref.getIndex() != column || !(right instanceof RexLiteral lit)) {
      return null;
    }
    if (c.getKind() == SqlKind.SEARCH) {
      Sarg<?> sarg = lit.getValueAs(Sarg.class);
      if (sarg == null || sarg.rangeSet.asRanges().size() != 1) {
        return null;
      }
      Range<?> r = sarg.rangeSet.span();
      long min = 0;
      long max = 0;
      if (r.hasLowerBound()) {
        min = ((BigDecimal) r.lowerEndpoint()).longValueExact() + (r.lowerBoundType() == BoundType.OPEN ? 1 : 0);
      }
      if (r.hasUpperBound()) {
        max = ((BigDecimal) r.upperEndpoint()).longValueExact() - (r.upperBoundType() == BoundType.OPEN ? 1 : 0);
      }
      return bounds(min, max, r.hasUpperBound());
    }
    BigDecimal v = lit.getValueAs(BigDecimal.class);
    if (v == null || v.scale() > 0 && v.stripTrailingZeros().scale() > 0) {
      return null;
    }
    long n = v.longValue();
    return switch (c.getKind()) {
      case EQUALS -> bounds(n, n, true);
      case GREATER_THAN -> bounds(n + 1, 0, false);
      case GREATER_THAN_OR_EQUAL -> bounds(n, 0, false);
      case LESS_THAN -> bounds(0, n - 1, true);
      case LESS_THAN_OR_EQUAL -> bounds(0, n, true);
      default -> null;
    };
  }

  /** Revisions start at 1: a lower bound below it is none, an upper bound below it matches nothing. */
  private static long[] bounds(long min, long max, boolean hasMax) {
    return new long[] {Math.max(min, 0), hasMax ? (max < 1 ? -1 : max) : 0};
  }

  /** The intersection of [min, max] (0 = unbounded) with b; null if empty. */
  private static long[] intersect(long min, long max, long[] b) {
    long lo = Math.max(min, b[0]);
    long hi = max == 0 ? b[1] : b[1] == 0 ? max : Math.min(max, b[1]);
    if (hi < 0 || hi != 0 && lo > hi) {
      return null;
    }
    return new long[] {lo, hi};
  }

  // ------------------------------------------------------------------ project

  private static final class ProjectRule extends RelOptRule {
    ProjectRule() {
      super(operand(Project.class, Convention.NONE, some(operand(KvTableScan.class, Convention.NONE, any()))), "KvProjectRule");
    }

    @Override
    public void onMatch(RelOptRuleCall call) {
      Project project = call.rel(0);
      KvTableScan scan = call.rel(1);
      if (scan.query.countOnly() || !scan.fieldsAreAllColumns()) {
        return;
      }
      int[] fields = new int[project.getProjects().size()];
      for (int i = 0; i < fields.length; i++) {
        if (!(project.getProjects().get(i) instanceof RexInputRef ref)) {
          return;
        }
        fields[i] = ref.getIndex();
      }
      call.transformTo(scan.withFields(fields));
    }
  }

  // ------------------------------------------------------------------ sort and limit

  private static final class SortRule extends RelOptRule {
    SortRule() {
      super(operand(Sort.class, Convention.NONE, some(operand(KvTableScan.class, Convention.NONE, any()))), "KvSortRule");
    }

    @Override
    public void onMatch(RelOptRuleCall call) {
      Sort sort = call.rel(0);
      KvTableScan scan = call.rel(1);
      if (scan.query.countOnly() || scan.query.limit() >= 0 || sort.offset != null && !(sort.offset instanceof RexLiteral)) {
        return;
      }
      KvQuery q = scan.query;
      RelCollation collation = sort.getCollation();
      if (collation.getFieldCollations().size() > 1) {
        return;
      }
      if (collation.getFieldCollations().size() == 1) {
        RelFieldCollation fc = collation.getFieldCollations().get(0);
        if (scan.fields[fc.getFieldIndex()] != KvTable.KEY) {
          return;
        }
        q = q.withOrder(fc.getDirection() == RelFieldCollation.Direction.DESCENDING);
      }
      if (sort.fetch != null) {
        if (!(sort.fetch instanceof RexLiteral f)) {
          return;
        }
        long n = f.getValueAs(Long.class);
        long skip = sort.offset == null ? 0 : ((RexLiteral) sort.offset).getValueAs(Long.class);
        q = q.withLimit(n + skip);
      } else if (sort.offset != null) {
        return;
      }
      if (q.equals(scan.query)) {
        return;
      }
      RelNode out = scan.with(q);
      if (sort.offset != null) {
        // etcd has no offset: it returns offset + fetch rows, the sort above skips the first ones
        out = sort.copy(sort.getTraitSet(), out, sort.getCollation(), sort.offset, sort.fetch);
      }
      call.transformTo(out);
    }
  }

  // ------------------------------------------------------------------ count

  private static final class CountRule extends RelOptRule {
    CountRule() {
      super(operand(Aggregate.class, Convention.NONE, some(operand(KvTableScan.class, Convention.NONE, any()))), "KvCountRule");
    }

    @Override
    public void onMatch(RelOptRuleCall call) {
      Aggregate agg = call.rel(0);
      KvTableScan scan = call.rel(1);
      // etcd's count_only counts the keys in range before the revision filters apply
      if (scan.query.countOnly() || scan.query.limit() >= 0 || scan.query.hasRevisionBounds() || !agg.getGroupSet().isEmpty()
          || agg.getAggCallList().size() != 1) {
        return;
      }
      AggregateCall c = agg.getAggCallList().get(0);
      if (c.getAggregation().getKind() != SqlKind.COUNT || c.isDistinct() || c.filterArg >= 0) {
        return;
      }
      for (int arg : c.getArgList()) {
        if (agg.getInput().getRowType().getFieldList().get(arg).getType().isNullable()) {
          return; // COUNT(column) skips NULLs; only non-null columns count every key
        }
      }
      call.transformTo(scan.counting(agg.getRowType()));
    }
  }
}
