package io.etcsql.kvstore.auth;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.authpb.Permission;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class RangePermissionsTest {
  static Permission perm(Permission.Type type, String key, String end) {
    return Permission.newBuilder().setPermType(type).setKey(ByteString.copyFromUtf8(key))
        .setRangeEnd(ByteString.copyFromUtf8(end)).build();
  }

  static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void aSingleKeyPermissionCoversThatKeyOnly() {
    RangePermissions p = RangePermissions.of(List.of(perm(Permission.Type.READ, "/a", "")));
    assertTrue(p.permits(b("/a"), b(""), false));
    assertFalse(p.permits(b("/a"), b(""), true));
    assertFalse(p.permits(b("/ab"), b(""), false));
    assertTrue(p.permits(b("/a"), b("/a\0"), false));
    assertFalse(p.permits(b("/a"), b("/b"), false));
  }

  @Test
  void rangesTogetherCoverARangeThatNoneCoversAlone() {
    RangePermissions p = RangePermissions.of(List.of(
        perm(Permission.Type.READWRITE, "/m", "/z"), perm(Permission.Type.READ, "/a", "/m")));
    assertTrue(p.permits(b("/b"), b("/y"), false));
    assertFalse(p.permits(b("/b"), b("/y"), true));
    assertTrue(p.permits(b("/n"), b("/y"), true));
    assertFalse(p.permits(b("/b"), b("/z\0"), false));
  }

  @Test
  void aFromKeyPermissionCoversEverythingAfterItsKey() {
    RangePermissions p = RangePermissions.of(List.of(perm(Permission.Type.WRITE, "/k", "\0")));
    assertTrue(p.permits(b("/k"), b("\0"), true));
    assertTrue(p.permits(b("/zzz"), b(""), true));
    assertFalse(p.permits(b("/j"), b("\0"), true));
    assertFalse(p.permits(b("/k"), b("\0"), false));
  }

  @Test
  void noPermissionPermitsNothing() {
    RangePermissions p = RangePermissions.of(List.of());
    assertFalse(p.permits(b("/a"), b(""), false));
    assertFalse(p.permits(b("\0"), b("\0"), false));
  }
}
