package io.etcsql.server.config;

import java.util.Set;

/**
 * etcd's HTTP access settings of the client URLs: {@code --enable-grpc-gateway} (the /v3/ JSON
 * gateway on or off), {@code --cors} (origins allowed for cross-origin requests, {@code *} all)
 * and {@code --host-whitelist} (Host names accepted on plain-text connections, {@code *} all; the
 * DNS rebinding guard of CVE-2018-5702).
 */
public record HttpAccess(boolean gateway, Set<String> cors, Set<String> hostWhitelist) {
    public static final HttpAccess DEFAULTS = new HttpAccess(true, Set.of("*"), Set.of("*"));

    public HttpAccess {
        cors = Set.copyOf(cors);
        hostWhitelist = Set.copyOf(hostWhitelist);
    }

    /** The Access-Control-Allow-Origin to answer a request from {@code origin} with, or null. */
    public String allowOrigin(String origin) {
        if (cors.isEmpty() || cors.contains("*")) {
            return "*";
        }
        return origin != null && cors.contains(origin) ? origin : null;
    }

    /** Whether a plain-text request naming {@code host} (no port) is served. */
    public boolean hostAllowed(String host) {
        return hostWhitelist.isEmpty() || hostWhitelist.contains("*") || hostWhitelist.contains(host);
    }

    /** etcd's comma-separated unique values ({@code flags.NewUniqueStringsValue}). */
    public static Set<String> values(String flag) {
        java.util.Set<String> out = new java.util.LinkedHashSet<>();
        for (String v : flag.split(",")) {
            if (!v.isEmpty()) {
                out.add(v);
            }
        }
        return out;
    }
}
