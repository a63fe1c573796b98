package io.etcsql.server.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * etcd's auth flags: {@code --auth-token} ({@code simple}, or {@code jwt,pub-key=...,priv-key=...,
 * sign-method=...,ttl=...}), {@code --bcrypt-cost} and {@code --auth-token-ttl} (seconds a simple
 * token lives unused).
 *
 * @param tokenType "simple" or "jwt"
 * @param tokenOptions the jwt options by name (pub-key, priv-key, sign-method, ttl)
 */
public record AuthOptions(String tokenType, Map<String, String> tokenOptions, int bcryptCost, Duration simpleTokenTtl) {
    public static final String SIMPLE = "simple";
    public static final String JWT = "jwt";
    /** etcd's jwt ttl default. */
    public static final Duration DEFAULT_JWT_TTL = Duration.ofMinutes(5);
    public static final AuthOptions DEFAULTS = new AuthOptions(SIMPLE, Map.of(), 10, Duration.ofSeconds(300));

    public AuthOptions {
        tokenOptions = Map.copyOf(tokenOptions);
    }

    /**
     * etcd's decomposeOpts and NewTokenProvider checks; "auth: invalid auth options" for an
     * unknown type, an option without '=' or given twice.
     */
    public static AuthOptions parse(String authToken, long bcryptCost, long ttlSeconds) throws ConfigException {
        String[] parts = authToken.split(",", -1);
        Map<String, String> opts = new LinkedHashMap<>();
        for (int i = 1; i < parts.length; i++) {
            String[] kv = parts[i].split("=", -1);
            if (kv.length != 2 || opts.containsKey(kv[0])) {
                throw ConfigException.invalid("auth: invalid auth options");
            }
            opts.put(kv[0], kv[1]);
        }
        String type = parts[0];
        if (!type.equals(SIMPLE) && !type.equals(JWT)) {
            throw ConfigException.invalid("auth: invalid auth options");
        }
        // etcd: an out-of-range cost falls back to the default, with a warning
        int cost = bcryptCost < 4 || bcryptCost > 31 ? 10 : (int) bcryptCost;
        return new AuthOptions(type, opts, cost, Duration.ofSeconds(ttlSeconds));
    }

    public boolean jwt() {
        return tokenType.equals(JWT);
    }

    public Path jwtPublicKey() {
        String p = tokenOptions.get("pub-key");
        return p == null || p.isEmpty() ? null : Path.of(p);
    }

    public Path jwtPrivateKey() {
        String p = tokenOptions.get("priv-key");
        return p == null || p.isEmpty() ? null : Path.of(p);
    }

    public String jwtSignMethod() {
        return tokenOptions.getOrDefault("sign-method", "");
    }

    /** The jwt ttl option (Go duration), etcd's 5 minutes when absent. */
    public Duration jwtTtl() throws ConfigException {
        String t = tokenOptions.get("ttl");
        if (t == null || t.isEmpty()) {
            return DEFAULT_JWT_TTL;
        }
        try {
            return GoDuration.parse(t);
        } catch (IllegalArgumentException e) {
            throw ConfigException.invalid("auth: invalid auth options");
        }
    }
}
