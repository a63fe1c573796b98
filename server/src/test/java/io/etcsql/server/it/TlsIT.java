package io.etcsql.server.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcsql.server.tls.TestPki;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS as etcd 3.4 serves it, with real etcdctl against real member processes: https and http
 * client URLs on one member, client certificate authentication (a certificate of another CA and a
 * revoked one are refused), auto TLS, {@code --cipher-suites}, and etcd's errors for https URLs
 * without a certificate. The certificates are made here (BouncyCastle).
 */
@ExtendWith(DumpLogsOnFailure.class)
@org.junit.jupiter.api.Timeout(value = 180, unit = TimeUnit.SECONDS)
class TlsIT {
  @TempDir
  static Path pkiDir;
  static TestPki.Issued ca;
  static TestPki.Issued server;
  static TestPki.Issued root;
  static TestPki.Issued alice;
  static TestPki.Issued stranger;
  static TestPki.Issued revoked;
  static Path crl;

  @BeforeAll
  static void pki() throws Exception {
    TestPki pki = new TestPki(pkiDir);
    ca = pki.ca("ca");
    server = pki.server("server", "etcd-server", ca);
    root = pki.client("root", "root", ca);
    alice = pki.client("alice", "alice", ca);
    revoked = pki.client("revoked", "root", ca);
    crl = pki.crl("crl", ca, revoked);
    stranger = pki.client("stranger", "root", pki.ca("other-ca"));
  }

  /**
   * A one-member cluster whose member also gets {@code extra} (flags given later win, as in Go),
   * with its plain-text client URL as the harness makes it plus {@code https://127.0.0.1:<https>}.
   */
  private static Cluster member(int https, List<String> extra) {
    Cluster c = Cluster.create(1, List.of());
    ServerProcess m = c.member(0);
    List<String> f = new ArrayList<>(m.flags());
    f.addAll(List.of("--listen-client-urls", m.clientEndpoint() + ",https://127.0.0.1:" + https));
    f.addAll(extra);
    m.setFlags(f);
    try {
      m.start().waitReady();
      return c;
    } catch (RuntimeException | Error e) {
      c.markFailed();
      c.close();
      throw e;
    }
  }

  private static List<String> serverCert(String... more) {
    List<String> f = new ArrayList<>(List.of("--cert-file", server.certFile().toString(),
        "--key-file", server.keyFile().toString()));
    f.addAll(List.of(more));
    return f;
  }

  private static Etcdctl.Result ctl(String url, TestPki.Issued client, String... args) {
    List<String> a = new ArrayList<>(List.of("--dial-timeout=3s", "--command-timeout=5s", "--cacert",
        ca.certFile().toString()));
    if (client != null) {
      a.addAll(List.of("--cert", client.certFile().toString(), "--key", client.keyFile().toString()));
    }
    a.addAll(List.of(args));
    return new Etcdctl(url).run(Duration.ofSeconds(20), null, a.toArray(new String[0]));
  }

  @Test
  void httpsWithClientCertificatesBesideHttpOnOneMember() throws Exception {
    int port = ServerProcess.freePort();
    String https = "https://127.0.0.1:" + port;
    int sql = ServerProcess.freePort();
    List<String> flags = serverCert("--trusted-ca-file", ca.certFile().toString(), "--client-cert-auth",
        "--client-crl-file", crl.toString());
    if (!ServerProcess.targetIsEtcd()) {
      flags.addAll(List.of("--listen-sql-urls", "https://127.0.0.1:" + sql)); // etcsql's own
    }
    try (Cluster c = member(port, flags)) {
      String http = c.member(0).clientEndpoint();
      Etcdctl.Result r = ctl(https, root, "put", "tls-key", "from-root");
      assertEquals(0, r.exitCode(), r.toString());
      r = ctl(https, alice, "get", "tls-key", "--print-value-only");
      assertEquals(List.of("from-root"), r.lines(), r.toString());
      // the plain-text URL of the same member serves without any certificate
      assertEquals("from-root\n", new Etcdctl(http).ok("get", "tls-key", "--print-value-only"));

      assertFalse(ctl(https, null, "put", "no-cert", "x").ok(), "a client without a certificate is refused");
      assertFalse(ctl(https, stranger, "put", "other-ca", "x").ok(), "a certificate of another CA is refused");
      assertFalse(ctl(https, revoked, "put", "revoked", "x").ok(), "a revoked certificate is refused");
      // nothing of theirs was written
      for (String k : List.of("no-cert", "other-ca", "revoked")) {
        assertEquals("", new Etcdctl(http).ok("get", k), k);
      }
      if (!ServerProcess.targetIsEtcd()) {
        // SQL over https, with the member's certificate, through the JDBC driver trusting the CA
        Jdbc.awaitPort(sql, Duration.ofSeconds(30));
        String jdbc = "jdbc:etcsql:https://127.0.0.1:" + sql + ";cacert=" + ca.certFile();
        assertEquals(List.of("from-root"), Jdbc.rows(jdbc, "SELECT value FROM kv WHERE key = 'tls-key'"));
        // without the CA the server's certificate is not trusted
        assertThrows(java.sql.SQLException.class,
            () -> Jdbc.rows("jdbc:etcsql:https://127.0.0.1:" + sql, "SELECT value FROM kv"));
      }
      // with auth on, the certificate's CN is the user (etcd's AuthInfoFromTLS): no password needed
      Etcdctl plain = new Etcdctl(http);
      plain.ok("user", "add", "root:rootpw");
      plain.ok("user", "add", "alice", "--no-password");
      plain.ok("role", "add", "reader");
      plain.ok("role", "grant-permission", "reader", "read", "tls-key");
      plain.ok("user", "grant-role", "alice", "reader");
      plain.ok("auth", "enable");
      try {
        r = ctl(https, alice, "get", "tls-key", "--print-value-only");
        assertEquals(List.of("from-root"), r.lines(), r.toString());
        r = ctl(https, alice, "put", "tls-key", "by-alice");
        assertEquals("Error: etcdserver: permission denied", r.err(), r.toString());
        r = ctl(https, root, "put", "tls-key", "by-root-cn");
        assertEquals(0, r.exitCode(), r.toString());
        // the plain-text URL has no certificate to go by
        assertEquals("Error: etcdserver: user name is empty", plain.run("get", "tls-key").err());
      } finally {
        ctl(https, root, "auth", "disable");
      }
      assertEquals("by-root-cn\n", plain.ok("get", "tls-key", "--print-value-only"));
      // and https still refuses plain-text gRPC
      assertFalse(new Etcdctl("http://127.0.0.1:" + port).run(Duration.ofSeconds(20), null,
          "--dial-timeout=3s", "--command-timeout=5s", "get", "tls-key").ok());
    }
  }

  @Test
  void autoTlsServesASelfSignedCertificateWithTheGivenCipherSuites() throws Exception {
    int port = ServerProcess.freePort();
    String https = "https://127.0.0.1:" + port;
    try (Cluster c = member(port, List.of("--auto-tls", "--cipher-suites",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305"))) {
      Etcdctl.Result r = new Etcdctl(https).run(Duration.ofSeconds(20), null, "--dial-timeout=3s",
          "--insecure-transport=false", "--insecure-skip-tls-verify", "put", "auto", "tls");
      assertEquals(0, r.exitCode(), r.toString());
      assertTrue(Files.isRegularFile(c.member(0).dataDir().resolve("fixtures/client/cert.pem")));
      assertTrue(Files.isRegularFile(c.member(0).dataDir().resolve("fixtures/client/key.pem")));
      // etcdctl without --insecure-skip-tls-verify does not trust the self-signed certificate
      assertFalse(new Etcdctl(https).run(Duration.ofSeconds(20), null, "--dial-timeout=3s",
          "--command-timeout=5s", "--insecure-transport=false", "get", "auto").ok());
      // TLS 1.2 is limited to the listed suites
      assertEquals("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
          handshake(port, "TLSv1.2", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"));
      assertThrows(SSLHandshakeException.class,
          () -> handshake(port, "TLSv1.2", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"));
      // below TLS 1.2 nothing is served
      assertThrows(SSLHandshakeException.class,
          () -> handshake(port, "TLSv1.1", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"));
    }
  }

  @Test
  void membersReplicateOverPeerMutualTlsAndAMemberWithACnNotAllowedCannotTakePart() throws Exception {
    TestPki pki = new TestPki(pkiDir.resolve("peers"));
    TestPki.Issued[] certs = {pki.server("n1", "etcd-peer", ca), pki.server("n2", "etcd-peer", ca),
        pki.server("n3", "intruder", ca)};
    try (Cluster c = Cluster.create(3, List.of())) {
      StringBuilder initial = new StringBuilder();
      for (int i = 0; i < 3; i++) {
        initial.append(i == 0 ? "" : ",").append("n").append(i + 1).append("=https://127.0.0.1:")
            .append(c.member(i).peerPort());
      }
      for (int i = 0; i < 3; i++) {
        ServerProcess m = c.member(i);
        String peer = "https://127.0.0.1:" + m.peerPort();
        List<String> f = new ArrayList<>(m.flags());
        f.addAll(List.of("--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", initial.toString(), "--peer-cert-file", certs[i].certFile().toString(),
            "--peer-key-file", certs[i].keyFile().toString(), "--peer-trusted-ca-file", ca.certFile().toString(),
            "--peer-client-cert-auth", "--peer-cert-allowed-cn", "etcd-peer"));
        m.setFlags(f);
        m.start();
      }
      c.member(0).waitReady();
      c.member(1).waitReady();
      new Etcdctl(c.member(0).clientEndpoint()).ok("put", "over-peer-tls", "replicated");
      assertEquals("replicated\n", new Etcdctl(c.member(1).clientEndpoint()).ok("get", "over-peer-tls",
          "--print-value-only"));
      // n3's certificate has a CN the others do not allow: it never joins, so never serves
      Etcdctl.Result r = new Etcdctl(c.member(2).clientEndpoint()).run(Duration.ofSeconds(20), null,
          "--dial-timeout=2s", "--command-timeout=3s", "get", "over-peer-tls");
      assertFalse(r.ok(), r.toString());
    }
  }

  @Test
  void anHttpsUrlWithoutCertificateOrAnUnknownCipherSuiteIsRefused() throws Exception {
    int port = ServerProcess.freePort();
    exitsWith(List.of("--listen-client-urls", "https://127.0.0.1:" + port, "--advertise-client-urls",
        "https://127.0.0.1:" + port), "TLS key/cert (--cert-file, --key-file) must be provided for client url "
        + "https://127.0.0.1:" + port + " with HTTPS scheme");
    exitsWith(List.of("--cipher-suites", "TLS_BOGUS"), "unexpected TLS cipher suite \"TLS_BOGUS\"");
    int peer = ServerProcess.freePort();
    exitsWith(List.of("--listen-peer-urls", "https://127.0.0.1:" + peer, "--initial-advertise-peer-urls",
        "https://127.0.0.1:" + peer, "--initial-cluster", "n1=https://127.0.0.1:" + peer),
        "cannot listen on TLS for 127.0.0.1:" + peer + ": KeyFile and CertFile are not presented");
  }

  /** Starts one member with {@code extra} and expects it to exit with 1 after logging {@code message}. */
  private static void exitsWith(List<String> extra, String message) throws Exception {
    try (Cluster c = Cluster.create(1, extra)) {
      ServerProcess m = c.member(0).start();
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (m.isAlive() && System.nanoTime() < deadline) {
        Thread.sleep(100);
      }
      assertEquals(Integer.valueOf(1), m.exitCode(), m.logTail(20));
      assertTrue(Files.readString(m.logFile()).contains(message), m.logTail(20));
    }
  }

  /** A TLS handshake offering one protocol and one suite, trusting any certificate; the suite agreed. */
  static String handshake(int port, String protocol, String suite) throws Exception {
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, new TrustManager[] {new X509TrustManager() {
      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType) {}

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType) {}

      @Override
      public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
      }
    }}, null);
    try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(InetAddress.getLoopbackAddress(), port)) {
      s.setSoTimeout(5000);
      s.setEnabledProtocols(new String[] {protocol});
      s.setEnabledCipherSuites(new String[] {suite});
      s.startHandshake();
      return s.getSession().getCipherSuite();
    }
  }
}
