package io.etcsql.server.auth;

import io.etcsql.grpcapi.etcsqlpb.AuthHeader;
import io.grpc.Context;

/**
 * Who the current gRPC call acts for: the user of its token (or of its client certificate) and
 * the auth revision to check against, as {@link AuthInterceptor} resolved it. A call without
 * credentials has the empty header (no user, revision 0), which auth, once on, refuses with
 * "user name is empty".
 */
public final class AuthContext {
  static final Context.Key<AuthHeader> KEY = Context.key("etcsql-auth");
  /** Resolves the call's credentials again (a long stream checks each new watch as of now). */
  static final Context.Key<java.util.function.Supplier<AuthHeader>> AGAIN = Context.key("etcsql-auth-again");

  private AuthContext() {}

  /** The caller of the current call; the empty header outside a call or without credentials. */
  public static AuthHeader current() {
    AuthHeader h = KEY.get();
    return h == null ? AuthHeader.getDefaultInstance() : h;
  }

  /**
   * Resolves the current call's credentials anew each time it is called: the header as it is
   * now (a simple token's current revision), or fails with "invalid auth token" once the token
   * has died.
   */
  public static java.util.function.Supplier<AuthHeader> resolver() {
    java.util.function.Supplier<AuthHeader> again = AGAIN.get();
    AuthHeader fixed = current();
    return again != null ? again : () -> fixed;
  }
}
