package io.etcsql.jdbc;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.sql.SQLException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Set;

/**
 * The TLS options of a {@code jdbc:etcsql:https://...} URL, after the endpoints and separated by
 * {@code ;}: {@code cacert=FILE} (PEM CA certificates to trust, as etcdctl's {@code --cacert}), or
 * Avatica's {@code truststore=FILE;truststore_password=PW} (a JKS or PKCS#12 trust store); with
 * neither, the JVM's default CAs. Avatica's {@code keystore}, {@code keystore_password},
 * {@code key_password}, {@code keystore_type} and {@code hostname_verification} pass through.
 */
final class TlsOptions {
  private TlsOptions() {}

  private static final Set<String> PASSED_THROUGH = Set.of("truststore", "truststore_password", "keystore",
      "keystore_password", "key_password", "keystore_type", "hostname_verification");

  /** The options as Avatica's URL takes them ({@code ;key=value...}), a CA file made a trust store. */
  static String avaticaOptions(String url) throws SQLException {
    StringBuilder out = new StringBuilder();
    int semicolon = url.indexOf(';');
    if (semicolon < 0) {
      return "";
    }
    for (String kv : url.substring(semicolon + 1).split(";")) {
      if (kv.isBlank()) {
        continue;
      }
      int eq = kv.indexOf('=');
      String key = (eq < 0 ? kv : kv.substring(0, eq)).trim().toLowerCase(Locale.ROOT);
      String value = eq < 0 ? "" : kv.substring(eq + 1).trim();
      if (key.equals("cacert")) {
        out.append(trustStoreOf(Path.of(value)));
      } else if (PASSED_THROUGH.contains(key)) {
        out.append(';').append(key).append('=').append(value);
      } else {
        throw new SQLException("unknown option " + key + " in etcsql JDBC URL (expected cacert, "
            + String.join(", ", new java.util.TreeSet<>(PASSED_THROUGH)) + ")", "08001");
      }
    }
    return out.toString();
  }

  /** A PKCS#12 trust store (in a temporary file) holding the PEM file's certificates. */
  private static String trustStoreOf(Path pem) throws SQLException {
    try (InputStream in = Files.newInputStream(pem)) {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      int n = 0;
      for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        ks.setCertificateEntry("ca" + n++, c);
      }
      if (n == 0) {
        throw new SQLException("no certificate in cacert file " + pem, "08001");
      }
      byte[] secret = new byte[16];
      new SecureRandom().nextBytes(secret);
      String password = HexFormat.of().formatHex(secret);
      Path file = Files.createTempFile("etcsql-cacert", ".p12");
      file.toFile().deleteOnExit();
      try (OutputStream out = Files.newOutputStream(file)) {
        ks.store(out, password.toCharArray());
      }
      return ";truststore=" + file + ";truststore_password=" + password + ";keystore_type=PKCS12";
    } catch (IOException | GeneralSecurityException e) {
      throw new SQLException("cannot read cacert file " + pem + ": " + e.getMessage(), "08001", e);
    }
  }
}
