package io.etcsql.server.auth;

import io.etcsql.grpcapi.etcsqlpb.AuthHeader;
import io.etcsql.kvstore.EtcdError;
import io.etcsql.kvstore.auth.AuthStore;
import io.etcsql.server.GrpcErrors;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;

/**
 * Resolves who a call acts for, as etcd's AuthInfoFromCtx then AuthInfoFromTLS: the token in
 * the {@code token} metadata (etcd's clients) or {@code authorization} (the JSON gateway), else,
 * with {@code --client-cert-auth}, the common name of the verified client certificate. A token
 * that is unknown, expired or forged fails the call with "etcdserver: invalid auth token"
 * (UNAUTHENTICATED) while auth is on. The answer is in {@link AuthContext} for the services.
 * Maintenance and membership calls that etcd reserves to the root role are refused here.
 */
public final class AuthInterceptor implements ServerInterceptor {
  private static final Metadata.Key<String> TOKEN = Metadata.Key.of("token", Metadata.ASCII_STRING_MARSHALLER);
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  /** grpc-gateway's mark: etcd ignores the certificate name of calls the gateway proxies. */
  private static final Metadata.Key<String> GATEWAY = Metadata.Key.of("grpcgateway-accept", Metadata.ASCII_STRING_MARSHALLER);

  /** Calls etcd lets only the root role make while auth is on (its API layer checks). */
  private static final java.util.Set<String> ADMIN_ONLY = java.util.Set.of(
      "etcdserverpb.Maintenance/Snapshot", "etcdserverpb.Maintenance/Hash", "etcdserverpb.Maintenance/HashKV",
      "etcdserverpb.Maintenance/Defragment", "etcdserverpb.Maintenance/MoveLeader",
      "etcdserverpb.Cluster/MemberAdd", "etcdserverpb.Cluster/MemberRemove", "etcdserverpb.Cluster/MemberUpdate",
      "etcdserverpb.Cluster/MemberPromote");

  private final AuthStore store;
  private final Tokens tokens;
  public AuthInterceptor(AuthStore store, Tokens tokens) {
    this.store = store;
    this.tokens = tokens;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    AuthHeader who = null;
    String token = headers.get(TOKEN);
    if (token == null) {
      token = headers.get(AUTHORIZATION);
    }
    if (token != null) {
      // as etcd, a token is checked also while auth is off (when none is valid but a JWT)
      who = tokens.info(token, store.revision());
      if (who == null) {
        call.close(GrpcErrors.toStatus(EtcdError.INVALID_AUTH_TOKEN).getStatus(), new Metadata());
        return new ServerCall.Listener<>() { };
      }
    } else if (store.enabled()) {
      if (headers.get(GATEWAY) == null) {
        // set on https listeners with --client-cert-auth, from the verified client certificate
        String cn = io.etcsql.server.tls.ClientCertificates.COMMON_NAME.get();
        if (cn != null) {
          who = AuthHeader.newBuilder().setUsername(cn).setAuthRevision(store.revision()).build();
        }
      }
    }
    if (store.enabled() && ADMIN_ONLY.contains(call.getMethodDescriptor().getFullMethodName())) {
      try {
        AuthStore.checkAdmin(store.state(), who == null ? "" : who.getUsername());
      } catch (io.etcsql.kvstore.EtcdException denied) {
        io.grpc.Status status = call.getMethodDescriptor().getServiceName().equals("etcdserverpb.Maintenance")
            // etcd's maintenance server returns its auth package's error untranslated
            ? io.grpc.Status.UNKNOWN.withDescription(authPackageText(denied.error()))
            : GrpcErrors.toStatus(denied.error()).getStatus();
        call.close(status, new Metadata());
        return new ServerCall.Listener<>() { };
      }
    }
    if (who == null) {
      return next.startCall(call, headers);
    }
    java.util.function.Supplier<AuthHeader> again = againFor(token, who);
    return Contexts.interceptCall(Context.current().withValue(AuthContext.KEY, who).withValue(AuthContext.AGAIN, again),
        call, headers, next);
  }

  /** Resolves the call's credentials again: the token it came with, else its certificate's name. */
  private java.util.function.Supplier<AuthHeader> againFor(String token, AuthHeader first) {
    if (token == null) { // a certificate's name: checked as of the store's current revision
      return () -> first.toBuilder().setAuthRevision(store.revision()).build();
    }
    return () -> {
      if (!store.enabled()) {
        return AuthHeader.getDefaultInstance();
      }
      AuthHeader now = tokens.info(token, store.revision());
      if (now == null) {
        throw EtcdError.INVALID_AUTH_TOKEN.exception();
      }
      return now;
    };
  }

  /** The text of etcd's auth package for an error (before its gRPC layer renames it). */
  static String authPackageText(EtcdError e) {
    return switch (e) {
      case USER_NOT_FOUND -> "auth: user not found";
      case AUTH_OLD_REVISION -> "auth: revision in header is old";
      default -> e.message().replace("etcdserver: ", "auth: ");
    };
  }
}
