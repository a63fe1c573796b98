package io.etcsql.jdbc;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.calcite.avatica.DriverVersion;
import org.apache.calcite.avatica.remote.Driver;

/**
 * JDBC driver for etcsql's SQL endpoint. URL: {@code jdbc:etcsql://host:port[,host2:port2...]}
 * (default port 8765), or {@code jdbc:etcsql:https://host:port[,...][;cacert=FILE]} over TLS (see
 * {@link TlsOptions}). It connects to the first endpoint that answers, in the order given, so a
 * member that is down is skipped. Underneath it is Avatica's remote client (HTTP, protobuf).
 *
 * <p>Registered with {@link java.sql.DriverManager} when loaded, and through
 * {@code META-INF/services/java.sql.Driver}.
 */
public final class EtcsqlDriver extends Driver {
  /** The URL prefix this driver accepts. */
  public static final String PREFIX = "jdbc:etcsql:";
  /** After {@link #PREFIX}: the endpoints serve SQL over TLS ({@code --listen-sql-urls https://...}). */
  static final String HTTPS = "https://";
  /** The SQL port an endpoint without one is given (etcsql's --listen-sql-urls default). */
  public static final int DEFAULT_PORT = 8765;

  static {
    new EtcsqlDriver().register();
  }

  @Override
  protected String getConnectStringPrefix() {
    return PREFIX;
  }

  @Override
  protected DriverVersion createDriverVersion() {
    return new DriverVersion("etcsql JDBC driver", "0.1.0", "etcsql", "0.1.0", true, 0, 1, 0, 1);
  }

  /** {@code jdbc:etcsql://...}, and Avatica's form {@code jdbc:etcsql:url=http://host:port;...} for one endpoint. */
  @Override
  public boolean acceptsURL(String url) {
    return url != null && url.startsWith(PREFIX);
  }

  /**
   * Connects to the first endpoint of {@code url} that accepts a connection.
   *
   * @return null if the URL is not an etcsql URL (as {@link java.sql.Driver} requires)
   * @throws SQLException with SQLState 08001 when no endpoint could be reached, the last
   *     endpoint's failure as its cause
   */
  /**
   * The JDBC user and password become HTTP basic credentials, which the SQL endpoint logs in to
   * etcd with: queries then run with that etcd user's permissions.
   */
  static Properties withBasicCredentials(Properties info) {
    Properties p = new Properties();
    if (info != null) {
      p.putAll(info);
    }
    String user = p.getProperty("user");
    if (user != null && !user.isEmpty() && p.getProperty("avatica_user") == null) {
      p.setProperty("authentication", "BASIC");
      p.setProperty("avatica_user", user);
      p.setProperty("avatica_password", p.getProperty("password", ""));
    }
    return p;
  }

  @Override
  public Connection connect(String url, Properties info) throws SQLException {
    if (!acceptsURL(url)) {
      return null;
    }
    boolean tls = url.startsWith(PREFIX + HTTPS);
    if (tls) {
      url = PREFIX + "//" + url.substring((PREFIX + HTTPS).length());
    }
    if (!url.startsWith(PREFIX + "//")) {
      return withSqlExceptions(super.connect(url, info));
    }
    List<String> endpoints = endpoints(url);
    info = withBasicCredentials(info);
    String options = tls ? TlsOptions.avaticaOptions(url) : "";
    Throwable last = null;
    for (String endpoint : endpoints) {
      try {
        return withSqlExceptions(super.connect(PREFIX + "url=" + (tls ? "https" : "http") + "://" + endpoint
            + ";serialization=PROTOBUF" + options, info));
      } catch (SQLException | RuntimeException e) {
        last = e;
      }
    }
    throw new SQLException("could not connect to any etcsql SQL endpoint of " + endpoints
        + (last == null ? "" : ": " + last.getMessage()), "08001", last);
  }

  /**
   * The connection with the server's refusals of COMMIT, ROLLBACK and auto-commit changes thrown
   * as {@link SQLException} with the server's SQLState (Avatica's client throws them unchecked),
   * so an application catches a 40001 from {@code commit()} as JDBC says.
   */
  static Connection withSqlExceptions(Connection c) {
    if (c == null) {
      return null;
    }
    return (Connection) java.lang.reflect.Proxy.newProxyInstance(EtcsqlDriver.class.getClassLoader(),
        new Class<?>[] {Connection.class}, (proxy, method, args) -> {
          if (method.getName().equals("unwrap") && args != null && args[0] instanceof Class<?> k && k.isInstance(c)) {
            return c;
          }
          if (method.getName().equals("isWrapperFor") && args != null && args[0] instanceof Class<?> k && k.isInstance(c)) {
            return true;
          }
          try {
            if (method.getName().equals("setAutoCommit")) {
              // JDBC: turning auto-commit on commits the open transaction. Avatica sends property
              // changes with the next request only; reading the property sends it now.
              boolean on = (Boolean) args[0];
              if (on && !c.getAutoCommit()) {
                c.commit();
              }
              c.setAutoCommit(on);
              c.getAutoCommit();
              return null;
            }
            return method.invoke(c, args);
          } catch (java.lang.reflect.InvocationTargetException e) {
            throw sqlException(e.getCause());
          } catch (org.apache.calcite.avatica.AvaticaClientRuntimeException e) {
            throw sqlException(e);
          }
        });
  }

  private static Throwable sqlException(Throwable t) {
    if (t instanceof org.apache.calcite.avatica.AvaticaClientRuntimeException r) {
      return new SQLException(serverMessage(r), r.getSqlState(), r.getErrorCode(), r);
    }
    return t;
  }

  /** The server's own message, without the remote-call wrapping. */
  private static String serverMessage(Throwable r) {
    for (Throwable t = r; t != null; t = t.getCause()) {
      if (t instanceof org.apache.calcite.avatica.remote.AvaticaRuntimeException a && a.getErrorMessage() != null) {
        return a.getErrorMessage();
      }
    }
    return r.getMessage();
  }

  /** The host:port list of a {@code jdbc:etcsql://} URL. */
  static List<String> endpoints(String url) throws SQLException {
    String rest = url.substring((PREFIX + "//").length());
    int end = rest.length();
    for (char c : new char[] {'/', '?', ';'}) {
      int i = rest.indexOf(c);
      if (i >= 0) {
        end = Math.min(end, i);
      }
    }
    List<String> out = new ArrayList<>();
    for (String hp : rest.substring(0, end).split(",")) {
      String h = hp.trim();
      if (h.isEmpty()) {
        continue;
      }
      int colon = h.lastIndexOf(':');
      if (colon < 0 || h.endsWith("]")) {
        h = h + ":" + DEFAULT_PORT;
      } else {
        try {
          Integer.parseInt(h.substring(colon + 1));
        } catch (NumberFormatException e) {
          throw new SQLException("bad port in etcsql JDBC URL " + url, "08001");
        }
      }
      out.add(h);
    }
    if (out.isEmpty()) {
      throw new SQLException("no host in etcsql JDBC URL " + url + " (expected jdbc:etcsql://host:port[,host:port...])",
          "08001");
    }
    return out;
  }
}
