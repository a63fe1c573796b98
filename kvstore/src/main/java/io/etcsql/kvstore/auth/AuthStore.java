package io.etcsql.kvstore.auth;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.etcsql.grpcapi.authpb.Permission;
import io.etcsql.grpcapi.authpb.Role;
import io.etcsql.grpcapi.authpb.User;
import io.etcsql.grpcapi.authpb.UserAddOptions;
import io.etcsql.grpcapi.etcdserverpb.AuthRoleGrantPermissionRequest;
import io.etcsql.grpcapi.etcdserverpb.AuthRoleRevokePermissionRequest;
import io.etcsql.grpcapi.etcdserverpb.AuthUserGrantRoleRequest;
import io.etcsql.grpcapi.etcdserverpb.AuthUserRevokeRoleRequest;
import io.etcsql.grpcapi.etcsqlpb.AuthCommand;
import io.etcsql.grpcapi.etcsqlpb.AuthCommandResult;
import io.etcsql.grpcapi.etcsqlpb.AuthHeader;
import io.etcsql.grpcapi.etcsqlpb.AuthState;
import io.etcsql.kvstore.EtcdError;
import io.etcsql.kvstore.backend.MetaStore;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * etcd's auth store as replicated state: whether auth is on, its revision, the users (with
 * bcrypt hashes, never passwords) and the roles with their key permissions. Changed only by
 * applying {@link AuthCommand}s, with etcd 3.4's rules and errors; a failed command changes
 * nothing. Every change but enable bumps the revision, which makes the tokens issued before it
 * old ("revision of auth store is old") as in etcd.
 *
 * <p>Readers (permission checks on any thread) see an immutable snapshot swapped in after each
 * change. The state is persisted whole with the Raft index of the command that made it, so a
 * command replayed after a crash is skipped rather than applied twice.
 */
public final class AuthStore {
  public static final String ROOT = "root";

  /** The auth store at one point of the log. Immutable. */
  public record State(long appliedIndex, boolean enabled, long revision, Map<String, User> users,
      Map<String, Role> roles, Map<String, RangePermissions> permissions) {

    public User user(String name) {
      return users.get(name);
    }

    public boolean hasRootRole(String name) {
      User u = users.get(name);
      return u != null && u.getRolesList().contains(ROOT);
    }
  }

  private final MetaStore meta;
  private volatile State state;
  /** Called on apply (the apply thread) with the name of a user whose tokens must die. */
  private volatile Consumer<String> userInvalidated = name -> { };
  /** Called on apply with (user, simple token) of each Authenticate that registers one. */
  private volatile java.util.function.BiConsumer<String, String> authenticated = (name, token) -> { };
  private final List<Runnable> changed = new java.util.concurrent.CopyOnWriteArrayList<>();

  public AuthStore(MetaStore meta) {
    this.meta = meta;
    reload();
  }

  /** Reads the persisted state again (after a snapshot was installed). */
  public void reload() {
    byte[] enc = meta.auth();
    AuthState s;
    try {
      s = enc == null ? AuthState.getDefaultInstance() : AuthState.parseFrom(enc);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("corrupt auth state", e);
    }
    // etcd's store starts at revision 1
    this.state = build(s.getAppliedIndex(), s.getEnabled(), Math.max(1, s.getRevision()), s.getUsersList(),
        s.getRolesList());
  }

  /** The encoded state, for snapshots. */
  public byte[] encoded() {
    return encode(state).toByteArray();
  }

  public State state() {
    return state;
  }

  public boolean enabled() {
    return state.enabled();
  }

  public long revision() {
    return state.revision();
  }

  public void onUserInvalidated(Consumer<String> listener) {
    this.userInvalidated = listener;
  }

  /**
   * Runs {@code listener} on the apply thread after each change of users, roles, permissions or
   * the enabled flag (open watches are checked again with it). It must not fail nor block.
   */
  public void onChange(Runnable listener) {
    changed.add(listener);
  }

  public void onAuthenticated(java.util.function.BiConsumer<String, String> listener) {
    this.authenticated = listener;
  }

  // ------------------------------------------------------------------ checks (etcd's auth store)

  /** etcd's IsAdminPermitted: nothing to check while auth is off; otherwise the root role. */
  public static void checkAdmin(State s, String username) {
    if (!s.enabled()) {
      return;
    }
    if (username == null || username.isEmpty()) {
      throw EtcdError.USER_EMPTY.exception();
    }
    User u = s.user(username);
    if (u == null) {
      throw EtcdError.USER_NOT_FOUND.exception();
    }
    if (!u.getRolesList().contains(ROOT)) {
      throw EtcdError.PERMISSION_DENIED.exception();
    }
  }

  /** Read access to {@code [key, rangeEnd)} (a single key when rangeEnd is empty). */
  public static void checkRead(State s, AuthHeader h, ByteString key, ByteString rangeEnd) {
    checkOp(s, h, key, rangeEnd, false);
  }

  /** Write access to {@code [key, rangeEnd)} (a single key when rangeEnd is empty). */
  public static void checkWrite(State s, AuthHeader h, ByteString key, ByteString rangeEnd) {
    checkOp(s, h, key, rangeEnd, true);
  }

  private static void checkOp(State s, AuthHeader h, ByteString key, ByteString rangeEnd, boolean write) {
    if (!s.enabled()) {
      return;
    }
    if (h.getAuthRevision() == 0) {
      throw EtcdError.USER_EMPTY.exception();
    }
    if (h.getAuthRevision() < s.revision()) {
      throw EtcdError.AUTH_OLD_REVISION.exception();
    }
    User u = s.user(h.getUsername());
    if (u == null) {
      throw EtcdError.PERMISSION_DENIED.exception();
    }
    if (u.getRolesList().contains(ROOT)) {
      return;
    }
    RangePermissions p = s.permissions().get(h.getUsername());
    if (p == null || !p.permits(key.toByteArray(), rangeEnd.toByteArray(), write)) {
      throw EtcdError.PERMISSION_DENIED.exception();
    }
  }

  // ------------------------------------------------------------------ apply

  /**
   * Applies one auth command at Raft index {@code index} for the user in {@code header} (admin
   * commands need the root role while auth is on). Deterministic.
   */
  public AuthCommandResult apply(long index, AuthCommand c, AuthHeader header) {
    State s = state;
    if (index <= s.appliedIndex()) {
      return AuthCommandResult.newBuilder().setRevision(s.revision()).build(); // replayed after a restart
    }
    if (c.getOpCase() != AuthCommand.OpCase.AUTHENTICATE) {
      checkAdmin(s, header.getUsername());
    }
    TreeMap<String, User> users = new TreeMap<>(s.users());
    TreeMap<String, Role> roles = new TreeMap<>(s.roles());
    boolean enabled = s.enabled();
    boolean bump = true;
    String invalidate = null;
    switch (c.getOpCase()) {
      case ENABLE -> {
        bump = false; // etcd: enabling keeps the revision
        if (!enabled) {
          User root = users.get(ROOT);
          if (root == null) {
            throw EtcdError.ROOT_USER_NOT_EXIST.exception();
          }
          if (!root.getRolesList().contains(ROOT)) {
            throw EtcdError.ROOT_ROLE_NOT_EXIST.exception();
          }
          enabled = true;
        }
      }
      case DISABLE -> {
        if (!enabled) {
          return result(s.revision());
        }
        enabled = false;
      }
      case USER_ADD -> {
        var r = c.getUserAdd();
        if (r.getName().isEmpty()) {
          throw EtcdError.USER_EMPTY.exception();
        }
        if (users.containsKey(r.getName())) {
          throw EtcdError.USER_ALREADY_EXIST.exception();
        }
        UserAddOptions options = r.hasOptions() ? r.getOptions() : UserAddOptions.getDefaultInstance();
        users.put(r.getName(), User.newBuilder().setName(ByteString.copyFromUtf8(r.getName()))
            .setPassword(r.getPasswordHash()).setOptions(options).build());
      }
      case USER_DELETE -> {
        String name = c.getUserDelete().getName();
        if (enabled && ROOT.equals(name)) {
          throw EtcdError.INVALID_AUTH_MGMT.exception();
        }
        if (users.remove(name) == null) {
          throw EtcdError.USER_NOT_FOUND.exception();
        }
        invalidate = name;
      }
      case USER_CHANGE_PASSWORD -> {
        var r = c.getUserChangePassword();
        User u = users.get(r.getName());
        if (u == null) {
          throw EtcdError.USER_NOT_FOUND.exception();
        }
        users.put(r.getName(), u.toBuilder().setPassword(r.getPasswordHash()).build());
        invalidate = r.getName();
      }
      case USER_GRANT_ROLE -> {
        AuthUserGrantRoleRequest r = c.getUserGrantRole();
        User u = users.get(r.getUser());
        if (u == null) {
          throw EtcdError.USER_NOT_FOUND.exception();
        }
        if (!ROOT.equals(r.getRole()) && !roles.containsKey(r.getRole())) {
          throw EtcdError.ROLE_NOT_FOUND.exception();
        }
        if (u.getRolesList().contains(r.getRole())) {
          return result(s.revision()); // etcd: granted already, nothing changes
        }
        List<String> granted = new ArrayList<>(u.getRolesList());
        granted.add(r.getRole());
        Collections.sort(granted);
        users.put(r.getUser(), u.toBuilder().clearRoles().addAllRoles(granted).build());
      }
      case USER_REVOKE_ROLE -> {
        AuthUserRevokeRoleRequest r = c.getUserRevokeRole();
        if (enabled && ROOT.equals(r.getName()) && ROOT.equals(r.getRole())) {
          throw EtcdError.INVALID_AUTH_MGMT.exception();
        }
        User u = users.get(r.getName());
        if (u == null) {
          throw EtcdError.USER_NOT_FOUND.exception();
        }
        List<String> left = new ArrayList<>(u.getRolesList());
        if (!left.remove(r.getRole())) {
          throw EtcdError.ROLE_NOT_GRANTED.exception();
        }
        users.put(r.getName(), u.toBuilder().clearRoles().addAllRoles(left).build());
      }
      case ROLE_ADD -> {
        String name = c.getRoleAdd().getName();
        if (name.isEmpty()) {
          throw EtcdError.ROLE_EMPTY.exception();
        }
        if (roles.containsKey(name)) {
          throw EtcdError.ROLE_ALREADY_EXIST.exception();
        }
        roles.put(name, Role.newBuilder().setName(ByteString.copyFromUtf8(name)).build());
      }
      case ROLE_GRANT_PERMISSION -> {
        AuthRoleGrantPermissionRequest r = c.getRoleGrantPermission();
        Role role = roles.get(r.getName());
        if (role == null) {
          throw EtcdError.ROLE_NOT_FOUND.exception();
        }
        List<Permission> perms = new ArrayList<>(role.getKeyPermissionList());
        Permission p = r.getPerm();
        boolean updated = false;
        for (int i = 0; i < perms.size(); i++) {
          Permission old = perms.get(i);
          if (old.getKey().equals(p.getKey()) && old.getRangeEnd().equals(p.getRangeEnd())) {
            perms.set(i, old.toBuilder().setPermType(p.getPermType()).build());
            updated = true;
            break;
          }
        }
        if (!updated) {
          perms.add(Permission.newBuilder().setKey(p.getKey()).setRangeEnd(p.getRangeEnd())
              .setPermType(p.getPermType()).build());
          perms.sort((a, b) -> ByteString.unsignedLexicographicalComparator().compare(a.getKey(), b.getKey()));
        }
        roles.put(r.getName(), role.toBuilder().clearKeyPermission().addAllKeyPermission(perms).build());
      }
      case ROLE_REVOKE_PERMISSION -> {
        AuthRoleRevokePermissionRequest r = c.getRoleRevokePermission();
        Role role = roles.get(r.getRole());
        if (role == null) {
          throw EtcdError.ROLE_NOT_FOUND.exception();
        }
        List<Permission> perms = new ArrayList<>(role.getKeyPermissionList());
        if (!perms.removeIf(p -> p.getKey().equals(r.getKey()) && p.getRangeEnd().equals(r.getRangeEnd()))) {
          throw EtcdError.PERMISSION_NOT_GRANTED.exception();
        }
        roles.put(r.getRole(), role.toBuilder().clearKeyPermission().addAllKeyPermission(perms).build());
      }
      case ROLE_DELETE -> {
        String name = c.getRoleDelete().getRole();
        if (enabled && ROOT.equals(name)) {
          throw EtcdError.INVALID_AUTH_MGMT.exception();
        }
        if (roles.remove(name) == null) {
          throw EtcdError.ROLE_NOT_FOUND.exception();
        }
        for (Map.Entry<String, User> e : users.entrySet()) {
          if (e.getValue().getRolesList().contains(name)) {
            List<String> left = new ArrayList<>(e.getValue().getRolesList());
            left.remove(name);
            e.setValue(e.getValue().toBuilder().clearRoles().addAllRoles(left).build());
          }
        }
      }
      case AUTHENTICATE -> {
        if (!enabled) {
          throw EtcdError.AUTH_NOT_ENABLED.exception();
        }
        User u = users.get(c.getAuthenticate().getName());
        if (u == null || u.getOptions().getNoPassword()) {
          throw EtcdError.AUTH_FAILED.exception();
        }
        String prefix = c.getAuthenticate().getSimpleToken();
        if (prefix.isEmpty()) {
          return result(s.revision()); // JWT: the proposing member signs one
        }
        // etcd's simple token: the proposer's random prefix and this entry's index, on every member
        String token = prefix + "." + index;
        authenticated.accept(c.getAuthenticate().getName(), token);
        return result(s.revision()).toBuilder().setSimpleToken(token).build();
      }
      default -> throw new IllegalArgumentException("unknown auth command " + c.getOpCase());
    }
    long revision = bump ? s.revision() + 1 : s.revision();
    State next = build(index, enabled, revision, users.values(), roles.values());
    meta.setAuth(encode(next).toByteArray());
    state = next;
    if (invalidate != null) {
      userInvalidated.accept(invalidate);
    }
    for (Runnable r : changed) {
      r.run();
    }
    return result(revision);
  }

  private static AuthCommandResult result(long revision) {
    return AuthCommandResult.newBuilder().setRevision(revision).build();
  }

  private static AuthState encode(State s) {
    return AuthState.newBuilder().setAppliedIndex(s.appliedIndex()).setEnabled(s.enabled())
        .setRevision(s.revision()).addAllUsers(s.users().values()).addAllRoles(s.roles().values()).build();
  }

  private static State build(long index, boolean enabled, long revision, Iterable<User> userList,
      Iterable<Role> roleList) {
    TreeMap<String, User> users = new TreeMap<>();
    userList.forEach(u -> users.put(u.getName().toStringUtf8(), u));
    TreeMap<String, Role> roles = new TreeMap<>();
    roleList.forEach(r -> roles.put(r.getName().toStringUtf8(), r));
    Map<String, RangePermissions> perms = new HashMap<>();
    for (Map.Entry<String, User> e : users.entrySet()) {
      List<Permission> all = new ArrayList<>();
      for (String roleName : e.getValue().getRolesList()) {
        Role r = roles.get(roleName);
        if (r != null) {
          all.addAll(r.getKeyPermissionList());
        }
      }
      perms.put(e.getKey(), RangePermissions.of(all));
    }
    return new State(index, enabled, revision, Collections.unmodifiableMap(users),
        Collections.unmodifiableMap(roles), Collections.unmodifiableMap(perms));
  }
}
