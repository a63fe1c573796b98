package io.etcsql.server.it;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;

import java.nio.charset.StandardCharsets;
import java.time.Duration;

/** jetcd clients for the integration tests: no client-side retries, so every server error is seen as it is. */
public final class Clients {

    private Clients() {
    }

    /**
     * A jetcd 0.8.7 client with retries off: {@code retryMaxAttempts(0)} makes jetcd's Failsafe retry policy
     * {@code withMaxRetries(0)}; {@code waitForReady(false)} makes a call to a member that is down fail at once
     * (UNAVAILABLE) instead of waiting for the connection.
     */
    public static Client jetcd(String... endpoints) {
        return Client.builder()
                .endpoints(endpoints)
                .retryMaxAttempts(0)
                .waitForReady(false)
                .connectTimeout(Duration.ofSeconds(5))
                .maxInboundMessageSize(16 * 1024 * 1024)
                .build();
    }

    public static ByteSequence bs(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    public static String str(ByteSequence b) {
        return b.toString(StandardCharsets.UTF_8);
    }
}
