package io.etcsql.server;

import io.etcsql.sqlfrontend.EtcdClient;
import io.etcsql.sqlfrontend.SqlServer;
import java.io.PrintStream;
import java.net.URI;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * {@code etcsql sql [JDBC_URL] [sqlline options]}: a SQL shell (sqlline) on an etcsql SQL endpoint
 * (default {@code jdbc:etcsql://127.0.0.1:8765}). {@code etcsql sql-frontend --endpoints URLS
 * [--listen-sql-urls URLS]}: serves SQL over any etcd >= 3.4 (for example a real etcd cluster).
 */
final class SqlCommands {
  static final String DEFAULT_URL = "jdbc:etcsql://127.0.0.1:8765";

  private SqlCommands() {
  }

  /** Runs sqlline; returns when the user quits it. */
  static void shell(String[] args) throws java.io.IOException {
    List<String> a = new ArrayList<>(Arrays.asList(args));
    String url = !a.isEmpty() && a.get(0).startsWith("jdbc:") ? a.remove(0) : DEFAULT_URL;
    List<String> argv = new ArrayList<>(List.of("-d", "io.etcsql.jdbc.EtcsqlDriver", "-u", url, "-n", "", "-p", ""));
    if (System.console() == null && a.stream().noneMatch(x -> x.startsWith("--maxWidth"))) {
      // no terminal (a script on stdin): sqlline's dumb terminal would show tables zero columns wide
      argv.add("--maxWidth=200");
    }
    argv.addAll(a);
    sqlline.SqlLine.main(argv.toArray(String[]::new));
  }

  /** Serves SQL for the etcd endpoints given until the process is stopped; returns an exit code. */
  static int frontend(String[] args, PrintStream err) throws Exception {
    List<String> endpoints = null;
    String listen = "http://127.0.0.1:8765";
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      String name = arg.contains("=") ? arg.substring(0, arg.indexOf('=')) : arg;
      String value = arg.contains("=") ? arg.substring(arg.indexOf('=') + 1) : i + 1 < args.length ? args[++i] : null;
      switch (name) {
        case "--endpoints" -> endpoints = value == null ? null : Arrays.asList(value.split(","));
        case "--listen-sql-urls" -> listen = value;
        default -> {
          err.println("etcsql sql-frontend: unknown flag " + arg
              + "\nusage: etcsql sql-frontend --endpoints host:port[,host:port...] [--listen-sql-urls http://host:port[,...]]");
          return 2;
        }
      }
    }
    if (endpoints == null || endpoints.isEmpty() || listen == null || listen.isBlank()) {
      err.println("usage: etcsql sql-frontend --endpoints host:port[,host:port...] [--listen-sql-urls http://host:port[,...]]");
      return 2;
    }
    EtcdClient etcd = EtcdClient.connect(endpoints);
    List<SqlServer> servers = new ArrayList<>();
    for (String u : listen.split(",")) {
      URI uri = URI.create(u.trim());
      if (!"http".equals(uri.getScheme()) || uri.getPort() < 0) {
        err.println("etcsql sql-frontend: --listen-sql-urls needs http://host:port URLs, got " + u);
        return 2;
      }
      servers.add(SqlServer.start(etcd, uri.getHost(), uri.getPort()));
      org.slf4j.LoggerFactory.getLogger(SqlCommands.class).info("serving SQL on {} for etcd {}", uri, endpoints);
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      servers.forEach(SqlServer::close);
      etcd.close();
      stopped.countDown();
    }));
    stopped.await();
    return 0;
  }
}
