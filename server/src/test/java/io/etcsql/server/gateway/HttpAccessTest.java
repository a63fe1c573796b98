package io.etcsql.server.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcsql.server.config.HttpAccess;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** etcd's --cors and --host-whitelist rules for the client URLs' HTTP. */
class HttpAccessTest {
  @Test
  void corsAnswersStarOrTheAllowedOriginOnly() {
    assertEquals("*", HttpAccess.DEFAULTS.allowOrigin("http://any.example"));
    assertEquals("*", new HttpAccess(true, Set.of(), Set.of()).allowOrigin(null));
    HttpAccess two = new HttpAccess(true, HttpAccess.values("http://a.example,http://b.example"), Set.of("*"));
    assertEquals("http://b.example", two.allowOrigin("http://b.example"));
    assertNull(two.allowOrigin("http://evil.example"));
    assertNull(two.allowOrigin(null));
  }

  @Test
  void theHostWhitelistGoesByTheHostNameWithoutPort() {
    HttpAccess local = new HttpAccess(true, Set.of("*"), HttpAccess.values("localhost,127.0.0.1"));
    assertTrue(local.hostAllowed(GatewayHandler.hostname("127.0.0.1:2379")));
    assertTrue(local.hostAllowed(GatewayHandler.hostname("localhost")));
    assertFalse(local.hostAllowed(GatewayHandler.hostname("rebind.example:2379")));
    assertEquals("::1", GatewayHandler.hostname("[::1]:2379"));
    assertTrue(HttpAccess.DEFAULTS.hostAllowed("anything"));
  }
}
