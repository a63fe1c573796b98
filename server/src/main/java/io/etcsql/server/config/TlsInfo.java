package io.etcsql.server.config;

import java.util.List;
import java.util.Objects;

/**
 * The TLS settings of one side of a member, as etcd's {@code transport.TLSInfo}: the client side
 * ({@code --cert-file}, {@code --key-file}, {@code --trusted-ca-file}, {@code --client-cert-auth},
 * {@code --client-crl-file}, {@code --auto-tls}) or the peer side (the same with {@code --peer-}
 * and {@code --peer-cert-allowed-cn}). Paths are as given; empty means unset.
 *
 * @param certFile the certificate chain to present (PEM)
 * @param keyFile its private key (PEM: PKCS#8, PKCS#1 or SEC 1)
 * @param trustedCaFile the CA certificates that sign accepted client certificates (PEM); as in
 *     etcd 3.4 setting it alone already requires a client certificate
 * @param clientCertAuth whether a client certificate is required
 * @param crlFile a certificate revocation list (PEM or DER) checked on every handshake
 * @param autoTls serve with a self-signed certificate made at start when no cert/key is given
 * @param allowedCn the only Subject CN accepted from a client certificate (peer side; empty: any)
 * @param cipherSuites the TLS 1.2 cipher suites (IANA names, in preference order); empty: the
 *     defaults. TLS 1.3 keeps its own suites, as in Go.
 */
public record TlsInfo(String certFile, String keyFile, String trustedCaFile, boolean clientCertAuth,
        String crlFile, boolean autoTls, String allowedCn, List<String> cipherSuites) {
    /** Nothing set: plain text only. */
    public static final TlsInfo NONE = new TlsInfo("", "", "", false, "", false, "", List.of());

    public TlsInfo {
        Objects.requireNonNull(certFile, "certFile");
        Objects.requireNonNull(keyFile, "keyFile");
        Objects.requireNonNull(trustedCaFile, "trustedCaFile");
        Objects.requireNonNull(crlFile, "crlFile");
        Objects.requireNonNull(allowedCn, "allowedCn");
        cipherSuites = List.copyOf(cipherSuites);
    }

    /** etcd's {@code TLSInfo.Empty()}: no certificate and key given. */
    public boolean empty() {
        return certFile.isEmpty() && keyFile.isEmpty();
    }

    /** Whether a handshake must present a client certificate (etcd: client-cert-auth or a trusted CA). */
    public boolean requiresClientCertificate() {
        return clientCertAuth || !trustedCaFile.isEmpty();
    }
}
