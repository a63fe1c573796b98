package io.etcsql.server;

import io.etcsql.consensus.RaftNode;
import io.etcsql.grpcapi.authpb.User;
import io.etcsql.grpcapi.etcdserverpb.AuthDisableRequest;
import io.etcsql.grpcapi.etcdserverpb.AuthDisableResponse;
import io.etcsql.grpcapi.etcdserverpb.AuthEnableRequest;
import io.etcsql.grpcapi.etcdserverpb.AuthEnableResponse;
import io.etcsql.grpcapi.etcdserverpb.AuthGrpc;
import io.etcsql.grpcapi.etcdserverpb.AuthRoleAddRequest;
import io.etcsql.grpcapi.etcdserverpb.AuthRoleAddResponse;
import io.etcsql.grpcapi.etcdserverpb.AuthRoleDeleteRequest;
import io.etcsql.grpcapi.etcdserverpb.AuthRoleDeleteResponse;
import io.etcsql.grpcapi.etcdserverpb.AuthRoleGetRequest;
import io.etcsql.grpcapi.etcdserverpb.AuthRoleGetResponse;
import io.etcsql.grpcapi.etcdserverpb.AuthRoleGrantPermissionRequest;
import io.etcsql.grpcapi.etcdserverpb.AuthRoleGrantPermissionResponse;
import io.etcsql.grpcapi.etcdserverpb.AuthRoleListRequest;
import io.etcsql.grpcapi.etcdserverpb.AuthRoleListResponse;
import io.etcsql.grpcapi.etcdserverpb.AuthRoleRevokePermissionRequest;
import io.etcsql.grpcapi.etcdserverpb.AuthRoleRevokePermissionResponse;
import io.etcsql.grpcapi.etcdserverpb.AuthStatusRequest;
import io.etcsql.grpcapi.etcdserverpb.AuthStatusResponse;
import io.etcsql.grpcapi.etcdserverpb.AuthUserAddRequest;
import io.etcsql.grpcapi.etcdserverpb.AuthUserAddResponse;
import io.etcsql.grpcapi.etcdserverpb.AuthUserChangePasswordRequest;
import io.etcsql.grpcapi.etcdserverpb.AuthUserChangePasswordResponse;
import io.etcsql.grpcapi.etcdserverpb.AuthUserDeleteRequest;
import io.etcsql.grpcapi.etcdserverpb.AuthUserDeleteResponse;
import io.etcsql.grpcapi.etcdserverpb.AuthUserGetRequest;
import io.etcsql.grpcapi.etcdserverpb.AuthUserGetResponse;
import io.etcsql.grpcapi.etcdserverpb.AuthUserGrantRoleRequest;
import io.etcsql.grpcapi.etcdserverpb.AuthUserGrantRoleResponse;
import io.etcsql.grpcapi.etcdserverpb.AuthUserListRequest;
import io.etcsql.grpcapi.etcdserverpb.AuthUserListResponse;
import io.etcsql.grpcapi.etcdserverpb.AuthUserRevokeRoleRequest;
import io.etcsql.grpcapi.etcdserverpb.AuthUserRevokeRoleResponse;
import io.etcsql.grpcapi.etcdserverpb.AuthenticateRequest;
import io.etcsql.grpcapi.etcdserverpb.AuthenticateResponse;
import io.etcsql.grpcapi.etcsqlpb.AuthCommand;
import io.etcsql.grpcapi.etcsqlpb.Authenticate;
import io.etcsql.grpcapi.etcsqlpb.UserAdd;
import io.etcsql.grpcapi.etcsqlpb.UserChangePassword;
import io.etcsql.kvstore.EtcdError;
import io.etcsql.kvstore.auth.AuthStore;
import io.etcsql.server.auth.AuthContext;
import io.etcsql.server.auth.Passwords;
import io.etcsql.server.auth.Tokens;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Function;

/**
 * etcd's Auth service. Changes go through Raft as {@link AuthCommand}s (the apply checks the
 * root role and etcd's rules); passwords are hashed here first, so only bcrypt hashes are
 * replicated and stored. Authenticate checks the password against this member's state after a
 * linearizable read, then replicates the login so that every member knows a simple token; a JWT
 * is signed here. Reads of users and roles are linearizable and need the root role, except a
 * user reading themself or a role they hold.
 */
final class AuthService extends AuthGrpc.AuthImplBase {
  private final RaftNode node;
  private final Proposer proposer;
  private final ResponseHeaders headers;
  private final Passwords passwords;
  private final Tokens tokens;
  /** bcrypt is slow on purpose: it runs here, off the gRPC threads. */
  private final Executor hashing;

  AuthService(RaftNode node, Proposer proposer, ResponseHeaders headers, Passwords passwords, Tokens tokens,
      Executor hashing) {
    this.node = node;
    this.proposer = proposer;
    this.headers = headers;
    this.passwords = passwords;
    this.tokens = tokens;
    this.hashing = hashing;
  }

  private AuthStore store() {
    return node.store().auth();
  }

  /** Replicates {@code c} for the current caller and answers with {@code reply}'s header filled. */
  private <T> void change(AuthCommand c, Function<io.etcsql.grpcapi.etcdserverpb.ResponseHeader, T> reply,
      StreamObserver<T> observer) {
    Replies.now(() -> proposer.auth(c).thenApply(r -> reply.apply(headers.current())), observer);
  }

  @Override
  public void authEnable(AuthEnableRequest r, StreamObserver<AuthEnableResponse> o) {
    change(AuthCommand.newBuilder().setEnable(r).build(),
        h -> AuthEnableResponse.newBuilder().setHeader(h).build(), o);
  }

  @Override
  public void authDisable(AuthDisableRequest r, StreamObserver<AuthDisableResponse> o) {
    change(AuthCommand.newBuilder().setDisable(r).build(),
        h -> AuthDisableResponse.newBuilder().setHeader(h).build(), o);
  }

  @Override
  public void authStatus(AuthStatusRequest r, StreamObserver<AuthStatusResponse> o) {
    Replies.now(() -> node.readBarrier().thenApply(v -> AuthStatusResponse.newBuilder()
        .setHeader(headers.current()).setEnabled(store().enabled()).setAuthRevision(store().revision()).build()), o);
  }

  @Override
  public void authenticate(AuthenticateRequest r, StreamObserver<AuthenticateResponse> o) {
    Replies.now(() -> authenticate(r.getName(), r.getPassword(), 3), o);
  }

  /**
   * etcd's loop: the password is checked against the store at some revision; the login is
   * replicated; if the store changed in between (a password changed, say), check again.
   */
  private CompletableFuture<AuthenticateResponse> authenticate(String name, String password, int tries) {
    return node.readBarrier().thenApplyAsync(v -> {
      AuthStore.State s = store().state();
      if (!s.enabled()) {
        throw EtcdError.AUTH_NOT_ENABLED.exception();
      }
      User u = s.user(name);
      if (u == null) {
        throw EtcdError.AUTH_FAILED.exception();
      }
      if (u.getOptions().getNoPassword()) {
        throw EtcdError.NO_PASSWORD_USER.exception();
      }
      if (!Passwords.matches(u.getPassword(), password)) {
        throw EtcdError.AUTH_FAILED.exception();
      }
      return s.revision();
    }, hashing).thenCompose(checked -> proposer.auth(AuthCommand.newBuilder().setAuthenticate(
        Authenticate.newBuilder().setName(name).setSimpleToken(tokens.newSimplePrefix())).build())
        .thenCompose(result -> {
          if (result.getRevision() != checked && tries > 1) {
            return authenticate(name, password, tries - 1);
          }
          return CompletableFuture.completedFuture(AuthenticateResponse.newBuilder().setHeader(headers.current())
              .setToken(tokens.assign(name, result.getRevision(), result.getSimpleToken())).build());
        }));
  }

  @Override
  public void userAdd(AuthUserAddRequest r, StreamObserver<AuthUserAddResponse> o) {
    boolean noPassword = r.hasOptions() && r.getOptions().getNoPassword();
    Proposer caller = proposer.forCurrentCaller();
    Replies.now(() -> CompletableFuture.supplyAsync(() -> {
      UserAdd.Builder add = UserAdd.newBuilder().setName(r.getName());
      if (r.hasOptions()) {
        add.setOptions(r.getOptions());
      }
      if (!noPassword && !r.getName().isEmpty()) {
        add.setPasswordHash(passwords.hash(r.getPassword()));
      }
      return AuthCommand.newBuilder().setUserAdd(add).build();
    }, hashing).thenCompose(caller::auth).thenApply(x -> AuthUserAddResponse.newBuilder()
        .setHeader(headers.current()).build()), o);
  }

  @Override
  public void userDelete(AuthUserDeleteRequest r, StreamObserver<AuthUserDeleteResponse> o) {
    change(AuthCommand.newBuilder().setUserDelete(r).build(),
        h -> AuthUserDeleteResponse.newBuilder().setHeader(h).build(), o);
  }

  @Override
  public void userChangePassword(AuthUserChangePasswordRequest r, StreamObserver<AuthUserChangePasswordResponse> o) {
    Proposer caller = proposer.forCurrentCaller();
    Replies.now(() -> CompletableFuture.supplyAsync(() -> AuthCommand.newBuilder().setUserChangePassword(
        UserChangePassword.newBuilder().setName(r.getName()).setPasswordHash(passwords.hash(r.getPassword()))).build(),
        hashing).thenCompose(caller::auth).thenApply(x -> AuthUserChangePasswordResponse.newBuilder()
        .setHeader(headers.current()).build()), o);
  }

  @Override
  public void userGrantRole(AuthUserGrantRoleRequest r, StreamObserver<AuthUserGrantRoleResponse> o) {
    change(AuthCommand.newBuilder().setUserGrantRole(r).build(),
        h -> AuthUserGrantRoleResponse.newBuilder().setHeader(h).build(), o);
  }

  @Override
  public void userRevokeRole(AuthUserRevokeRoleRequest r, StreamObserver<AuthUserRevokeRoleResponse> o) {
    change(AuthCommand.newBuilder().setUserRevokeRole(r).build(),
        h -> AuthUserRevokeRoleResponse.newBuilder().setHeader(h).build(), o);
  }

  @Override
  public void roleAdd(AuthRoleAddRequest r, StreamObserver<AuthRoleAddResponse> o) {
    change(AuthCommand.newBuilder().setRoleAdd(r).build(),
        h -> AuthRoleAddResponse.newBuilder().setHeader(h).build(), o);
  }

  @Override
  public void roleDelete(AuthRoleDeleteRequest r, StreamObserver<AuthRoleDeleteResponse> o) {
    change(AuthCommand.newBuilder().setRoleDelete(r).build(),
        h -> AuthRoleDeleteResponse.newBuilder().setHeader(h).build(), o);
  }

  @Override
  public void roleGrantPermission(AuthRoleGrantPermissionRequest r, StreamObserver<AuthRoleGrantPermissionResponse> o) {
    change(AuthCommand.newBuilder().setRoleGrantPermission(r).build(),
        h -> AuthRoleGrantPermissionResponse.newBuilder().setHeader(h).build(), o);
  }

  @Override
  public void roleRevokePermission(AuthRoleRevokePermissionRequest r,
      StreamObserver<AuthRoleRevokePermissionResponse> o) {
    change(AuthCommand.newBuilder().setRoleRevokePermission(r).build(),
        h -> AuthRoleRevokePermissionResponse.newBuilder().setHeader(h).build(), o);
  }

  // ------------------------------------------------------------------ reads

  /** Answers from the auth store after a linearizable read barrier. */
  private <T> void read(Function<AuthStore.State, T> answer, StreamObserver<T> o) {
    Replies.now(() -> node.readBarrier().thenApply(v -> answer.apply(store().state())), o);
  }

  @Override
  public void userGet(AuthUserGetRequest r, StreamObserver<AuthUserGetResponse> o) {
    String caller = AuthContext.current().getUsername();
    read(s -> {
      if (!r.getName().equals(caller)) {
        AuthStore.checkAdmin(s, caller);
      }
      User u = s.user(r.getName());
      if (u == null) {
        throw EtcdError.USER_NOT_FOUND.exception();
      }
      return AuthUserGetResponse.newBuilder().setHeader(headers.current()).addAllRoles(u.getRolesList()).build();
    }, o);
  }

  @Override
  public void userList(AuthUserListRequest r, StreamObserver<AuthUserListResponse> o) {
    String caller = AuthContext.current().getUsername();
    read(s -> {
      AuthStore.checkAdmin(s, caller);
      return AuthUserListResponse.newBuilder().setHeader(headers.current()).addAllUsers(s.users().keySet()).build();
    }, o);
  }

  @Override
  public void roleGet(AuthRoleGetRequest r, StreamObserver<AuthRoleGetResponse> o) {
    String caller = AuthContext.current().getUsername();
    read(s -> {
      User self = s.user(caller);
      if (self == null || !self.getRolesList().contains(r.getRole())) {
        AuthStore.checkAdmin(s, caller);
      }
      var role = s.roles().get(r.getRole());
      if (role == null) {
        throw EtcdError.ROLE_NOT_FOUND.exception();
      }
      return AuthRoleGetResponse.newBuilder().setHeader(headers.current()).addAllPerm(role.getKeyPermissionList())
          .build();
    }, o);
  }

  @Override
  public void roleList(AuthRoleListRequest r, StreamObserver<AuthRoleListResponse> o) {
    String caller = AuthContext.current().getUsername();
    read(s -> {
      AuthStore.checkAdmin(s, caller);
      return AuthRoleListResponse.newBuilder().setHeader(headers.current()).addAllRoles(s.roles().keySet()).build();
    }, o);
  }
}
