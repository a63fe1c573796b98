package io.etcsql.server.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * etcd's {@code --cipher-suites} names ({@code pkg/tlsutil}): the names Go's {@code crypto/tls}
 * gives its cipher suites, which are the IANA names (as Java uses them), plus Go's two short
 * ChaCha20 aliases.
 */
public final class CipherSuiteNames {
    private CipherSuiteNames() {
    }

    /** Go's {@code tls.CipherSuites()} and {@code tls.InsecureCipherSuites()}. */
    private static final Set<String> GO_NAMES = Set.of(
            "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_RSA_WITH_RC4_128_SHA", "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_RSA_WITH_AES_128_CBC_SHA",
            "TLS_RSA_WITH_AES_256_CBC_SHA", "TLS_RSA_WITH_AES_128_CBC_SHA256", "TLS_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
            "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256");

    /** Go's aliases without the hash suffix. */
    private static final Map<String, String> ALIASES = Map.of(
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256");

    /**
     * The IANA names of etcd's cipher suite names, in the given order.
     *
     * @throws IllegalArgumentException with etcd's text ({@code unexpected TLS cipher suite "X"})
     *     for a name Go does not know
     */
    public static List<String> toIana(List<String> names) {
        List<String> out = new ArrayList<>(names.size());
        for (String n : names) {
            String iana = ALIASES.getOrDefault(n, GO_NAMES.contains(n) ? n : null);
            if (iana == null) {
                throw new IllegalArgumentException("unexpected TLS cipher suite " + EtcdCommandLine.goQuote(n));
            }
            out.add(iana);
        }
        return List.copyOf(out);
    }
}
