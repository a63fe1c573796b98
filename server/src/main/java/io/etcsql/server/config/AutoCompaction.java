package io.etcsql.server.config;

import java.time.Duration;
import java.util.Objects;

/**
 * {@code --auto-compaction-mode} and {@code --auto-compaction-retention} as etcd 3.4 interprets
 * them ({@code embed/etcd.go parseCompactionRetention}): a plain non-negative integer is a number
 * of hours in periodic mode and a number of revisions in revision mode; anything else is a Go
 * duration ("30m", "1h30m"), also in revision mode (where it then counts nanoseconds, as etcd).
 * Retention 0 disables auto compaction.
 *
 * @param mode {@link #PERIODIC} or {@link #REVISION}
 * @param retention the retention as etcd holds it: a duration for periodic mode; for revision
 *     mode its nanosecond count is the number of revisions kept
 */
public record AutoCompaction(String mode, Duration retention) {
    public static final String PERIODIC = "periodic";
    public static final String REVISION = "revision";

    public AutoCompaction {
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(retention, "retention");
    }

    /** etcd's default: periodic, retention 0 (off). */
    public static AutoCompaction disabled() {
        return new AutoCompaction(PERIODIC, Duration.ZERO);
    }

    public boolean enabled() {
        return !retention.isZero() && !retention.isNegative();
    }

    public boolean isRevisionMode() {
        return REVISION.equals(mode);
    }

    /** In revision mode: how many revisions to keep. */
    public long revisions() {
        return retention.toNanos();
    }

    /**
     * Validates the mode and parses the retention, with etcd's messages.
     *
     * @throws ConfigException {@code unknown auto-compaction-mode "x"} or {@code error parsing
     *     CompactionRetention: time: ...}
     */
    public static AutoCompaction parse(String mode, String retention) throws ConfigException {
        // embed.Config.Validate: the empty mode is accepted (and behaves as periodic)
        if (!mode.isEmpty() && !mode.equals(PERIODIC) && !mode.equals(REVISION)) {
            throw ConfigException.invalid("unknown auto-compaction-mode \"" + mode + "\"");
        }
        if (retention.isEmpty()) {
            retention = "0";
        }
        Long plain = atoi(retention);
        if (plain != null && plain >= 0) {
            if (mode.equals(REVISION)) {
                return new AutoCompaction(mode, Duration.ofNanos(plain));
            }
            if (mode.equals(PERIODIC)) {
                return new AutoCompaction(mode, Duration.ofHours(plain));
            }
            return new AutoCompaction(PERIODIC, Duration.ZERO); // etcd: neither case, retention 0
        }
        try {
            Duration d = GoDuration.parse(retention);
            return new AutoCompaction(mode.isEmpty() ? PERIODIC : mode, d);
        } catch (IllegalArgumentException e) {
            throw ConfigException.invalid("error parsing CompactionRetention: " + e.getMessage());
        }
    }

    /** Go's strconv.Atoi (decimal, optional sign), or null if it would fail. */
    private static Long atoi(String s) {
        if (!s.matches("[+-]?[0-9]+")) {
            return null;
        }
        try {
            return Long.parseLong(s.startsWith("+") ? s.substring(1) : s);
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
