package io.etcsql.faulttests.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcsql.faulttests.check.SimulatedRegisterHistory.Workload;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Histories of a simulated linearizable store must pass; the same histories with one corrupted read must not. */
class RandomizedHistoryTest {

  private static final Duration BUDGET = Duration.ofSeconds(30);

  static LongStream seeds() {
    return LongStream.range(1, 41);
  }

  /** Up to 1000 ops, 2-13 clients, 1-4 keys, up to {@code maxUnknownRate} unknown and 10% failed results. */
  static Workload workload(long seed, double maxUnknownRate) {
    SplittableRandom r = new SplittableRandom(seed * 7919);
    return new Workload(200 + r.nextInt(800), 2 + r.nextInt(12), 1 + r.nextInt(4), r.nextDouble(0, maxUnknownRate),
        r.nextDouble(0, 0.1), seed);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void simulatedLinearizableStorePasses(long seed) {
    Workload w = workload(seed, 0.25);
    List<Op> history = SimulatedRegisterHistory.generate(w);

    CheckResult result = LinearizabilityChecker.check(history, new RegisterModel(), BUDGET);

    assertEquals(CheckResult.Status.LINEARIZABLE, result.status(), () -> w + "\n" + result.describe());
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void staleReadIsDetected(long seed) {
    Workload w = workload(seed, 0.25);
    List<Op> history = new ArrayList<>(SimulatedRegisterHistory.generate(w));
    int corrupted = SimulatedRegisterHistory.corruptOneRead(history, new SplittableRandom(seed));
    if (corrupted < 0) {
      return; // no read after an overwrite in this history: nothing to corrupt
    }
    Op stale = history.get(corrupted);

    CheckResult result = LinearizabilityChecker.check(history, new RegisterModel(), BUDGET);

    assertEquals(CheckResult.Status.NOT_LINEARIZABLE, result.status(), () -> w + " corrupted " + stale);
    KeyResult violation = result.firstViolation().orElseThrow();
    assertEquals(stale.key(), violation.key());
    assertTrue(violation.stuck().contains(stale) || !violation.longestPrefix().contains(stale),
        violation::describe);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void readOfANeverWrittenValueIsDetected(long seed) {
    Workload w = workload(seed, 0.25);
    List<Op> history = new ArrayList<>(SimulatedRegisterHistory.generate(w));
    int corrupted = SimulatedRegisterHistory.corruptOneReadWithNeverWrittenValue(history, new SplittableRandom(seed));
    Op bogus = history.get(corrupted);

    CheckResult result = LinearizabilityChecker.check(history, new RegisterModel(), BUDGET);

    assertEquals(CheckResult.Status.NOT_LINEARIZABLE, result.status(), () -> w + " corrupted " + bogus);
    assertEquals(bogus.key(), result.firstViolation().orElseThrow().key());
  }
}
