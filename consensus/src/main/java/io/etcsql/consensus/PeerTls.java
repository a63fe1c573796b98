package io.etcsql.consensus;

import java.util.List;
import java.util.Objects;
import javax.net.ssl.KeyManager;
import javax.net.ssl.TrustManager;

/**
 * TLS between the members' Raft endpoints (etcd's peer TLS): what this member presents, what it
 * trusts, whether each side must show a certificate, and the TLS 1.2 cipher suites.
 *
 * @param keyManager this member's certificate and key, presented as server and (when {@code
 *     mutual}) as client
 * @param trustManager judges the other member's certificate, on both sides
 * @param mutual whether the server requires a client certificate (and clients present theirs)
 * @param cipherSuites the cipher suites to enable, or empty for the JVM's defaults
 */
public record PeerTls(KeyManager keyManager, TrustManager trustManager, boolean mutual, List<String> cipherSuites) {
  public PeerTls {
    Objects.requireNonNull(keyManager, "keyManager");
    Objects.requireNonNull(trustManager, "trustManager");
    cipherSuites = List.copyOf(cipherSuites);
  }
}
