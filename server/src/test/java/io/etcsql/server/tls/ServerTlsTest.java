package io.etcsql.server.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcsql.server.config.TlsInfo;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServerTlsTest {
  @TempDir
  Path dir;

  private static TlsInfo tls(TestPki.Issued cert, String ca, boolean clientCertAuth, String crl, String allowedCn) {
    return new TlsInfo(cert.certFile().toString(), cert.keyFile().toString(), ca, clientCertAuth, crl, false,
        allowedCn, List.of());
  }

  @Test
  void missingOrEmptyFilesFailWithGoTexts() throws Exception {
    TlsInfo missing = new TlsInfo(dir.resolve("none.pem").toString(), dir.resolve("none-key.pem").toString(), "",
        false, "", false, "", List.of());
    assertEquals("open " + dir.resolve("none.pem") + ": no such file or directory",
        assertThrows(IOException.class, () -> ServerTls.of(missing, dir, List.of(), false)).getMessage());
    Path empty = Files.writeString(dir.resolve("empty.pem"), "nothing here\n");
    assertEquals("tls: failed to find any PEM data in certificate input",
        assertThrows(IOException.class, () -> PemFiles.certificates(empty)).getMessage());
    assertEquals("tls: failed to find any PEM data in key input",
        assertThrows(IOException.class, () -> PemFiles.privateKey(empty)).getMessage());
    TlsInfo certOnly = new TlsInfo("c.pem", "", "", false, "", false, "", List.of());
    assertEquals("KeyFile and CertFile must both be present[key: , cert: c.pem]",
        assertThrows(IOException.class, () -> ServerTls.of(certOnly, dir, List.of(), false)).getMessage());
    assertNull(ServerTls.of(TlsInfo.NONE, dir, List.of(), false));
  }

  @Test
  void theTrustManagerChecksTheCaTheCrlAndTheAllowedCn() throws Exception {
    TestPki pki = new TestPki(dir);
    TestPki.Issued ca = pki.ca("ca");
    TestPki.Issued server = pki.server("server", "s", ca);
    TestPki.Issued alice = pki.client("alice", "alice", ca);
    TestPki.Issued revoked = pki.client("revoked", "alice", ca);
    TestPki.Issued stranger = pki.client("stranger", "alice", pki.ca("other"));
    Path crl = pki.crl("crl", ca, revoked);

    X509TrustManager tm = ServerTls.of(tls(server, ca.certFile().toString(), true, crl.toString(), ""), dir,
        List.of(), false).trustManager();
    tm.checkClientTrusted(new X509Certificate[] {alice.cert()}, "ECDHE_ECDSA");
    assertEquals("transport: certificate revoked", assertThrows(CertificateException.class,
        () -> tm.checkClientTrusted(new X509Certificate[] {revoked.cert()}, "ECDHE_ECDSA")).getMessage());
    assertThrows(CertificateException.class,
        () -> tm.checkClientTrusted(new X509Certificate[] {stranger.cert()}, "ECDHE_ECDSA"));

    X509TrustManager onlyBob = ServerTls.of(tls(server, ca.certFile().toString(), true, "", "bob"), dir,
        List.of(), true).trustManager();
    assertEquals("client certificate authentication failed", assertThrows(CertificateException.class,
        () -> onlyBob.checkClientTrusted(new X509Certificate[] {alice.cert()}, "ECDHE_ECDSA")).getMessage());
    assertEquals("alice", ClientCertificates.commonName(alice.cert()));
  }

  @Test
  void autoTlsMakesOneCertificateForTheListenHostsAndKeepsIt() throws Exception {
    TlsInfo auto = new TlsInfo("", "", "ca.pem", true, "", true, "", List.of());
    Path fixtures = dir.resolve("fixtures/client");
    ServerTls tls = ServerTls.of(auto, fixtures, List.of(URI.create("https://127.0.0.1:2379"),
        URI.create("https://localhost:2381")), false);
    assertTrue(Files.isRegularFile(fixtures.resolve("cert.pem")));
    X509Certificate cert = tls.certificateChain()[0];
    assertEquals("O=etcd", cert.getSubjectX500Principal().getName());
    assertEquals("[[7, 127.0.0.1], [2, localhost]]", cert.getSubjectAlternativeNames().toString());
    // etcd replaces the configured TLS by the generated one: no client certificate is asked for
    assertEquals(false, tls.requiresClientCertificate());
    byte[] first = Files.readAllBytes(fixtures.resolve("cert.pem"));
    ServerTls.of(auto, fixtures, List.of(URI.create("https://127.0.0.1:2379")), false);
    assertEquals(List.of(new String(first)), List.of(Files.readString(fixtures.resolve("cert.pem"))));
  }
}
