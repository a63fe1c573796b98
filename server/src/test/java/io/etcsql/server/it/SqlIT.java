package io.etcsql.server.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * SQL through the JDBC driver against a real member: the tables, what is pushed down into etcd's
 * Range (plan assertions), point-in-time reads, errors, paging, a HikariCP pool and the shell.
 * The keys are written with the real etcdctl.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SqlIT {
  private Cluster cluster;
  private Etcdctl ctl;
  private String url;
  /** The revision after the first value of /app/a1 and before its update. */
  private long before;

  @BeforeAll
  void start() {
    assumeFalse(ServerProcess.targetIsEtcd(), "etcsql serves SQL itself; over etcd see SqlFrontendIT");
    cluster = Cluster.startWithSql(1);
    ctl = cluster.ctl();
    url = cluster.jdbcUrl();
    for (int i = 1; i <= 5; i++) {
      ctl.ok("put", "/app/a" + i, "{\"n\":" + i + "}");
    }
    ctl.ok("put", "/app/b", "x");
    ctl.ok("put", "/other/z", "y");
    before = Cluster.json(ctl.ok("get", "/other/z", "-w", "json")).get("header").get("revision").asLong();
    ctl.ok("put", "/app/a1", "{\"n\":10}");
  }

  @AfterAll
  void stop() {
    if (cluster != null) {
      cluster.close();
    }
  }

  private List<String> rows(String sql) throws SQLException {
    return Jdbc.rows(url, sql);
  }

  private static List<String> rows(ResultSet rs) throws SQLException {
    return Jdbc.rows(rs);
  }

  private String plan(String sql) throws SQLException {
    return String.join("\n", rows("EXPLAIN PLAN FOR " + sql));
  }

  @Test
  void kvShowsTheLiveKeysWithTheirRevisions() throws SQLException {
    assertEquals(List.of("/app/a1|{\"n\":10}|2|9|2|0", "/app/a2|{\"n\":2}|3|3|1|0", "/app/b|x|7|7|1|0"),
        rows("SELECT key, value, create_revision, mod_revision, version, lease FROM kv "
            + "WHERE key IN ('/app/a1', '/app/a2', '/app/b') ORDER BY key"));
    assertEquals(List.of("/app/a1|10", "/app/a5|5"),
        rows("SELECT key, JSON_VALUE(value, '$.n') FROM kv WHERE key LIKE '/app/a%' AND JSON_VALUE(value, '$.n') IN ('5', '10')"));
  }

  @Test
  void selectStarReturnsEveryColumnOfEveryKey() throws SQLException {
    // Calcite's ProjectRemoveRule reduces SELECT * to the scan itself, which once failed planning
    List<String> all = rows("SELECT * FROM kv");
    assertEquals(rows("SELECT key FROM kv").size(), all.size());
    assertTrue(all.stream().anyMatch(r -> r.startsWith("/app/b|x|")), all::toString);
    assertEquals(rows("SELECT * FROM kv WHERE key = '/app/b'"), rows("SELECT * FROM (SELECT * FROM kv) WHERE key = '/app/b'"));
  }

  @Test
  void keyConditionsBecomeRangeRequests() throws SQLException {
    assertEquals(List.of("/app/a1", "/app/a2", "/app/a3", "/app/a4", "/app/a5", "/app/b"),
        rows("SELECT key FROM kv WHERE key LIKE '/app/%'"));
    String p = plan("SELECT key FROM kv WHERE key LIKE '/app/%'");
    assertTrue(p.contains("KvTableScan(table=[[etcd, kv]], query=[keys=[['/app/', '/app0')], keysOnly=true]"), p);

    p = plan("SELECT * FROM kv WHERE key = '/app/b'");
    assertTrue(p.contains("query=[keys=['/app/b']]") && !p.contains("Calc") && !p.contains("Filter"), p);

    p = plan("SELECT key, value FROM kv WHERE key IN ('/app/a1', '/other/z')");
    assertTrue(p.contains("query=[keys=['/app/a1', '/other/z']]"), p);

    assertEquals(List.of("/app/a3", "/app/a4", "/app/a5"), rows("SELECT key FROM kv WHERE key >= '/app/a3' AND key < '/app/b'"));
    p = plan("SELECT key FROM kv WHERE key >= '/app/a3' AND key < '/app/b'");
    assertTrue(p.contains("keys=[['/app/a3', '/app/b')]"), p);

    // a pattern with a wildcard inside: the prefix is pushed, the rest filtered above the scan
    assertEquals(List.of("/app/a1", "/app/a2"), rows("SELECT key FROM kv WHERE key LIKE '/app/a_' AND key < '/app/a3'"));
    p = plan("SELECT key FROM kv WHERE key LIKE '/app/a_'");
    assertTrue(p.contains("keys=[['/app/a', '/app/b')]") && p.contains("LIKE"), p);
  }

  @Test
  void revisionBoundsOrderLimitCountAndKeysOnlyArePushedDown() throws SQLException {
    assertEquals(List.of("/app/a1", "/app/b"), rows("SELECT key FROM kv WHERE mod_revision >= 7 AND key LIKE '/app/%'"));
    String p = plan("SELECT key FROM kv WHERE mod_revision >= 7");
    assertTrue(p.contains("modRevision=[7..]"), p);

    assertEquals(List.of("/app/b", "/app/a5"), rows("SELECT key FROM kv WHERE key LIKE '/app/%' ORDER BY key DESC LIMIT 2"));
    p = plan("SELECT key FROM kv WHERE key LIKE '/app/%' ORDER BY key DESC LIMIT 2");
    assertTrue(p.contains("order=descending, limit=2"), p);
    assertTrue(!p.contains("Sort"), "the order comes from etcd, no sort above the scan: " + p);

    assertEquals(List.of("5"), rows("SELECT COUNT(*) FROM kv WHERE key LIKE '/app/a%'"));
    p = plan("SELECT COUNT(*) FROM kv WHERE key LIKE '/app/a%'");
    assertTrue(p.contains("countOnly=true") && !p.contains("Aggregate"), p);

    p = plan("SELECT key, mod_revision FROM kv");
    assertTrue(p.contains("keysOnly=true"), p);
    p = plan("SELECT key, value FROM kv");
    assertTrue(!p.contains("keysOnly"), p);
  }

  @Test
  void kvAtReadsTheKeyspaceAsOfARevision() throws SQLException {
    assertEquals(List.of("/app/a1|{\"n\":1}"), rows("SELECT key, value FROM kv_at(" + before + ") WHERE key = '/app/a1'"));
    assertEquals(List.of("7"), rows("SELECT COUNT(*) FROM TABLE(kv_at(" + before + "))"));
    assertEquals(List.of("/app/a1"), rows("SELECT key FROM kv_at(2)"));
    String p = plan("SELECT key FROM kv_at(3) WHERE key LIKE '/app/%'");
    assertTrue(p.contains("revision=[3]") && p.contains("keys=[['/app/', '/app0')]"), p);

    SQLException e = assertThrows(SQLException.class, () -> rows("SELECT key FROM kv_at(100000)"));
    assertTrue(e.getMessage().contains("revision 100000 is in the future"), e.getMessage());
  }

  @Test
  void aCompactedRevisionIsAnErrorNamingTheOldestReadableOne() throws SQLException {
    // on its own key range, so the other tests' revisions stay readable: compact at the revision
    // of the first test write, then ask for one below it
    long rev = Cluster.json(ctl.ok("put", "/compact/k", "v", "-w", "json")).get("header").get("revision").asLong();
    assertEquals(List.of("/compact/k"), rows("SELECT key FROM kv_at(" + rev + ") WHERE key LIKE '/compact/%'"));
    ctl.ok("compaction", "2");
    SQLException e = assertThrows(SQLException.class, () -> rows("SELECT key FROM kv_at(1)"));
    assertTrue(e.getMessage().contains("revision 1 has been compacted: the oldest revision still readable is 2"),
        e.getMessage());
    assertEquals("22023", e.getSQLState());
  }

  @Test
  void aScanLargerThanAPageIsOneConsistentSnapshot() throws SQLException {
    // 12,000 keys: more than one frame (10,000 rows) to the client, twelve Range pages inside
    io.grpc.ManagedChannel ch = io.grpc.Grpc.newChannelBuilderForAddress("127.0.0.1", cluster.member(0).clientPort(),
        io.grpc.InsecureChannelCredentials.create()).build();
    try {
      var kv = io.etcsql.grpcapi.etcdserverpb.KVGrpc.newBlockingStub(ch);
      for (int batch = 0; batch < 120; batch++) {
        var txn = io.etcsql.grpcapi.etcdserverpb.TxnRequest.newBuilder();
        for (int i = batch * 100; i < batch * 100 + 100; i++) {
          txn.addSuccess(io.etcsql.grpcapi.etcdserverpb.RequestOp.newBuilder().setRequestPut(
              io.etcsql.grpcapi.etcdserverpb.PutRequest.newBuilder()
                  .setKey(com.google.protobuf.ByteString.copyFromUtf8(String.format("/many/%05d", i)))
                  .setValue(com.google.protobuf.ByteString.copyFromUtf8("v" + i))));
        }
        kv.txn(txn.build());
      }
    } finally {
      ch.shutdownNow();
    }
    try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement();
         ResultSet rs = s.executeQuery("SELECT key, mod_revision FROM kv WHERE key LIKE '/many/%'")) {
      int n = 0;
      String last = "";
      while (rs.next()) {
        String k = rs.getString(1);
        assertTrue(k.compareTo(last) > 0, "keys come in order: " + last + " then " + k);
        last = k;
        if (n == 9_500) {
          // the client has the first frame; the rest is still to be read from etcd
          ctl.ok("put", "/many/99999", "written during the scan");
        }
        n++;
      }
      assertEquals(12_000, n, "every key, across frames and Range pages, and not the one written meanwhile");
    }
    assertEquals(List.of("12001"), rows("SELECT COUNT(*) FROM kv WHERE key LIKE '/many/%'"));
  }

  @Test
  void leasesAndMembersAreTables() throws SQLException {
    String out = ctl.ok("lease", "grant", "600");
    String id = out.split("\\s+")[1];
    ctl.ok("put", "/leased/1", "v", "--lease=" + id);
    ctl.ok("put", "/leased/2", "v", "--lease=" + id);
    List<String> leases = rows("SELECT granted_ttl, keys, remaining_ttl > 500 FROM leases WHERE id = " + Long.parseUnsignedLong(id, 16));
    assertEquals(List.of("600|2|true"), leases);
    assertEquals(List.of("/leased/1|" + Long.parseUnsignedLong(id, 16)), rows("SELECT key, lease FROM kv WHERE key = '/leased/1'"));

    List<String> members = rows("SELECT name, client_urls, is_leader, is_learner FROM members");
    assertEquals(List.of("n1|http://127.0.0.1:" + cluster.member(0).clientPort() + "|true|false"), members);
  }

  @Test
  void badSqlGetsClearErrorsAndChangesNothing() throws SQLException {
    long rev = Cluster.json(ctl.ok("get", "/app/b", "-w", "json")).get("header").get("revision").asLong();
    SQLException e = assertThrows(SQLException.class, () -> rows("SELECT * FROM nosuch"));
    assertTrue(e.getMessage().contains("Object 'nosuch' not found"), e.getMessage());
    assertEquals("42S02", e.getSQLState());
    e = assertThrows(SQLException.class, () -> rows("SELECT nosuch FROM kv"));
    assertTrue(e.getMessage().contains("Column 'nosuch' not found"), e.getMessage());
    assertEquals("42S22", e.getSQLState());
    e = assertThrows(SQLException.class, () -> rows("SELEC key FROM kv"));
    assertTrue(e.getMessage().contains("Non-query expression"), e.getMessage());
    assertEquals("42000", e.getSQLState());
    e = assertThrows(SQLException.class, () -> rows("SELECT 1 / 0 FROM kv"));
    assertEquals("22012", e.getSQLState(), e.getMessage());
    long after = Cluster.json(ctl.ok("get", "/app/b", "-w", "json")).get("header").get("revision").asLong();
    assertEquals(rev, after, "no revision was written");
  }

  @Test
  void theDriverSkipsAnEndpointThatIsDownAndWorksThroughAHikariPool() throws Exception {
    int dead = ServerProcess.freePort();
    String failover = "jdbc:etcsql://127.0.0.1:" + dead + ",127.0.0.1:" + cluster.sqlPort(0);
    HikariConfig cfg = new HikariConfig();
    cfg.setJdbcUrl(failover);
    cfg.setMaximumPoolSize(4);
    cfg.setConnectionTimeout(20_000);
    try (HikariDataSource ds = new HikariDataSource(cfg)) {
      for (int i = 0; i < 8; i++) {
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT value FROM kv WHERE key = ?")) {
          ps.setString(1, "/app/a" + (i % 5 + 1));
          try (ResultSet rs = ps.executeQuery()) {
            assertTrue(rs.next());
            assertTrue(rs.getString(1).startsWith("{\"n\":"), rs.getString(1));
          }
        }
      }
    }
  }

  private long update(String sql) throws SQLException {
    try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
      return s.executeUpdate(sql);
    }
  }

  private long revision() {
    return Cluster.json(ctl.ok("get", "/app/b", "-w", "json")).get("header").get("revision").asLong();
  }

  @Test
  void eachWriteStatementIsOneEtcdTransaction() throws SQLException {
    long before = revision();
    assertEquals(3, update("INSERT INTO kv (key, value) VALUES ('/w/a', '1'), ('/w/b', '2'), ('/w/c', '3')"));
    assertEquals(before + 1, revision(), "three rows, one revision");
    assertEquals(List.of("/w/a|1|" + (before + 1), "/w/b|2|" + (before + 1), "/w/c|3|" + (before + 1)),
        rows("SELECT key, value, mod_revision FROM kv WHERE key LIKE '/w/%'"));
    assertEquals("/w/b\n2\n", ctl.ok("get", "/w/b"), "etcdctl sees the rows");

    SQLException dup = assertThrows(SQLException.class,
        () -> update("INSERT INTO kv (key, value) VALUES ('/w/new', 'x'), ('/w/a', 'again')"));
    assertEquals("23505", dup.getSQLState());
    assertTrue(dup.getMessage().contains("duplicate key: /w/a already exists"), dup.getMessage());
    assertEquals(before + 1, revision(), "a failed INSERT writes nothing, not even its other row");

    assertEquals(2, update("UPSERT INTO kv (key, value) VALUES ('/w/a', 'up'), ('/w/new', 'n')"));
    assertEquals(2, update("UPDATE kv SET value = value || '!' WHERE key IN ('/w/a', '/w/b')"));
    assertEquals(before + 3, revision());
    assertEquals(2, update("DELETE FROM kv WHERE key LIKE '/w/%' AND value LIKE '%!'"));
    assertEquals(List.of("/w/c|3", "/w/new|n"), rows("SELECT key, value FROM kv WHERE key LIKE '/w/%'"));
    assertEquals(0, update("DELETE FROM kv WHERE key = '/w/none'"));
    assertEquals(before + 4, revision(), "a statement that matches no row writes no revision");
  }

  @Test
  void preparedWritesTakeParametersAndUpdateKeepsTheLease() throws SQLException {
    String id = ctl.ok("lease", "grant", "600").split("\\s+")[1];
    long lease = Long.parseUnsignedLong(id, 16);
    try (Connection c = DriverManager.getConnection(url)) {
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO kv (key, value, lease) VALUES (?, ?, ?)")) {
        ps.setString(1, "/p/1");
        ps.setString(2, "one");
        ps.setLong(3, lease);
        assertEquals(1, ps.executeUpdate());
      }
      try (PreparedStatement ps = c.prepareStatement("UPDATE kv SET value = ? WHERE key = ?")) {
        ps.setString(1, "uno");
        ps.setString(2, "/p/1");
        assertEquals(1, ps.executeUpdate());
        ps.setString(1, "nobody");
        ps.setString(2, "/p/none");
        assertEquals(0, ps.executeUpdate());
      }
    }
    assertEquals(List.of("/p/1|uno|" + lease), rows("SELECT key, value, lease FROM kv WHERE key = '/p/1'"));
  }

  /**
   * Auto-commit off: reads see one snapshot plus the transaction's own writes, nothing reaches
   * etcd before COMMIT, COMMIT is one Txn (one revision), ROLLBACK drops the writes, and a row read
   * by the transaction and changed by someone else makes COMMIT fail with 40001, writing nothing.
   */
  @Test
  void aJdbcTransactionCommitsAsOneTxnGuardedByWhatItRead() throws SQLException {
    ctl.ok("put", "/tx/a", "1");
    ctl.ok("put", "/tx/b", "2");
    try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
      c.setAutoCommit(false);
      assertEquals(List.of("/tx/a|1", "/tx/b|2"), rows(s.executeQuery("SELECT key, value FROM kv WHERE key LIKE '/tx/%'")));
      long start = revision();
      assertEquals(1, s.executeUpdate("UPDATE kv SET value = '10' WHERE key = '/tx/a'"));
      assertEquals(1, s.executeUpdate("INSERT INTO kv (key, value) VALUES ('/tx/c', '3')"));
      assertEquals(1, s.executeUpdate("DELETE FROM kv WHERE key = '/tx/b'"));
      assertEquals(List.of("/tx/a|10", "/tx/c|3"), rows(s.executeQuery("SELECT key, value FROM kv WHERE key LIKE '/tx/%'")),
          "the transaction sees its own writes");
      assertEquals(List.of("2"), rows(s.executeQuery("SELECT COUNT(*) FROM kv WHERE key LIKE '/tx/%'")));
      SQLException dup = assertThrows(SQLException.class, () -> s.executeUpdate("INSERT INTO kv (key, value) VALUES ('/tx/c', 'again')"));
      assertEquals("23505", dup.getSQLState());
      assertEquals(start, revision(), "nothing is written before COMMIT");
      assertEquals("/tx/a\n1\n", ctl.ok("get", "/tx/a"), "other clients see the old value");
      c.commit();
      assertEquals(start + 1, revision(), "COMMIT is one revision");
      assertEquals("/tx/a\n10\n/tx/c\n3\n", ctl.ok("get", "/tx/", "--prefix"));

      // ROLLBACK drops everything
      s.executeUpdate("UPDATE kv SET value = 'lost' WHERE key = '/tx/a'");
      c.rollback();
      assertEquals(List.of("/tx/a|10"), rows(s.executeQuery("SELECT key, value FROM kv WHERE key = '/tx/a'")));
      c.commit();
      assertEquals(start + 1, revision(), "a rolled back (and a read-only) transaction writes nothing");

      // a conflict: another client changes a row this transaction read
      assertEquals(List.of("10"), rows(s.executeQuery("SELECT value FROM kv WHERE key = '/tx/a'")));
      s.executeUpdate("UPSERT INTO kv (key, value) VALUES ('/tx/d', 'from tx')");
      ctl.ok("put", "/tx/a", "changed elsewhere");
      SQLException conflict = assertThrows(SQLException.class, c::commit);
      assertEquals("40001", conflict.getSQLState(), conflict.getMessage());
      assertEquals("", ctl.ok("get", "/tx/d"), "a failed COMMIT writes nothing");

      // a key created in a range the transaction scanned is a conflict too (no phantoms)
      assertEquals(List.of("2"), rows(s.executeQuery("SELECT COUNT(*) FROM kv WHERE key LIKE '/tx/%'")));
      s.executeUpdate("UPSERT INTO kv (key, value) VALUES ('/tx-count', '2')");
      ctl.ok("put", "/tx/e", "new elsewhere");
      assertEquals("40001", assertThrows(SQLException.class, c::commit).getSQLState());

      // back to auto-commit commits what is open
      s.executeUpdate("UPSERT INTO kv (key, value) VALUES ('/tx/f', 'on autocommit')");
      c.setAutoCommit(true);
      assertEquals("/tx/f\non autocommit\n", ctl.ok("get", "/tx/f"));
    }
    // closing a connection rolls its transaction back
    try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
      c.setAutoCommit(false);
      s.executeUpdate("UPSERT INTO kv (key, value) VALUES ('/tx/g', 'never')");
    }
    assertEquals("", ctl.ok("get", "/tx/g"));
  }

  @Test
  void batchesRunEverySetOfParametersAndCommitAsOneTxnInATransaction() throws SQLException {
    try (Connection c = DriverManager.getConnection(url);
        PreparedStatement ps = c.prepareStatement("UPSERT INTO kv (key, value) VALUES (?, ?)")) {
      for (int i = 0; i < 3; i++) {
        ps.setString(1, "/batch/" + i);
        ps.setString(2, "v" + i);
        ps.addBatch();
      }
      long start = revision();
      assertEquals(List.of(1, 1, 1), java.util.Arrays.stream(ps.executeBatch()).boxed().toList());
      assertEquals(start + 3, revision(), "with auto-commit, each set of parameters is its own Txn");
      c.setAutoCommit(false);
      for (int i = 3; i < 5; i++) {
        ps.setString(1, "/batch/" + i);
        ps.setString(2, "v" + i);
        ps.addBatch();
      }
      ps.executeBatch();
      try (Statement s = c.createStatement()) {
        s.addBatch("DELETE FROM kv WHERE key = '/batch/0'");
        s.addBatch("UPDATE kv SET value = 'one' WHERE key = '/batch/1'");
        assertEquals(List.of(1, 1), java.util.Arrays.stream(s.executeBatch()).boxed().toList());
      }
      assertEquals(start + 3, revision(), "nothing before COMMIT");
      c.commit();
      assertEquals(start + 4, revision(), "the transaction's batches commit as one Txn");
    }
    assertEquals("/batch/1\none\n/batch/2\nv2\n/batch/3\nv3\n/batch/4\nv4\n", ctl.ok("get", "/batch/", "--prefix"));
  }

  /**
   * What a JDBC tool gets: jdbc-driver/target/etcsql-jdbc.jar alone, in a class loader that sees
   * nothing else of etcsql, connects and queries; it holds no server classes and stays small.
   */
  @Test
  void theDriverJarAloneConnects() throws Exception {
    java.nio.file.Path jar = ServerProcess.home().resolve("jdbc-driver/target/etcsql-jdbc.jar");
    assertTrue(java.nio.file.Files.size(jar) < 10 << 20, "under 10 MB: " + java.nio.file.Files.size(jar));
    try (java.util.zip.ZipFile z = new java.util.zip.ZipFile(jar.toFile())) {
      assertTrue(z.stream().noneMatch(e -> e.getName().startsWith("io/etcsql/server/")
          || e.getName().startsWith("io/etcsql/sqlfrontend/") || e.getName().startsWith("org/apache/calcite/sql/")),
          "no server classes");
    }
    try (java.net.URLClassLoader cl = new java.net.URLClassLoader(new java.net.URL[] {jar.toUri().toURL()},
        ClassLoader.getPlatformClassLoader())) {
      java.sql.Driver d = (java.sql.Driver) Class.forName("io.etcsql.jdbc.EtcsqlDriver", true, cl)
          .getDeclaredConstructor().newInstance();
      try (Connection c = d.connect(url, new java.util.Properties()); Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM kv WHERE key LIKE '/app/%'")) {
        assertTrue(rs.next());
        assertEquals(6, rs.getLong(1));
      }
    }
  }

  @Test
  void writesThatEtcsqlRefusesChangeNothing() throws SQLException {
    long before = revision();
    SQLException e = assertThrows(SQLException.class, () -> update("DELETE FROM members"));
    assertEquals("42000", e.getSQLState());
    assertTrue(e.getMessage().contains("table 'members' is read-only"), e.getMessage());
    e = assertThrows(SQLException.class, () -> update("UPDATE kv SET mod_revision = 1 WHERE key = '/app/b'"));
    assertTrue(e.getMessage().contains("column mod_revision cannot be written"), e.getMessage());
    e = assertThrows(SQLException.class, () -> update("UPDATE kv SET key = 'x' WHERE key = '/app/b'"));
    assertEquals("42000", e.getSQLState());
    e = assertThrows(SQLException.class, () -> update("INSERT INTO kv (key, value) VALUES ('', 'empty')"));
    assertEquals("22023", e.getSQLState());

    StringBuilder txn = new StringBuilder("\n");
    for (int i = 0; i < 100; i++) {
      txn.append(String.format("put /limit/%03d v%n", i));
    }
    txn.append("\n\n");
    assertTrue(ctl.runWithInput(txn.toString(), "txn").ok());
    txn.setLength(0);
    txn.append("\n");
    for (int i = 100; i < 130; i++) {
      txn.append(String.format("put /limit/%03d v%n", i));
    }
    txn.append("\n\n");
    assertTrue(ctl.runWithInput(txn.toString(), "txn").ok());
    long loaded = revision();
    e = assertThrows(SQLException.class, () -> update("UPDATE kv SET value = 'w' WHERE key LIKE '/limit/%'"));
    assertEquals("54000", e.getSQLState(), e.getMessage());
    assertTrue(e.getMessage().contains("130 rows") && e.getMessage().contains("--max-txn-ops"), e.getMessage());
    assertEquals(loaded, revision(), "a refused statement writes nothing");
    assertEquals(before + 2, loaded);
  }

  @Test
  void revisionsHoldsEveryChangeOfAKeyAndReadsOnlyThatKeysHistory() throws SQLException {
    long r1 = Cluster.json(ctl.ok("put", "/hist/k", "one", "-w", "json")).get("header").get("revision").asLong();
    ctl.ok("put", "/hist/other", "x");
    ctl.ok("put", "/hist/k", "two");
    ctl.ok("del", "/hist/k");
    long r4 = Cluster.json(ctl.ok("put", "/hist/k", "three", "-w", "json")).get("header").get("revision").asLong();
    assertEquals(List.of(
            r1 + "|PUT|one|null|1",
            (r1 + 2) + "|PUT|two|one|2",
            (r1 + 3) + "|DELETE||two|0",
            r4 + "|PUT|three|null|1"),
        rows("SELECT revision, event, value, prev_value, version FROM revisions WHERE key = '/hist/k'"));
    assertEquals(List.of((r1 + 3) + "|DELETE", r4 + "|PUT"),
        rows("SELECT revision, event FROM revisions WHERE key = '/hist/k' AND revision > " + (r1 + 2)));
    assertEquals(List.of("5"), rows("SELECT COUNT(*) FROM revisions WHERE key LIKE '/hist/%'"));
    assertEquals(List.of("/hist/k|3"), rows("SELECT key, COUNT(*) FROM revisions WHERE key LIKE '/hist/%' "
        + "AND event = 'PUT' GROUP BY key HAVING COUNT(*) > 1"));
    // the key and revision conditions are the scan's own: nothing filters above it
    String p = plan("SELECT revision FROM revisions WHERE key = '/hist/k' AND revision >= " + r1);
    assertTrue(p.contains("BindableTableScan(table=[[etcd, revisions]], filters=[[AND(=($1, '/hist/k'), >=($0, " + r1 + "))]])")
        && !p.contains("$condition"), p);
  }

  /**
   * etcsql keeps when each change was committed: {@code revisions.committed_at} (UTC), and
   * {@code kv_as_of(TIMESTAMP ...)} reads the keyspace as it was at a moment.
   */
  @Test
  void revisionsCarryTheCommitTimeAndKvAsOfReadsAtATimestamp() throws Exception {
    long t0 = System.currentTimeMillis();
    ctl.ok("put", "/time/k", "v1");
    Thread.sleep(1100);
    long t1 = System.currentTimeMillis();
    Thread.sleep(1100);
    ctl.ok("put", "/time/k", "v2");
    long t2 = System.currentTimeMillis();
    java.util.Calendar utc = java.util.Calendar.getInstance(java.util.TimeZone.getTimeZone("UTC"));
    List<Long> times = new ArrayList<>();
    try (Connection c = DriverManager.getConnection(url); Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT committed_at, principal FROM revisions WHERE key = '/time/k'")) {
      while (rs.next()) {
        times.add(rs.getTimestamp(1, utc).getTime());
        assertEquals(null, rs.getString(2), "no authenticated user: no principal");
      }
    }
    assertEquals(2, times.size());
    assertTrue(times.get(0) >= t0 - 1000 && times.get(0) <= t1, times + " vs " + t0 + ".." + t1);
    assertTrue(times.get(1) > t1 && times.get(1) <= t2 + 1000, times + " vs " + t1 + ".." + t2);
    String at = java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS")
        .withZone(java.time.ZoneOffset.UTC).format(java.time.Instant.ofEpochMilli(t1));
    assertEquals(List.of("v1"), rows("SELECT value FROM kv_as_of('" + at + "') WHERE key = '/time/k'"));
    assertEquals(List.of("1"), rows("SELECT COUNT(*) FROM TABLE(kv_as_of('" + java.time.Instant.ofEpochMilli(t1)
        .atOffset(java.time.ZoneOffset.ofHours(2)) + "')) WHERE key LIKE '/time/%'"), "ISO-8601 with an offset");
    SQLException bad = assertThrows(SQLException.class, () -> rows("SELECT * FROM kv_as_of('yesterday')"));
    assertTrue(bad.getMessage().contains("cannot read 'yesterday' as a moment"), bad.getMessage());
  }

  @Test
  void theShellRunsQueries() throws Exception {
    ProcessBuilder pb = new ProcessBuilder(ServerProcess.home().resolve("bin/etcsql").toString(), "sql",
        "jdbc:etcsql://127.0.0.1:" + cluster.sqlPort(0), "--silent=true", "--outputformat=csv");
    pb.redirectErrorStream(true);
    Process p = pb.start();
    try (var in = p.getOutputStream()) {
      in.write("SELECT key, value FROM kv WHERE key = '/app/b';\n!quit\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
    String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS));
    assertTrue(out.contains("'key','value'") && out.contains("'/app/b','x'"), out);
  }
}
