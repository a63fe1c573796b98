package io.etcsql.server.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcdserverpb.KVGrpc;
import io.etcsql.grpcapi.etcdserverpb.RangeRequest;
import io.etcsql.grpcapi.etcdserverpb.RangeResponse;
import io.etcsql.grpcapi.mvccpb.KeyValue;
import io.etcsql.server.metrics.ServerMetrics;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.stub.StreamObserver;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Date;
import java.util.UUID;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * gRPC and the HTTP/1 gateway on one port, plain (split by the HTTP/2 preface) and under TLS
 * (split by ALPN), in front of a fake KV service.
 */
class ProtocolSplitterTest {
  private final String inProcess = "splitter-" + UUID.randomUUID();
  private final ServerMetrics metrics = new ServerMetrics(false, "3.4.23", "3.4.0");
  private Server local;
  private Server listener;
  private Gateway gateway;
  private ManagedChannel grpc;

  /** Answers a range with the key asked for and the value "v". */
  static final class FakeKv extends KVGrpc.KVImplBase {
    @Override
    public void range(RangeRequest request, StreamObserver<RangeResponse> out) {
      out.onNext(RangeResponse.newBuilder().setCount(1)
          .addKvs(KeyValue.newBuilder().setKey(request.getKey()).setValue(ByteString.copyFromUtf8("v"))).build());
      out.onCompleted();
    }
  }

  private int start(SslContext ssl) throws Exception {
    local = InProcessServerBuilder.forName(inProcess).addService(new FakeKv()).build().start();
    gateway = new Gateway(inProcess, metrics, io.etcsql.server.config.HttpAccess.DEFAULTS, 1 << 20);
    listener = gateway.serverBuilder(new InetSocketAddress("127.0.0.1", 0), ssl).addService(new FakeKv()).build().start();
    return ((InetSocketAddress) listener.getListenSockets().get(0)).getPort();
  }

  @AfterEach
  void stop() {
    if (grpc != null) {
      grpc.shutdownNow();
    }
    if (listener != null) {
      listener.shutdownNow();
    }
    if (gateway != null) {
      gateway.close();
    }
    if (local != null) {
      local.shutdownNow();
    }
    metrics.close();
  }

  private static final String RANGE_JSON = "{\"kvs\":[{\"key\":\"Zm9v\",\"value\":\"dg==\"}],\"count\":\"1\"}";

  private void assertGrpcRange() {
    RangeResponse r = KVGrpc.newBlockingStub(grpc).range(RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8("foo")).build());
    assertEquals(1, r.getCount());
    assertEquals("foo", r.getKvs(0).getKey().toStringUtf8());
  }

  private static HttpResponse<String> post(HttpClient client, String url) throws Exception {
    return client.send(HttpRequest.newBuilder(URI.create(url)).POST(HttpRequest.BodyPublishers.ofString("{\"key\":\"Zm9v\"}"))
        .build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void plainPortServesGrpcAndHttp1() throws Exception {
    int port = start(null);
    grpc = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    assertGrpcRange();
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    HttpResponse<String> r = post(http, "http://127.0.0.1:" + port + "/v3/kv/range");
    assertEquals(200, r.statusCode(), r.body());
    assertEquals(RANGE_JSON, r.body());
    // a request whose first bytes could still be the HTTP/2 preface ("P", then "OST ..."), and two
    // requests on one connection
    try (Socket s = new Socket("127.0.0.1", port)) {
      OutputStream out = s.getOutputStream();
      out.write('P');
      out.flush();
      Thread.sleep(100);
      String body = "{\"key\":\"Zm9v\"}";
      String req = "OST /v3/kv/range HTTP/1.1\r\nHost: x\r\nContent-Length: " + body.length() + "\r\n\r\n" + body
          + "GET /version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
      out.write(req.getBytes(StandardCharsets.US_ASCII));
      out.flush();
      String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(answer.startsWith("HTTP/1.1 200 OK"), answer);
      assertTrue(answer.contains(RANGE_JSON), answer);
      assertTrue(answer.endsWith("{\"etcdserver\":\"3.4.23\",\"etcdcluster\":\"3.4.0\"}"), answer);
    }
    assertGrpcRange(); // the gRPC connection is unaffected
  }

  @Test
  void tlsPortSplitsByAlpn() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    KeyPair keys = g.generateKeyPair();
    X509Certificate cert = selfSigned(keys);
    SslContext server = Gateway.applicationProtocols(SslContextBuilder.forServer(keys.getPrivate(), cert)).build();
    int port = start(server);

    grpc = NettyChannelBuilder.forAddress("127.0.0.1", port)
        .sslContext(GrpcSslContexts.forClient().trustManager(cert).build()).build();
    assertGrpcRange(); // ALPN h2

    KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
    trust.load(null, null);
    trust.setCertificateEntry("self", cert);
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext client = SSLContext.getInstance("TLS");
    client.init(null, tmf.getTrustManagers(), null);
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).sslContext(client).build();
    HttpResponse<String> r = post(http, "https://127.0.0.1:" + port + "/v3/kv/range"); // ALPN http/1.1
    assertEquals(200, r.statusCode(), r.body());
    assertEquals(RANGE_JSON, r.body());

    try (SSLSocket s = (SSLSocket) client.getSocketFactory().createSocket("127.0.0.1", port)) { // no ALPN
      s.startHandshake();
      s.getOutputStream().write("GET /version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      InputStream in = s.getInputStream();
      String answer = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(answer.startsWith("HTTP/1.1 200 OK"), answer);
      assertTrue(answer.endsWith("{\"etcdserver\":\"3.4.23\",\"etcdcluster\":\"3.4.0\"}"), answer);
    }
  }

  private static X509Certificate selfSigned(KeyPair keys) throws Exception {
    X500Name name = new X500Name("CN=127.0.0.1");
    long now = System.currentTimeMillis();
    JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, BigInteger.valueOf(now), new Date(now - 60_000),
        new Date(now + 3_600_000), name, keys.getPublic());
    b.addExtension(Extension.subjectAlternativeName, false,
        new GeneralNames(new GeneralName(GeneralName.iPAddress, "127.0.0.1")));
    PrivateKey key = keys.getPrivate();
    return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder("SHA256withRSA").build(key)));
  }
}
