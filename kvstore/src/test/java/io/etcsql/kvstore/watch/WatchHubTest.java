package io.etcsql.kvstore.watch;

import static io.etcsql.kvstore.watch.FakeHistory.b;
import static io.etcsql.kvstore.watch.RecordingListener.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcsql.grpcapi.mvccpb.Event;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class WatchHubTest {
  private final FakeHistory history = new FakeHistory();
  private WatchHub hub;

  private WatchHub start(Duration progressInterval) {
    hub = new WatchHub(history, progressInterval);
    history.publishTo(hub);
    return hub;
  }

  @AfterEach
  void close() {
    if (hub != null) {
      hub.close();
    }
  }

  private static List<String> keys(List<Event> events) {
    return events.stream().map(e -> e.getType() + " " + e.getKv().getKey().toStringUtf8()).toList();
  }

  private RecordingListener watch(WatchSpec spec) {
    RecordingListener l = new RecordingListener();
    l.watchOn(hub, spec);
    return l;
  }

  @Test
  void statsCountStreamsWatchersSlowWatchersAndEvents() {
    hub = new WatchHub(history, Duration.ZERO, 2, 2, 64, 1); // at most 2 buffered events a watcher
    history.publishTo(hub);
    hub.streamOpened();
    hub.streamOpened();
    hub.streamClosed();
    RecordingListener fast = watch(WatchSpec.of(b("a"), null, 0));
    RecordingListener slow = new RecordingListener();
    slow.setReady(false);
    slow.watchOn(hub, WatchSpec.of(b("a"), null, 0));
    watch(WatchSpec.of(b("b"), null, 0));
    new RecordingListener().watchOn(hub, WatchSpec.of(b("c"), null, 0)).cancel(); // not counted
    for (int i = 0; i < 5; i++) {
      history.put("a", "v" + i);
    }
    await(() -> hub.stats().eventsSent() == 5 && hub.stats().slowWatchers() == 1, "the fast watcher's events");
    // the slow one holds 2 events, then falls behind and will catch up from history
    assertEquals(new WatchStats(1, 3, 1, 2, 5), hub.stats());
    slow.setReady(true);
    await(() -> hub.stats().eventsSent() == 10 && hub.stats().slowWatchers() == 0, "the slow watcher's events");
    assertEquals(new WatchStats(1, 3, 0, 0, 10), hub.stats());
    assertEquals(5, fast.eventCount());
  }

  @Test
  void singleKeyWatchSeesOnlyThatKey() {
    start(Duration.ZERO);
    RecordingListener l = watch(WatchSpec.of(b("a"), null, 0));
    history.put("a", "1");
    history.put("ab", "1");
    history.put("b", "1");
    history.put("a", "2");
    long last = history.delete("a");
    await(() -> l.eventCount() == 3, "3 events");
    assertEquals(List.of("PUT a", "PUT a", "DELETE a"), keys(l.events()));
    assertEquals(last, l.events().get(2).getKv().getModRevision());
    assertEquals(List.of(1L, 4L, 5L), l.eventRevisions);
    l.assertNoViolations();
  }

  @Test
  void prefixRangeFromKeyAndAllWatches() {
    start(Duration.ZERO);
    RecordingListener prefix = watch(WatchSpec.of(b("/p/"), b("/p0"), 0));
    RecordingListener range = watch(WatchSpec.of(b("b"), b("d"), 0));
    RecordingListener fromKey = watch(WatchSpec.of(b("c"), new byte[] {0}, 0));
    RecordingListener all = watch(WatchSpec.of(new byte[] {0}, new byte[] {0}, 0));
    for (String k : List.of("/p/x", "/p", "/p0", "a", "b", "c", "cz", "d", "/p/y")) {
      history.put(k, "v");
    }
    await(() -> all.eventCount() == 9, "all events");
    await(() -> prefix.eventCount() == 2 && range.eventCount() == 3 && fromKey.eventCount() == 3,
        "range events");
    assertEquals(List.of("PUT /p/x", "PUT /p/y"), keys(prefix.events()));
    assertEquals(List.of("PUT b", "PUT c", "PUT cz"), keys(range.events()));
    assertEquals(List.of("PUT c", "PUT cz", "PUT d"), keys(fromKey.events()));
  }

  @Test
  void keysCompareAsUnsignedBytes() {
    start(Duration.ZERO);
    RecordingListener l = watch(WatchSpec.of(new byte[] {0x10}, new byte[] {(byte) 0xd0}, 0));
    history.put("\u00e9", "inside"); // UTF-8 0xc3 0xa9: above 0x10 only when unsigned
    history.put("\u0005", "below");
    history.put("z", "inside");
    await(() -> l.eventCount() == 2, "2 events");
    assertEquals(List.of("PUT \u00e9", "PUT z"), keys(l.events()));
  }

  @Test
  void filtersDropPutsOrDeletes() {
    start(Duration.ZERO);
    RecordingListener noPut = watch(new WatchSpec(b("k"), null, 0, false, true, false, false));
    RecordingListener noDelete = watch(new WatchSpec(b("k"), null, 0, false, false, true, false));
    history.put("k", "1");
    history.delete("k");
    history.put("k", "2");
    await(() -> noPut.eventCount() == 1 && noDelete.eventCount() == 2, "filtered events");
    assertEquals(List.of("DELETE k"), keys(noPut.events()));
    assertEquals(List.of("PUT k", "PUT k"), keys(noDelete.events()));
  }

  @Test
  void prevKvIsFilledExceptForCreates() {
    start(Duration.ZERO);
    RecordingListener l = watch(new WatchSpec(b("k"), null, 0, true, false, false, false));
    history.put("k", "1");
    history.put("k", "2");
    history.delete("k");
    await(() -> l.eventCount() == 3, "3 events");
    List<Event> events = l.events();
    assertFalse(events.get(0).hasPrevKv());
    assertEquals("1", events.get(1).getPrevKv().getValue().toStringUtf8());
    assertEquals("2", events.get(2).getPrevKv().getValue().toStringUtf8());
  }

  @Test
  void multiEventRevisionIsDeliveredWhole() {
    start(Duration.ZERO);
    RecordingListener l = watch(WatchSpec.of(b("a"), b("z"), 0));
    long r = history.txn(new String[] {"a", "1"}, new String[] {"b", "2"}, new String[] {"c", null});
    await(() -> l.eventCount() == 3, "3 events");
    assertEquals(List.of(r), l.eventRevisions);
    assertEquals(List.of("PUT a", "PUT b", "DELETE c"), keys(l.events()));
  }

  @Test
  void startRevisionReadsHistoryThenGoesLive() {
    start(Duration.ZERO);
    for (int i = 0; i < 20; i++) {
      history.put("k", "v" + i);
    }
    WatchSpec spec = WatchSpec.of(b("k"), null, 5);
    RecordingListener l = watch(spec);
    for (int i = 20; i < 30; i++) {
      history.put("k", "v" + i);
    }
    await(() -> l.eventCount() == 26, "26 events");
    assertEquals(history.expected(spec, 5), l.events());
    l.assertNoViolations();
  }

  @Test
  void compactedStartRevisionEndsTheWatcher() {
    start(Duration.ZERO);
    for (int i = 0; i < 10; i++) {
      history.put("k", "v" + i);
    }
    history.compact(6);
    RecordingListener l = watch(WatchSpec.of(b("k"), null, 3));
    await(() -> l.compactedAt() == 6, "compaction notice");
    history.put("k", "after");
    RecordingListener control = watch(WatchSpec.of(b("k"), null, 6));
    await(() -> control.eventCount() == 6, "control watcher from the compaction point");
    assertEquals(0, l.eventCount());
    l.assertNoViolations();
  }

  @Test
  void cancelStopsDelivery() {
    start(Duration.ZERO);
    RecordingListener l = new RecordingListener();
    Watcher w = l.watchOn(hub, WatchSpec.of(b("k"), null, 0));
    history.put("k", "1");
    await(() -> l.eventCount() == 1, "first event");
    w.cancel();
    w.cancel();
    history.put("k", "2");
    RecordingListener control = watch(WatchSpec.of(b("k"), null, 0));
    history.put("k", "3");
    await(() -> control.eventCount() == 1, "control event");
    assertEquals(1, l.eventCount());
    assertFalse(w.isSynced());
  }

  @Test
  void emptyRangeIsRejected() {
    start(Duration.ZERO);
    assertThrows(IllegalArgumentException.class,
        () -> hub.watch(WatchSpec.of(b("b"), b("a"), 0), new RecordingListener()));
  }

  @Test
  void idleSyncedWatcherGetsProgressNotifications() {
    start(Duration.ofMillis(50));
    long r = history.put("other", "1");
    RecordingListener withProgress = watch(new WatchSpec(b("k"), null, 0, false, false, false, true));
    RecordingListener without = watch(WatchSpec.of(b("k"), null, 0));
    await(() -> withProgress.progress().size() >= 2, "two progress notifications");
    assertEquals(r, withProgress.progress().get(0));
    assertTrue(without.progress().isEmpty());
  }

  @Test
  void progressRequestWaitsUntilEveryWatcherDeliveredEverything() {
    start(Duration.ZERO);
    RecordingListener fast = watch(WatchSpec.of(b("a"), null, 0));
    RecordingListener slow = new RecordingListener();
    slow.setReady(false);
    Watcher slowWatcher = slow.watchOn(hub, WatchSpec.of(b("b"), null, 0));
    history.put("a", "1");
    long last = history.put("b", "1");
    await(() -> fast.eventCount() == 1, "fast event");
    long[] answer = {-1};
    int[] slowEventsAtAnswer = {-1};
    hub.requestProgress(List.of(slowWatcher), rev -> {
      answer[0] = rev;
      slowEventsAtAnswer[0] = slow.eventCount();
    });
    sleep(50);
    assertEquals(-1, answer[0], "answered while an event was still undelivered");
    slow.setReady(true);
    await(() -> answer[0] >= 0, "progress answer");
    assertEquals(last, answer[0]);
    assertEquals(1, slowEventsAtAnswer[0]);
  }

  @Test
  void progressRequestWithNoWatchersAnswersTheCurrentRevision() {
    start(Duration.ZERO);
    long r = history.put("a", "1");
    long[] answer = {-1};
    hub.requestProgress(List.of(), rev -> answer[0] = rev);
    assertEquals(r, answer[0]);
  }

  @Test
  void closeStopsTheHubThreads() {
    start(Duration.ofMillis(10));
    watch(WatchSpec.of(b("k"), null, 0));
    history.put("k", "1");
    hub.close();
    await(() -> Thread.getAllStackTraces().keySet().stream()
        .noneMatch(t -> t.getName().startsWith("etcsql-watch-") && t.isAlive()), "threads to stop");
    history.put("k", "2"); // publish after close is ignored
    assertThrows(IllegalStateException.class,
        () -> hub.watch(WatchSpec.of(b("k"), null, 0), new RecordingListener()));
  }

  static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
