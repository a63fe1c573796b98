package io.etcsql.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.ServerSocket;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class EtcsqlDriverTest {
  @Test
  void endpointsComeFromTheUrlInOrderWithTheDefaultPort() throws SQLException {
    assertEquals(List.of("a:1", "b:8765", "127.0.0.1:9"), EtcsqlDriver.endpoints("jdbc:etcsql://a:1,b,127.0.0.1:9/"));
    assertEquals(List.of("h:2"), EtcsqlDriver.endpoints("jdbc:etcsql://h:2?x=y"));
    SQLException e = assertThrows(SQLException.class, () -> EtcsqlDriver.endpoints("jdbc:etcsql://"));
    assertEquals("08001", e.getSQLState());
  }

  @Test
  void otherUrlsAreNotOurs() throws SQLException {
    assertNull(new EtcsqlDriver().connect("jdbc:postgresql://h/db", new Properties()));
  }

  @Test
  void noReachableEndpointIsSqlState08001() throws Exception {
    int closed;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      closed = s.getLocalPort();
    }
    SQLException e = assertThrows(SQLException.class,
        () -> DriverManager.getConnection("jdbc:etcsql://127.0.0.1:" + closed));
    assertEquals("08001", e.getSQLState());
  }

  @Test
  void tlsOptionsMakeACaFileATrustStoreAndRefuseUnknownOnes() throws Exception {
    assertEquals("", TlsOptions.avaticaOptions("jdbc:etcsql://h:1"));
    assertEquals(";truststore=/t.jks;truststore_password=pw",
        TlsOptions.avaticaOptions("jdbc:etcsql://h:1;truststore=/t.jks;truststore_password=pw"));
    SQLException e = assertThrows(SQLException.class, () -> TlsOptions.avaticaOptions("jdbc:etcsql://h:1;bogus=1"));
    assertEquals("08001", e.getSQLState());
    java.nio.file.Path empty = java.nio.file.Files.createTempFile("ca", ".pem");
    assertEquals("08001", assertThrows(SQLException.class,
        () -> TlsOptions.avaticaOptions("jdbc:etcsql://h:1;cacert=" + empty)).getSQLState());
    java.nio.file.Files.delete(empty);
  }
}
