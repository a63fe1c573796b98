package io.etcsql.server.config;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.Map;

/** Go's {@code time.ParseDuration}: "300ms", "-1.5h", "2h45m"; units ns, us (µs, μs), ms, s, m, h. */
final class GoDuration {
    private static final Map<String, Long> UNIT_NANOS = Map.of(
            "ns", 1L, "us", 1_000L, "\u00b5s", 1_000L, "\u03bcs", 1_000L, "ms", 1_000_000L,
            "s", 1_000_000_000L, "m", 60_000_000_000L, "h", 3_600_000_000_000L);

    private GoDuration() {
    }

    /**
     * Parses a duration.
     *
     * @throws IllegalArgumentException with Go's message, e.g. {@code time: unknown unit "x" in duration "1x"}
     */
    static Duration parse(String s) {
        String orig = s;
        String quoted = "\"" + orig + "\"";
        boolean neg = false;
        if (!s.isEmpty() && (s.charAt(0) == '-' || s.charAt(0) == '+')) {
            neg = s.charAt(0) == '-';
            s = s.substring(1);
        }
        if (s.equals("0")) {
            return Duration.ZERO;
        }
        if (s.isEmpty()) {
            throw new IllegalArgumentException("time: invalid duration " + quoted);
        }
        BigDecimal total = BigDecimal.ZERO;
        while (!s.isEmpty()) {
            int i = 0;
            while (i < s.length() && (Character.isDigit(s.charAt(i)) || s.charAt(i) == '.')) {
                i++;
            }
            String num = s.substring(0, i);
            if (num.isEmpty() || num.equals(".") || num.chars().filter(c -> c == '.').count() > 1) {
                throw new IllegalArgumentException("time: invalid duration " + quoted);
            }
            s = s.substring(i);
            int j = 0;
            while (j < s.length() && s.charAt(j) != '.' && !Character.isDigit(s.charAt(j))) {
                j++;
            }
            String unit = s.substring(0, j);
            s = s.substring(j);
            if (unit.isEmpty()) {
                throw new IllegalArgumentException("time: missing unit in duration " + quoted);
            }
            Long nanos = UNIT_NANOS.get(unit);
            if (nanos == null) {
                throw new IllegalArgumentException("time: unknown unit \"" + unit + "\" in duration " + quoted);
            }
            total = total.add(new BigDecimal(num.endsWith(".") ? num + "0" : num).multiply(BigDecimal.valueOf(nanos)));
        }
        if (total.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
            throw new IllegalArgumentException("time: invalid duration " + quoted);
        }
        long n = total.longValue();
        return Duration.ofNanos(neg ? -n : n);
    }
}
