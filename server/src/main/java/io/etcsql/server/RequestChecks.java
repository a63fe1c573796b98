package io.etcsql.server;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcdserverpb.Compare;
import io.etcsql.grpcapi.etcdserverpb.DeleteRangeRequest;
import io.etcsql.grpcapi.etcdserverpb.PutRequest;
import io.etcsql.grpcapi.etcdserverpb.RangeRequest;
import io.etcsql.grpcapi.etcdserverpb.RequestOp;
import io.etcsql.grpcapi.etcdserverpb.TxnRequest;
import io.etcsql.kvstore.EtcdError;
import io.etcsql.kvstore.EtcdException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Validation of client requests before they are replicated, with etcd's rules and order of
 * checks (etcd's v3rpc {@code check*Request} and {@code checkIntervals}). A request that fails
 * here changes nothing anywhere.
 */
final class RequestChecks {
  private RequestChecks() {}

  static void checkRange(RangeRequest r) {
    if (r.getKey().isEmpty()) {
      throw EtcdError.EMPTY_KEY.exception();
    }
    if (r.getSortOrder() == RangeRequest.SortOrder.UNRECOGNIZED
        || r.getSortTarget() == RangeRequest.SortTarget.UNRECOGNIZED) {
      throw EtcdError.INVALID_SORT_OPTION.exception();
    }
  }

  static void checkPut(PutRequest r) {
    if (r.getKey().isEmpty()) {
      throw EtcdError.EMPTY_KEY.exception();
    }
    if (r.getIgnoreValue() && !r.getValue().isEmpty()) {
      throw EtcdError.VALUE_PROVIDED.exception();
    }
    if (r.getIgnoreLease() && r.getLease() != 0) {
      throw EtcdError.LEASE_PROVIDED.exception();
    }
  }

  static void checkDelete(DeleteRangeRequest r) {
    if (r.getKey().isEmpty()) {
      throw EtcdError.EMPTY_KEY.exception();
    }
  }

  /** All txn checks: op counts, each op, then put/delete overlaps on each branch. */
  static void checkTxn(TxnRequest r, int maxTxnOps) {
    checkTxnOps(r, maxTxnOps);
    intervals(r.getSuccessList());
    intervals(r.getFailureList());
  }

  private static void checkTxnOps(TxnRequest r, int maxTxnOps) {
    int opc = Math.max(r.getCompareCount(), Math.max(r.getSuccessCount(), r.getFailureCount()));
    if (opc > maxTxnOps) {
      throw EtcdError.TOO_MANY_OPS.exception();
    }
    for (Compare c : r.getCompareList()) {
      if (c.getKey().isEmpty()) {
        throw EtcdError.EMPTY_KEY.exception();
      }
    }
    for (RequestOp op : r.getSuccessList()) {
      checkOp(op, maxTxnOps - opc);
    }
    for (RequestOp op : r.getFailureList()) {
      checkOp(op, maxTxnOps - opc);
    }
  }

  private static void checkOp(RequestOp op, int maxTxnOps) {
    switch (op.getRequestCase()) {
      case REQUEST_RANGE -> checkRange(op.getRequestRange());
      case REQUEST_PUT -> checkPut(op.getRequestPut());
      case REQUEST_DELETE_RANGE -> checkDelete(op.getRequestDeleteRange());
      case REQUEST_TXN -> checkTxnOps(op.getRequestTxn(), maxTxnOps);
      default -> throw EtcdError.KEY_NOT_FOUND.exception();
    }
  }

  /**
   * A deleted interval [begin, end); end null = a single key. As in etcd's checkIntervals (an
   * adt affine interval), a range_end of "\0" is not "to the end" here: [key, "\0") holds no key,
   * so a txn may put a key and delete everything from below it (etcd accepts that txn).
   */
  private record Interval(ByteString begin, ByteString end) {
    boolean contains(ByteString k) {
      var cmp = ByteString.unsignedLexicographicalComparator();
      if (end == null) {
        return begin.equals(k);
      }
      return cmp.compare(k, begin) >= 0 && cmp.compare(k, end) < 0;
    }
  }

  private record Writes(Set<ByteString> puts, List<Interval> dels) {}

  /**
   * etcd's checkIntervals: no key may be put twice, or both put and deleted, on one execution
   * path (nested txns included).
   */
  private static Writes intervals(List<RequestOp> reqs) {
    List<Interval> dels = new ArrayList<>();
    for (RequestOp req : reqs) {
      if (req.hasRequestDeleteRange()) {
        DeleteRangeRequest d = req.getRequestDeleteRange();
        dels.add(new Interval(d.getKey(), d.getRangeEnd().isEmpty() ? null : d.getRangeEnd()));
      }
    }
    Set<ByteString> puts = new HashSet<>();
    for (RequestOp req : reqs) {
      if (!req.hasRequestTxn()) {
        continue;
      }
      Writes then = intervals(req.getRequestTxn().getSuccessList());
      Writes otherwise = intervals(req.getRequestTxn().getFailureList());
      for (ByteString k : then.puts()) {
        if (puts.contains(k) || deleted(dels, k)) {
          throw EtcdError.DUPLICATE_KEY.exception();
        }
        puts.add(k);
      }
      for (ByteString k : otherwise.puts()) {
        if ((puts.contains(k) && !then.puts().contains(k)) || deleted(dels, k)) {
          throw EtcdError.DUPLICATE_KEY.exception();
        }
        puts.add(k);
      }
      dels.addAll(then.dels());
      dels.addAll(otherwise.dels());
    }
    for (RequestOp req : reqs) {
      if (!req.hasRequestPut()) {
        continue;
      }
      ByteString k = req.getRequestPut().getKey();
      if (puts.contains(k) || deleted(dels, k)) {
        throw EtcdError.DUPLICATE_KEY.exception();
      }
      puts.add(k);
    }
    return new Writes(puts, dels);
  }

  private static boolean deleted(List<Interval> dels, ByteString k) {
    for (Interval i : dels) {
      if (i.contains(k)) {
        return true;
      }
    }
    return false;
  }

  /** True if the txn only reads (no put or delete on any branch, nested included). */
  static boolean isReadOnly(TxnRequest r) {
    for (List<RequestOp> ops : List.of(r.getSuccessList(), r.getFailureList())) {
      for (RequestOp op : ops) {
        if (op.hasRequestPut() || op.hasRequestDeleteRange()
            || (op.hasRequestTxn() && !isReadOnly(op.getRequestTxn()))) {
          return false;
        }
      }
    }
    return true;
  }

  /** Fails with etcd's error if a request is larger than {@code --max-request-bytes}. */
  static void checkSize(com.google.protobuf.MessageLite request, int maxRequestBytes) {
    if (request.getSerializedSize() > maxRequestBytes) {
      throw new EtcdException(EtcdError.REQUEST_TOO_LARGE);
    }
  }
}
