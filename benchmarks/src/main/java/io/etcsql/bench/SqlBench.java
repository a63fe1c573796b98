package io.etcsql.bench;

import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcdserverpb.KVGrpc;
import io.etcsql.grpcapi.etcdserverpb.PutRequest;
import io.etcsql.grpcapi.etcdserverpb.PutResponse;
import io.etcsql.grpcapi.etcdserverpb.RangeRequest;
import io.etcsql.grpcapi.etcdserverpb.RangeResponse;
import io.etcsql.grpcapi.etcdserverpb.RequestOp;
import io.etcsql.grpcapi.etcdserverpb.TxnRequest;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The SQL benchmark, etcsql and a real etcd side by side on this machine, each loaded with the
 * same data through the etcd API:
 *
 * <ol>
 *   <li>a 10k-key prefix (of 100k keys, 256-byte values) read with one gRPC Range and with
 *       {@code SELECT key, value FROM kv WHERE key LIKE ...} over JDBC: the SQL/Range ratio;
 *   <li>the history of one key (100 changes) among 1M revisions:
 *       {@code SELECT ... FROM revisions WHERE key = ...};
 *   <li>a 1M-row scan over JDBC through an {@code etcsql sql-frontend} limited to a 64 MB heap:
 *       it completes only if rows stream in pages (1M rows as Java objects take several times
 *       that).
 * </ol>
 *
 * etcsql serves SQL itself (and through a 64 MB frontend for 3.); etcd is served by
 * {@code etcsql sql-frontend --endpoints}. Prints a Markdown table. Usage: see
 * {@code benchmarks/sql-bench.sh}.
 */
public final class SqlBench {
  private static final Path HOME = Path.of(System.getProperty("etcsql.home", ".")).toAbsolutePath().normalize();
  private static final String ETCD = System.getProperty("etcsql.bench.etcd", "/usr/bin/etcd");

  private final int keys;
  private final int prefixKeys;
  private final int history;
  private final int runs;
  private final Path work;
  private final List<Process> processes = new java.util.concurrent.CopyOnWriteArrayList<>();

  private SqlBench(int keys, int prefixKeys, int history, int runs, Path work) {
    this.keys = keys;
    this.prefixKeys = prefixKeys;
    this.history = history;
    this.runs = runs;
    this.work = work;
  }

  public static void main(String[] args) throws Exception {
    Map<String, String> o = new java.util.HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      o.put(args[i].replaceFirst("^--", ""), args[i + 1]);
    }
    SqlBench b = new SqlBench(Integer.parseInt(o.getOrDefault("keys", "100000")),
        Integer.parseInt(o.getOrDefault("prefix-keys", "10000")),
        Integer.parseInt(o.getOrDefault("history", "1000000")),
        Integer.parseInt(o.getOrDefault("runs", "20")),
        Files.createTempDirectory("etcsql-sql-bench-"));
    // servers never outlive the benchmark, also when it is interrupted
    Runtime.getRuntime().addShutdownHook(new Thread(() -> b.processes.forEach(Process::destroyForcibly)));
    try {
      b.run();
    } finally {
      b.stopAll();
    }
  }

  /** One server under test: its client port and the JDBC URLs serving SQL for it. */
  private record Target(String name, int clientPort, String sqlUrl, String smallHeapSqlUrl) {
  }

  private record Result(double rangeMs, double sqlPrefixMs, double sqlPrefixPlannedMs, double historyMs,
      double historyPlannedMs, int historyRows, double scanS, long scanRows, String scanOutcome) {
  }

  private void run() throws Exception {
    System.out.printf(Locale.ROOT, "keys %d, prefix %d, history %d revisions, %d runs; work dir %s%n", keys,
        prefixKeys, history, runs, work);
    Result rs = measure(startEtcsql());
    stopAll();
    Result re = measure(startEtcd());
    stopAll();
    String machine = Runtime.getRuntime().availableProcessors() + " cores, "
        + System.getProperty("os.name") + " " + System.getProperty("os.arch") + ", Java " + System.getProperty("java.version");
    System.out.println();
    System.out.println("| measure | etcsql | etcd 3.4 (+ etcsql sql-frontend) | etcsql / etcd |");
    System.out.println("|---|---|---|---|");
    row("gRPC Range of a " + prefixKeys + "-key prefix (ms, median)", rs.rangeMs, re.rangeMs);
    row("same prefix, SQL over JDBC, prepared statement (ms, median)", rs.sqlPrefixMs, re.sqlPrefixMs);
    System.out.printf(Locale.ROOT, "| SQL / Range | %.2f | %.2f | |%n", rs.sqlPrefixMs / rs.rangeMs, re.sqlPrefixMs / re.rangeMs);
    row("same prefix, SQL planned each time (ms, median)", rs.sqlPrefixPlannedMs, re.sqlPrefixPlannedMs);
    row("one key's history (" + rs.historyRows + " changes) among " + history + " revisions, prepared (ms, median)",
        rs.historyMs, re.historyMs);
    row("same history, planned each time (ms, median)", rs.historyPlannedMs, re.historyPlannedMs);
    row(rs.scanRows + "-row scan over JDBC, frontend heap 64 MB (s)", rs.scanS, re.scanS);
    System.out.printf(Locale.ROOT, "| ... outcome | %s | %s | |%n", rs.scanOutcome, re.scanOutcome);
    System.out.println();
    System.out.println("machine: " + machine);
  }

  private static void row(String what, double etcsql, double etcd) {
    System.out.printf(Locale.ROOT, "| %s | %.1f | %.1f | %.2f |%n", what, etcsql, etcd, etcsql / etcd);
  }

  // ---------------------------------------------------------------- servers

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private Process start(String log, Map<String, String> env, String... cmd) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(work.resolve(log).toFile());
    pb.environment().putAll(env);
    Process p = pb.start();
    processes.add(p);
    return p;
  }

  private void stopAll() {
    for (Process p : processes) {
      p.destroy();
    }
    for (Process p : processes) {
      try {
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    processes.clear();
  }

  private static void awaitPort(int port) throws InterruptedException {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
    while (System.nanoTime() < end) {
      try (Socket s = new Socket("127.0.0.1", port)) {
        return;
      } catch (IOException e) {
        Thread.sleep(200);
      }
    }
    throw new IllegalStateException("nothing listens on 127.0.0.1:" + port);
  }

  private List<String> memberFlags(String name, int client, int peer) {
    return List.of("--name", name, "--data-dir", work.resolve(name + ".data").toString(),
        "--listen-client-urls", "http://127.0.0.1:" + client, "--advertise-client-urls", "http://127.0.0.1:" + client,
        "--listen-peer-urls", "http://127.0.0.1:" + peer, "--initial-advertise-peer-urls", "http://127.0.0.1:" + peer,
        "--initial-cluster", name + "=http://127.0.0.1:" + peer, "--quota-backend-bytes", String.valueOf(8L << 30));
  }

  /** A frontend process serving SQL for {@code client}, with a 64 MB heap; returns its JDBC URL. */
  private String smallFrontend(String name, int client) throws Exception {
    int sql = freePort();
    start(name + "-frontend64.log", Map.of("ETCSQL_JAVA_OPTS", "-Xmx64m"), HOME.resolve("bin/etcsql").toString(),
        "sql-frontend", "--endpoints", "127.0.0.1:" + client, "--listen-sql-urls", "http://127.0.0.1:" + sql);
    awaitPort(sql);
    return "jdbc:etcsql://127.0.0.1:" + sql;
  }

  private Target startEtcsql() throws Exception {
    int client = freePort();
    int sql = freePort();
    List<String> cmd = new ArrayList<>(List.of(HOME.resolve("bin/etcsql").toString()));
    cmd.addAll(memberFlags("etcsql", client, freePort()));
    cmd.addAll(List.of("--listen-sql-urls", "http://127.0.0.1:" + sql));
    start("etcsql.log", Map.of(), cmd.toArray(String[]::new));
    awaitPort(client);
    awaitPort(sql);
    return new Target("etcsql", client, "jdbc:etcsql://127.0.0.1:" + sql, smallFrontend("etcsql", client));
  }

  private Target startEtcd() throws Exception {
    int client = freePort();
    List<String> cmd = new ArrayList<>(List.of(ETCD));
    cmd.addAll(memberFlags("etcd", client, freePort()));
    start("etcd.log", Map.of(), cmd.toArray(String[]::new));
    awaitPort(client);
    int sql = freePort();
    start("etcd-frontend.log", Map.of(), HOME.resolve("bin/etcsql").toString(), "sql-frontend", "--endpoints",
        "127.0.0.1:" + client, "--listen-sql-urls", "http://127.0.0.1:" + sql);
    awaitPort(sql);
    return new Target("etcd", client, "jdbc:etcsql://127.0.0.1:" + sql, smallFrontend("etcd", client));
  }

  // ---------------------------------------------------------------- load and measure

  private static ByteString b(String s) {
    return ByteString.copyFromUtf8(s);
  }

  private Result measure(Target t) throws Exception {
    ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", t.clientPort()).usePlaintext()
        .maxInboundMessageSize(Integer.MAX_VALUE).build();
    try {
      KVGrpc.KVBlockingStub kv = KVGrpc.newBlockingStub(ch);
      long t0 = System.nanoTime();
      byte[] v = new byte[256];
      Arrays.fill(v, (byte) 'v');
      ByteString value = ByteString.copyFrom(v);
      for (int i = 0; i < keys; i += 100) {
        TxnRequest.Builder txn = TxnRequest.newBuilder();
        for (int j = i; j < Math.min(keys, i + 100); j++) {
          txn.addSuccess(RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder()
              .setKey(b(String.format(Locale.ROOT, "/bench/kv/%06d", j))).setValue(value)));
        }
        kv.txn(txn.build());
      }
      System.out.printf(Locale.ROOT, "%s: loaded %d keys in %.1f s%n", t.name(), keys, (System.nanoTime() - t0) / 1e9);

      // 1. prefixKeys keys in a row: [prefixKeys, 2 * prefixKeys)
      String first = String.format(Locale.ROOT, "/bench/kv/%06d", prefixKeys);
      String last = String.format(Locale.ROOT, "/bench/kv/%06d", 2 * prefixKeys);
      RangeRequest range = RangeRequest.newBuilder().setKey(b(first)).setRangeEnd(b(last)).build();
      String sql = "SELECT key, value FROM kv WHERE key >= '" + first + "' AND key < '" + last + "'";
      double rangeMs = median(() -> {
        RangeResponse r = kv.range(range);
        check(r.getKvsCount() == prefixKeys, "range returned " + r.getKvsCount());
      });
      double sqlMs;
      double sqlOnceMs;
      try (Connection c = DriverManager.getConnection(t.sqlUrl()); PreparedStatement ps = c.prepareStatement(sql)) {
        sqlMs = median(() -> check(count(ps) == prefixKeys, "SQL returned another count"));
        sqlOnceMs = median(() -> check(count(c, sql) == prefixKeys, "SQL returned another count"));
      }
      System.out.printf(Locale.ROOT, "%s: %d-key range %.1f ms, SQL %.1f ms prepared, %.1f ms planned each time%n",
          t.name(), prefixKeys, rangeMs, sqlMs, sqlOnceMs);

      // 2. history: `history` single-key puts, every (history / 100)th one to /bench/hist/k
      t0 = System.nanoTime();
      KVGrpc.KVStub async = KVGrpc.newStub(ch);
      Semaphore inFlight = new Semaphore(256);
      AtomicReference<Throwable> failed = new AtomicReference<>();
      ByteString small = b("0123456789abcdef");
      int every = Math.max(1, history / 100);
      for (int i = 0; i < history; i++) {
        String key = i % every == 0 ? "/bench/hist/k" : String.format(Locale.ROOT, "/bench/h/%07d", i);
        inFlight.acquire();
        if (failed.get() != null) {
          throw new IllegalStateException("a put failed", failed.get());
        }
        async.put(PutRequest.newBuilder().setKey(b(key)).setValue(i % every == 0 ? b("v" + i) : small).build(),
            new StreamObserver<PutResponse>() {
              @Override
              public void onNext(PutResponse r) {
              }

              @Override
              public void onError(Throwable e) {
                failed.set(e);
                inFlight.release();
              }

              @Override
              public void onCompleted() {
                inFlight.release();
              }
            });
      }
      inFlight.acquire(256);
      inFlight.release(256);
      System.out.printf(Locale.ROOT, "%s: wrote %d revisions in %.1f s%n", t.name(), history,
          (System.nanoTime() - t0) / 1e9);
      String hist = "SELECT revision, value FROM revisions WHERE key = '/bench/hist/k'";
      double histMs;
      double histOnceMs;
      int histRows;
      try (Connection c = DriverManager.getConnection(t.sqlUrl()); PreparedStatement ps = c.prepareStatement(hist)) {
        histRows = (int) count(ps);
        histMs = median(() -> check(count(ps) == histRows, "history rows"));
        histOnceMs = median(() -> check(count(c, hist) == histRows, "history rows"));
      }
      System.out.printf(Locale.ROOT, "%s: one key's history (%d rows) %.1f ms prepared, %.1f ms planned each time%n",
          t.name(), histRows, histMs, histOnceMs);

      // 3. a scan of every /bench/h/ key through a frontend with a 64 MB heap
      String scan = "SELECT key, value FROM kv WHERE key LIKE '/bench/h/%'";
      long rows = 0;
      String outcome;
      t0 = System.nanoTime();
      try (Connection c = DriverManager.getConnection(t.smallHeapSqlUrl())) {
        rows = count(c, scan);
        outcome = "completed";
      } catch (SQLException e) {
        outcome = "failed: " + e.getMessage();
      }
      double scanS = (System.nanoTime() - t0) / 1e9;
      System.out.printf(Locale.ROOT, "%s: scan of %d rows through a 64 MB frontend %.1f s (%s)%n", t.name(), rows,
          scanS, outcome);
      return new Result(rangeMs, sqlMs, sqlOnceMs, histMs, histOnceMs, histRows, scanS, rows, outcome);
    } finally {
      ch.shutdownNow();
    }
  }

  private static void check(boolean ok, String what) {
    if (!ok) {
      throw new IllegalStateException(what);
    }
  }

  private static long count(PreparedStatement ps) throws SQLException {
    long n = 0;
    ps.setFetchSize(1000);
    try (ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        rs.getString(2);
        n++;
      }
    }
    return n;
  }

  private static long count(Connection c, String sql) throws SQLException {
    long n = 0;
    try (Statement s = c.createStatement()) {
      s.setFetchSize(1000);
      ResultSet rs = s.executeQuery(sql);
      while (rs.next()) {
        rs.getString(2);
        n++;
      }
    }
    return n;
  }

  private interface Op {
    void run() throws Exception;
  }

  /**
   * Milliseconds of the median of {@link #runs} runs, after warming up (at least as many runs
   * and 5 s: a JIT-compiled server, as in a long-running deployment); of 3 runs for an operation
   * that takes seconds.
   */
  private double median(Op op) throws Exception {
    long start = System.nanoTime();
    op.run();
    double firstMs = (System.nanoTime() - start) / 1e6;
    // an operation of seconds (history over etcd) is measured 3 times, without more warm-up
    int n = firstMs > 2000 ? 3 : runs;
    long warm = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    for (int i = 1; n == runs && (i < runs || System.nanoTime() < warm); i++) {
      op.run();
    }
    double[] ms = new double[n];
    for (int i = 0; i < n; i++) {
      long t0 = System.nanoTime();
      op.run();
      ms[i] = (System.nanoTime() - t0) / 1e6;
    }
    Arrays.sort(ms);
    return ms[n / 2];
  }
}
