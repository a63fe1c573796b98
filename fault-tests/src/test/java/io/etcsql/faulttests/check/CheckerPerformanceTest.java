package io.etcsql.faulttests.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcsql.faulttests.check.SimulatedRegisterHistory.Workload;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The search pruning must keep realistic histories cheap: 10k operations over 8 keys from 20 clients, 10% unknown.
 * The bound is loose on purpose (2-core CI machine); a search without memoization or dominance takes minutes or
 * never ends on these histories.
 *
 * <p>Run alone: {@code mvn -o -q -pl fault-tests test -Dtest='io.etcsql.faulttests.check.CheckerPerformanceTest'}
 */
class CheckerPerformanceTest {

  private static final Duration BOUND = Duration.ofSeconds(20);
  private static final Workload TEN_THOUSAND = new Workload(10_000, 20, 8, 0.10, 0.02, 42);

  @Test
  void tenThousandOperationsCheckWithinTheBound() {
    List<Op> history = SimulatedRegisterHistory.generate(TEN_THOUSAND);

    CheckResult result = LinearizabilityChecker.check(history, new RegisterModel(), BOUND.multipliedBy(2));

    System.out.println("10k ops, linearizable: " + result.elapsed().toMillis() + " ms");
    assertEquals(CheckResult.Status.LINEARIZABLE, result.status(), result::describe);
    assertTrue(result.elapsed().compareTo(BOUND) < 0, () -> "took " + result.elapsed());
  }

  @Test
  void staleReadInTenThousandOperationsIsFoundWithinTheBound() {
    List<Op> history = new ArrayList<>(SimulatedRegisterHistory.generate(TEN_THOUSAND));
    int corrupted = SimulatedRegisterHistory.corruptOneRead(history, new SplittableRandom(7));
    Op stale = history.get(corrupted);

    CheckResult result = LinearizabilityChecker.check(history, new RegisterModel(), BOUND.multipliedBy(2));

    System.out.println("10k ops, one stale read: " + result.elapsed().toMillis() + " ms\n" + result.describe());
    assertEquals(CheckResult.Status.NOT_LINEARIZABLE, result.status());
    assertEquals(stale.key(), result.firstViolation().orElseThrow().key());
    assertTrue(result.elapsed().compareTo(BOUND) < 0, () -> "took " + result.elapsed());
  }

  @Test
  void exhaustedBudgetGivesUnknown() {
    List<Op> history = SimulatedRegisterHistory.generate(TEN_THOUSAND);

    CheckResult result = LinearizabilityChecker.check(history, new RegisterModel(), Duration.ZERO);

    assertEquals(CheckResult.Status.UNKNOWN, result.status());
  }
}
