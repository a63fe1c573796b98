package io.etcsql.consensus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.ratis.proto.RaftProtos.AppendEntriesReplyProto;
import org.apache.ratis.proto.RaftProtos.AppendEntriesReplyProto.AppendResult;
import org.apache.ratis.thirdparty.io.grpc.Attributes;
import org.apache.ratis.thirdparty.io.grpc.Metadata;
import org.apache.ratis.thirdparty.io.grpc.MethodDescriptor;
import org.apache.ratis.thirdparty.io.grpc.ServerCall;
import org.apache.ratis.thirdparty.io.grpc.Status;
import org.junit.jupiter.api.Test;

/** A follower's AppendEntries replies leave only once what they acknowledge is flushed, in order. */
class DurableAppendAcksTest {
  private final AtomicLong flushed = new AtomicLong(10);
  private final List<String> sent = new CopyOnWriteArrayList<>();

  private static AppendEntriesReplyProto success(long matchIndex) {
    return AppendEntriesReplyProto.newBuilder().setResult(AppendResult.SUCCESS).setMatchIndex(matchIndex)
        .setNextIndex(matchIndex + 1).build();
  }

  private static AppendEntriesReplyProto inconsistency(long nextIndex) {
    return AppendEntriesReplyProto.newBuilder().setResult(AppendResult.INCONSISTENCY).setMatchIndex(-1)
        .setNextIndex(nextIndex).build();
  }

  /** A server call that records what is sent on it. */
  private final class Recording extends ServerCall<Object, AppendEntriesReplyProto> {
    @Override
    public void request(int numMessages) {
    }

    @Override
    public void sendHeaders(Metadata headers) {
    }

    @Override
    public void sendMessage(AppendEntriesReplyProto message) {
      sent.add(message.getResult() + "@" + (message.getResult() == AppendResult.SUCCESS
          ? message.getMatchIndex() : message.getNextIndex()));
    }

    @Override
    public void close(Status status, Metadata trailers) {
      sent.add("close");
    }

    @Override
    public boolean isCancelled() {
      return false;
    }

    @Override
    public Attributes getAttributes() {
      return Attributes.EMPTY;
    }

    @Override
    public MethodDescriptor<Object, AppendEntriesReplyProto> getMethodDescriptor() {
      throw new UnsupportedOperationException();
    }
  }

  private static void await(Duration timeout, java.util.function.BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
  }

  @Test
  void flushedAcknowledgementsPassAndUnflushedOnesWaitInOrder() throws Exception {
    try (DurableAppendAcks acks = new DurableAppendAcks(flushed::get)) {
      DurableAppendAcks.HeldCall<Object, AppendEntriesReplyProto> call = acks.new HeldCall<>(new Recording());
      call.sendMessage(success(10)); // entries up to 10 are flushed: straight through
      call.sendMessage(success(14)); // a resent request for cached, unflushed entries: held
      call.sendMessage(inconsistency(15)); // behind it, whatever it is
      call.close(Status.OK, new Metadata());
      Thread.sleep(50);
      assertEquals(List.of("SUCCESS@10"), sent, "nothing past the flush index leaves");

      flushed.set(14);
      await(Duration.ofSeconds(5), () -> sent.size() == 4);
      assertEquals(List.of("SUCCESS@10", "SUCCESS@14", "INCONSISTENCY@15", "close"), sent,
          "once flushed, the held reply and everything behind it leave in order");

      call.sendMessage(success(14)); // nothing held any more: straight through again
      assertTrue(sent.get(4).equals("SUCCESS@14"));
    }
  }

  @Test
  void heartbeatsAndRefusalsAcknowledgeNothing() {
    assertEquals(-1, DurableAppendAcks.acknowledged(inconsistency(3)));
    assertEquals(-1, DurableAppendAcks.acknowledged(success(-1).toBuilder().setIsHearbeat(true).build()));
    assertEquals(7, DurableAppendAcks.acknowledged(success(7)));
  }
}
