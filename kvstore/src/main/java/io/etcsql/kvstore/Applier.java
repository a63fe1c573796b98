package io.etcsql.kvstore;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcdserverpb.CompactionRequest;
import io.etcsql.grpcapi.etcdserverpb.CompactionResponse;
import io.etcsql.grpcapi.etcdserverpb.Compare;
import io.etcsql.grpcapi.etcdserverpb.DeleteRangeRequest;
import io.etcsql.grpcapi.etcdserverpb.DeleteRangeResponse;
import io.etcsql.grpcapi.etcdserverpb.LeaseCheckpoint;
import io.etcsql.grpcapi.etcdserverpb.LeaseCheckpointRequest;
import io.etcsql.grpcapi.etcdserverpb.LeaseCheckpointResponse;
import io.etcsql.grpcapi.etcdserverpb.LeaseGrantRequest;
import io.etcsql.grpcapi.etcdserverpb.LeaseGrantResponse;
import io.etcsql.grpcapi.etcdserverpb.LeaseRevokeRequest;
import io.etcsql.grpcapi.etcdserverpb.LeaseRevokeResponse;
import io.etcsql.grpcapi.etcdserverpb.PutRequest;
import io.etcsql.grpcapi.etcdserverpb.PutResponse;
import io.etcsql.grpcapi.etcdserverpb.RangeRequest;
import io.etcsql.grpcapi.etcdserverpb.RequestOp;
import io.etcsql.grpcapi.etcdserverpb.ResponseHeader;
import io.etcsql.grpcapi.etcdserverpb.ResponseOp;
import io.etcsql.grpcapi.etcdserverpb.TxnRequest;
import io.etcsql.grpcapi.etcdserverpb.TxnResponse;
import io.etcsql.grpcapi.etcsqlpb.CommandResult;
import io.etcsql.grpcapi.etcsqlpb.ReplicatedCommand;
import io.etcsql.grpcapi.mvccpb.Event;
import io.etcsql.grpcapi.mvccpb.KeyValue;
import io.etcsql.grpcapi.etcsqlpb.AuthHeader;
import io.etcsql.kvstore.auth.AuthStore;
import io.etcsql.kvstore.backend.MetaStore;
import io.etcsql.kvstore.lease.Lease;
import io.etcsql.kvstore.lease.LeaseCounts;
import io.etcsql.kvstore.lease.Lessor;
import io.etcsql.kvstore.mvcc.MvccStore;
import io.etcsql.kvstore.mvcc.OpCounts;
import io.etcsql.kvstore.mvcc.WriteTxn;
import io.etcsql.kvstore.watch.WatchHub;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Applies one replicated command to the store: one dispatch over the command's request, as
 * etcd's {@code applierV3backend}. Every check that can fail runs before the first change, so a
 * failed command changes nothing.
 *
 * <p>It tallies its ranges, puts and deletes in {@link OpCounts} as etcd's mvcc transactions
 * would (the caller ends the last transaction of each command), and its lease grants and
 * revocations in {@link LeaseCounts}.
 */
final class Applier {
  private final MvccStore mvcc;
  private final Lessor lessor;
  private final MetaStore meta;
  private final WatchHub watchHub;
  private final MemberRegistry members;
  private final Alarms alarms;
  private final AuthStore auth;
  private final OpCounts ops;
  private final LeaseCounts leases;

  Applier(MvccStore mvcc, Lessor lessor, MetaStore meta, WatchHub watchHub, AuthStore auth, OpCounts ops,
      LeaseCounts leases) {
    this.auth = auth;
    this.ops = ops;
    this.leases = leases;
    this.members = new MemberRegistry(meta);
    this.alarms = new Alarms(meta);
    this.mvcc = mvcc;
    this.lessor = lessor;
    this.meta = meta;
    this.watchHub = watchHub;
  }

  CommandResult apply(long index, ReplicatedCommand cmd) {
    CommandResult.Builder r = CommandResult.newBuilder();
    alarms.checkCapped(cmd); // etcd's applierV3Capped while NOSPACE is active
    if (cmd.hasAuth() && auth.enabled()) {
      checkPermissions(auth.state(), cmd.getAuth(), cmd); // etcd's authApplierV3
    }
    switch (cmd.getRequestCase()) {
      case PUT -> r.setPut(put(index, cmd));
      case DELETE_RANGE -> r.setDeleteRange(deleteRange(index, cmd));
      case TXN -> r.setTxn(txn(index, cmd));
      case COMPACTION -> r.setCompaction(compaction(cmd.getCompaction()));
      case LEASE_GRANT -> r.setLeaseGrant(leaseGrant(cmd.getLeaseGrant()));
      case LEASE_REVOKE -> r.setLeaseRevoke(leaseRevoke(index, cmd));
      case LEASE_CHECKPOINT -> r.setLeaseCheckpoint(leaseCheckpoint(cmd.getLeaseCheckpoint()));
      case MEMBER_ATTRIBUTES -> r.setMemberAttributes(members.publish(cmd.getMemberAttributes()));
      case MEMBER_BOOTSTRAP -> r.setMemberBootstrap(members.bootstrap(cmd.getMemberBootstrap()));
      case MEMBER_CHANGE -> r.setMemberChange(members.change(cmd.getMemberChange()));
      case ALARM -> r.setAlarm(alarms.apply(cmd.getAlarm()));
      case AUTH_COMMAND -> r.setAuthCommand(auth.apply(index, cmd.getAuthCommand(), cmd.getAuth()));
      case READ_BARRIER -> { } // ordering only: nothing to change
      default -> throw new IllegalArgumentException("unknown replicated command " + cmd.getRequestCase());
    }
    return r.build();
  }

  // ------------------------------------------------------------------ auth

  /**
   * etcd's authApplierV3: the user the request carries must hold the permissions it needs, as
   * of this point of the log. Both branches of a txn are checked (and nested txns), not only the
   * one its compares choose.
   */
  private void checkPermissions(AuthStore.State s, AuthHeader h, ReplicatedCommand cmd) {
    switch (cmd.getRequestCase()) {
      case PUT -> {
        PutRequest p = cmd.getPut();
        AuthStore.checkWrite(s, h, p.getKey(), ByteString.EMPTY);
        checkLeaseKeys(s, h, p.getLease());
        if (p.getPrevKv()) {
          AuthStore.checkRead(s, h, p.getKey(), ByteString.EMPTY);
        }
      }
      case DELETE_RANGE -> checkDelete(s, h, cmd.getDeleteRange());
      case TXN -> checkTxnPermissions(s, h, cmd.getTxn());
      case LEASE_REVOKE -> checkLeaseKeys(s, h, cmd.getLeaseRevoke().getID());
      default -> { }
    }
  }

  private static void checkDelete(AuthStore.State s, AuthHeader h, DeleteRangeRequest d) {
    AuthStore.checkWrite(s, h, d.getKey(), d.getRangeEnd());
    if (d.getPrevKv()) {
      AuthStore.checkRead(s, h, d.getKey(), d.getRangeEnd());
    }
  }

  private static void checkTxnPermissions(AuthStore.State s, AuthHeader h, TxnRequest t) {
    for (Compare c : t.getCompareList()) {
      AuthStore.checkRead(s, h, c.getKey(), c.getRangeEnd());
    }
    for (List<RequestOp> ops : List.of(t.getSuccessList(), t.getFailureList())) {
      for (RequestOp op : ops) {
        switch (op.getRequestCase()) {
          case REQUEST_RANGE -> AuthStore.checkRead(s, h, op.getRequestRange().getKey(), op.getRequestRange().getRangeEnd());
          case REQUEST_PUT -> AuthStore.checkWrite(s, h, op.getRequestPut().getKey(), ByteString.EMPTY);
          case REQUEST_DELETE_RANGE -> checkDelete(s, h, op.getRequestDeleteRange());
          case REQUEST_TXN -> checkTxnPermissions(s, h, op.getRequestTxn());
          default -> { }
        }
      }
    }
  }

  /** Putting with a lease, or revoking it, needs write access to every key the lease holds. */
  private void checkLeaseKeys(AuthStore.State s, AuthHeader h, long leaseId) {
    Lease l = leaseId == 0 ? null : lessor.lookup(leaseId);
    if (l != null) {
      for (ByteString key : l.keys()) {
        AuthStore.checkWrite(s, h, key, ByteString.EMPTY);
      }
    }
  }

  private static ResponseHeader header(long revision) {
    return ResponseHeader.newBuilder().setRevision(revision).build();
  }

  private WriteTxn begin(long index, ReplicatedCommand cmd) {
    return mvcc.beginWrite(index, cmd.getCommittedAtUnixMs(), cmd.getPrincipal());
  }

  private void commit(WriteTxn txn) {
    List<Event> events = txn.commit();
    if (!events.isEmpty()) {
      watchHub.publish(txn.revision(), events);
    }
  }

  // ------------------------------------------------------------------ put / delete

  private PutResponse put(long index, ReplicatedCommand cmd) {
    PutRequest p = cmd.getPut();
    WriteTxn txn = begin(index, cmd);
    // etcd's order: a Put checks its lease first, a Txn's put its key first (checkRequestPut)
    checkLease(p);
    PutResponse resp = doPut(txn, p); // checks the key
    commit(txn);
    return resp;
  }

  private void checkPut(WriteTxn txn, PutRequest p) {
    checkKey(txn, p);
    checkLease(p);
  }

  /** ignore_value and ignore_lease need the key. */
  private void checkKey(WriteTxn txn, PutRequest p) {
    if (p.getIgnoreValue() || p.getIgnoreLease()) {
      ops.range(); // etcd's checkRequestPut reads the key
      if (txn.get(p.getKey()) == null) {
        throw EtcdError.KEY_NOT_FOUND.exception();
      }
    }
  }

  private void checkLease(PutRequest p) {
    if (p.getLease() != 0 && lessor.lookup(p.getLease()) == null) {
      throw EtcdError.LEASE_NOT_FOUND.exception();
    }
  }

  private PutResponse doPut(WriteTxn txn, PutRequest p) {
    boolean ignore = p.getIgnoreValue() || p.getIgnoreLease();
    // the previous value is read only when the request needs it
    KeyValue prev = p.getIgnoreValue() || p.getPrevKv() ? txn.get(p.getKey()) : txn.getWithoutValue(p.getKey());
    if (ignore || p.getPrevKv()) {
      ops.range(); // etcd's Put reads the previous pair first
    }
    if (ignore && prev == null) {
      throw EtcdError.KEY_NOT_FOUND.exception();
    }
    ByteString value = p.getIgnoreValue() ? prev.getValue() : p.getValue();
    ops.put(p.getKey().size() + value.size());
    long lease = p.getIgnoreLease() ? prev.getLease() : p.getLease();
    txn.put(p.getKey(), value, lease, prev);
    lessor.attach(p.getKey(), prev == null ? 0 : prev.getLease(), lease);
    PutResponse.Builder resp = PutResponse.newBuilder().setHeader(header(txn.revision()));
    if (p.getPrevKv() && prev != null) {
      resp.setPrevKv(prev);
    }
    return resp.build();
  }

  private DeleteRangeResponse deleteRange(long index, ReplicatedCommand cmd) {
    WriteTxn txn = begin(index, cmd);
    DeleteRangeResponse resp = doDeleteRange(txn, cmd.getDeleteRange());
    commit(txn);
    return resp;
  }

  private DeleteRangeResponse doDeleteRange(WriteTxn txn, DeleteRangeRequest d) {
    if (d.getPrevKv()) {
      ops.range(); // etcd reads the previous pairs first
    }
    ops.delete();
    List<KeyValue> deleted = txn.deleteRange(d.getKey(), d.getRangeEnd());
    for (KeyValue kv : deleted) {
      lessor.detach(kv.getKey(), kv.getLease());
    }
    DeleteRangeResponse.Builder resp = DeleteRangeResponse.newBuilder()
        .setDeleted(deleted.size())
        .setHeader(header(txn.hasChanges() ? txn.revision() : txn.beginRevision()));
    if (d.getPrevKv()) {
      resp.addAllPrevKvs(deleted);
    }
    return resp.build();
  }

  // ------------------------------------------------------------------ txn

  private TxnResponse txn(long index, ReplicatedCommand cmd) {
    TxnRequest t = cmd.getTxn();
    WriteTxn txn = begin(index, cmd);
    boolean readOnly = isReadOnly(t);
    if (readOnly) {
      ops.readOnlyTxn(); // etcd serves it on the member asked, without Raft
    }
    List<Boolean> path = new ArrayList<>();
    choosePath(txn, t, path);
    checkTxn(txn, t, path, 0);
    if (!readOnly) {
      ops.endTxn(); // etcd evaluates in a read transaction, then runs the branch in a write one
    }
    TxnResponse.Builder resp = TxnResponse.newBuilder();
    applyTxn(txn, t, path, 0, resp);
    long rev = txn.hasChanges() ? txn.revision() : txn.beginRevision();
    commit(txn);
    return resp.setHeader(header(rev)).build();
  }

  /** etcd's isTxnReadonly: every op of both branches is a Range (a nested Txn is not). */
  private static boolean isReadOnly(TxnRequest t) {
    for (RequestOp op : t.getSuccessList()) {
      if (!op.hasRequestRange()) {
        return false;
      }
    }
    for (RequestOp op : t.getFailureList()) {
      if (!op.hasRequestRange()) {
        return false;
      }
    }
    return true;
  }

  /** Evaluates the compares of the txn and of every nested txn on the chosen branches. */
  private void choosePath(WriteTxn txn, TxnRequest t, List<Boolean> path) {
    boolean ok = true;
    for (Compare c : t.getCompareList()) {
      if (!compare(txn, c)) {
        ok = false;
        break;
      }
    }
    path.add(ok);
    for (RequestOp op : ok ? t.getSuccessList() : t.getFailureList()) {
      if (op.hasRequestTxn()) {
        choosePath(txn, op.getRequestTxn(), path);
      }
    }
  }

  private boolean compare(WriteTxn txn, Compare c) {
    ops.range();
    List<KeyValue> kvs = txn.range(RangeRequest.newBuilder().setKey(c.getKey()).setRangeEnd(c.getRangeEnd()).build())
        .getKvsList();
    if (kvs.isEmpty()) {
      if (c.getTarget() == Compare.CompareTarget.VALUE) {
        return false; // a missing key has no value to compare
      }
      return compareKv(c, KeyValue.getDefaultInstance());
    }
    for (KeyValue kv : kvs) {
      if (!compareKv(c, kv)) {
        return false;
      }
    }
    return true;
  }

  private static boolean compareKv(Compare c, KeyValue kv) {
    int result = switch (c.getTarget()) {
      case VALUE -> ByteString.unsignedLexicographicalComparator().compare(kv.getValue(), c.getValue());
      case CREATE -> Long.compare(kv.getCreateRevision(), c.getCreateRevision());
      case MOD -> Long.compare(kv.getModRevision(), c.getModRevision());
      case VERSION -> Long.compare(kv.getVersion(), c.getVersion());
      case LEASE -> Long.compare(kv.getLease(), c.getLease());
      default -> 0;
    };
    return switch (c.getResult()) {
      case EQUAL -> result == 0;
      case NOT_EQUAL -> result != 0;
      case GREATER -> result > 0;
      case LESS -> result < 0;
      default -> true;
    };
  }

  /** Checks every op on the chosen path before anything changes; returns the next path index. */
  private int checkTxn(WriteTxn txn, TxnRequest t, List<Boolean> path, int at) {
    boolean ok = path.get(at);
    int next = at + 1;
    for (RequestOp op : ok ? t.getSuccessList() : t.getFailureList()) {
      switch (op.getRequestCase()) {
        case REQUEST_PUT -> checkPut(txn, op.getRequestPut());
        case REQUEST_RANGE -> {
          long rev = op.getRequestRange().getRevision();
          if (rev > txn.beginRevision()) {
            throw EtcdError.FUTURE_REV.exception();
          }
          if (rev != 0 && rev < mvcc.compactRevision()) {
            throw EtcdError.COMPACTED.exception();
          }
        }
        case REQUEST_TXN -> next = checkTxn(txn, op.getRequestTxn(), path, next);
        default -> { }
      }
    }
    return next;
  }

  private int applyTxn(WriteTxn txn, TxnRequest t, List<Boolean> path, int at, TxnResponse.Builder resp) {
    boolean ok = path.get(at);
    resp.setSucceeded(ok);
    int next = at + 1;
    for (RequestOp op : ok ? t.getSuccessList() : t.getFailureList()) {
      ResponseOp.Builder r = ResponseOp.newBuilder();
      switch (op.getRequestCase()) {
        case REQUEST_RANGE -> {
          ops.range();
          r.setResponseRange(txn.range(op.getRequestRange()));
        }
        case REQUEST_PUT -> r.setResponsePut(doPut(txn, op.getRequestPut()));
        case REQUEST_DELETE_RANGE -> r.setResponseDeleteRange(doDeleteRange(txn, op.getRequestDeleteRange()));
        case REQUEST_TXN -> {
          TxnResponse.Builder inner = TxnResponse.newBuilder().setHeader(ResponseHeader.getDefaultInstance());
          next = applyTxn(txn, op.getRequestTxn(), path, next, inner);
          r.setResponseTxn(inner);
        }
        default -> { }
      }
      resp.addResponses(r);
    }
    return next;
  }

  // ------------------------------------------------------------------ compaction

  private CompactionResponse compaction(CompactionRequest c) {
    long rev = c.getRevision();
    if (rev <= mvcc.compactRevision()) {
      throw EtcdError.COMPACTED.exception();
    }
    if (rev > mvcc.currentRevision()) {
      throw EtcdError.FUTURE_REV.exception();
    }
    meta.setCompactRevision(rev);
    mvcc.compact(rev);
    return CompactionResponse.newBuilder().setHeader(header(mvcc.currentRevision())).build();
  }

  // ------------------------------------------------------------------ leases

  private LeaseGrantResponse leaseGrant(LeaseGrantRequest g) {
    Lease l = lessor.grant(g.getID(), g.getTTL());
    leases.recordGrant(l.ttl());
    return LeaseGrantResponse.newBuilder()
        .setHeader(header(mvcc.currentRevision()))
        .setID(l.id())
        .setTTL(l.ttl())
        .build();
  }

  private LeaseRevokeResponse leaseRevoke(long index, ReplicatedCommand cmd) {
    long id = cmd.getLeaseRevoke().getID();
    Lease l = lessor.lookup(id);
    if (l == null) {
      throw EtcdError.LEASE_NOT_FOUND.exception();
    }
    meta.setPending(undoRecord(index, id));
    WriteTxn txn = begin(index, cmd);
    for (ByteString key : l.keys()) {
      ops.delete();
      txn.deleteRange(key, ByteString.EMPTY);
    }
    commit(txn);
    lessor.remove(id);
    leases.recordRevoke();
    return LeaseRevokeResponse.newBuilder().setHeader(header(mvcc.currentRevision())).build();
  }

  private byte[] undoRecord(long index, long leaseId) {
    byte[] enc = lessor.persisted(leaseId);
    ByteBuffer b = ByteBuffer.allocate(8 + 8 + 4 + (enc == null ? 0 : enc.length));
    b.putLong(index).putLong(leaseId).putInt(enc == null ? -1 : enc.length);
    if (enc != null) {
      b.put(enc);
    }
    return b.array();
  }

  private LeaseCheckpointResponse leaseCheckpoint(LeaseCheckpointRequest c) {
    for (LeaseCheckpoint cp : c.getCheckpointsList()) {
      lessor.checkpoint(cp.getID(), cp.getRemainingTTL());
    }
    return LeaseCheckpointResponse.newBuilder().setHeader(header(mvcc.currentRevision())).build();
  }
}
