package io.etcsql.consensus;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcdserverpb.PutRequest;
import io.etcsql.grpcapi.etcsqlpb.ReplicatedCommand;
import org.junit.jupiter.api.Test;

/** The leader stamps a proposal's commit time by appending the field to its bytes. */
class StampFieldTest {
  @Test
  void theAppendedStampIsWhatEveryMemberParsesAndTheRestIsUnchanged() throws Exception {
    ReplicatedCommand put = ReplicatedCommand.newBuilder()
        .setPut(PutRequest.newBuilder().setKey(ByteString.copyFromUtf8("k")).setValue(ByteString.copyFromUtf8("v")))
        .build();
    long stamp = 1_796_000_000_123L;
    ReplicatedCommand stamped = ReplicatedCommand.parseFrom(
        put.toByteString().concat(ByteString.copyFrom(KvStateMachine.stampField(stamp))));
    assertEquals(put.toBuilder().setCommittedAtUnixMs(stamp).build(), stamped);

    // a proposal that already carried a time gets the leader's
    ReplicatedCommand preset = put.toBuilder().setCommittedAtUnixMs(42).build();
    assertEquals(stamp, ReplicatedCommand.parseFrom(
        preset.toByteString().concat(ByteString.copyFrom(KvStateMachine.stampField(stamp)))).getCommittedAtUnixMs());
  }
}
