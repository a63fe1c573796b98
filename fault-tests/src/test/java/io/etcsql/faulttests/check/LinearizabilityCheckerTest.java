package io.etcsql.faulttests.check;

import static io.etcsql.faulttests.check.CheckResult.Status.LINEARIZABLE;
import static io.etcsql.faulttests.check.CheckResult.Status.NOT_LINEARIZABLE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Small hand-written histories on one key "k" with their expected verdict. Times are in abstract units. */
class LinearizabilityCheckerTest {

  private static final Duration BUDGET = Duration.ofSeconds(10);
  private static final String K = "k";

  // ---- history DSL: p = process, [t0, t1] = invocation and completion ----

  static Op read(int p, long t0, long t1, String value, long rev) {
    return Op.read(p, t0, t1, K, Result.read(value, rev));
  }

  static Op write(int p, long t0, long t1, String value, long rev) {
    return Op.write(p, t0, t1, K, value, Result.written(rev));
  }

  static Op write(int p, long t0, long t1, String value, Result result) {
    return Op.write(p, t0, t1, K, value, result);
  }

  static Op cas(int p, long t0, long t1, long expected, String value, Result result) {
    return Op.cas(p, t0, t1, K, expected, value, result);
  }

  static Arguments history(String name, CheckResult.Status expected, Op... ops) {
    return Arguments.of(name, expected, List.of(ops));
  }

  static Stream<Arguments> histories() {
    return Stream.of(
        history("empty", LINEARIZABLE),
        history("initial read is absent", LINEARIZABLE,
            read(0, 0, 1, null, 0)),
        history("sequential writes and reads", LINEARIZABLE,
            write(0, 0, 1, "a", 2), read(1, 2, 3, "a", 2), write(1, 4, 5, "b", 3), read(0, 6, 7, "b", 3)),
        history("read concurrent with write may see either side: old first, new later", LINEARIZABLE,
            write(0, 0, 10, "a", 3), read(1, 2, 5, null, 0), read(2, 3, 6, "a", 3)),
        history("reads concurrent with a write, new value seen first then old: second read forced before", LINEARIZABLE,
            write(0, 0, 10, "a", 3), read(1, 2, 8, "a", 3), read(2, 3, 6, null, 0)),
        history("concurrent writes in either order, read observes the later revision", LINEARIZABLE,
            write(0, 0, 10, "a", 6), write(1, 1, 9, "b", 5), read(2, 11, 12, "a", 6)),
        history("touching intervals count as concurrent", LINEARIZABLE,
            write(0, 0, 5, "a", 1), read(1, 5, 6, null, 0)),
        history("CAS chain, second CAS on a stale revision fails", LINEARIZABLE,
            write(0, 0, 1, "a", 2), cas(1, 2, 3, 2, "b", Result.casSucceeded(3)),
            cas(0, 4, 5, 2, "c", Result.casFailed()), read(1, 6, 7, "b", 3)),
        history("CAS create on an absent key", LINEARIZABLE,
            cas(0, 0, 1, 0, "a", Result.casSucceeded(1)), read(1, 2, 3, "a", 1),
            cas(1, 4, 5, 0, "b", Result.casFailed())),
        history("two concurrent CAS on the same revision, one wins", LINEARIZABLE,
            write(0, 0, 1, "a", 1), cas(1, 2, 4, 1, "b", Result.casSucceeded(2)),
            cas(2, 2, 4, 1, "c", Result.casFailed()), read(0, 5, 6, "b", 2)),
        history("unknown write that took effect", LINEARIZABLE,
            write(0, 0, 1, "a", Result.unknown()), read(1, 5, 6, "a", 7), read(2, 8, 9, "a", 7)),
        history("unknown write that did not take effect", LINEARIZABLE,
            write(0, 0, 1, "a", Result.unknown()), read(1, 5, 6, null, 0), read(2, 100, 101, null, 0)),
        history("unknown write taking effect after the client gave up", LINEARIZABLE,
            write(0, 0, 2, "a", Result.unknown()), read(1, 3, 4, null, 0), read(1, 5, 6, "a", 4)),
        history("unknown write then a definite one overwriting it", LINEARIZABLE,
            write(0, 0, 1, "a", Result.unknown()), read(1, 2, 3, "a", 4), write(1, 4, 5, "b", 6),
            read(2, 6, 7, "b", 6)),
        history("unknown CAS that took effect", LINEARIZABLE,
            write(0, 0, 1, "a", 2), cas(1, 2, 3, 2, "b", Result.unknown()), read(0, 4, 5, "b", 5)),
        history("unknown CAS on the revision of an unknown write, observed by a read", LINEARIZABLE,
            write(0, 0, 1, "a", Result.unknown()), read(1, 2, 3, "a", 4), cas(1, 4, 5, 4, "b", Result.unknown()),
            read(0, 6, 7, "b", 5)),
        history("CAS on the revision of an unknown write, observed by a read", LINEARIZABLE,
            write(0, 0, 1, "a", Result.unknown()), read(1, 2, 3, "a", 4),
            cas(1, 4, 5, 4, "b", Result.casSucceeded(5)), read(0, 6, 7, "b", 5)),
        history("CAS fails against the unobserved revision of an unknown write", LINEARIZABLE,
            write(0, 0, 1, "a", 1), write(0, 2, 3, "b", Result.unknown()),
            cas(1, 4, 5, 1, "c", Result.casFailed()), read(0, 6, 7, "b", 4)),
        history("failed write is ignored", LINEARIZABLE,
            write(0, 0, 1, "a", Result.fail()), read(1, 2, 3, null, 0)),
        history("unknown read is ignored", LINEARIZABLE,
            Op.read(0, 0, 1, K, Result.unknown()), write(0, 2, 3, "a", 1)),
        history("write with unreported revision, pinned by a read", LINEARIZABLE,
            write(0, 0, 1, "a", 0), read(1, 2, 3, "a", 9)),

        history("stale read after a completed write", NOT_LINEARIZABLE,
            write(0, 0, 1, "a", 1), write(0, 2, 3, "b", 2), read(1, 4, 5, "a", 1)),
        history("two CAS both succeeding on the same expected revision", NOT_LINEARIZABLE,
            write(0, 0, 1, "a", 1), cas(1, 2, 4, 1, "b", Result.casSucceeded(2)),
            cas(2, 2, 4, 1, "c", Result.casSucceeded(3))),
        history("read of a value never written", NOT_LINEARIZABLE,
            write(0, 0, 1, "a", 1), read(1, 2, 3, "zzz", 1)),
        history("read of a failed write", NOT_LINEARIZABLE,
            write(0, 0, 1, "a", Result.fail()), read(1, 2, 3, "a", 1)),
        history("read going back in time", NOT_LINEARIZABLE,
            write(0, 0, 10, "a", 1), read(1, 1, 2, "a", 1), read(2, 3, 4, null, 0)),
        history("read with the right value but the wrong revision", NOT_LINEARIZABLE,
            write(0, 0, 1, "a", 5), read(1, 2, 3, "a", 4)),
        history("revisions of sequential writes go backwards", NOT_LINEARIZABLE,
            write(0, 0, 1, "a", 5), write(0, 2, 3, "b", 4)),
        history("CAS reported as failed although its compare held", NOT_LINEARIZABLE,
            write(0, 0, 1, "a", 1), cas(1, 2, 3, 1, "b", Result.casFailed())),
        history("CAS create succeeding on an existing key", NOT_LINEARIZABLE,
            write(0, 0, 1, "a", 1), cas(1, 2, 3, 0, "b", Result.casSucceeded(2))),
        history("unknown write observed before it was invoked", NOT_LINEARIZABLE,
            read(0, 0, 1, "a", 5), write(1, 2, 3, "a", Result.unknown())),
        history("unknown CAS whose compare cannot hold cannot take effect", NOT_LINEARIZABLE,
            write(0, 0, 1, "a", 2), cas(1, 2, 3, 7, "b", Result.unknown()), read(0, 4, 5, "b", 8)),
        history("CAS expecting a revision nobody observed (a guess) is not accepted", NOT_LINEARIZABLE,
            write(0, 0, 1, "a", Result.unknown()), cas(1, 2, 3, 4, "b", Result.casSucceeded(5))),
        history("unknown write seen, then lost", NOT_LINEARIZABLE,
            write(0, 0, 1, "a", Result.unknown()), read(1, 2, 3, "a", 4), read(2, 4, 5, null, 0)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("histories")
  void verdict(String name, CheckResult.Status expected, List<Op> history) {
    CheckResult result = LinearizabilityChecker.check(history, new RegisterModel(), BUDGET);
    assertEquals(expected, result.status(), result::describe);
    if (expected == NOT_LINEARIZABLE) {
      KeyResult violation = result.firstViolation().orElseThrow();
      assertEquals(K, violation.key());
      assertFalse(violation.stuck().isEmpty(), violation::describe);
    }
  }

  @Test
  void violationOnOneKeyDoesNotHideTheOthers() {
    List<Op> history = List.of(
        Op.write(0, 0, 1, "x", "a", Result.written(1)), Op.read(1, 2, 3, "x", Result.read("a", 1)),
        Op.write(0, 0, 1, "y", "a", Result.written(2)), Op.write(0, 2, 3, "y", "b", Result.written(3)),
        Op.read(1, 4, 5, "y", Result.read("a", 2)));

    CheckResult result = LinearizabilityChecker.check(history, new RegisterModel(), BUDGET);

    assertEquals(NOT_LINEARIZABLE, result.status());
    assertEquals(LINEARIZABLE, result.keys().get("x").status());
    assertEquals(List.of(result.keys().get("y")), result.violations());
  }

  @Test
  void explanationNamesTheStaleReadAndTheLongestPrefix() {
    Op first = write(0, 0, 1_000_000, "a", 1);
    Op second = write(0, 2_000_000, 3_000_000, "b", 2);
    Op stale = read(1, 4_000_000, 5_000_000, "a", 1);

    KeyResult violation = LinearizabilityChecker.check(List.of(stale, second, first), new RegisterModel(), BUDGET)
        .firstViolation().orElseThrow();

    assertEquals(List.of(first, second), violation.longestPrefix());
    assertEquals("\"b\"@rev=2", violation.stateAfterPrefix());
    assertEquals(List.of(stale), violation.stuck());
    String text = violation.describe();
    assertTrue(text.contains("none of these can be linearized next:\n    p1 [4.000, 5.000] ms  READ k -> ok \"a\" rev=1"),
        text);
  }

  @Test
  void linearizableResultCarriesALinearization() {
    Op w = write(0, 0, 10, "a", 3);
    Op r1 = read(1, 2, 8, "a", 3);
    Op r2 = read(2, 3, 6, null, 0);

    KeyResult key = LinearizabilityChecker.check(List.of(w, r1, r2), new RegisterModel(), BUDGET).keys().get(K);

    assertEquals(LINEARIZABLE, key.status());
    assertEquals(List.of(r2, w, r1), key.longestPrefix());
  }
}
