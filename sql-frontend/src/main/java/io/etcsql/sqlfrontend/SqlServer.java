package io.etcsql.sqlfrontend;

import java.sql.SQLException;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import org.apache.calcite.avatica.jdbc.JdbcMeta;
import org.apache.calcite.avatica.util.Casing;
import org.apache.calcite.avatica.util.Quoting;
import org.apache.calcite.avatica.remote.Driver;
import org.apache.calcite.avatica.remote.LocalService;
import org.apache.calcite.avatica.server.HttpServer;
import org.apache.calcite.avatica.server.ServerCustomizer;
import org.apache.calcite.sql.parser.SqlParser;
import org.apache.calcite.sql.parser.babel.SqlBabelParserImpl;
import javax.net.ssl.SSLContext;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/**
 * SQL over HTTP (Avatica, protobuf serialization) for one etcd client: each JDBC connection of a
 * remote client gets a Calcite connection whose default schema is {@code etcd}.
 */
public final class SqlServer implements AutoCloseable {
  private final HttpServer http;
  private final String clientName;

  private SqlServer(HttpServer http, String clientName) {
    this.http = http;
    this.clientName = clientName;
  }

  /**
   * How statements are parsed, the one definition for queries (through the Calcite connection
   * settings below) and for writes ({@link SqlWrites#parse}).
   */
  static final SqlParser.Config PARSER = SqlParser.config()
      .withParserFactory(SqlBabelParserImpl.FACTORY)
      .withQuoting(Quoting.DOUBLE_QUOTE)
      .withUnquotedCasing(Casing.UNCHANGED)
      .withQuotedCasing(Casing.UNCHANGED)
      .withCaseSensitive(false);

  /**
   * The Calcite connection settings of every SQL connection: schema {@code etcd} over the client
   * registered as {@code clientName}; identifiers case-insensitive unless double-quoted; Babel's
   * parser, in which {@code key} and {@code value} are ordinary column names; pragmatic SQL:2003
   * conformance.
   */
  static Properties calciteProperties(String clientName) {
    Properties p = new Properties();
    p.setProperty("schemaFactory", EtcdSchemaFactory.class.getName());
    p.setProperty("schema", "etcd");
    p.setProperty("schema.client", clientName);
    p.setProperty("parserFactory", SqlBabelParserImpl.class.getName() + "#FACTORY");
    p.setProperty("quoting", PARSER.quoting().name());
    p.setProperty("unquotedCasing", PARSER.unquotedCasing().name());
    p.setProperty("quotedCasing", PARSER.quotedCasing().name());
    p.setProperty("caseSensitive", Boolean.toString(PARSER.caseSensitive()));
    // strings of different lengths in VALUES, UNION or CASE are VARCHAR, never blank-padded CHAR
    // (VALUES ('/a'), ('/abc') would otherwise write the key '/a  ')
    p.setProperty("conformance", "PRAGMATIC_2003");
    return p;
  }

  /**
   * Serves SQL for {@code etcd} on {@code host:port} (port 0: any free port; see {@link #port}).
   * The client stays owned by the caller.
   */
  public static SqlServer start(EtcdClient etcd, String host, int port) throws SQLException {
    return start(etcd, host, port, null, List.of());
  }

  /**
   * Serves SQL for {@code etcd} on {@code host:port}, over TLS (1.2 or 1.3) with {@code tls}'s
   * certificate when it is not null ({@code https://} SQL URLs).
   *
   * @param cipherSuites the TLS cipher suites to allow (TLS 1.3's among them), or empty for the
   *     JVM's defaults
   */
  public static SqlServer start(EtcdClient etcd, String host, int port, SSLContext tls, List<String> cipherSuites)
      throws SQLException {
    String name = "sql-" + UUID.randomUUID();
    EtcdSchemaFactory.register(name, etcd);
    JdbcMeta meta = new EtcdMeta("jdbc:calcite:", calciteProperties(name), new SqlWrites(etcd));
    LocalService service = new LocalService(meta);
    ServerCustomizer<Server> bindHost = server -> {
      for (Connector c : server.getConnectors()) {
        if (c instanceof ServerConnector sc) {
          sc.setHost(host);
        }
      }
    };
    ServerCustomizer<Server> overTls = server -> {
      if (tls == null) {
        return;
      }
      // Avatica's connector, replaced by one that speaks TLS and then its HTTP/1.1
      ServerConnector plain = (ServerConnector) server.getConnectors()[0];
      SslContextFactory.Server factory = new SslContextFactory.Server();
      factory.setSslContext(tls);
      factory.setIncludeProtocols("TLSv1.3", "TLSv1.2");
      if (!cipherSuites.isEmpty()) {
        factory.setIncludeCipherSuites(cipherSuites.toArray(new String[0]));
      }
      HttpConfiguration config = plain.getConnectionFactory(HttpConnectionFactory.class).getHttpConfiguration();
      ServerConnector secure = new ServerConnector(server, new SslConnectionFactory(factory, "http/1.1"),
          new HttpConnectionFactory(config));
      secure.setPort(plain.getPort());
      server.setConnectors(new Connector[] {secure});
    };
    HttpServer http = new HttpServer.Builder<Server>()
        // PROTOBUF serialization, each request run as the etcd user of its basic credentials
        .withHandler(new SqlCredentials.Handler(service, etcd))
        .withPort(port)
        .withServerCustomizers(List.of(overTls, bindHost), Server.class)
        .build();
    http.start();
    return new SqlServer(http, name);
  }

  /** The port it listens on. */
  public int port() {
    return http.getPort();
  }

  @Override
  public void close() {
    http.stop();
    EtcdSchemaFactory.unregister(clientName);
  }
}
