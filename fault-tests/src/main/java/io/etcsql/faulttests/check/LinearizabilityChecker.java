package io.etcsql.faulttests.check;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Checks that a history of operations on keys is linearizable.
 *
 * <p>Linearizability is local (P-compositional): a history is linearizable iff the sub-history of every key is.
 * So the history is split by key and each key is searched on its own, in parallel, with
 * {@link LinearizationSearch} (Wing &amp; Gong's search over the call/return entry list with Lowe's memoization of
 * (linearized set, state), as in Knossos and Porcupine).
 *
 * <p>Before the search, FAIL operations (which definitely did not take effect) and UNKNOWN operations the model
 * calls read-only (which constrain nothing) are dropped. Other UNKNOWN operations may be linearized anywhere after
 * their invocation, or not at all.
 *
 * <p>Usage:
 * <pre>{@code
 *   CheckResult r = LinearizabilityChecker.check(history, new RegisterModel(), Duration.ofMinutes(1));
 *   if (r.status() == CheckResult.Status.NOT_LINEARIZABLE) report(r.describe());
 * }</pre>
 */
public final class LinearizabilityChecker {

  private LinearizabilityChecker() {
  }

  /**
   * Checks {@code history} against {@code model}.
   *
   * @param history    the operations, in any order; times of all operations must come from one clock
   * @param model      the sequential specification of one key; pure and thread-safe
   * @param timeBudget wall time allowed for the whole check; keys whose search has not finished by then are
   *                   UNKNOWN (each key still reports how far it got)
   * @return LINEARIZABLE if every key is, NOT_LINEARIZABLE if some key is not (with an explanation per key),
   *         otherwise UNKNOWN
   * @throws IllegalArgumentException if the budget is negative (operations validate themselves on creation)
   */
  public static <S> CheckResult check(List<Op> history, Model<S> model, Duration timeBudget) {
    if (timeBudget.isNegative()) {
      throw new IllegalArgumentException("negative time budget: " + timeBudget);
    }
    long start = System.nanoTime();
    long deadline = start + saturatedNanos(timeBudget);
    long origin = history.stream().mapToLong(Op::invokeNanos).min().orElse(0);

    Map<String, List<Op>> byKey = history.stream()
        .collect(Collectors.groupingBy(Op::key, TreeMap::new, Collectors.toList()));
    Function<Map.Entry<String, List<Op>>, KeyResult> checkKey = e -> {
      List<Op> relevant = new ArrayList<>(e.getValue().size());
      for (Op op : e.getValue()) {
        boolean failed = op.result().status() == Result.Status.FAIL;
        boolean unobservable = op.result().isUnknown() && model.isReadOnly(op);
        if (!failed && !unobservable) {
          relevant.add(op);
        }
      }
      return new LinearizationSearch<>(e.getKey(), model, relevant, origin).run(deadline);
    };
    Map<String, KeyResult> results = byKey.entrySet().parallelStream().map(checkKey)
        .collect(Collectors.toMap(KeyResult::key, r -> r));

    CheckResult.Status status = CheckResult.Status.LINEARIZABLE;
    for (KeyResult r : results.values()) {
      if (r.status() == CheckResult.Status.NOT_LINEARIZABLE) {
        status = CheckResult.Status.NOT_LINEARIZABLE;
        break;
      }
      if (r.status() == CheckResult.Status.UNKNOWN) {
        status = CheckResult.Status.UNKNOWN;
      }
    }
    return new CheckResult(status, results, Duration.ofNanos(System.nanoTime() - start));
  }

  private static long saturatedNanos(Duration d) {
    try {
      return Math.min(d.toNanos(), Long.MAX_VALUE / 4);
    } catch (ArithmeticException overflow) {
      return Long.MAX_VALUE / 4;
    }
  }
}
