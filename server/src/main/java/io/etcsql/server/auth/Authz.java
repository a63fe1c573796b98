package io.etcsql.server.auth;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcsqlpb.AuthHeader;
import io.etcsql.kvstore.EtcdError;
import io.etcsql.kvstore.auth.AuthStore;

/**
 * The checks etcd makes in its API layer rather than when applying: reads (Range, Watch) and the
 * admin-only Maintenance and Cluster calls. Writes are checked when applied.
 */
public final class Authz {
  private Authz() {}

  /** etcd's Range check (doSerialize): read permission on the range, before reading. */
  public static void checkRead(AuthStore store, AuthHeader who, ByteString key, ByteString rangeEnd) {
    AuthStore.checkRead(store.state(), who, key, rangeEnd);
  }

  /** After the read: the auth store must not have changed since the caller's token was checked. */
  public static void checkUnchanged(AuthStore store, AuthHeader who) {
    if (store.enabled() && who.getAuthRevision() != 0 && who.getAuthRevision() != store.revision()) {
      throw EtcdError.AUTH_OLD_REVISION.exception();
    }
  }

  /** etcd's IsAdminPermitted for the current call (defragment, snapshot, hash, member changes). */
  public static void checkAdmin(AuthStore store) {
    AuthStore.checkAdmin(store.state(), AuthContext.current().getUsername());
  }
}
