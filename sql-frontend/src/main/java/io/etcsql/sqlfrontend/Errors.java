package io.etcsql.sqlfrontend;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.function.Supplier;

/** Turns etcd's gRPC errors into exceptions whose message a SQL user can act on. */
final class Errors {
  static final String COMPACTED = "etcdserver: mvcc: required revision has been compacted";
  static final String FUTURE = "etcdserver: mvcc: required revision is a future revision";

  private Errors() {
  }

  /** A failure of the etcd API, with etcd's status and message, reported to SQL clients. */
  static final class EtcdApiException extends RuntimeException {
    final Status.Code code;

    EtcdApiException(String message, Status.Code code, Throwable cause) {
      super(message, cause);
      this.code = code;
    }
  }

  /**
   * Runs a read at {@code revision} (0: the latest); a compacted or future revision becomes an
   * error naming the revision asked for and the oldest one still readable.
   */
  static <T> T call(Supplier<T> rpc, long revision, EtcdClient etcd) {
    try {
      return rpc.get();
    } catch (StatusRuntimeException e) {
      String msg = e.getStatus().getDescription();
      if (COMPACTED.equals(msg)) {
        long compacted = etcd.compactRevision();
        throw new EtcdApiException("revision " + revision + " has been compacted: the oldest revision still readable is "
            + compacted + " (" + msg + ")", e.getStatus().getCode(), e);
      }
      if (FUTURE.equals(msg)) {
        throw new EtcdApiException("revision " + revision + " is in the future (" + msg + ")", e.getStatus().getCode(), e);
      }
      throw new EtcdApiException("etcd: " + e.getStatus().getCode() + (msg == null ? "" : ": " + msg),
          e.getStatus().getCode(), e);
    }
  }
}
