package io.etcsql.bench.load;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The load tool's command line, with the flag names and defaults of etcd's {@code tools/benchmark}
 * where it has the flag: {@code --flag=value} or {@code --flag value}; a boolean flag alone means
 * true. Unknown flags are refused.
 */
final class LoadOptions {
  private static final Set<String> BOOLEAN = Set.of("sequential-keys", "stream", "prefill", "help");
  private static final Set<String> VALUED = Set.of("endpoints", "conns", "clients", "total", "key-size",
      "val-size", "key-space-size", "rate", "put-rate", "warmup-total", "target", "label", "consistency",
      "watchers", "streams", "ttl", "dial-timeout", "request-timeout", "wait-timeout");

  final String bench;
  final List<String> args = new ArrayList<>();
  private final Map<String, String> values = new LinkedHashMap<>();
  /** {@code --label k=v}, repeatable: extra fields of the JSON line. */
  final Map<String, String> labels = new LinkedHashMap<>();

  LoadOptions(String[] argv) {
    bench = argv[0];
    for (int i = bench.startsWith("--") ? 0 : 1; i < argv.length; i++) {
      String a = argv[i];
      if (!a.startsWith("--")) {
        args.add(a);
        continue;
      }
      String name = a.substring(2);
      String value = null;
      int eq = name.indexOf('=');
      if (eq >= 0) {
        value = name.substring(eq + 1);
        name = name.substring(0, eq);
      }
      if (BOOLEAN.contains(name)) {
        value = value == null ? "true" : value;
        if (!value.equals("true") && !value.equals("false")) {
          throw new IllegalArgumentException("invalid argument \"" + value + "\" for \"--" + name + "\" flag");
        }
      } else if (VALUED.contains(name)) {
        if (value == null) {
          if (i + 1 >= argv.length) {
            throw new IllegalArgumentException("flag needs an argument: --" + name);
          }
          value = argv[++i];
        }
      } else {
        throw new IllegalArgumentException("unknown flag: --" + name);
      }
      if (name.equals("label")) {
        int k = value.indexOf('=');
        if (k <= 0) {
          throw new IllegalArgumentException("--label wants key=value, got " + value);
        }
        labels.put(value.substring(0, k), value.substring(k + 1));
      } else {
        values.put(name, value);
      }
    }
  }

  boolean has(String name) {
    return values.containsKey(name);
  }

  String string(String name, String dflt) {
    return values.getOrDefault(name, dflt);
  }

  boolean bool(String name, boolean dflt) {
    return Boolean.parseBoolean(values.getOrDefault(name, Boolean.toString(dflt)));
  }

  long number(String name, long dflt) {
    String v = values.get(name);
    if (v == null) {
      return dflt;
    }
    try {
      return Long.parseLong(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("invalid argument \"" + v + "\" for \"--" + name + "\" flag");
    }
  }

  int positiveInt(String name, long dflt) {
    long v = number(name, dflt);
    if (v <= 0 || v > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("expected positive --" + name + ", got (" + v + ")");
    }
    return (int) v;
  }

  /** A Go-style duration ({@code 500ms}, {@code 10s}, {@code 2m}) or plain seconds, in nanoseconds. */
  long durationNanos(String name, String dflt) {
    String v = values.getOrDefault(name, dflt);
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|s|m)?").matcher(v);
    if (!m.matches()) {
      throw new IllegalArgumentException("invalid argument \"" + v + "\" for \"--" + name + "\" flag");
    }
    double n = Double.parseDouble(m.group(1));
    String unit = m.group(2) == null ? "s" : m.group(2);
    double scale = switch (unit) {
      case "ms" -> 1e6;
      case "m" -> 60e9;
      default -> 1e9;
    };
    return (long) (n * scale);
  }
}
