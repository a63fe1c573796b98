package io.etcsql.server.gateway;

import io.grpc.Attributes;
import io.grpc.Grpc;
import io.grpc.InternalChannelz;
import io.grpc.SecurityLevel;
import io.grpc.internal.GrpcAttributes;
import io.grpc.netty.shaded.io.grpc.netty.GrpcHttp2ConnectionHandler;
import io.grpc.netty.shaded.io.grpc.netty.InternalProtocolNegotiationEvent;
import io.grpc.netty.shaded.io.grpc.netty.InternalProtocolNegotiator;
import io.grpc.netty.shaded.io.grpc.netty.InternalProtocolNegotiators;
import io.grpc.netty.shaded.io.grpc.netty.InternalWriteBufferingAndExceptionHandlerUtils;
import io.grpc.netty.shaded.io.grpc.netty.ProtocolNegotiationEvent;
import io.grpc.netty.shaded.io.netty.buffer.ByteBuf;
import io.grpc.netty.shaded.io.netty.buffer.ByteBufUtil;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandler;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.handler.codec.ByteToMessageDecoder;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2CodecUtil;
import io.grpc.netty.shaded.io.netty.handler.ssl.ApplicationProtocolNames;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslHandler;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.grpc.netty.shaded.io.netty.util.AsciiString;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import javax.net.ssl.SSLSession;

/**
 * The protocol negotiator of a client listener that serves gRPC and HTTP/1.x on one port, as
 * etcd's cmux does: each new connection is sniffed before grpc-java's HTTP/2 handler sees it. A
 * plain connection that opens with the HTTP/2 client preface (gRPC, or any prior-knowledge h2
 * client) goes to gRPC; anything else gets the HTTP/1 pipeline. Under TLS the split is by ALPN
 * instead: {@code h2} goes to gRPC (with the TLS session in the call attributes, as grpc-java's own
 * TLS negotiator sets them), {@code http/1.1} or no ALPN to HTTP/1.
 *
 * <p>Each connection is handled in grpc-java's pipeline order: the negotiation handler this class
 * makes sits before grpc's write-buffering handler, holds back the protocol negotiation event
 * grpc fires, and either hands both to grpc's plaintext chain (which installs the HTTP/2 handler)
 * or replaces itself with the HTTP/1 handlers and drops grpc's buffering handler.
 */
final class ProtocolSplitter implements InternalProtocolNegotiator.ProtocolNegotiator {
  /** How long a connection may stay silent (or in its TLS handshake) before it is closed. */
  static final long DETECT_TIMEOUT_SECONDS = 120;
  private static final ByteBuf PREFACE = Http2CodecUtil.connectionPrefaceBuf();

  private final SslContext ssl;
  private final Supplier<List<ChannelHandler>> http1;

  /**
   * @param ssl the TLS context of an https listener, or null for http; it must offer the ALPN
   *     protocols h2 and http/1.1 (see {@link Gateway#applicationProtocols})
   * @param http1 makes the handlers of one HTTP/1 connection, in pipeline order
   */
  ProtocolSplitter(SslContext ssl, Supplier<List<ChannelHandler>> http1) {
    this.ssl = ssl;
    this.http1 = http1;
  }

  @Override
  public AsciiString scheme() {
    return AsciiString.of(ssl == null ? "http" : "https");
  }

  @Override
  public ChannelHandler newHandler(GrpcHttp2ConnectionHandler grpcHandler) {
    return new Split(grpcHandler);
  }

  @Override
  public void close() {}

  private final class Split extends ByteToMessageDecoder {
    private final GrpcHttp2ConnectionHandler grpcHandler;
    private ProtocolNegotiationEvent negotiation = InternalProtocolNegotiationEvent.getDefault();
    private SslHandler sslHandler;
    private ScheduledFuture<?> timeout;
    private boolean decided;

    Split(GrpcHttp2ConnectionHandler grpcHandler) {
      this.grpcHandler = grpcHandler;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      if (ssl != null) {
        sslHandler = ssl.newHandler(ctx.alloc());
        ctx.pipeline().addBefore(ctx.name(), null, sslHandler);
      }
      timeout = ctx.executor().schedule(() -> {
        if (!decided) {
          ctx.close();
        }
      }, DETECT_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
      if (timeout != null) {
        timeout.cancel(false);
      }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
      if (evt instanceof ProtocolNegotiationEvent pne) {
        negotiation = pne; // kept for gRPC; it has nothing for HTTP/1
      } else if (evt instanceof SslHandshakeCompletionEvent done) {
        if (!done.isSuccess()) {
          ctx.fireExceptionCaught(done.cause()); // grpc's buffering handler closes the connection
          return;
        }
        String alpn = sslHandler.applicationProtocol();
        if (ApplicationProtocolNames.HTTP_2.equals(alpn)) {
          SSLSession session = sslHandler.engine().getSession();
          Attributes attrs = InternalProtocolNegotiationEvent.getAttributes(negotiation).toBuilder()
              .set(GrpcAttributes.ATTR_SECURITY_LEVEL, SecurityLevel.PRIVACY_AND_INTEGRITY)
              .set(Grpc.TRANSPORT_ATTR_SSL_SESSION, session).build();
          negotiation = InternalProtocolNegotiationEvent.withSecurity(
              InternalProtocolNegotiationEvent.withAttributes(negotiation, attrs),
              new InternalChannelz.Security(new InternalChannelz.Tls(session)));
          toGrpc(ctx);
        } else {
          toHttp1(ctx);
        }
      } else {
        super.userEventTriggered(ctx, evt);
      }
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
      if (ssl != null || decided) {
        return; // TLS: decided by ALPN once the handshake completes; the bytes wait for that
      }
      int n = Math.min(in.readableBytes(), PREFACE.readableBytes());
      if (!ByteBufUtil.equals(in, in.readerIndex(), PREFACE, 0, n)) {
        toHttp1(ctx);
      } else if (n == PREFACE.readableBytes()) {
        toGrpc(ctx);
      }
    }

    /** Hands the connection to grpc-java's plaintext chain, which installs its HTTP/2 handler. */
    private void toGrpc(ChannelHandlerContext ctx) {
      decided = true;
      ctx.pipeline().addAfter(ctx.name(), null, InternalProtocolNegotiators.waitUntilActiveHandler(
          InternalProtocolNegotiators.grpcNegotiationHandler(grpcHandler), grpcHandler.getNegotiationLogger()));
      ctx.fireUserEventTriggered(negotiation);
      ctx.pipeline().remove(this); // passes the bytes read so far on
    }

    private void toHttp1(ChannelHandlerContext ctx) {
      decided = true;
      String after = ctx.name();
      for (ChannelHandler h : http1.get()) {
        ctx.pipeline().addAfter(after, after + "-http1-" + h.getClass().getSimpleName(), h);
        after = after + "-http1-" + h.getClass().getSimpleName();
      }
      // grpc's write buffering waits for an HTTP/2 handshake that never comes
      InternalWriteBufferingAndExceptionHandlerUtils.writeBufferingAndRemove(ctx.channel());
      ctx.pipeline().remove(this);
    }
  }
}
