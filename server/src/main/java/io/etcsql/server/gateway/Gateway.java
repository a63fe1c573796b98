package io.etcsql.server.gateway;

import io.etcsql.server.metrics.ServerMetrics;
import io.grpc.ManagedChannel;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.InternalNettyServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandler;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpObjectAggregator;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpServerCodec;
import io.grpc.netty.shaded.io.netty.handler.ssl.ApplicationProtocolConfig;
import io.grpc.netty.shaded.io.netty.handler.ssl.ApplicationProtocolNames;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import java.io.Closeable;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * etcd's client listener: gRPC and, on the same port, HTTP/1.x with etcd 3.4's JSON gateway
 * ({@code /v3/...}, {@code /v3beta/...}) and {@code /health}, {@code /version} and {@code /metrics}.
 * The gateway calls the member's own services through an in-process channel, so every interceptor a
 * gRPC client meets (learner guard, request decoding, auth) applies to it too.
 */
public final class Gateway implements Closeable {
  private final ManagedChannel channel;
  private final ServerMetrics metrics;
  private final io.etcsql.server.config.HttpAccess access;
  private final int maxBodyBytes;
  /** Runs /health (which waits for a read), /metrics and /version off the Netty event loops. */
  private final ExecutorService blocking;

  /**
   * @param inProcessName the member's in-process gRPC server
   * @param metrics what /metrics, /health and /version report
   * @param access {@code --enable-grpc-gateway} (false: /v3/ paths are not found), {@code --cors}
   *     and {@code --host-whitelist}
   * @param maxBodyBytes the largest request body read (a larger one gets 413)
   */
  public Gateway(String inProcessName, ServerMetrics metrics, io.etcsql.server.config.HttpAccess access,
      int maxBodyBytes) {
    this.channel = InProcessChannelBuilder.forName(inProcessName).maxInboundMessageSize(Integer.MAX_VALUE).build();
    this.metrics = metrics;
    this.access = access;
    this.maxBodyBytes = maxBodyBytes;
    this.blocking = Executors.newFixedThreadPool(2, r -> {
      Thread t = new Thread(r, "client-http");
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * A gRPC server builder for one client URL whose port also serves HTTP/1.x. Its connections
   * are split by protocol before grpc-java's handshake (see {@link ProtocolSplitter}); grpc's own
   * handshake timeout, which would close every HTTP/1 connection after two minutes, is replaced by
   * the splitter's timeout on the protocol detection.
   *
   * @param ssl the TLS context for an https URL (it must offer ALPN h2 and http/1.1: see {@link
   *     #applicationProtocols}), or null for http
   */
  public NettyServerBuilder serverBuilder(InetSocketAddress address, SslContext ssl) {
    return NettyServerBuilder.forAddress(address,
            InternalNettyServerCredentials.create(new ProtocolSplitter(ssl, this::http1Handlers)))
        .handshakeTimeout(Long.MAX_VALUE, TimeUnit.MILLISECONDS);
  }

  /**
   * Sets the ALPN protocols a client listener's TLS context must offer: h2 (gRPC) and http/1.1
   * (the gateway), as Go's TLS server does for etcd.
   */
  public static SslContextBuilder applicationProtocols(SslContextBuilder builder) {
    return builder.applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
        ApplicationProtocolNames.HTTP_2, ApplicationProtocolNames.HTTP_1_1));
  }

  private List<ChannelHandler> http1Handlers() {
    return List.of(new HttpServerCodec(), new HttpObjectAggregator(maxBodyBytes),
        new GatewayHandler(channel, metrics, access, blocking));
  }

  @Override
  public void close() {
    channel.shutdownNow();
    blocking.shutdownNow();
  }
}
