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
  CORRUPT("etcdserver: corrupt cluster"),
  MEMBER_EXIST("etcdserver: member ID already exist"),
  PEER_URL_EXIST("etcdserver: Peer URLs already exists"),
  MEMBER_NOT_FOUND("etcdserver: member not found"),
  MEMBER_BAD_URLS("etcdserver: given member URLs are invalid"),
  MEMBER_NOT_LEARNER("etcdserver: can only promote a learner member"),
  LEARNER_NOT_READY("etcdserver: can only promote a learner member which is in sync with leader"),
  NOT_SUPPORTED_FOR_LEARNER("etcdserver: rpc not supported for learner"),
  MEMBER_NOT_ENOUGH_STARTED("etcdserver: re-configuration failed due to not enough started members"),
  UNHEALTHY("etcdserver: unhealthy cluster"),
  BAD_LEADER_TRANSFEREE("etcdserver: bad leader transferee"),
  LEADER_TRANSFER_TIMEOUT("etcdserver: request timed out, leader transfer took too long"),
  // auth (etcd's rpctypes texts)
  ROOT_USER_NOT_EXIST("etcdserver: root user does not exist"),
  ROOT_ROLE_NOT_EXIST("etcdserver: root user does not have root role"),
  USER_ALREADY_EXIST("etcdserver: user name already exists"),
  USER_EMPTY("etcdserver: user name is empty"),
  USER_NOT_FOUND("etcdserver: user name not found"),
  ROLE_ALREADY_EXIST("etcdserver: role name already exists"),
  ROLE_NOT_FOUND("etcdserver: role name not found"),
  ROLE_EMPTY("etcdserver: role name is empty"),
  AUTH_FAILED("etcdserver: authentication failed, invalid user ID or password"),
  PERMISSION_DENIED("etcdserver: permission denied"),
  ROLE_NOT_GRANTED("etcdserver: role is not granted to the user"),
  PERMISSION_NOT_GRANTED("etcdserver: permission is not granted to the role"),
  AUTH_NOT_ENABLED("etcdserver: authentication is not enabled"),
  INVALID_AUTH_TOKEN("etcdserver: invalid auth token"),
  INVALID_AUTH_MGMT("etcdserver: invalid auth management"),
  AUTH_OLD_REVISION("etcdserver: revision of auth store is old"),
  // not in etcd's table: its auth package's text, answered with code Unknown
  NO_PASSWORD_USER("auth: authentication failed, password was given for no password user");

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
