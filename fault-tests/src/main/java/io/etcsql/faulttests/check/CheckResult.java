package io.etcsql.faulttests.check;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The verdict for a whole history: NOT_LINEARIZABLE if any key is, otherwise UNKNOWN if any key ran out of time,
 * otherwise LINEARIZABLE. A history is linearizable iff every key's sub-history is (linearizability is local).
 *
 * @param status  the overall verdict
 * @param keys    the verdict of every key, by key, in key order
 * @param elapsed wall time of the check
 */
public record CheckResult(Status status, Map<String, KeyResult> keys, Duration elapsed) {

  /** Verdict of a check. */
  public enum Status {
    LINEARIZABLE,
    NOT_LINEARIZABLE,
    /** The time budget ran out before the search finished. */
    UNKNOWN
  }

  public CheckResult {
    keys = Map.copyOf(keys);
  }

  public boolean isLinearizable() {
    return status == Status.LINEARIZABLE;
  }

  /** The keys whose sub-history is not linearizable, in key order. */
  public List<KeyResult> violations() {
    return keys.values().stream().filter(k -> k.status() == Status.NOT_LINEARIZABLE)
        .sorted(java.util.Comparator.comparing(KeyResult::key)).toList();
  }

  /** The first violation in key order, if any. */
  public Optional<KeyResult> firstViolation() {
    return violations().stream().findFirst();
  }

  /** A printable report: the verdict, one line per key, and the explanation of every key that is not linearizable. */
  public String describe() {
    StringBuilder out = new StringBuilder("linearizability: ").append(status).append(" (").append(keys.size())
        .append(" keys, ").append(elapsed.toMillis()).append(" ms)\n");
    keys.values().stream().sorted(java.util.Comparator.comparing(KeyResult::key)).forEach(k -> {
      if (k.status() == Status.LINEARIZABLE) {
        out.append("  ").append(k.describe());
      } else {
        out.append(k.describe().indent(2));
      }
    });
    return out.toString();
  }

  @Override
  public String toString() {
    return describe();
  }
}
