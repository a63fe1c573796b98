package io.etcsql.server.auth;

import io.etcsql.grpcapi.etcsqlpb.AuthHeader;

/** etcd's token providers: what a successful Authenticate returns and what calls then carry. */
public interface Tokens {
  /**
   * The token of user {@code name} authenticated at auth revision {@code revision}; for simple
   * tokens {@code simpleToken} is the one the Authenticate command registered on every member.
   */
  String assign(String name, long revision, String simpleToken);

  /**
   * Who a token stands for, with the revision to check permissions against, or null for a token
   * that is unknown, expired or forged.
   */
  AuthHeader info(String token, long currentRevision);

  /** The prefix of a new simple token (random letters), or "" when tokens are not simple. */
  String newSimplePrefix();

  /** The user was deleted or changed password: their tokens stop working (simple tokens). */
  void invalidateUser(String name);

  /** Auth was disabled: every simple token dies (etcd's tokenProvider.disable). */
  void clear();

  /** A simple token registered by applying an Authenticate command. */
  void registered(String name, String token);
}
