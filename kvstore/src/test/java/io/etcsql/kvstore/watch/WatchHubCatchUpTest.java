package io.etcsql.kvstore.watch;

import static io.etcsql.kvstore.watch.FakeHistory.b;
import static io.etcsql.kvstore.watch.RecordingListener.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Catch-up, back-pressure and the unsynced-to-synced switch, with tiny limits (per-watcher buffer
 * of 8 events, catch-up batches of 5, an inbox of 16 revisions) so that every path is taken.
 */
class WatchHubCatchUpTest {
  private final FakeHistory history = new FakeHistory();
  private final WatchHub hub = new WatchHub(history, Duration.ZERO, 8, 5, 16, 2);

  WatchHubCatchUpTest() {
    history.publishTo(hub);
  }

  @AfterEach
  void close() {
    hub.close();
  }

  @Test
  void watchersStartedDuringConcurrentWritesSeeEveryEventExactlyOnce() throws Exception {
    for (int i = 0; i < 100; i++) {
      history.put("k" + (i % 7), "v" + i);
    }
    CountDownLatch go = new CountDownLatch(1);
    Thread writer = new Thread(() -> {
      awaitLatch(go);
      for (int i = 0; i < 3000; i++) {
        if (i % 5 == 4) {
          history.delete("k" + (i % 7));
        } else {
          history.txn(new String[] {"k" + (i % 7), "w" + i}, new String[] {"x" + i, "y"});
        }
      }
    });
    writer.start();
    go.countDown();
    List<WatchSpec> specs = new ArrayList<>();
    List<RecordingListener> listeners = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      long start = switch (i % 4) {
        case 0 -> 1;
        case 1 -> Math.max(1, history.currentRevision() - 30);
        case 2 -> 0;
        default -> history.currentRevision() + 3;
      };
      WatchSpec spec = i % 3 == 0
          ? WatchSpec.of(b("k3"), null, start)
          : WatchSpec.of(b("k"), b("l"), start);
      long resolvedFrom = start == 0 ? history.currentRevision() + 1 : start;
      RecordingListener l = new RecordingListener();
      Watcher w = l.watchOn(hub, spec);
      specs.add(w.spec());
      listeners.add(l);
      assertTrue(w.spec().startRevision() >= resolvedFrom || start == 0);
      Thread.sleep(1);
    }
    writer.join();
    for (int i = 0; i < specs.size(); i++) {
      RecordingListener l = listeners.get(i);
      WatchSpec spec = specs.get(i);
      int expected = history.expected(spec, spec.startRevision()).size();
      await(() -> l.eventCount() >= expected, "watcher to catch up");
      WatchHubTest.sleep(5);
      assertEquals(history.expected(spec, spec.startRevision()), l.events(), "watcher " + i);
      l.assertNoViolations();
    }
  }

  @Test
  void slowListenerIsCaughtUpWithoutLoss() {
    RecordingListener slow = new RecordingListener();
    slow.setReady(false);
    WatchSpec spec = WatchSpec.of(b("a"), b("b"), 0);
    Watcher w = slow.watchOn(hub, spec);
    long first = history.currentRevision() + 1;
    for (int i = 0; i < 500; i++) {
      history.put("a" + (i % 10), "v" + i);
    }
    history.put("zzz", "unrelated");
    await(() -> !w.isSynced(), "the slow watcher to fall back to history");
    WatchHubTest.sleep(20);
    assertEquals(0, slow.eventCount(), "delivered while the listener was not ready");
    slow.setReady(true);
    await(() -> slow.eventCount() == 500, "500 events");
    assertEquals(history.expected(spec, first), slow.events());
    await(w::isSynced, "the watcher to be synced again");
    history.put("a", "live");
    await(() -> slow.eventCount() == 501, "a live event after catching up");
    assertEquals(0, slow.callsWhileNotReady);
    slow.assertNoViolations();
  }

  @Test
  void listenerTogglingReadinessLosesNothing() {
    RecordingListener flaky = new RecordingListener();
    WatchSpec spec = WatchSpec.of(new byte[] {0}, new byte[] {0}, 0);
    flaky.watchOn(hub, spec);
    long first = history.currentRevision() + 1;
    for (int i = 0; i < 400; i++) {
      history.put("k" + i, "v");
      if (i % 37 == 0) {
        flaky.setReady(false);
      } else if (i % 37 == 20) {
        flaky.setReady(true);
      }
    }
    flaky.setReady(true);
    await(() -> flaky.eventCount() == 400, "400 events");
    assertEquals(history.expected(spec, first), flaky.events());
    flaky.assertNoViolations();
  }

  @Test
  void historyCompactedWhileUnsyncedEndsWithCompaction() {
    RecordingListener slow = new RecordingListener();
    slow.setReady(false);
    Watcher w = slow.watchOn(hub, WatchSpec.of(b("a"), null, 0));
    for (int i = 0; i < 50; i++) {
      history.put("a", "v" + i);
    }
    await(() -> !w.isSynced(), "the watcher to fall back to history");
    history.compact(40);
    slow.setReady(true);
    await(() -> slow.compactedAt() == 40, "compaction notice");
    assertFalse(w.isSynced());
    slow.assertNoViolations();
  }

  private static void awaitLatch(CountDownLatch latch) {
    try {
      latch.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
