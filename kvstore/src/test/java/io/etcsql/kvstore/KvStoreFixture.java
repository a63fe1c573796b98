package io.etcsql.kvstore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcdserverpb.Compare;
import io.etcsql.grpcapi.etcdserverpb.DeleteRangeRequest;
import io.etcsql.grpcapi.etcdserverpb.DeleteRangeResponse;
import io.etcsql.grpcapi.etcdserverpb.PutRequest;
import io.etcsql.grpcapi.etcdserverpb.PutResponse;
import io.etcsql.grpcapi.etcdserverpb.RangeRequest;
import io.etcsql.grpcapi.etcdserverpb.RangeResponse;
import io.etcsql.grpcapi.etcdserverpb.RequestOp;
import io.etcsql.grpcapi.etcdserverpb.TxnRequest;
import io.etcsql.grpcapi.etcdserverpb.TxnResponse;
import io.etcsql.grpcapi.etcsqlpb.CommandResult;
import io.etcsql.grpcapi.etcsqlpb.ReplicatedCommand;
import io.etcsql.grpcapi.mvccpb.KeyValue;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A {@link KvStore} in a test directory, driven only through its public API, with the Raft
 * index of each applied command counted up automatically (term 1), as a Raft log would.
 */
final class KvStoreFixture implements AutoCloseable {
  static final ByteString ZERO = ByteString.copyFrom(new byte[] {0});

  final Path dir;
  final KvStore.Options options;
  KvStore store;
  long term = 1;
  long index;

  KvStoreFixture(Path dir, long entriesPerSegment) throws IOException {
    this.dir = dir;
    this.options = new KvStore.Options(entriesPerSegment, Duration.ofMinutes(10));
    this.store = KvStore.open(dir, options);
    this.index = store.appliedIndex();
  }

  KvStoreFixture(Path dir) throws IOException {
    this(dir, 1024);
  }

  /** Closes and opens the store again on the same directory (a clean restart). */
  void reopen() throws IOException {
    store.close();
    store = KvStore.open(dir, options);
    index = store.appliedIndex();
  }

  @Override
  public void close() {
    if (store != null) {
      store.close();
      store = null;
    }
  }

  // ---------------------------------------------------------------- commands

  CommandResult apply(ReplicatedCommand cmd) {
    return store.apply(term, ++index, cmd);
  }

  static ByteString b(String s) {
    return ByteString.copyFromUtf8(s);
  }

  static ReplicatedCommand cmd(PutRequest p) {
    return ReplicatedCommand.newBuilder().setPut(p).build();
  }

  static ReplicatedCommand cmd(DeleteRangeRequest d) {
    return ReplicatedCommand.newBuilder().setDeleteRange(d).build();
  }

  static ReplicatedCommand cmd(TxnRequest t) {
    return ReplicatedCommand.newBuilder().setTxn(t).build();
  }

  static PutRequest.Builder putReq(String key, String value) {
    return PutRequest.newBuilder().setKey(b(key)).setValue(b(value));
  }

  PutResponse put(String key, String value) {
    return put(putReq(key, value).build());
  }

  PutResponse put(PutRequest p) {
    CommandResult r = apply(cmd(p));
    assertTrue(r.hasPut(), () -> "put failed: " + r);
    return r.getPut();
  }

  DeleteRangeResponse delete(String key) {
    return delete(DeleteRangeRequest.newBuilder().setKey(b(key)).build());
  }

  DeleteRangeResponse delete(DeleteRangeRequest d) {
    CommandResult r = apply(cmd(d));
    assertTrue(r.hasDeleteRange(), () -> "delete failed: " + r);
    return r.getDeleteRange();
  }

  TxnResponse txn(TxnRequest t) {
    CommandResult r = apply(cmd(t));
    assertTrue(r.hasTxn(), () -> "txn failed: " + r);
    return r.getTxn();
  }

  CommandResult grant(long id, long ttl) {
    return apply(ReplicatedCommand.newBuilder()
        .setLeaseGrant(io.etcsql.grpcapi.etcdserverpb.LeaseGrantRequest.newBuilder().setID(id).setTTL(ttl))
        .build());
  }

  CommandResult revoke(long id) {
    return apply(ReplicatedCommand.newBuilder()
        .setLeaseRevoke(io.etcsql.grpcapi.etcdserverpb.LeaseRevokeRequest.newBuilder().setID(id))
        .build());
  }

  CommandResult compact(long revision) {
    return apply(ReplicatedCommand.newBuilder()
        .setCompaction(io.etcsql.grpcapi.etcdserverpb.CompactionRequest.newBuilder().setRevision(revision))
        .build());
  }

  // ---------------------------------------------------------------- reads

  RangeResponse range(RangeRequest r) {
    return store.range(r);
  }

  /** The key's current KeyValue, or null. */
  KeyValue get(String key) {
    List<KeyValue> kvs = store.range(RangeRequest.newBuilder().setKey(b(key)).build()).getKvsList();
    return kvs.isEmpty() ? null : kvs.get(0);
  }

  /** Every live key and value, in key order, as "key=value" strings. */
  List<String> all() {
    return all(0);
  }

  List<String> all(long revision) {
    return store.range(RangeRequest.newBuilder().setKey(ZERO).setRangeEnd(ZERO).setRevision(revision).build())
        .getKvsList().stream().map(kv -> str(kv.getKey()) + "=" + str(kv.getValue())).toList();
  }

  long revision() {
    return store.mvcc().currentRevision();
  }

  static List<String> keys(List<KeyValue> kvs) {
    return kvs.stream().map(kv -> str(kv.getKey())).toList();
  }

  /** Bytes as a string, one char per byte (so the key 0xff reads as "\u00ff"). */
  static String str(ByteString bytes) {
    return new String(bytes.toByteArray(), java.nio.charset.StandardCharsets.ISO_8859_1);
  }

  // ---------------------------------------------------------------- txn building

  static RequestOp opPut(String key, String value) {
    return RequestOp.newBuilder().setRequestPut(putReq(key, value)).build();
  }

  static RequestOp opPut(PutRequest p) {
    return RequestOp.newBuilder().setRequestPut(p).build();
  }

  static RequestOp opGet(String key) {
    return RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(b(key))).build();
  }

  static RequestOp opRange(RangeRequest r) {
    return RequestOp.newBuilder().setRequestRange(r).build();
  }

  static RequestOp opDelete(String key) {
    return RequestOp.newBuilder().setRequestDeleteRange(DeleteRangeRequest.newBuilder().setKey(b(key))).build();
  }

  static RequestOp opTxn(TxnRequest t) {
    return RequestOp.newBuilder().setRequestTxn(t).build();
  }

  static Compare.Builder cmp(String key, Compare.CompareTarget target, Compare.CompareResult result) {
    return Compare.newBuilder().setKey(b(key)).setTarget(target).setResult(result);
  }

  // ---------------------------------------------------------------- error checks

  /** Asserts that the command failed with {@code error} (etcd's text) and changed nothing. */
  void assertFailsUnchanged(ReplicatedCommand cmd, EtcdError error) {
    long rev = revision();
    List<String> before = all();
    CommandResult r = apply(cmd);
    assertTrue(r.hasError(), () -> "expected " + error + " but got " + r);
    assertEquals(error.name(), r.getError().getCode());
    assertEquals(error.message(), r.getError().getMessage());
    assertEquals(rev, revision(), "a failed command must not create a revision");
    assertEquals(before, all(), "a failed command must not change any key");
    assertEquals(index, store.appliedIndex(), "a failed command is still applied (it is in the log)");
    assertFalse(r.hasPut() || r.hasTxn() || r.hasDeleteRange());
  }
}
