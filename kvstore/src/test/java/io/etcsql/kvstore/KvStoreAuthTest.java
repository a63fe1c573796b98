package io.etcsql.kvstore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.authpb.Permission;
import io.etcsql.grpcapi.etcdserverpb.AuthEnableRequest;
import io.etcsql.grpcapi.etcdserverpb.AuthRoleAddRequest;
import io.etcsql.grpcapi.etcdserverpb.AuthRoleGrantPermissionRequest;
import io.etcsql.grpcapi.etcdserverpb.AuthUserGrantRoleRequest;
import io.etcsql.grpcapi.etcdserverpb.DeleteRangeRequest;
import io.etcsql.grpcapi.etcdserverpb.PutRequest;
import io.etcsql.grpcapi.etcdserverpb.RequestOp;
import io.etcsql.grpcapi.etcdserverpb.TxnRequest;
import io.etcsql.grpcapi.etcsqlpb.AuthCommand;
import io.etcsql.grpcapi.etcsqlpb.AuthHeader;
import io.etcsql.grpcapi.etcsqlpb.CommandResult;
import io.etcsql.grpcapi.etcsqlpb.ReplicatedCommand;
import io.etcsql.grpcapi.etcsqlpb.UserAdd;
import org.junit.jupiter.api.Test;

/**
 * The replicated auth store: etcd's rules on apply, permissions checked against the point of the
 * log a write is applied at, and the state surviving a reopen and a snapshot.
 */
class KvStoreAuthTest extends StoreTestBase {
  static final AuthHeader NOBODY = AuthHeader.getDefaultInstance();

  AuthHeader as(String user) {
    return AuthHeader.newBuilder().setUsername(user).setAuthRevision(s.store.auth().revision()).build();
  }

  CommandResult auth(AuthHeader who, AuthCommand.Builder c) {
    return s.apply(ReplicatedCommand.newBuilder().setAuth(who).setAuthCommand(c).build());
  }

  CommandResult put(AuthHeader who, String key) {
    return s.apply(ReplicatedCommand.newBuilder().setAuth(who)
        .setPut(PutRequest.newBuilder().setKey(ByteString.copyFromUtf8(key)).setValue(ByteString.copyFromUtf8("v")))
        .build());
  }

  void setUpAliceOnPrefixApp() {
    auth(NOBODY, AuthCommand.newBuilder().setUserAdd(UserAdd.newBuilder().setName("root")
        .setPasswordHash(ByteString.copyFromUtf8("$2a$04$hash"))));
    auth(NOBODY, AuthCommand.newBuilder().setUserGrantRole(AuthUserGrantRoleRequest.newBuilder().setUser("root").setRole("root")));
    auth(NOBODY, AuthCommand.newBuilder().setUserAdd(UserAdd.newBuilder().setName("alice")));
    auth(NOBODY, AuthCommand.newBuilder().setRoleAdd(AuthRoleAddRequest.newBuilder().setName("app")));
    auth(NOBODY, AuthCommand.newBuilder().setRoleGrantPermission(AuthRoleGrantPermissionRequest.newBuilder()
        .setName("app").setPerm(Permission.newBuilder().setPermType(Permission.Type.READWRITE)
            .setKey(ByteString.copyFromUtf8("/app/")).setRangeEnd(ByteString.copyFromUtf8("/app0")))));
    auth(NOBODY, AuthCommand.newBuilder().setUserGrantRole(AuthUserGrantRoleRequest.newBuilder().setUser("alice").setRole("app")));
    assertFalse(auth(NOBODY, AuthCommand.newBuilder().setEnable(AuthEnableRequest.getDefaultInstance())).hasError());
  }

  @Test
  void enablingNeedsARootUserWithTheRootRole() {
    assertEquals("ROOT_USER_NOT_EXIST",
        auth(NOBODY, AuthCommand.newBuilder().setEnable(AuthEnableRequest.getDefaultInstance())).getError().getCode());
    auth(NOBODY, AuthCommand.newBuilder().setUserAdd(UserAdd.newBuilder().setName("root")));
    assertEquals("ROOT_ROLE_NOT_EXIST",
        auth(NOBODY, AuthCommand.newBuilder().setEnable(AuthEnableRequest.getDefaultInstance())).getError().getCode());
    assertFalse(s.store.auth().enabled());
  }

  @Test
  void writesAreCheckedWhenAppliedAndARefusedWriteChangesNothing() {
    setUpAliceOnPrefixApp();
    long rev = s.store.mvcc().currentRevision();
    assertFalse(put(as("alice"), "/app/a").hasError());
    assertEquals("PERMISSION_DENIED", put(as("alice"), "/other").getError().getCode());
    assertEquals("USER_EMPTY", put(NOBODY, "/app/a").getError().getCode());
    // a txn touching outside the prefix in either branch is refused whole
    CommandResult txn = s.apply(ReplicatedCommand.newBuilder().setAuth(as("alice")).setTxn(TxnRequest.newBuilder()
        .addSuccess(RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(ByteString.copyFromUtf8("/app/b"))))
        .addFailure(RequestOp.newBuilder().setRequestDeleteRange(DeleteRangeRequest.newBuilder()
            .setKey(ByteString.copyFromUtf8("/")).setRangeEnd(ByteString.copyFromUtf8("0"))))).build());
    assertEquals("PERMISSION_DENIED", txn.getError().getCode());
    assertEquals(rev + 1, s.store.mvcc().currentRevision(), "only the permitted put made a revision");
    // the node's own commands (no header) are not checked
    assertFalse(s.apply(ReplicatedCommand.newBuilder().setPut(PutRequest.newBuilder()
        .setKey(ByteString.copyFromUtf8("/other"))).build()).hasError());
  }

  @Test
  void aHeaderFromBeforeAnAuthChangeIsOld() {
    setUpAliceOnPrefixApp();
    AuthHeader before = as("alice");
    auth(as("root"), AuthCommand.newBuilder().setRoleAdd(AuthRoleAddRequest.newBuilder().setName("more")));
    assertEquals("AUTH_OLD_REVISION", put(before, "/app/a").getError().getCode());
    assertEquals("PERMISSION_DENIED",
        auth(as("alice"), AuthCommand.newBuilder().setRoleAdd(AuthRoleAddRequest.newBuilder().setName("x"))).getError().getCode());
  }

  @Test
  void theAuthStoreSurvivesAReopenAndTravelsInSnapshots() throws Exception {
    setUpAliceOnPrefixApp();
    long revision = s.store.auth().revision();
    s.reopen();
    assertTrue(s.store.auth().enabled());
    assertEquals(revision, s.store.auth().revision());
    assertEquals("PERMISSION_DENIED", put(as("alice"), "/other").getError().getCode());
    try (KvStoreFixture other = new KvStoreFixture(dir.resolve("other"))) {
      java.io.ByteArrayOutputStream snapshot = new java.io.ByteArrayOutputStream();
      s.store.writeSnapshot(snapshot);
      other.index = other.store.installSnapshot(new java.io.ByteArrayInputStream(snapshot.toByteArray()))[1];
      assertTrue(other.store.auth().enabled());
      assertEquals(java.util.List.of("alice", "root"), java.util.List.copyOf(other.store.auth().state().users().keySet()));
    }
  }
}
