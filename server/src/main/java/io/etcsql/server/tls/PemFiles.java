package io.etcsql.server.tls;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;

/**
 * Reads the PEM files etcd takes (certificates, private keys, CRLs), failing with the texts Go
 * gives for the same problems ({@code open <path>: no such file or directory}, {@code tls: failed
 * to find any PEM data in certificate input}, ...).
 */
public final class PemFiles {
  private PemFiles() {}

  /** Every certificate in a PEM file, leaf first. */
  public static List<X509Certificate> certificates(Path file) throws IOException {
    byte[] bytes = read(file);
    List<X509Certificate> out = new ArrayList<>();
    try {
      for (var c : factory().generateCertificates(new ByteArrayInputStream(bytes))) {
        out.add((X509Certificate) c);
      }
    } catch (GeneralSecurityException e) {
      throw new IOException("tls: failed to find any PEM data in certificate input", e);
    }
    if (out.isEmpty()) {
      throw new IOException("tls: failed to find any PEM data in certificate input");
    }
    return out;
  }

  /** The private key of a PEM file: PKCS#8 ({@code PRIVATE KEY}), PKCS#1 (RSA) or SEC 1 (EC). */
  public static PrivateKey privateKey(Path file) throws IOException {
    String pem = new String(read(file), StandardCharsets.US_ASCII);
    try (PEMParser parser = new PEMParser(new StringReader(pem))) {
      JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
      for (Object o = parser.readObject(); o != null; o = parser.readObject()) {
        if (o instanceof PEMKeyPair pair) {
          return converter.getPrivateKey(pair.getPrivateKeyInfo());
        }
        if (o instanceof PrivateKeyInfo info) {
          return converter.getPrivateKey(info);
        }
      }
    } catch (IOException | RuntimeException e) {
      throw new IOException("tls: failed to find any PEM data in key input", e);
    }
    throw new IOException("tls: failed to find any PEM data in key input");
  }

  /** The CRLs of a file (PEM or DER), as Go's x509.ParseCRL takes it. */
  public static List<X509CRL> crls(Path file) throws IOException {
    byte[] bytes = read(file);
    List<X509CRL> out = new ArrayList<>();
    try {
      for (var c : factory().generateCRLs(new ByteArrayInputStream(bytes))) {
        out.add((X509CRL) c);
      }
    } catch (GeneralSecurityException e) {
      throw new IOException("x509: malformed crl", e);
    }
    if (out.isEmpty()) {
      throw new IOException("x509: malformed crl");
    }
    return out;
  }

  /** PEM of a certificate, CRL, or (as PKCS#8, which Go and Java both read) a private key. */
  static String pem(Object o) throws IOException {
    java.io.StringWriter out = new java.io.StringWriter();
    try (org.bouncycastle.openssl.jcajce.JcaPEMWriter w = new org.bouncycastle.openssl.jcajce.JcaPEMWriter(out)) {
      if (o instanceof PrivateKey k) {
        w.writeObject(new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(k, null));
      } else {
        w.writeObject(o);
      }
    }
    return out.toString();
  }

  /** The file's bytes; a missing or unreadable file fails as Go's {@code os.Open} does. */
  static byte[] read(Path file) throws IOException {
    try {
      return Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new IOException("open " + file + ": no such file or directory", e);
    } catch (AccessDeniedException e) {
      throw new IOException("open " + file + ": permission denied", e);
    }
  }

  private static CertificateFactory factory() throws GeneralSecurityException {
    return CertificateFactory.getInstance("X.509");
  }
}
