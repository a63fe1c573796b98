package io.etcsql.server.tls;

import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * etcd's {@code --auto-tls} / {@code --peer-auto-tls} ({@code transport.SelfCert}): a self-signed
 * ECDSA P-521 certificate (Organization "etcd", valid one year, server authentication) for the
 * hosts of the listen URLs, written once as {@code cert.pem} and {@code key.pem} in a fixtures
 * directory and reused on later starts.
 */
public final class SelfSignedCertificates {
  private SelfSignedCertificates() {}

  /**
   * The certificate and key files in {@code dir}, made first if either is missing.
   *
   * @param hosts the listen URLs whose hosts the certificate names (IP or DNS SANs)
   * @param clientAuth also allow the certificate to authenticate a client (peer certificates:
   *     members dial each other with it)
   * @return {certificate file, key file}
   */
  public static Path[] ensure(Path dir, List<URI> hosts, boolean clientAuth) throws IOException {
    Files.createDirectories(dir);
    Path cert = dir.resolve("cert.pem");
    Path key = dir.resolve("key.pem");
    if (Files.exists(cert) && Files.exists(key)) {
      return new Path[] {cert, key};
    }
    try {
      KeyPairGenerator gen = KeyPairGenerator.getInstance("EC");
      gen.initialize(new ECGenParameterSpec("secp521r1"));
      KeyPair pair = gen.generateKeyPair();
      Instant now = Instant.now();
      X500Name subject = new X500Name("O=etcd");
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject,
          new BigInteger(128, new SecureRandom()), Date.from(now), Date.from(now.plus(Duration.ofDays(365))),
          subject, pair.getPublic());
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyEncipherment | KeyUsage.digitalSignature));
      b.addExtension(Extension.extendedKeyUsage, false, clientAuth
          ? new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth})
          : new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      List<GeneralName> names = new ArrayList<>();
      for (URI u : hosts) {
        String h = u.getHost();
        if (h == null) {
          continue;
        }
        if (h.startsWith("[")) {
          h = h.substring(1, h.length() - 1);
        }
        boolean ip = h.chars().allMatch(c -> Character.digit(c, 16) >= 0 || c == '.' || c == ':');
        names.add(ip ? new GeneralName(GeneralName.iPAddress, InetAddress.getByName(h).getHostAddress())
            : new GeneralName(GeneralName.dNSName, h));
      }
      if (!names.isEmpty()) {
        b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names.toArray(new GeneralName[0])));
      }
      var holder = b.build(new JcaContentSignerBuilder("SHA512withECDSA").build(pair.getPrivate()));
      Files.writeString(cert, PemFiles.pem(holder), StandardCharsets.US_ASCII);
      Files.writeString(key, PemFiles.pem(pair.getPrivate()), StandardCharsets.US_ASCII);
      try {
        Files.setPosixFilePermissions(key, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
      } catch (UnsupportedOperationException ignored) {
        // not a POSIX file system
      }
      return new Path[] {cert, key};
    } catch (GeneralSecurityException | OperatorCreationException e) {
      throw new IOException("cannot generate x509 certificate: " + e.getMessage(), e);
    }
  }
}
