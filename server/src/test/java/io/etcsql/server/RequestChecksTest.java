package io.etcsql.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcdserverpb.DeleteRangeRequest;
import io.etcsql.grpcapi.etcdserverpb.PutRequest;
import io.etcsql.grpcapi.etcdserverpb.RequestOp;
import io.etcsql.grpcapi.etcdserverpb.TxnRequest;
import io.etcsql.kvstore.EtcdError;
import io.etcsql.kvstore.EtcdException;
import org.junit.jupiter.api.Test;

/** etcd's checks of a txn's puts and deletes (checkIntervals). */
class RequestChecksTest {
  private static RequestOp put(String key) {
    return RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(ByteString.copyFromUtf8(key))).build();
  }

  private static RequestOp delete(String key, String rangeEnd) {
    return RequestOp.newBuilder().setRequestDeleteRange(DeleteRangeRequest.newBuilder()
        .setKey(ByteString.copyFromUtf8(key)).setRangeEnd(ByteString.copyFromUtf8(rangeEnd))).build();
  }

  private static void check(RequestOp... success) {
    RequestChecks.checkTxn(TxnRequest.newBuilder().addAllSuccess(java.util.List.of(success)).build(), 128);
  }

  private static void assertDuplicate(RequestOp... success) {
    EtcdException e = assertThrows(EtcdException.class, () -> check(success));
    assertEquals(EtcdError.DUPLICATE_KEY, e.error());
  }

  @Test
  void aKeyPutAndDeletedInOneTxnIsADuplicate() {
    assertDuplicate(put("x"), put("x"));
    assertDuplicate(put("x"), delete("x", ""));
    assertDuplicate(put("x"), delete("a", "z"));
    check(put("x"), delete("a", "x"));
    check(put("x"), delete("y", ""));
  }

  /** etcd 3.4 accepts these: its interval [key, "\0") holds no key. */
  @Test
  void aDeleteToTheEndDoesNotCountAsEtcdsIntervalsDoNot() {
    check(put("x"), delete("a", "\0"));
    check(put("x"), delete("\0", "\0"));
  }
}
