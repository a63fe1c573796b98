package io.etcsql.consensus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** When the leader gives up on its replication to a follower and steps down. */
class ReplicationWatchdogTest {
  private static final long STUCK = 15_000;
  private static final long ANSWERED = 2_000;

  private final ReplicationWatchdog dog = new ReplicationWatchdog(null, STUCK, ANSWERED, () -> 0, false);

  @Test
  void aFollowerThatAnswersButTakesNoEntriesMakesTheLeaderStepDownOnce() {
    // n2 keeps up; n3 answers every heartbeat but its commit index stays at 40
    for (long t = 0; t < STUCK; t += 1000) {
      assertNull(dog.observe(3, 100 + t, Map.of("n2", 100 + t, "n3", 40L), Map.of("n2", 10L, "n3", 10L), t),
          "not stuck for long enough yet at " + t);
    }
    assertEquals("n3", dog.observe(3, 120, Map.of("n2", 120L, "n3", 40L), Map.of("n2", 10L, "n3", 10L), STUCK));
    // still stuck right after: no second step-down until 3 x STUCK have passed
    assertNull(dog.observe(3, 121, Map.of("n2", 121L, "n3", 40L), Map.of("n2", 10L, "n3", 10L), STUCK + 1000));
  }

  @Test
  void aFollowerThatIsDownOrCatchingUpIsNotStuck() {
    for (long t = 0; t <= 3 * STUCK; t += 1000) {
      // n2 does not answer (down or cut off): stepping down would not help it
      // n3 is behind but its commit index moves
      assertNull(dog.observe(3, 1000 + t, Map.of("n2", 40L, "n3", t / 2), Map.of("n2", 5_000L, "n3", 10L), t));
    }
  }

  @Test
  void aFollowerLevelWithAnIdleLeaderIsNotStuck() {
    for (long t = 0; t <= 3 * STUCK; t += 1000) {
      assertNull(dog.observe(3, 500, Map.of("n2", 500L), Map.of("n2", 10L), t));
    }
  }

  @Test
  void aNewTermStartsTheWatchAgain() {
    for (long t = 0; t < STUCK; t += 1000) {
      assertNull(dog.observe(3, 100, Map.of("n3", 40L), Map.of("n3", 10L), t));
    }
    // this member lost and won leadership again: its view of n3 starts afresh
    assertNull(dog.observe(4, 100, Map.of("n3", 40L), Map.of("n3", 10L), STUCK));
    assertNull(dog.observe(4, 100, Map.of("n3", 40L), Map.of("n3", 10L), 2 * STUCK - 1));
    assertEquals("n3", dog.observe(4, 100, Map.of("n3", 40L), Map.of("n3", 10L), 2 * STUCK));
  }

  @Test
  void aFollowerThatWasDownCountsOnlyFromWhenItAnswersAgain() {
    // n3 is down for longer than STUCK (its last commit index stays at 40), then restarts
    for (long t = 0; t <= 2 * STUCK; t += 1000) {
      assertNull(dog.observe(3, 100 + t, Map.of("n3", 40L), Map.of("n3", 5_000L), t));
    }
    // it answers again, catching up: no step-down the moment it answers, nor before STUCK has passed
    long back = 2 * STUCK + 1000;
    for (long t = back; t < back + STUCK; t += 1000) {
      assertNull(dog.observe(3, 200, Map.of("n3", 40L), Map.of("n3", 10L), t), "stepped down at " + t);
    }
    assertEquals("n3", dog.observe(3, 200, Map.of("n3", 40L), Map.of("n3", 10L), back + STUCK));
  }
}
