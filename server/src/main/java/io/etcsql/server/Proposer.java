package io.etcsql.server;

import io.etcsql.consensus.RaftNode;
import io.etcsql.grpcapi.etcdserverpb.CompactionRequest;
import io.etcsql.grpcapi.etcdserverpb.CompactionResponse;
import io.etcsql.grpcapi.etcdserverpb.DeleteRangeRequest;
import io.etcsql.grpcapi.etcdserverpb.DeleteRangeResponse;
import io.etcsql.grpcapi.etcdserverpb.LeaseGrantRequest;
import io.etcsql.grpcapi.etcdserverpb.LeaseGrantResponse;
import io.etcsql.grpcapi.etcdserverpb.LeaseRevokeRequest;
import io.etcsql.grpcapi.etcdserverpb.LeaseRevokeResponse;
import io.etcsql.grpcapi.etcdserverpb.PutRequest;
import io.etcsql.grpcapi.etcdserverpb.PutResponse;
import io.etcsql.grpcapi.etcdserverpb.TxnRequest;
import io.etcsql.grpcapi.etcdserverpb.TxnResponse;
import io.etcsql.grpcapi.etcsqlpb.AuthCommand;
import io.etcsql.grpcapi.etcsqlpb.AuthCommandResult;
import io.etcsql.grpcapi.etcsqlpb.AuthHeader;
import io.etcsql.grpcapi.etcsqlpb.CommandResult;
import io.etcsql.server.auth.AuthContext;
import io.etcsql.grpcapi.etcsqlpb.ReplicatedCommand;
import io.etcsql.kvstore.EtcdError;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Turns validated client requests into replicated commands and their results back into
 * responses (or etcd's errors). Enforces {@code --max-request-bytes} on the command as etcd does
 * on its Raft request.
 */
final class Proposer {
  private final RaftNode node;
  private final int maxRequestBytes;
  private final java.util.concurrent.atomic.AtomicLong pending;
  private final java.util.concurrent.atomic.AtomicLong failed;
  /** The caller the client requests act for; null: the current gRPC call's ({@link AuthContext}). */
  private final AuthHeader caller;

  Proposer(RaftNode node, int maxRequestBytes) {
    this(node, maxRequestBytes, new java.util.concurrent.atomic.AtomicLong(),
        new java.util.concurrent.atomic.AtomicLong(), null);
  }

  private Proposer(RaftNode node, int maxRequestBytes, java.util.concurrent.atomic.AtomicLong pending,
      java.util.concurrent.atomic.AtomicLong failed, AuthHeader caller) {
    this.node = node;
    this.maxRequestBytes = maxRequestBytes;
    this.pending = pending;
    this.failed = failed;
    this.caller = caller;
  }

  /**
   * The same proposer acting for the caller of the current gRPC call from now on, for work that
   * continues on other threads (lock and election wait for futures).
   */
  Proposer forCurrentCaller() {
    return new Proposer(node, maxRequestBytes, pending, failed, AuthContext.current());
  }

  /** Who the client requests proposed here act for. */
  AuthHeader caller() {
    return caller != null ? caller : AuthContext.current();
  }

  /** A client request: carries who asks (checked when applied, and recorded as the principal). */
  private ReplicatedCommand.Builder request() {
    AuthHeader who = caller();
    return ReplicatedCommand.newBuilder().setAuth(who).setPrincipal(who.getUsername());
  }

  private CompletableFuture<CommandResult> propose(ReplicatedCommand cmd) {
    if (cmd.getSerializedSize() > maxRequestBytes) {
      return CompletableFuture.failedFuture(EtcdError.REQUEST_TOO_LARGE.exception());
    }
    pending.incrementAndGet();
    CompletableFuture<CommandResult> proposed = node.propose(cmd);
    proposed.whenComplete((r, e) -> {
      pending.decrementAndGet();
      if (e != null) {
        failed.incrementAndGet(); // not committed in time, no leader, stopped (not apply-time errors)
      }
    });
    return proposed.thenApply(r -> {
      if (r.hasError()) {
        throw new CompletionException(GrpcErrors.fromCode(r.getError().getCode(), r.getError().getMessage()));
      }
      return r;
    });
  }

  /** Proposals sent and not yet answered (etcd_server_proposals_pending). */
  long pending() {
    return pending.get();
  }

  /** Proposals that failed to commit: timeouts, no leader, stopped (etcd_server_proposals_failed_total). */
  long failed() {
    return failed.get();
  }

  CompletableFuture<PutResponse> put(PutRequest r) {
    return propose(request().setPut(r).build()).thenApply(CommandResult::getPut);
  }

  CompletableFuture<DeleteRangeResponse> deleteRange(DeleteRangeRequest r) {
    return propose(request().setDeleteRange(r).build()).thenApply(CommandResult::getDeleteRange);
  }

  CompletableFuture<TxnResponse> txn(TxnRequest r) {
    return propose(request().setTxn(r).build()).thenApply(CommandResult::getTxn);
  }

  CompletableFuture<CompactionResponse> compact(CompactionRequest r) {
    return propose(request().setCompaction(r).build()).thenApply(CommandResult::getCompaction);
  }

  CompletableFuture<LeaseGrantResponse> leaseGrant(LeaseGrantRequest r) {
    return propose(request().setLeaseGrant(r).build()).thenApply(CommandResult::getLeaseGrant);
  }

  CompletableFuture<LeaseRevokeResponse> leaseRevoke(LeaseRevokeRequest r) {
    return propose(request().setLeaseRevoke(r).build()).thenApply(CommandResult::getLeaseRevoke);
  }

  CompletableFuture<AuthCommandResult> auth(AuthCommand c) {
    return propose(request().setAuthCommand(c).build()).thenApply(CommandResult::getAuthCommand);
  }

  /** A command of the node itself: no caller, no permission check. */
  CompletableFuture<CommandResult> raw(ReplicatedCommand cmd) {
    return propose(cmd);
  }
}
