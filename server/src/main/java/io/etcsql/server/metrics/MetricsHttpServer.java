package io.etcsql.server.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The HTTP endpoints of etcd's {@code --listen-metrics-urls}: {@code GET /metrics} (Prometheus text
 * format 0.0.4), {@code GET /health} (200 {@code {"health":"true"}}, or 503 {@code
 * {"health":"false","reason":"..."}}) and {@code GET /version}, on every address given.
 */
public final class MetricsHttpServer implements Closeable {
  /** How long /health waits for its linearizable read (etcd: one second). */
  static final long HEALTH_READ_TIMEOUT_MS = 1_000;

  private final List<HttpServer> servers = new ArrayList<>();
  private final ExecutorService executor;

  private MetricsHttpServer(ServerMetrics metrics, List<InetSocketAddress> addresses) throws IOException {
    this.executor = Executors.newFixedThreadPool(2, r -> {
      Thread t = new Thread(r, "metrics-http");
      t.setDaemon(true);
      return t;
    });
    try {
      for (InetSocketAddress a : addresses) {
        HttpServer s = HttpServer.create(a, 0);
        for (String path : PATHS) {
          s.createContext(path, ex -> answer(ex, metrics));
        }
        s.setExecutor(executor);
        s.start();
        servers.add(s);
      }
    } catch (IOException | RuntimeException e) {
      close();
      throw e;
    }
  }

  /**
   * Serves the endpoints on each address.
   *
   * @throws IOException if an address cannot be bound (every one bound so far is released)
   */
  public static MetricsHttpServer start(ServerMetrics metrics, List<InetSocketAddress> addresses) throws IOException {
    return new MetricsHttpServer(metrics, addresses);
  }

  /** The bound addresses (with the ports chosen for port 0). */
  public List<InetSocketAddress> addresses() {
    List<InetSocketAddress> out = new ArrayList<>();
    servers.forEach(s -> out.add(s.getAddress()));
    return out;
  }

  /** The paths {@link #reply} answers. */
  private static final List<String> PATHS = List.of("/metrics", "/health", "/version");

  /** An HTTP answer: status, Content-Type, extra headers and body. */
  public record Reply(int status, String contentType, java.util.Map<String, String> headers, String body) {
    Reply(int status, String contentType, String body) {
      this(status, contentType, java.util.Map.of(), body);
    }
  }

  /**
   * etcd's answer to {@code method path} for /metrics, /health and /version (etcd serves them on
   * the metrics URLs and on the client URLs alike), or null for any other path.
   */
  public static Reply reply(ServerMetrics metrics, String method, String path) {
    if (!PATHS.contains(path)) {
      return null;
    }
    if (!method.equals("GET") && !method.equals("HEAD")) {
      return new Reply(405, "text/plain; charset=utf-8", java.util.Map.of("Allow", "GET", "X-Content-Type-Options", "nosniff"),
          "Method Not Allowed\n");
    }
    return switch (path) {
      case "/metrics" -> new Reply(200, ServerMetrics.TEXT_FORMAT, metrics.scrape());
      case "/health" -> {
        ServerMetrics.Health h = metrics.health(HEALTH_READ_TIMEOUT_MS);
        // etcd writes the JSON without a Content-Type (Go sniffs text/plain) and a failure with
        // http.Error (text/plain, nosniff, a newline after the body)
        yield h.healthy() ? new Reply(200, "text/plain; charset=utf-8", h.toJson())
            : new Reply(503, "text/plain; charset=utf-8", java.util.Map.of("X-Content-Type-Options", "nosniff"),
                h.toJson() + "\n");
      }
      default -> new Reply(200, "application/json", metrics.versionJson());
    };
  }

  private static void answer(HttpExchange ex, ServerMetrics metrics) throws IOException {
    try (ex) {
      Reply r = reply(metrics, ex.getRequestMethod(), ex.getRequestURI().getPath());
      if (r == null) {
        send(ex, 404, "text/plain; charset=utf-8", "404 page not found\n"); // as Go's ServeMux
        return;
      }
      r.headers().forEach(ex.getResponseHeaders()::set);
      send(ex, r.status(), r.contentType(), r.body());
    }
  }

  private static void send(HttpExchange ex, int status, String contentType, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", contentType);
    boolean head = ex.getRequestMethod().equals("HEAD");
    ex.sendResponseHeaders(status, head ? -1 : bytes.length);
    if (!head) {
      try (OutputStream out = ex.getResponseBody()) {
        out.write(bytes);
      }
    }
  }

  @Override
  public void close() {
    for (HttpServer s : servers) {
      s.stop(0);
    }
    executor.shutdownNow();
  }
}
