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
        s.createContext("/metrics", ex -> answer(ex, () -> new Reply(200, ServerMetrics.TEXT_FORMAT, metrics.scrape())));
        s.createContext("/health", ex -> answer(ex, () -> {
          ServerMetrics.Health h = metrics.health(HEALTH_READ_TIMEOUT_MS);
          return new Reply(h.healthy() ? 200 : 503, "application/json", h.toJson());
        }));
        s.createContext("/version", ex -> answer(ex, () -> new Reply(200, "application/json", metrics.versionJson())));
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

  private record Reply(int status, String contentType, String body) {}

  private static void answer(HttpExchange ex, java.util.function.Supplier<Reply> reply) throws IOException {
    try (ex) {
      String path = ex.getRequestURI().getPath();
      String context = ex.getHttpContext().getPath();
      if (!path.equals(context)) {
        send(ex, 404, "text/plain; charset=utf-8", "404 page not found\n"); // as Go's ServeMux
        return;
      }
      if (!ex.getRequestMethod().equals("GET") && !ex.getRequestMethod().equals("HEAD")) {
        ex.getResponseHeaders().set("Allow", "GET");
        send(ex, 405, "text/plain; charset=utf-8", "Method Not Allowed\n");
        return;
      }
      Reply r = reply.get();
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
