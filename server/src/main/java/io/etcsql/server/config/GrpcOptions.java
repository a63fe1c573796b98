package io.etcsql.server.config;

import java.time.Duration;
import java.util.Objects;

/**
 * How the client-facing gRPC server treats connections: etcd's {@code --max-concurrent-streams}
 * and {@code --grpc-keepalive-*} flags.
 *
 * @param maxConcurrentStreams streams one client connection may have open at a time (HTTP/2
 *     SETTINGS_MAX_CONCURRENT_STREAMS); etcd's default is math.MaxUint32, served as Integer.MAX_VALUE
 * @param keepaliveMinTime the shortest interval at which a client may ping; 0 leaves gRPC's own
 *     (5 minutes), as etcd does
 * @param keepaliveInterval how often the server pings an idle connection; 0 turns server pings off
 * @param keepaliveTimeout how long the server waits for a ping's answer before closing the
 *     connection; 0 turns server pings off
 */
public record GrpcOptions(long maxConcurrentStreams, Duration keepaliveMinTime, Duration keepaliveInterval,
        Duration keepaliveTimeout) {
    /** etcd 3.4's defaults. */
    public static final GrpcOptions DEFAULTS = new GrpcOptions(Flags.DEFAULT_MAX_CONCURRENT_STREAMS,
            Flags.DEFAULT_GRPC_KEEPALIVE_MIN_TIME, Flags.DEFAULT_GRPC_KEEPALIVE_INTERVAL,
            Flags.DEFAULT_GRPC_KEEPALIVE_TIMEOUT);

    public GrpcOptions {
        Objects.requireNonNull(keepaliveMinTime, "keepaliveMinTime");
        Objects.requireNonNull(keepaliveInterval, "keepaliveInterval");
        Objects.requireNonNull(keepaliveTimeout, "keepaliveTimeout");
    }

    /** Whether the server pings idle connections (etcd: only when interval and timeout are both > 0). */
    public boolean serverPings() {
        return keepaliveInterval.compareTo(Duration.ZERO) > 0 && keepaliveTimeout.compareTo(Duration.ZERO) > 0;
    }

    /** The stream limit as gRPC takes it: at most Integer.MAX_VALUE. */
    public int streamLimit() {
        return (int) Math.min(Integer.MAX_VALUE, maxConcurrentStreams);
    }
}
