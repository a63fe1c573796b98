package io.etcsql.server.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The same SQL over real etcd and over etcsql gives the same answers: a real etcd 3.4
 * ({@code /usr/bin/etcd}) served by {@code etcsql sql-frontend --endpoints ...}, and an etcsql
 * member serving SQL itself, loaded with the same etcdctl commands (so both have the same
 * revisions). Only what etcd does not keep differs: {@code committed_at} and {@code principal} are
 * NULL over etcd, and {@code kv_as_of} is refused there.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@org.junit.jupiter.api.TestMethodOrder(org.junit.jupiter.api.MethodOrderer.OrderAnnotation.class)
class SqlFrontendIT {
  private static final Path ETCD = Path.of(System.getProperty("etcsql.it.etcd", "/usr/bin/etcd"));

  private Cluster cluster;
  private Process etcd;
  private Process frontend;
  private Path dir;
  private Etcdctl etcdCtl;
  private String etcdUrl;
  private String etcsqlUrl;

  @BeforeAll
  void start() throws Exception {
    assumeFalse(ServerProcess.targetIsEtcd(), "runs both itself");
    assumeTrue(Files.isExecutable(ETCD), "needs a real etcd at " + ETCD + " (Debian etcd-server)");
    dir = Files.createTempDirectory(Path.of(System.getProperty("etcsql.it.workdir", System.getProperty("java.io.tmpdir"))),
        "sql-frontend-");
    int client = ServerProcess.freePort();
    int peer = ServerProcess.freePort();
    etcd = new ProcessBuilder(ETCD.toString(), "--name", "e1", "--data-dir", dir.resolve("e1.etcd").toString(),
        "--listen-client-urls", "http://127.0.0.1:" + client, "--advertise-client-urls", "http://127.0.0.1:" + client,
        "--listen-peer-urls", "http://127.0.0.1:" + peer, "--initial-advertise-peer-urls", "http://127.0.0.1:" + peer,
        "--initial-cluster", "e1=http://127.0.0.1:" + peer)
        .redirectErrorStream(true).redirectOutput(dir.resolve("etcd.log").toFile()).start();
    etcdCtl = new Etcdctl("127.0.0.1:" + client);
    int sql = ServerProcess.freePort();
    frontend = new ProcessBuilder(ServerProcess.home().resolve("bin/etcsql").toString(), "sql-frontend",
        "--endpoints", "127.0.0.1:" + client, "--listen-sql-urls", "http://127.0.0.1:" + sql)
        .redirectErrorStream(true).redirectOutput(dir.resolve("sql-frontend.log").toFile()).start();
    etcdUrl = "jdbc:etcsql://127.0.0.1:" + sql;
    cluster = Cluster.startWithSql(1);
    etcsqlUrl = cluster.jdbcUrl();
    Jdbc.awaitPort(client, Duration.ofSeconds(60));
    Jdbc.awaitPort(sql, Duration.ofSeconds(60));

    for (Etcdctl ctl : List.of(etcdCtl, cluster.ctl())) {
      for (int i = 1; i <= 12; i++) {
        ctl.ok("put", String.format("/cfg/svc%02d/port", i), String.valueOf(8000 + i));
      }
      ctl.ok("put", "/cfg/svc01/port", "9001");
      ctl.ok("put", "/cfg/name", "{\"env\":\"prod\",\"n\":3}");
      ctl.ok("del", "/cfg/svc12/port");
      ctl.ok("put", "/other", "x");
      ctl.ok("put", "/cfg/svc03/port", "9003");
    }
  }

  @AfterAll
  void stop() throws IOException {
    for (Process p : new Process[] {frontend, etcd}) {
      if (p != null) {
        p.destroyForcibly();
      }
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  private static List<String> rows(String url, String sql) throws SQLException {
    return Jdbc.rows(url, sql);
  }

  /** Runs {@code sql} on both and asserts the same rows; returns them. */
  private List<String> same(String sql) throws SQLException {
    List<String> overEtcd = rows(etcdUrl, sql);
    assertEquals(overEtcd, rows(etcsqlUrl, sql), sql);
    return overEtcd;
  }

  @Test
  void queriesAnswerTheSameOverEtcdAndEtcsql() throws SQLException {
    assertEquals(13, same("SELECT key, value, create_revision, mod_revision, version, lease FROM kv WHERE key NOT LIKE '/w/%' ORDER BY key").size());
    assertEquals(List.of("/cfg/svc01/port|9001|2", "/cfg/svc02/port|8002|1"),
        same("SELECT key, value, version FROM kv WHERE key LIKE '/cfg/svc%' ORDER BY key LIMIT 2"));
    same("SELECT key FROM kv WHERE key IN ('/cfg/svc03/port', '/other', '/missing')");
    same("SELECT key, mod_revision FROM kv WHERE key >= '/cfg/svc05' AND key < '/cfg/svc08' ORDER BY key DESC");
    assertEquals(List.of("11"), same("SELECT COUNT(*) FROM kv WHERE key LIKE '/cfg/svc%'"));
    same("SELECT key FROM kv WHERE mod_revision > 10 ORDER BY key");
    assertEquals(List.of("prod"), same("SELECT JSON_VALUE(value, '$.env') FROM kv WHERE key = '/cfg/name'"));
    same("SELECT CAST(value AS INTEGER) + 1 FROM kv WHERE key LIKE '/cfg/svc0%' AND CAST(value AS INTEGER) > 9000");
    same("SELECT key, value FROM kv_at(5) ORDER BY key");
    same("SELECT COUNT(*) FROM TABLE(kv_at(14))");
  }

  @Test
  void historyAnswersTheSameAndOnlyEtcsqlKnowsWhen() throws SQLException {
    assertEquals(2, same("SELECT revision, event, value, prev_value, create_revision, version FROM revisions"
        + " WHERE key = '/cfg/svc01/port'").size());
    same("SELECT revision, key, event, prev_value FROM revisions WHERE key LIKE '/cfg/svc1%' AND revision > 3");
    same("SELECT key, COUNT(*) FROM revisions GROUP BY key HAVING COUNT(*) > 1 ORDER BY key");
    assertEquals(List.of("null|null"), rows(etcdUrl,
        "SELECT committed_at, principal FROM revisions WHERE key = '/other'"));
    List<String> when = rows(etcsqlUrl, "SELECT committed_at FROM revisions WHERE key = '/other'");
    assertEquals(1, when.size());
    assertNotNull(when.get(0));
    assertTrue(!when.get(0).equals("null"), "etcsql keeps the commit time");

    SQLException e = assertThrows(SQLException.class, () -> rows(etcdUrl, "SELECT * FROM kv_as_of('2026-01-01 00:00:00')"));
    assertEquals("0A000", e.getSQLState(), e.getMessage());
    assertTrue(e.getMessage().contains("kv_as_of needs the commit times etcsql keeps"), e.getMessage());
  }

  /**
   * Over etcd the history comes from a Watch, and the end of an old watch's catch-up is found with
   * a watch that also covers a key changed at the query's revision, not with progress requests
   * (etcd 3.4 answers those at once, even mid catch-up). Here etcd holds 100,000 revisions; one
   * key changed 50 times among them, the last change long before the end, and another key never
   * changed at all.
   */
  @Test
  @org.junit.jupiter.api.Order(Integer.MAX_VALUE) // last: afterwards etcd holds far more than etcsql
  void aKeysHistoryAmongManyRevisionsIsCompleteOverEtcd() throws Exception {
    int port = Integer.parseInt(etcdCtl.endpoints().split(":")[1]);
    io.grpc.ManagedChannel ch = io.grpc.Grpc.newChannelBuilderForAddress("127.0.0.1", port,
        io.grpc.InsecureChannelCredentials.create()).build();
    try {
      var kv = io.etcsql.grpcapi.etcdserverpb.KVGrpc.newStub(ch);
      java.util.concurrent.Semaphore inFlight = new java.util.concurrent.Semaphore(200);
      java.util.concurrent.atomic.AtomicReference<Throwable> failed = new java.util.concurrent.atomic.AtomicReference<>();
      for (int i = 0; i < 100_000; i++) {
        String key = i % 1000 == 0 && i < 50_000 ? "/many/k" : "/many/other/" + (i % 5000);
        inFlight.acquire();
        kv.put(io.etcsql.grpcapi.etcdserverpb.PutRequest.newBuilder().setKey(com.google.protobuf.ByteString.copyFromUtf8(key))
            .setValue(com.google.protobuf.ByteString.copyFromUtf8("v" + i)).build(), new io.grpc.stub.StreamObserver<>() {
              @Override
              public void onNext(io.etcsql.grpcapi.etcdserverpb.PutResponse r) {
              }

              @Override
              public void onError(Throwable t) {
                failed.set(t);
                inFlight.release();
              }

              @Override
              public void onCompleted() {
                inFlight.release();
              }
            });
      }
      inFlight.acquire(200);
      assertEquals(null, failed.get());
    } finally {
      ch.shutdownNow();
    }
    List<String> history = rows(etcdUrl, "SELECT value FROM revisions WHERE key = '/many/k'");
    assertEquals(50, history.size(), history.toString());
    assertEquals("v0", history.get(0));
    assertEquals("v49000", history.get(49));
    assertEquals(List.of("0"), rows(etcdUrl, "SELECT COUNT(*) FROM revisions WHERE key = '/many/never'"));
    assertEquals(List.of("5000"), rows(etcdUrl, "SELECT COUNT(DISTINCT key) FROM revisions WHERE key LIKE '/many/other/%'"));
  }

  @Test
  void writesAndTransactionsBehaveTheSame() throws SQLException {
    for (String url : List.of(etcdUrl, etcsqlUrl)) {
      try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
        assertEquals(2, s.executeUpdate("INSERT INTO kv (key, value) VALUES ('/w/a', '1'), ('/w/b', '2')"));
        SQLException dup = assertThrows(SQLException.class,
            () -> s.executeUpdate("INSERT INTO kv (key, value) VALUES ('/w/a', 'again')"));
        assertEquals("23505", dup.getSQLState());
        assertEquals(1, s.executeUpdate("UPDATE kv SET value = value || '0' WHERE key = '/w/a'"));
        c.setAutoCommit(false);
        s.executeUpdate("DELETE FROM kv WHERE key = '/w/b'");
        s.executeUpdate("UPSERT INTO kv (key, value) VALUES ('/w/c', '3')");
        c.commit();
        s.executeQuery("SELECT value FROM kv WHERE key = '/w/a'").close();
        s.executeUpdate("UPSERT INTO kv (key, value) VALUES ('/w/d', '4')");
        try (Connection other = DriverManager.getConnection(url); Statement o = other.createStatement()) {
          o.executeUpdate("UPDATE kv SET value = 'other' WHERE key = '/w/a'");
        }
        assertEquals("40001", assertThrows(SQLException.class, c::commit).getSQLState());
      }
    }
    assertEquals(List.of("/w/a|other|3", "/w/c|3|1"), same("SELECT key, value, version FROM kv WHERE key LIKE '/w/%'"));
    same("SELECT revision, key, event, value FROM revisions WHERE key LIKE '/w/%'");
  }
}
