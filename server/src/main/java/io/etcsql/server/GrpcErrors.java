package io.etcsql.server;

import io.etcsql.kvstore.EtcdError;
import io.etcsql.kvstore.EtcdException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.CompletionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one table from etcsql's named errors to gRPC statuses, with etcd's codes (etcd's
 * {@code rpctypes} package). The message is always etcd's exact text.
 */
public final class GrpcErrors {
  private static final Logger LOG = LoggerFactory.getLogger(GrpcErrors.class);
  private static final Map<EtcdError, Status.Code> CODES = new EnumMap<>(EtcdError.class);

  static {
    CODES.put(EtcdError.EMPTY_KEY, Status.Code.INVALID_ARGUMENT);
    CODES.put(EtcdError.KEY_NOT_FOUND, Status.Code.INVALID_ARGUMENT);
    CODES.put(EtcdError.VALUE_PROVIDED, Status.Code.INVALID_ARGUMENT);
    CODES.put(EtcdError.LEASE_PROVIDED, Status.Code.INVALID_ARGUMENT);
    CODES.put(EtcdError.TOO_MANY_OPS, Status.Code.INVALID_ARGUMENT);
    CODES.put(EtcdError.DUPLICATE_KEY, Status.Code.INVALID_ARGUMENT);
    CODES.put(EtcdError.INVALID_SORT_OPTION, Status.Code.INVALID_ARGUMENT);
    CODES.put(EtcdError.COMPACTED, Status.Code.OUT_OF_RANGE);
    CODES.put(EtcdError.FUTURE_REV, Status.Code.OUT_OF_RANGE);
    CODES.put(EtcdError.NO_SPACE, Status.Code.RESOURCE_EXHAUSTED);
    CODES.put(EtcdError.LEASE_NOT_FOUND, Status.Code.NOT_FOUND);
    CODES.put(EtcdError.LEASE_EXIST, Status.Code.FAILED_PRECONDITION);
    CODES.put(EtcdError.LEASE_TTL_TOO_LARGE, Status.Code.OUT_OF_RANGE);
    CODES.put(EtcdError.REQUEST_TOO_LARGE, Status.Code.INVALID_ARGUMENT);
    CODES.put(EtcdError.WATCH_CANCELED, Status.Code.CANCELLED);
    CODES.put(EtcdError.NO_LEADER, Status.Code.UNAVAILABLE);
    CODES.put(EtcdError.NOT_LEADER, Status.Code.FAILED_PRECONDITION);
    CODES.put(EtcdError.LEADER_CHANGED, Status.Code.UNAVAILABLE);
    CODES.put(EtcdError.STOPPED, Status.Code.UNAVAILABLE);
    CODES.put(EtcdError.TIMEOUT, Status.Code.UNAVAILABLE);
    CODES.put(EtcdError.CORRUPT, Status.Code.DATA_LOSS);
    CODES.put(EtcdError.MEMBER_EXIST, Status.Code.FAILED_PRECONDITION);
    CODES.put(EtcdError.PEER_URL_EXIST, Status.Code.FAILED_PRECONDITION);
    CODES.put(EtcdError.MEMBER_NOT_FOUND, Status.Code.NOT_FOUND);
    CODES.put(EtcdError.MEMBER_BAD_URLS, Status.Code.INVALID_ARGUMENT);
    CODES.put(EtcdError.MEMBER_NOT_LEARNER, Status.Code.FAILED_PRECONDITION);
    CODES.put(EtcdError.LEARNER_NOT_READY, Status.Code.FAILED_PRECONDITION);
    CODES.put(EtcdError.MEMBER_NOT_ENOUGH_STARTED, Status.Code.FAILED_PRECONDITION);
    CODES.put(EtcdError.UNHEALTHY, Status.Code.UNAVAILABLE);
    CODES.put(EtcdError.NOT_SUPPORTED_FOR_LEARNER, Status.Code.UNAVAILABLE);
    CODES.put(EtcdError.BAD_LEADER_TRANSFEREE, Status.Code.FAILED_PRECONDITION);
    // not in etcd 3.4's toGRPCErrorMap: its text with code Unknown
    CODES.put(EtcdError.LEADER_TRANSFER_TIMEOUT, Status.Code.UNKNOWN);
    CODES.put(EtcdError.ROOT_USER_NOT_EXIST, Status.Code.FAILED_PRECONDITION);
    CODES.put(EtcdError.ROOT_ROLE_NOT_EXIST, Status.Code.FAILED_PRECONDITION);
    CODES.put(EtcdError.USER_ALREADY_EXIST, Status.Code.FAILED_PRECONDITION);
    CODES.put(EtcdError.USER_EMPTY, Status.Code.INVALID_ARGUMENT);
    CODES.put(EtcdError.USER_NOT_FOUND, Status.Code.FAILED_PRECONDITION);
    CODES.put(EtcdError.ROLE_ALREADY_EXIST, Status.Code.FAILED_PRECONDITION);
    CODES.put(EtcdError.ROLE_NOT_FOUND, Status.Code.FAILED_PRECONDITION);
    CODES.put(EtcdError.ROLE_EMPTY, Status.Code.INVALID_ARGUMENT);
    CODES.put(EtcdError.AUTH_FAILED, Status.Code.INVALID_ARGUMENT);
    CODES.put(EtcdError.PERMISSION_DENIED, Status.Code.PERMISSION_DENIED);
    CODES.put(EtcdError.ROLE_NOT_GRANTED, Status.Code.FAILED_PRECONDITION);
    CODES.put(EtcdError.PERMISSION_NOT_GRANTED, Status.Code.FAILED_PRECONDITION);
    CODES.put(EtcdError.AUTH_NOT_ENABLED, Status.Code.FAILED_PRECONDITION);
    CODES.put(EtcdError.INVALID_AUTH_TOKEN, Status.Code.UNAUTHENTICATED);
    CODES.put(EtcdError.INVALID_AUTH_MGMT, Status.Code.INVALID_ARGUMENT);
    CODES.put(EtcdError.AUTH_OLD_REVISION, Status.Code.INVALID_ARGUMENT);
    CODES.put(EtcdError.NO_PASSWORD_USER, Status.Code.UNKNOWN);
    for (EtcdError e : EtcdError.values()) {
      if (!CODES.containsKey(e)) {
        throw new ExceptionInInitializerError("no gRPC code for " + e);
      }
    }
  }

  private GrpcErrors() {}

  public static StatusRuntimeException toStatus(EtcdError error) {
    return CODES.get(error).toStatus().withDescription(error.message()).asRuntimeException();
  }

  /** The status a failed request answers with; unexpected failures are logged and UNKNOWN. */
  public static StatusRuntimeException toStatus(Throwable t) {
    Throwable cause = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    if (cause instanceof EtcdException e) {
      return toStatus(e.error());
    }
    if (cause instanceof StatusRuntimeException s) {
      return s;
    }
    LOG.error("request failed unexpectedly", cause);
    return Status.UNKNOWN.withDescription(String.valueOf(cause.getMessage())).asRuntimeException();
  }

  /** Maps an apply-time error carried in a command result back to its status. */
  public static StatusRuntimeException fromCode(String code, String message) {
    try {
      return toStatus(EtcdError.valueOf(code));
    } catch (IllegalArgumentException unknown) {
      return Status.UNKNOWN.withDescription(message).asRuntimeException();
    }
  }
}
