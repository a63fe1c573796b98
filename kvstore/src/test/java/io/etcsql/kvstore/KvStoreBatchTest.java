package io.etcsql.kvstore;

import static io.etcsql.kvstore.KvStoreFixture.b;
import static io.etcsql.kvstore.KvStoreFixture.cmd;
import static io.etcsql.kvstore.KvStoreFixture.putReq;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcsql.grpcapi.etcdserverpb.DeleteRangeRequest;
import io.etcsql.grpcapi.etcdserverpb.LeaseGrantRequest;
import io.etcsql.grpcapi.etcdserverpb.RequestOp;
import io.etcsql.grpcapi.etcdserverpb.TxnRequest;
import io.etcsql.grpcapi.etcsqlpb.Batch;
import io.etcsql.grpcapi.etcsqlpb.CommandResult;
import io.etcsql.grpcapi.etcsqlpb.ReplicatedCommand;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Several proposals in one Raft entry: each applied as if alone, the entry applied once. */
class KvStoreBatchTest extends StoreTestBase {
  private static ReplicatedCommand batch(ReplicatedCommand... commands) {
    return ReplicatedCommand.newBuilder().setCommittedAtUnixMs(1_796_000_000_000L)
        .setBatch(Batch.newBuilder().addAllCommands(List.of(commands))).build();
  }

  @Test
  void eachCommandGetsItsOwnRevisionAndResultAndAFailedOneChangesNothing() throws Exception {
    s.put("a", "0");
    long before = s.revision();
    ReplicatedCommand entry = batch(
        cmd(putReq("a", "1").build()),
        cmd(putReq("b", "2").setLease(99).build()), // no such lease: an error, nothing written
        cmd(DeleteRangeRequest.newBuilder().setKey(b("a")).setPrevKv(true).build()),
        cmd(TxnRequest.newBuilder().addSuccess(RequestOp.newBuilder().setRequestPut(putReq("c", "3"))).build()));
    CommandResult r = s.apply(entry);

    List<CommandResult> results = r.getBatch().getResultsList();
    assertEquals(4, results.size());
    assertEquals(before + 1, results.get(0).getPut().getHeader().getRevision());
    assertEquals(EtcdError.LEASE_NOT_FOUND.name(), results.get(1).getError().getCode());
    assertEquals(1, results.get(2).getDeleteRange().getDeleted());
    assertEquals("1", results.get(2).getDeleteRange().getPrevKvs(0).getValue().toStringUtf8());
    assertEquals(before + 2, results.get(2).getDeleteRange().getHeader().getRevision());
    assertTrue(results.get(3).getTxn().getSucceeded());
    assertEquals(before + 3, results.get(3).getTxn().getHeader().getRevision());
    assertEquals(before + 3, s.revision());
    assertEquals(List.of("c=3"), s.all(s.revision()));
    assertEquals(s.index, s.store.appliedIndex());

    // the same entry again (a replay after a restart) changes nothing
    assertEquals(CommandResult.getDefaultInstance(), s.store.apply(s.term, s.index, entry));
    s.reopen();
    assertEquals(before + 3, s.revision());
    assertEquals(List.of("c=3"), s.all(s.revision()));
  }

  @Test
  void aBatchWithAnythingButPutsDeletesAndTxnsIsRefusedBeforeAnyChange() {
    long before = s.revision();
    ReplicatedCommand grant = ReplicatedCommand.newBuilder()
        .setLeaseGrant(LeaseGrantRequest.newBuilder().setID(7).setTTL(60)).build();
    assertThrows(IllegalArgumentException.class, () -> s.apply(batch(cmd(putReq("a", "1").build()), grant)));
    assertEquals(before, s.revision());
    assertEquals(List.of(), s.all());
  }
}
