package io.etcsql.server.tls;

import java.io.IOException;
import java.net.Socket;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.X509CRL;
import java.security.cert.X509CRLEntry;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * The checks etcd adds to a verified certificate chain, around a PKIX trust manager: the
 * revocation list of {@code --client-crl-file} / {@code --peer-crl-file}, read again on every
 * handshake as etcd reads it (a certificate of the chain whose serial number is listed is refused),
 * and {@code --peer-cert-allowed-cn} (the leaf's Subject CN must equal it).
 */
final class VerifyingTrustManager extends X509ExtendedTrustManager {
  private final X509TrustManager pkix;
  private final Path crlFile;
  private final String allowedCn;

  /**
   * @param crlFile null: no revocation list
   * @param allowedCn empty: any CN
   */
  VerifyingTrustManager(X509TrustManager pkix, Path crlFile, String allowedCn) {
    this.pkix = pkix;
    this.crlFile = crlFile;
    this.allowedCn = allowedCn;
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    pkix.checkClientTrusted(chain, authType);
    checkExtra(chain, "client certificate authentication failed");
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    pkix.checkServerTrusted(chain, authType);
    checkExtra(chain, "server certificate authentication failed");
  }

  private void checkExtra(X509Certificate[] chain, String cnMismatch) throws CertificateException {
    if (crlFile != null) {
      checkRevocation(chain, crlFile);
    }
    if (!allowedCn.isEmpty() && !allowedCn.equals(ClientCertificates.commonName(chain[0]))) {
      throw new CertificateException(cnMismatch);
    }
  }

  /** etcd's checkCRL: any certificate of the chain whose serial number the list revokes. */
  static void checkRevocation(X509Certificate[] chain, Path crlFile) throws CertificateException {
    java.util.List<X509CRL> crls;
    try {
      crls = PemFiles.crls(crlFile);
    } catch (IOException e) {
      throw new CertificateException(e.getMessage(), e);
    }
    for (X509CRL crl : crls) {
      if (crl.getRevokedCertificates() == null) {
        continue;
      }
      for (X509CRLEntry revoked : crl.getRevokedCertificates()) {
        for (X509Certificate c : chain) {
          if (revoked.getSerialNumber().equals(c.getSerialNumber())) {
            throw new CertificateException("transport: certificate revoked");
          }
        }
      }
    }
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    checkClientTrusted(chain, authType);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    checkClientTrusted(chain, authType);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    checkServerTrusted(chain, authType);
  }

  /** With the engine, so the PKIX trust manager also checks the server's name against its certificate. */
  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    if (pkix instanceof X509ExtendedTrustManager extended) {
      extended.checkServerTrusted(chain, authType, engine);
    } else {
      pkix.checkServerTrusted(chain, authType);
    }
    checkExtra(chain, "server certificate authentication failed");
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return pkix.getAcceptedIssuers();
  }
}
