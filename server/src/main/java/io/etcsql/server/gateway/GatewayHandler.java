package io.etcsql.server.gateway;

import com.google.protobuf.Message;
import io.etcsql.server.metrics.MetricsHttpServer;
import io.etcsql.server.metrics.ServerMetrics;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.netty.shaded.io.netty.buffer.Unpooled;
import io.grpc.netty.shaded.io.netty.channel.ChannelFutureListener;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.channel.SimpleChannelInboundHandler;
import io.grpc.netty.shaded.io.netty.handler.codec.DateFormatter;
import io.grpc.netty.shaded.io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.grpc.netty.shaded.io.netty.handler.codec.http.DefaultHttpContent;
import io.grpc.netty.shaded.io.netty.handler.codec.http.DefaultHttpResponse;
import io.grpc.netty.shaded.io.netty.handler.codec.http.DefaultLastHttpContent;
import io.grpc.netty.shaded.io.netty.handler.codec.http.FullHttpRequest;
import io.grpc.netty.shaded.io.netty.handler.codec.http.FullHttpResponse;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpHeaderNames;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpHeaders;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpMethod;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpResponse;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpResponseStatus;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpUtil;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpVersion;
import io.grpc.netty.shaded.io.netty.handler.codec.http.LastHttpContent;
import io.grpc.netty.shaded.io.netty.handler.codec.http.QueryStringDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * One HTTP/1.x connection of a client listener: etcd 3.4's gateway ({@code POST /v3/...}, the
 * request a JSON body, the reply JSON; streaming methods reply one {@code {"result":...}} line per
 * message), and /metrics, /health, /version. Requests on a connection are answered in order.
 */
final class GatewayHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
  private static final String JSON = "application/json";
  private static final String TEXT = "text/plain; charset=utf-8";
  private static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private final Channel channel;
  private final ServerMetrics metrics;
  private final boolean enabled;
  private final io.etcsql.server.config.HttpAccess access;
  /** The Origin of the request being answered (one at a time per connection), for CORS. */
  private String origin;
  private final Executor blocking;
  private final ArrayDeque<FullHttpRequest> pending = new ArrayDeque<>();
  private ChannelHandlerContext ctx;
  private boolean busy;
  private volatile ClientCall<Message, Message> active;

  GatewayHandler(Channel channel, ServerMetrics metrics, io.etcsql.server.config.HttpAccess access, Executor blocking) {
    super(false);
    this.access = access;
    this.channel = channel;
    this.metrics = metrics;
    this.enabled = access.gateway();
    this.blocking = blocking;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
    pending.add(req);
    if (!busy) {
      next();
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    ClientCall<Message, Message> call = active;
    if (call != null) {
      call.cancel("HTTP client went away", null);
    }
    pending.forEach(FullHttpRequest::release);
    pending.clear();
    super.channelInactive(ctx);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }

  /** Serves the next request waiting, on the event loop. */
  private void next() {
    FullHttpRequest req = pending.poll();
    busy = req != null;
    if (req == null) {
      return;
    }
    try {
      serve(req);
    } catch (RuntimeException e) {
      ctx.close();
    } finally {
      req.release();
    }
  }

  /** The exchange ends with {@code last}: then serve the next request, or close as the client asked. */
  private void done(io.grpc.netty.shaded.io.netty.channel.ChannelFuture last, boolean keepAlive) {
    if (keepAlive) {
      ctx.executor().execute(this::next);
    } else {
      last.addListener(ChannelFutureListener.CLOSE);
    }
  }

  private void serve(FullHttpRequest req) {
    boolean keepAlive = HttpUtil.isKeepAlive(req);
    String path = new QueryStringDecoder(req.uri()).path();
    if (path.startsWith("/v3beta/")) { // etcd: "redirect for backward compatibilities"
      path = "/v3/" + path.substring("/v3beta/".length());
    }
    String method = req.method().name();
    origin = req.headers().get("Origin");
    if (ctx.pipeline().get(io.grpc.netty.shaded.io.netty.handler.ssl.SslHandler.class) == null) {
      // etcd checks the Host of plain-text requests against --host-whitelist (DNS rebinding)
      String host = hostname(req.headers().get("Host"));
      if (!access.hostAllowed(host)) {
        reply(req, keepAlive, HttpResponseStatus.valueOf(421), TEXT, Map.of("X-Content-Type-Options", "nosniff"),
            String.format("%netcd received your request, but the Host header was unrecognized.%n%n"
                + "To fix this, choose one of the following options:%n"
                + "- Enable TLS, then any HTTPS request will be allowed.%n"
                + "- Add the hostname you want to use to the whitelist in settings.%n"
                + "  - e.g. etcd --host-whitelist \"%s\"%n%n"
                + "This requirement has been added to help prevent \"DNS Rebinding\" attacks (CVE-2018-5702).%n%n",
                host));
        return;
      }
    }
    if (req.method().equals(HttpMethod.OPTIONS)) {
      reply(req, keepAlive, HttpResponseStatus.OK, null, Map.of(), "");
      return;
    }
    if (enabled && path.startsWith("/v3/")) {
      gateway(req, keepAlive, path);
      return;
    }
    boolean head = req.method().equals(HttpMethod.HEAD);
    // off the event loop: /health waits up to a second for a linearizable read
    String basicPath = path;
    CompletableFuture.supplyAsync(() -> MetricsHttpServer.reply(metrics, method, basicPath), blocking)
        .whenComplete((r, failure) -> {
          if (failure != null) {
            reply(head, keepAlive, HttpResponseStatus.INTERNAL_SERVER_ERROR, TEXT, Map.of(), failure + "\n");
          } else if (r == null) {
            reply(head, keepAlive, HttpResponseStatus.NOT_FOUND, TEXT, Map.of("X-Content-Type-Options", "nosniff"),
                "404 page not found\n");
          } else {
            reply(head, keepAlive, HttpResponseStatus.valueOf(r.status()), r.contentType(), r.headers(), r.body());
          }
        });
  }

  /** grpc-gateway's ServeMux: the route, 404 Not Found or 405 Method Not Allowed, then the call. */
  private void gateway(FullHttpRequest req, boolean keepAlive, String path) {
    MethodDescriptor<Message, Message> m = GatewayRoutes.method(path);
    if (m == null) { // also a ":verb" suffix, which none of etcd's routes has
      reply(req, keepAlive, HttpResponseStatus.NOT_FOUND, TEXT, Map.of("X-Content-Type-Options", "nosniff"), "Not Found\n");
      return;
    }
    if (!req.method().equals(HttpMethod.POST)) {
      reply(req, keepAlive, HttpResponseStatus.METHOD_NOT_ALLOWED, TEXT, Map.of("X-Content-Type-Options", "nosniff"),
          "Method Not Allowed\n");
      return;
    }
    String body = req.content().toString(StandardCharsets.UTF_8);
    boolean bidi = m.getType() == MethodDescriptor.MethodType.BIDI_STREAMING;
    List<Message> requests = new ArrayList<>();
    int pos = 0;
    while (true) {
      Message.Builder b = GatewayRoutes.newRequest(m);
      try {
        int start = GoJson.skipSpace(body, pos);
        int end = GoJson.valueEnd(body, start);
        if (end < 0) {
          if (!bidi) {
            requests.add(b.build()); // an empty body is an empty request
          }
          break;
        }
        JsonCodec.merge(body.substring(start, end), b);
        requests.add(b.build());
        pos = end;
      } catch (GoJson.SyntaxException | JsonCodec.BadInput e) {
        if (requests.isEmpty()) {
          // grpc-gateway: InvalidArgument for a unary (or server streaming) request; the error as
          // it is, Unknown, for the first message of a bidirectional stream
          Status.Code code = bidi ? Status.Code.UNKNOWN : Status.Code.INVALID_ARGUMENT;
          reply(req, keepAlive, HttpResponseStatus.valueOf(httpStatus(code)), JSON, Map.of(),
              errorBody(code, e.getMessage()));
          return;
        }
        break; // later messages of a stream: grpc-gateway stops reading and closes the sending side
      }
      if (!bidi) {
        break; // one value; Go's decoder leaves whatever follows it unread
      }
    }
    Metadata md = new Metadata();
    String authorization = req.headers().get(HttpHeaderNames.AUTHORIZATION);
    if (authorization != null) {
      md.put(AUTHORIZATION, authorization);
    }
    for (Map.Entry<String, String> h : req.headers()) {
      String name = h.getKey().toLowerCase(java.util.Locale.ROOT);
      if (name.startsWith("grpc-metadata-") && name.length() > "grpc-metadata-".length()
          && !name.endsWith(Metadata.BINARY_HEADER_SUFFIX)) {
        try {
          md.put(Metadata.Key.of(name.substring("grpc-metadata-".length()), Metadata.ASCII_STRING_MARSHALLER), h.getValue());
        } catch (IllegalArgumentException e) {
          // not a valid gRPC metadata key (":path", ...): left out
        }
      }
    }
    ClientCall<Message, Message> call = channel.newCall(m, CallOptions.DEFAULT);
    active = call;
    boolean streaming = m.getType() != MethodDescriptor.MethodType.UNARY;
    call.start(new Exchange(call, keepAlive, streaming), md);
    call.request(1);
    requests.forEach(call::sendMessage);
    call.halfClose();
  }

  /** One gRPC call behind an HTTP request, answered as grpc-gateway answers. */
  private final class Exchange extends ClientCall.Listener<Message> {
    private final ClientCall<Message, Message> call;
    private final boolean keepAlive;
    private final boolean streaming;
    private Message unary;
    private boolean headSent;

    Exchange(ClientCall<Message, Message> call, boolean keepAlive, boolean streaming) {
      this.call = call;
      this.keepAlive = keepAlive;
      this.streaming = streaming;
    }

    @Override
    public void onMessage(Message message) {
      if (!streaming) {
        unary = message;
        call.request(1);
        return;
      }
      if (!headSent) {
        sendHead(HttpResponseStatus.OK);
      }
      String chunk = "{\"result\":" + JsonCodec.print(message) + "}\n";
      ctx.writeAndFlush(new DefaultHttpContent(Unpooled.copiedBuffer(chunk, StandardCharsets.UTF_8)))
          .addListener(f -> {
            if (f.isSuccess()) {
              call.request(1); // the next message once this one is on its way: the client sets the pace
            }
          });
    }

    @Override
    public void onClose(Status status, Metadata trailers) {
      active = null;
      String message = status.getDescription() == null ? "" : status.getDescription();
      if (!streaming) {
        if (status.isOk() && unary != null) {
          HttpResponse r = response(HttpResponseStatus.OK, JSON, JsonCodec.print(unary));
          r.headers().set("Grpc-Metadata-Content-Type", "application/grpc");
          finish(r, keepAlive);
        } else {
          // the error arrives in gRPC trailers, which grpc-gateway passes on as HTTP trailers
          DefaultHttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1,
              HttpResponseStatus.valueOf(httpStatus(status.getCode())));
          common(r.headers(), JSON);
          r.headers().set("Trailer", "Grpc-Trailer-Content-Type");
          r.headers().set("Transfer-Encoding", "chunked");
          closeIfAsked(r, keepAlive);
          ctx.write(r);
          ctx.write(new DefaultHttpContent(Unpooled.copiedBuffer(errorBody(status.getCode(), message), StandardCharsets.UTF_8)));
          LastHttpContent last = new DefaultLastHttpContent();
          last.trailingHeaders().set("Grpc-Trailer-Content-Type", "application/grpc");
          done(ctx.writeAndFlush(last), keepAlive);
        }
        return;
      }
      if (!status.isOk()) {
        if (!headSent) {
          sendHead(HttpResponseStatus.valueOf(httpStatus(status.getCode())));
        }
        int http = httpStatus(status.getCode());
        StringBuilder err = new StringBuilder("{\"error\":{\"grpc_code\":").append(status.getCode().value())
            .append(",\"http_code\":").append(http);
        if (!message.isEmpty()) {
          err.append(",\"message\":").append(JsonCodec.quote(message));
        }
        err.append(",\"http_status\":").append(JsonCodec.quote(HttpResponseStatus.valueOf(http).reasonPhrase())).append("}}");
        ctx.write(new DefaultHttpContent(Unpooled.copiedBuffer(err, StandardCharsets.UTF_8)));
      } else if (!headSent) {
        sendHead(HttpResponseStatus.OK);
      }
      done(ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT), keepAlive);
    }

    private void sendHead(HttpResponseStatus status) {
      headSent = true;
      DefaultHttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, status);
      common(r.headers(), JSON);
      r.headers().set("Grpc-Metadata-Content-Type", "application/grpc");
      r.headers().set("Transfer-Encoding", "chunked");
      closeIfAsked(r, keepAlive);
      ctx.writeAndFlush(r);
    }
  }

  /** grpc-gateway's error body: {@code {"error":...,"message":...,"code":N}}. */
  private static String errorBody(Status.Code code, String message) {
    String q = JsonCodec.quote(message);
    return "{\"error\":" + q + ",\"message\":" + q + ",\"code\":" + code.value() + "}";
  }

  /** grpc-gateway's HTTPStatusFromCode. */
  static int httpStatus(Status.Code code) {
    return switch (code) {
      case OK -> 200;
      case CANCELLED -> 408;
      case INVALID_ARGUMENT, OUT_OF_RANGE -> 400;
      case DEADLINE_EXCEEDED -> 504;
      case NOT_FOUND -> 404;
      case ALREADY_EXISTS, ABORTED -> 409;
      case PERMISSION_DENIED -> 403;
      case UNAUTHENTICATED -> 401;
      case RESOURCE_EXHAUSTED -> 429;
      case FAILED_PRECONDITION -> 412;
      case UNIMPLEMENTED -> 501;
      case UNAVAILABLE -> 503;
      default -> 500; // Unknown, Internal, DataLoss
    };
  }

  private void reply(FullHttpRequest req, boolean keepAlive, HttpResponseStatus status, String contentType,
      Map<String, String> headers, String body) {
    reply(req.method().equals(HttpMethod.HEAD), keepAlive, status, contentType, headers, body);
  }

  private void reply(boolean head, boolean keepAlive, HttpResponseStatus status, String contentType,
      Map<String, String> headers, String body) {
    FullHttpResponse r = response(status, contentType, head ? "" : body);
    headers.forEach(r.headers()::set);
    if (head) {
      r.headers().set("Content-Length", body.getBytes(StandardCharsets.UTF_8).length);
    }
    finish(r, keepAlive);
  }

  private FullHttpResponse response(HttpResponseStatus status, String contentType, String body) {
    DefaultFullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
        Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
    common(r.headers(), contentType);
    r.headers().set("Content-Length", r.content().readableBytes());
    return r;
  }

  private void finish(HttpResponse r, boolean keepAlive) {
    closeIfAsked(r, keepAlive);
    done(ctx.writeAndFlush(r), keepAlive);
  }

  private static void closeIfAsked(HttpResponse r, boolean keepAlive) {
    if (!keepAlive) {
      r.headers().set("Connection", "close");
    }
  }

  /** Go's httputil.GetHostname: the Host header without its port. */
  static String hostname(String hostHeader) {
    if (hostHeader == null) {
      return "";
    }
    if (hostHeader.startsWith("[")) {
      int end = hostHeader.indexOf(']');
      return end > 0 && hostHeader.indexOf(':', end) == end + 1 ? hostHeader.substring(1, end) : hostHeader;
    }
    int colon = hostHeader.indexOf(':');
    return colon >= 0 && hostHeader.indexOf(':', colon + 1) < 0 ? hostHeader.substring(0, colon) : hostHeader;
  }

  /** The headers of every answer: etcd's CORS headers (as --cors allows the origin) and Date. */
  private void common(HttpHeaders h, String contentType) {
    String allow = access.allowOrigin(origin);
    if (allow != null) {
      h.set("Access-Control-Allow-Headers", "accept, content-type, authorization");
      h.set("Access-Control-Allow-Methods", "POST, GET, OPTIONS, PUT, DELETE");
      h.set("Access-Control-Allow-Origin", allow);
    }
    if (contentType != null) {
      h.set("Content-Type", contentType);
    }
    h.set("Date", DateFormatter.format(new Date()));
  }
}
