package io.etcsql.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcdserverpb.ResponseHeader;
import io.etcsql.grpcapi.etcdserverpb.WatchCancelRequest;
import io.etcsql.grpcapi.etcdserverpb.WatchCreateRequest;
import io.etcsql.grpcapi.etcdserverpb.WatchProgressRequest;
import io.etcsql.grpcapi.etcdserverpb.WatchRequest;
import io.etcsql.grpcapi.etcdserverpb.WatchResponse;
import io.etcsql.grpcapi.mvccpb.Event;
import io.etcsql.grpcapi.mvccpb.KeyValue;
import io.etcsql.kvstore.EtcdError;
import io.etcsql.kvstore.watch.HistoryReader;
import io.etcsql.kvstore.watch.WatchHub;
import io.etcsql.kvstore.watch.WatchSpec;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The Watch service against a real hub, a tiny in-memory history and a fake gRPC stream. */
class WatchServiceTest {
  private final TinyHistory history = new TinyHistory();
  private final WatchHub hub = new WatchHub(history, Duration.ZERO);
  private final FakeStream client = new FakeStream();
  private final StreamObserver<WatchRequest> requests;

  WatchServiceTest() {
    history.hub = hub;
    ResponseHeader base = ResponseHeader.newBuilder().setClusterId(1).setMemberId(2).setRaftTerm(3).build();
    requests = new WatchService(hub, () -> base, 400).watch(client);
  }

  @AfterEach
  void close() {
    hub.close();
  }

  @Test
  void createEventsAndCancelLikeEtcd() {
    history.put("other", "x");
    create(WatchCreateRequest.newBuilder().setKey(bs("a")));
    create(WatchCreateRequest.newBuilder().setKey(bs("b")));
    create(WatchCreateRequest.newBuilder().setKey(bs("c")).setWatchId(7));
    create(WatchCreateRequest.newBuilder().setKey(bs("c")).setWatchId(7));
    List<WatchResponse> created = client.await(4, r -> true);
    assertEquals(List.of(0L, 1L, 7L, -1L), created.stream().map(WatchResponse::getWatchId).toList());
    assertTrue(created.stream().allMatch(WatchResponse::getCreated));
    assertEquals(1, created.get(0).getHeader().getRevision());
    assertEquals(2, created.get(0).getHeader().getMemberId());
    assertTrue(created.get(3).getCanceled());
    assertEquals(WatchService.DUPLICATE_ID, created.get(3).getCancelReason());

    long rev = history.put("a", "1");
    WatchResponse event = client.await(1, r -> r.getEventsCount() > 0).get(0);
    assertEquals(0, event.getWatchId());
    assertEquals(rev, event.getHeader().getRevision());
    assertEquals("a", event.getEvents(0).getKv().getKey().toStringUtf8());

    requests.onNext(WatchRequest.newBuilder()
        .setCancelRequest(WatchCancelRequest.newBuilder().setWatchId(0)).build());
    requests.onNext(WatchRequest.newBuilder()
        .setCancelRequest(WatchCancelRequest.newBuilder().setWatchId(42)).build());
    WatchResponse canceled = client.await(1, r -> r.getCanceled() && !r.getCreated()).get(0);
    assertEquals(0, canceled.getWatchId());
    history.put("a", "2");
    history.put("b", "2");
    client.await(2, r -> r.getEventsCount() > 0);
    assertEquals(List.of(0L, 1L), client.matching(r -> r.getEventsCount() > 0).stream()
        .map(WatchResponse::getWatchId).toList());
  }

  @Test
  void emptyRangeIsRefused() {
    create(WatchCreateRequest.newBuilder().setKey(bs("b")).setRangeEnd(bs("a")));
    WatchResponse r = client.await(1, x -> true).get(0);
    assertTrue(r.getCreated() && r.getCanceled());
    assertEquals(-1, r.getWatchId());
    assertEquals(WatchService.EMPTY_RANGE, r.getCancelReason());
  }

  @Test
  void compactedStartRevisionCancelsWithCompactRevision() {
    for (int i = 0; i < 5; i++) {
      history.put("k", "v" + i);
    }
    history.compactRevision = 3;
    create(WatchCreateRequest.newBuilder().setKey(bs("k")).setStartRevision(1));
    WatchResponse r = client.await(1, x -> x.getCompactRevision() != 0).get(0);
    assertEquals(3, r.getCompactRevision());
    assertTrue(r.getCanceled());
    assertEquals(0, r.getWatchId());
  }

  @Test
  void bigRevisionIsFragmentedOnlyWhenAsked() {
    create(WatchCreateRequest.newBuilder().setKey(bs("f")).setRangeEnd(bs("g")).setFragment(true));
    create(WatchCreateRequest.newBuilder().setKey(bs("f")).setRangeEnd(bs("g")));
    client.await(2, WatchResponse::getCreated);
    String[][] changes = new String[10][];
    for (int i = 0; i < 10; i++) {
      changes[i] = new String[] {"f" + i, "x".repeat(60)};
    }
    history.txn(changes);
    List<WatchResponse> parts = client.await(1, r -> r.getWatchId() == 0 && r.getEventsCount() > 0 && !r.getFragment());
    List<WatchResponse> fragmented = client.matching(r -> r.getWatchId() == 0 && r.getEventsCount() > 0);
    assertTrue(fragmented.size() > 1, "expected several fragments, got " + fragmented.size());
    assertEquals(10, fragmented.stream().mapToInt(WatchResponse::getEventsCount).sum());
    assertFalse(parts.get(0).getFragment());
    WatchResponse whole = client.await(1, r -> r.getWatchId() == 1 && r.getEventsCount() > 0).get(0);
    assertEquals(10, whole.getEventsCount());
  }

  @Test
  void filtersAndPrevKvAreApplied() {
    history.put("p", "old");
    create(WatchCreateRequest.newBuilder().setKey(bs("p")).setPrevKv(true)
        .addFilters(WatchCreateRequest.FilterType.NODELETE));
    client.await(1, WatchResponse::getCreated);
    history.delete("p");
    history.put("p", "new");
    WatchResponse r = client.await(1, x -> x.getEventsCount() > 0).get(0);
    assertEquals(Event.EventType.PUT, r.getEvents(0).getType());
    assertFalse(r.getEvents(0).hasPrevKv(), "a create has no prev_kv");
    assertEquals(1, client.matching(x -> x.getEventsCount() > 0).size());
  }

  @Test
  void progressRequestWaitsForSlowClientThenFollowsTheEvents() {
    long rev = history.put("x", "1");
    requests.onNext(progressRequest());
    WatchResponse idle = client.await(1, r -> r.getWatchId() == -1).get(0);
    assertEquals(rev, idle.getHeader().getRevision());

    create(WatchCreateRequest.newBuilder().setKey(bs("s")));
    client.await(1, WatchResponse::getCreated);
    client.setReady(false);
    long last = 0;
    for (int i = 0; i < 50; i++) {
      last = history.put("s", "v" + i);
    }
    requests.onNext(progressRequest());
    sleep(50);
    assertEquals(0, client.matching(r -> r.getEventsCount() > 0).size(), "sent while not ready");
    assertEquals(1, client.matching(r -> r.getWatchId() == -1).size(), "answered too early");
    client.setReady(true);
    client.await(2, r -> r.getWatchId() == -1);
    List<WatchResponse> all = client.all();
    int events = 0;
    for (WatchResponse r : all) {
      events += r.getEventsCount();
      if (r.getWatchId() == -1 && r.getHeader().getRevision() == last) {
        assertEquals(50, events, "progress sent before all events");
      }
    }
    assertEquals(50, events);
  }

  @Test
  void clientCancellationCancelsTheWatchers() {
    create(WatchCreateRequest.newBuilder().setKey(bs("z")));
    client.await(1, WatchResponse::getCreated);
    client.cancelByClient();
    history.put("z", "1");
    sleep(50);
    assertEquals(0, client.matching(r -> r.getEventsCount() > 0).size());
  }

  private void create(WatchCreateRequest.Builder create) {
    requests.onNext(WatchRequest.newBuilder().setCreateRequest(create).build());
  }

  private static WatchRequest progressRequest() {
    return WatchRequest.newBuilder().setProgressRequest(WatchProgressRequest.getDefaultInstance()).build();
  }

  private static ByteString bs(String s) {
    return ByteString.copyFromUtf8(s);
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The server side of a gRPC stream, recording what the service sends. */
  private static final class FakeStream extends ServerCallStreamObserver<WatchResponse> {
    private final List<WatchResponse> sent = new ArrayList<>();
    private volatile boolean ready = true;
    private Runnable onReady = () -> { };
    private Runnable onCancel = () -> { };

    synchronized List<WatchResponse> all() {
      return new ArrayList<>(sent);
    }

    synchronized List<WatchResponse> matching(Predicate<WatchResponse> p) {
      return sent.stream().filter(p).toList();
    }

    List<WatchResponse> await(int n, Predicate<WatchResponse> p) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (matching(p).size() < n) {
        if (System.nanoTime() > deadline) {
          fail("timed out; got " + all());
        }
        sleep(2);
      }
      return matching(p);
    }

    void setReady(boolean value) {
      ready = value;
      if (value) {
        onReady.run();
      }
    }

    void cancelByClient() {
      onCancel.run();
    }

    @Override
    public synchronized void onNext(WatchResponse value) {
      sent.add(value);
    }

    @Override
    public void onError(Throwable t) {}

    @Override
    public void onCompleted() {}

    @Override
    public boolean isReady() {
      return ready;
    }

    @Override
    public void setOnReadyHandler(Runnable r) {
      onReady = r;
    }

    @Override
    public void setOnCancelHandler(Runnable r) {
      onCancel = r;
    }

    @Override
    public boolean isCancelled() {
      return false;
    }

    @Override
    public void setCompression(String c) {}

    @Override
    public void disableAutoInboundFlowControl() {}

    @Override
    public void request(int n) {}

    @Override
    public void setMessageCompression(boolean enable) {}
  }

  /** History as a list of revisions; publishes each new one to the hub. */
  private static final class TinyHistory implements HistoryReader {
    private final List<List<Event>> revisions = new ArrayList<>();
    volatile long compactRevision;
    WatchHub hub;

    long put(String key, String value) {
      return txn(new String[] {key, value});
    }

    long delete(String key) {
      return txn(new String[] {key, null});
    }

    synchronized long txn(String[]... changes) {
      long rev = revisions.size() + 1;
      List<Event> events = new ArrayList<>();
      for (String[] c : changes) {
        KeyValue prev = previous(c[0].getBytes(), rev);
        KeyValue.Builder kv = KeyValue.newBuilder().setKey(bs(c[0])).setModRevision(rev);
        if (c[1] != null) {
          kv.setValue(bs(c[1])).setCreateRevision(prev == null ? rev : prev.getCreateRevision());
        }
        events.add(Event.newBuilder().setKv(kv)
            .setType(c[1] == null ? Event.EventType.DELETE : Event.EventType.PUT).build());
      }
      revisions.add(events);
      hub.publish(rev, events);
      return rev;
    }

    @Override
    public synchronized long currentRevision() {
      return revisions.size();
    }

    @Override
    public long compactRevision() {
      return compactRevision;
    }

    @Override
    public synchronized List<Event> events(byte[] key, byte[] end, long from, long to, int max) {
      if (from < compactRevision) {
        throw EtcdError.COMPACTED.exception();
      }
      WatchSpec range = WatchSpec.of(key, end, from);
      List<Event> out = new ArrayList<>();
      for (long r = from; r <= Math.min(to, revisions.size()); r++) {
        revisions.get((int) r - 1).stream()
            .filter(e -> range.contains(e.getKv().getKey().toByteArray())).forEach(out::add);
      }
      return out;
    }

    @Override
    public synchronized KeyValue previous(byte[] key, long revision) {
      KeyValue found = null;
      for (long r = 1; r < revision && r <= revisions.size(); r++) {
        for (Event e : revisions.get((int) r - 1)) {
          if (e.getKv().getKey().equals(ByteString.copyFrom(key))) {
            found = e.getType() == Event.EventType.PUT ? e.getKv() : null;
          }
        }
      }
      return found;
    }
  }
}
