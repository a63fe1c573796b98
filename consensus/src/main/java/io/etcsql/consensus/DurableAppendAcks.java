package io.etcsql.consensus;

import java.util.ArrayDeque;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.apache.ratis.proto.RaftProtos.AppendEntriesReplyProto;
import org.apache.ratis.thirdparty.io.grpc.ForwardingServerCall;
import org.apache.ratis.thirdparty.io.grpc.Metadata;
import org.apache.ratis.thirdparty.io.grpc.ServerCall;
import org.apache.ratis.thirdparty.io.grpc.ServerCallHandler;
import org.apache.ratis.thirdparty.io.grpc.ServerInterceptor;
import org.apache.ratis.thirdparty.io.grpc.Status;

/**
 * On a follower: holds back each successful AppendEntries reply until the entries it acknowledges
 * are flushed to this member's Raft log.
 *
 * <p>Ratis 3.3.0 acknowledges a resent request whose entries are already in the follower's log
 * cache at once ({@code SegmentedRaftLog.appendImpl} makes no write for them, so there is nothing to
 * wait for), even while their write is still queued unflushed. The leader then counts this member
 * for entries that a kill at that moment erases from its log: a write acknowledged to a client on
 * the strength of that count could be lost when the leader fails too. Replies whose entries are
 * flushed, which is nearly all of them, pass straight through; a held reply waits (in order with
 * the rest of its stream) until the log's flush index reaches its match index, polled every
 * millisecond.
 */
final class DurableAppendAcks implements ServerInterceptor, AutoCloseable {
  private final LongSupplier flushIndex;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "durable-append-acks");
    t.setDaemon(true);
    return t;
  });

  /** @param flushIndex this member's Raft log flush index, or Long.MAX_VALUE while it has none */
  DurableAppendAcks(LongSupplier flushIndex) {
    this.flushIndex = flushIndex;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    if (!call.getMethodDescriptor().getFullMethodName().endsWith("/appendEntries")) {
      return next.startCall(call, headers);
    }
    return next.startCall(new HeldCall<>(call), headers);
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }

  /** The index a reply acknowledges as written, or -1 when it acknowledges none. */
  static long acknowledged(Object message) {
    if (message instanceof AppendEntriesReplyProto r && r.getResult() == AppendEntriesReplyProto.AppendResult.SUCCESS
        && !r.getIsHearbeat()) {
      return r.getMatchIndex();
    }
    return -1;
  }

  /** A call whose outgoing messages leave in order, each once what it acknowledges is flushed. */
  final class HeldCall<Q, R> extends ForwardingServerCall.SimpleForwardingServerCall<Q, R> {
    private record Out(long index, Runnable send) {}

    private final ArrayDeque<Out> held = new ArrayDeque<>();
    private boolean polling;

    HeldCall(ServerCall<Q, R> delegate) {
      super(delegate);
    }

    @Override
    public synchronized void sendMessage(R message) {
      long index = acknowledged(message);
      if (held.isEmpty() && index <= flushIndex.getAsLong()) {
        super.sendMessage(message);
        return;
      }
      hold(new Out(index, () -> super.sendMessage(message)));
    }

    @Override
    public synchronized void close(Status status, Metadata trailers) {
      if (held.isEmpty()) {
        super.close(status, trailers);
      } else {
        hold(new Out(-1, () -> super.close(status, trailers)));
      }
    }

    @Override
    public synchronized void request(int numMessages) {
      super.request(numMessages);
    }

    @Override
    public synchronized void sendHeaders(Metadata headers) {
      super.sendHeaders(headers);
    }

    @Override
    public synchronized void setMessageCompression(boolean enabled) {
      super.setMessageCompression(enabled);
    }

    private void hold(Out out) {
      held.add(out);
      if (!polling) {
        polling = true;
        poll();
      }
    }

    private void poll() {
      try {
        timer.schedule(this::release, 1, TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.RejectedExecutionException e) {
        held.clear(); // this member is shutting down
        polling = false;
      }
    }

    /** Sends what is flushed, from the head on; polls again while something is left. */
    synchronized void release() {
      if (isCancelled()) {
        held.clear(); // the leader went away: nothing more can be sent on this call
      }
      long flushed = flushIndex.getAsLong();
      while (!held.isEmpty() && held.peek().index() <= flushed) {
        try {
          held.poll().send().run();
        } catch (RuntimeException e) {
          held.clear(); // the call is closed: nothing more can be sent on it
        }
      }
      polling = !held.isEmpty();
      if (polling) {
        poll();
      }
    }
  }
}
