package io.etcsql.server.tls;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.CRLReason;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A test PKI written as PEM files: certificate authorities, certificates they issue (server
 * certificates name 127.0.0.1 and localhost, and serve both server and client authentication) and
 * CRLs. EC P-256 keys, made fast.
 */
public final class TestPki {
  private static final AtomicLong SERIAL = new AtomicLong(System.currentTimeMillis());
  private final Path dir;

  public TestPki(Path dir) throws IOException {
    this.dir = Files.createDirectories(dir);
  }

  /** A certificate and its key on disk. */
  public record Issued(String name, X509Certificate cert, KeyPair keys, Path certFile, Path keyFile) {}

  /** A self-signed CA: {@code <name>.pem}, {@code <name>-key.pem}. */
  public Issued ca(String name) throws Exception {
    KeyPair keys = keys();
    X500Name subject = new X500Name("CN=" + name);
    X509v3CertificateBuilder b = builder(subject, subject, keys);
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
    b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
    return write(name, b, keys, keys);
  }

  /** A server-and-client certificate for 127.0.0.1 and localhost, issued by {@code ca}. */
  public Issued server(String name, String cn, Issued ca) throws Exception {
    KeyPair keys = keys();
    X509v3CertificateBuilder b = builder(new X500Name(ca.cert().getSubjectX500Principal().getName()),
        new X500Name("CN=" + cn), keys);
    b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
        new GeneralName(GeneralName.iPAddress, "127.0.0.1"), new GeneralName(GeneralName.dNSName, "localhost")}));
    b.addExtension(Extension.extendedKeyUsage, false,
        new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
    return write(name, b, keys, ca.keys());
  }

  /** A client certificate with Subject CN {@code cn}, issued by {@code ca}. */
  public Issued client(String name, String cn, Issued ca) throws Exception {
    KeyPair keys = keys();
    X509v3CertificateBuilder b = builder(new X500Name(ca.cert().getSubjectX500Principal().getName()),
        new X500Name("CN=" + cn), keys);
    b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth));
    return write(name, b, keys, ca.keys());
  }

  /** A PEM CRL of {@code ca} revoking {@code revoked}: {@code <name>.pem}. */
  public Path crl(String name, Issued ca, Issued... revoked) throws Exception {
    Instant now = Instant.now();
    X509v2CRLBuilder b = new X509v2CRLBuilder(new X500Name(ca.cert().getSubjectX500Principal().getName()),
        Date.from(now.minusSeconds(60)));
    b.setNextUpdate(Date.from(now.plus(Duration.ofDays(1))));
    for (Issued r : revoked) {
      b.addCRLEntry(r.cert().getSerialNumber(), Date.from(now.minusSeconds(60)), CRLReason.keyCompromise);
    }
    Path file = dir.resolve(name + ".pem");
    Files.writeString(file, PemFiles.pem(b.build(signer(ca.keys()))), StandardCharsets.US_ASCII);
    return file;
  }

  private static KeyPair keys() throws GeneralSecurityException {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"));
    return g.generateKeyPair();
  }

  private static X509v3CertificateBuilder builder(X500Name issuer, X500Name subject, KeyPair keys) {
    Instant now = Instant.now();
    return new JcaX509v3CertificateBuilder(issuer, BigInteger.valueOf(SERIAL.incrementAndGet()),
        Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(Duration.ofDays(2))), subject, keys.getPublic());
  }

  private static ContentSigner signer(KeyPair keys) throws Exception {
    return new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate());
  }

  private Issued write(String name, X509v3CertificateBuilder b, KeyPair keys, KeyPair signer) throws Exception {
    X509Certificate cert = new JcaX509CertificateConverter().getCertificate(b.build(signer(signer)));
    Path certFile = dir.resolve(name + ".pem");
    Path keyFile = dir.resolve(name + "-key.pem");
    Files.writeString(certFile, PemFiles.pem(cert), StandardCharsets.US_ASCII);
    Files.writeString(keyFile, PemFiles.pem(keys.getPrivate()), StandardCharsets.US_ASCII);
    return new Issued(name, cert, keys, certFile, keyFile);
  }
}
