package io.etcsql.server.tls;

import io.etcsql.server.config.TlsInfo;
import io.grpc.netty.shaded.io.netty.handler.ssl.ApplicationProtocolConfig;
import io.grpc.netty.shaded.io.netty.handler.ssl.ApplicationProtocolNames;
import io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;
import io.grpc.netty.shaded.io.netty.handler.ssl.SupportedCipherSuiteFilter;
import io.grpc.netty.shaded.io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * One side's TLS (client listeners or peer listeners) made ready to serve: certificate and key
 * read (or generated for auto TLS), the trust for client certificates, the revocation list and
 * the cipher suites, as etcd's {@code TLSInfo.ServerConfig} sets them: TLS 1.2 at least, a client
 * certificate required when {@code clientCertAuth} or a trusted CA file is set.
 *
 * <p>{@link #sslContext()} is the server context of the gRPC (and any HTTP) listener; the
 * listener that uses it is built elsewhere.
 */
public final class ServerTls {
  /** Go's TLS 1.3 suites: always on, whatever {@code --cipher-suites} says. */
  private static final List<String> TLS13_SUITES =
      List.of("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256");
  private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

  private final TlsInfo info;
  private final PrivateKey key;
  private final X509Certificate[] chain;
  private final boolean selfSigned;
  private final SslContext server;

  private ServerTls(TlsInfo info, boolean selfSigned) throws IOException {
    this.info = info;
    this.selfSigned = selfSigned;
    if (info.certFile().isEmpty() || info.keyFile().isEmpty()) {
      throw new IOException("KeyFile and CertFile must both be present[key: " + info.keyFile() + ", cert: "
          + info.certFile() + "]");
    }
    this.chain = PemFiles.certificates(Path.of(info.certFile())).toArray(new X509Certificate[0]);
    this.key = PemFiles.privateKey(Path.of(info.keyFile()));
    try {
      SslContextBuilder b = SslContextBuilder.forServer(key, chain);
      if (info.requiresClientCertificate()) {
        b.clientAuth(ClientAuth.REQUIRE).trustManager(trustManager());
      }
      this.server = common(b)
          .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
              ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
              ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
              ApplicationProtocolNames.HTTP_2, ApplicationProtocolNames.HTTP_1_1))
          .build();
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new IOException("tls: " + e.getMessage(), e);
    }
  }

  /**
   * The TLS of one side, or null when it has none (no certificate and key, no auto TLS).
   *
   * @param fixtures where auto TLS keeps its certificate ({@code <data-dir>/fixtures/client} or
   *     {@code .../peer})
   * @param listenUrls the side's listen URLs, whose hosts an auto TLS certificate names
   * @param peer whether this is the peer side (its auto certificate also authenticates clients)
   * @throws IOException with Go's text when a file is missing or unreadable
   */
  public static ServerTls of(TlsInfo info, Path fixtures, List<URI> listenUrls, boolean peer) throws IOException {
    if (!info.empty()) {
      return new ServerTls(info, false);
    }
    if (!info.autoTls()) {
      return null;
    }
    Path[] files = SelfSignedCertificates.ensure(fixtures, listenUrls, peer);
    // as etcd's SelfCert: the generated TLSInfo replaces the configured one (no CA, no CRL)
    return new ServerTls(new TlsInfo(files[0].toString(), files[1].toString(), "", false, "", true, "",
        info.cipherSuites()), true);
  }

  /** The server context: ALPN h2 and http/1.1, for the listeners of this side. */
  public SslContext sslContext() {
    return server;
  }

  /** Whether listeners require and verify a client certificate. */
  public boolean requiresClientCertificate() {
    return info.requiresClientCertificate();
  }

  /** Whether client certificates identify users ({@code --client-cert-auth}). */
  public boolean clientCertAuth() {
    return info.clientCertAuth();
  }

  /**
   * A client context for this member's own calls to another member of the same cluster: presents
   * this side's certificate, trusts as {@link #memberTrustManager()}.
   */
  public SslContext memberClientContext() throws IOException {
    try {
      return common(SslContextBuilder.forClient().keyManager(key, chain).trustManager(memberTrustManager()))
          .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
              ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
              ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, ApplicationProtocolNames.HTTP_2))
          .build();
    } catch (IllegalArgumentException e) {
      throw new IOException("tls: " + e.getMessage(), e);
    }
  }

  /** This side's certificate and key, for a TLS stack that takes a key manager (Ratis). */
  public javax.net.ssl.KeyManager keyManager() throws IOException {
    try {
      KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
      ks.load(null, null);
      char[] password = new char[0];
      ks.setKeyEntry("key", key, password, chain);
      javax.net.ssl.KeyManagerFactory kmf =
          javax.net.ssl.KeyManagerFactory.getInstance(javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, password);
      return kmf.getKeyManagers()[0];
    } catch (GeneralSecurityException e) {
      throw new IOException("tls: " + e.getMessage(), e);
    }
  }

  /**
   * The trust for the members' calls to each other, both ways: {@link #trustManager()}, or for
   * auto TLS any certificate (etcd does not verify self-signed peers).
   */
  public javax.net.ssl.TrustManager memberTrustManager() throws IOException {
    if (selfSigned) {
      return InsecureTrustManagerFactory.INSTANCE.getTrustManagers()[0];
    }
    try {
      return trustManager();
    } catch (GeneralSecurityException e) {
      throw new IOException("tls: " + e.getMessage(), e);
    }
  }

  /**
   * A JDK server context presenting this side's certificate, for servers that are not built on
   * Netty (the SQL endpoint's Jetty); no client certificate is asked for.
   */
  public javax.net.ssl.SSLContext jdkServerContext() throws IOException {
    try {
      javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
      ctx.init(new javax.net.ssl.KeyManager[] {keyManager()}, null, null);
      return ctx;
    } catch (GeneralSecurityException e) {
      throw new IOException("tls: " + e.getMessage(), e);
    }
  }

  /** The private key of this side's certificate. */
  public PrivateKey privateKey() {
    return key;
  }

  /** This side's certificate chain, leaf first. */
  public X509Certificate[] certificateChain() {
    return chain.clone();
  }

  /** The cipher suites to enable (TLS 1.3's and the configured ones), or null for the defaults. */
  public List<String> cipherSuites() {
    if (info.cipherSuites().isEmpty()) {
      return null;
    }
    List<String> suites = new ArrayList<>(TLS13_SUITES);
    for (String s : info.cipherSuites()) {
      if (!suites.contains(s)) {
        suites.add(s);
      }
    }
    return suites;
  }

  /** TLS 1.3 and 1.2: etcd's minimum is TLS 1.2. */
  public static String[] protocols() {
    return PROTOCOLS.clone();
  }

  /**
   * The trust for the other end's certificate: the trusted CA file (or the JVM's CAs when none
   * is given, as Go uses the system pool), plus the CRL and allowed CN checks.
   */
  public X509TrustManager trustManager() throws IOException, GeneralSecurityException {
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    if (info.trustedCaFile().isEmpty()) {
      tmf.init((KeyStore) null);
    } else {
      KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
      ks.load(null, null);
      int n = 0;
      for (X509Certificate ca : PemFiles.certificates(Path.of(info.trustedCaFile()))) {
        ks.setCertificateEntry("ca" + n++, ca);
      }
      tmf.init(ks);
    }
    X509TrustManager pkix = null;
    for (TrustManager tm : tmf.getTrustManagers()) {
      if (tm instanceof X509TrustManager x) {
        pkix = x;
      }
    }
    if (pkix == null) {
      throw new GeneralSecurityException("no X.509 trust manager");
    }
    return new VerifyingTrustManager(pkix, info.crlFile().isEmpty() ? null : Path.of(info.crlFile()),
        info.allowedCn());
  }

  private SslContextBuilder common(SslContextBuilder b) {
    return b.sslProvider(SslProvider.JDK).protocols(PROTOCOLS)
        .ciphers(cipherSuites(), SupportedCipherSuiteFilter.INSTANCE);
  }
}
