package io.etcsql.server.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.etcsql.grpcapi.etcsqlpb.AuthHeader;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.time.Duration;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** etcd's two token kinds: simple tokens kept by every member, JWTs signed and verified with keys. */
class TokensTest {
  @TempDir
  Path dir;

  @Test
  void aSimpleTokenDiesUnusedAfterItsTtlWithItsUserAndWhenAuthIsDisabled() throws Exception {
    SimpleTokens t = new SimpleTokens(Duration.ofMillis(300), index -> false);
    String prefix = t.newSimplePrefix();
    assertEquals(16, prefix.length());
    t.registered("alice", prefix + ".7");
    assertEquals(AuthHeader.newBuilder().setUsername("alice").setAuthRevision(5).build(), t.info(prefix + ".7", 5));
    Thread.sleep(400);
    assertNull(t.info(prefix + ".7", 5), "unused longer than the TTL");
    t.registered("alice", "a.8");
    t.registered("bob", "b.9");
    t.invalidateUser("alice");
    assertNull(t.info("a.8", 5));
    assertNotNull(t.info("b.9", 5));
    t.clear();
    assertNull(t.info("b.9", 5));
    assertNull(t.info("forged", 5));
  }

  @Test
  void aJwtCarriesItsUserAndRevisionAndOnlyTheKeyPairVerifiesIt() throws Exception {
    Path priv = pem("priv.pem", rsa(), true);
    KeyPair other = rsa();
    JwtTokens signer = JwtTokens.load("RS256", null, priv, Duration.ofMinutes(5));
    String token = signer.assign("alice", 12, "");
    assertEquals(AuthHeader.newBuilder().setUsername("alice").setAuthRevision(12).build(), signer.info(token, 99),
        "a JWT keeps the revision it was issued at");
    JwtTokens stranger = JwtTokens.load("RS256", null, pem("other.pem", other, true), Duration.ofMinutes(5));
    assertNull(stranger.info(token, 12), "signed with another key");
    assertNull(signer.info(token + "x", 12), "tampered");
    JwtTokens expired = JwtTokens.load("RS256", null, priv, Duration.ofSeconds(-10));
    assertNull(signer.info(expired.assign("alice", 12, ""), 12), "past its exp");
    JwtTokens verifyOnly = JwtTokens.load("RS256", pem("pub.pem", other, false), null, Duration.ofMinutes(5));
    assertThrows(IllegalStateException.class, () -> verifyOnly.assign("alice", 1, ""));
    assertEquals("auth: invalid auth signature method",
        assertThrows(IllegalArgumentException.class, () -> JwtTokens.load("XX256", null, priv, Duration.ZERO)).getMessage());
    assertEquals("auth: missing key data",
        assertThrows(IllegalArgumentException.class, () -> JwtTokens.load("RS256", null, null, Duration.ZERO)).getMessage());
  }

  private static KeyPair rsa() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    return g.generateKeyPair();
  }

  private Path pem(String name, KeyPair pair, boolean priv) throws Exception {
    StringWriter w = new StringWriter();
    try (JcaPEMWriter p = new JcaPEMWriter(w)) {
      p.writeObject(priv ? pair : pair.getPublic());
    }
    return Files.writeString(dir.resolve(name), w.toString());
  }
}
