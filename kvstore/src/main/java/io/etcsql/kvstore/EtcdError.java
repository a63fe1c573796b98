package io.etcsql.kvstore;

/**
 * Every error etcsql reports to etcd clients, with etcd's exact text. The gRPC status code of
 * each is decided in exactly one place, the server's {@code GrpcErrors} table; this enum only
 * names the error and carries the message clients see.
 */
public enum EtcdError {
  EMPTY_KEY("etcdserver: key is not provided"),
  KEY_NOT_FOUND("etcdserver: key not found"),
  VALUE_PROVIDED("etcdserver: value is provided"),
  LEASE_PROVIDED("etcdserver: lease is provided"),
  TOO_MANY_OPS("etcdserver: too many operations in txn request"),
  DUPLICATE_KEY("etcdserver: duplicate key given in txn request"),
  INVALID_SORT_OPTION("etcdserver: invalid sort option"),
  COMPACTED("etcdserver: mvcc: required revision has been compacted"),
  FUTURE_REV("etcdserver: mvcc: required revision is a future revision"),
  NO_SPACE("etcdserver: mvcc: database space exceeded"),
  LEASE_NOT_FOUND("etcdserver: requested lease not found"),
  LEASE_EXIST("etcdserver: lease already exists"),
  LEASE_TTL_TOO_LARGE("etcdserver: too large lease TTL"),
  REQUEST_TOO_LARGE("etcdserver: request is too large"),
  WATCH_CANCELED("etcdserver: watch canceled"),
  NO_LEADER("etcdserver: no leader"),
  NOT_LEADER("etcdserver: not leader"),
  LEADER_CHANGED("etcdserver: leader changed"),
  STOPPED("etcdserver: server stopped"),
  TIMEOUT("etcdserver: request timed out"),
  CORRUPT("etcdserver: corrupt cluster");

  private final String message;

  EtcdError(String message) {
    this.message = message;
  }

  /** etcd's exact error text, as the client prints it. */
  public String message() {
    return message;
  }

  /** A new exception carrying this error. */
  public EtcdException exception() {
    return new EtcdException(this);
  }
}
