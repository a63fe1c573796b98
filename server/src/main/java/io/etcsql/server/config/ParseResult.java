package io.etcsql.server.config;

import java.util.List;
import java.util.Objects;

/**
 * What {@link EtcdCommandLine#parse} decided.
 *
 * @param action what the caller should do
 * @param config the node configuration; non-null only when {@code action == RUN}
 * @param infos informational lines etcd would log (e.g. {@code recognized and used environment
 *     variable ETCD_NAME=n1})
 * @param warnings warning lines etcd would log (e.g. {@code unrecognized environment variable
 *     ETCD_FOO=bar}, {@code no data-dir provided, using default data-dir ./default.etcd})
 */
public record ParseResult(Action action, NodeConfig config, List<String> infos, List<String> warnings) {

    public enum Action {
        /** Start the node with {@link #config()}. */
        RUN,
        /** Print {@link EtcdCommandLine#versionText()} on stdout and exit 0. */
        PRINT_VERSION,
        /**
         * Print {@link EtcdCommandLine#usageText()} on stderr and {@link EtcdCommandLine#helpText()}
         * on stdout (as etcd does), and exit 0.
         */
        PRINT_HELP
    }

    public ParseResult {
        Objects.requireNonNull(action, "action");
        if ((action == Action.RUN) != (config != null)) {
            throw new IllegalArgumentException("config must be present exactly when action is RUN");
        }
        infos = List.copyOf(infos);
        warnings = List.copyOf(warnings);
    }

    static ParseResult of(Action action) {
        return new ParseResult(action, null, List.of(), List.of());
    }
}
