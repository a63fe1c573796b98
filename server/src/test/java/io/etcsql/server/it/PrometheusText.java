package io.etcsql.server.it;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * A scrape in the Prometheus text format 0.0.4, parsed: each sample by its name and labels, and
 * each metric's {@code # TYPE}. Enough for the label values etcd and etcsql use (no escaped quotes
 * or commas inside label values).
 */
public final class PrometheusText {
    private final Map<String, Double> samples = new LinkedHashMap<>();
    private final Map<String, String> types = new TreeMap<>();

    private PrometheusText() {
    }

    public static PrometheusText parse(String text) {
        PrometheusText t = new PrometheusText();
        for (String line : text.split("\n")) {
            line = line.strip();
            if (line.startsWith("# TYPE ")) {
                String[] p = line.split(" ");
                t.types.put(p[2], p[3]);
            }
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int brace = line.indexOf('{');
            int space = line.indexOf(' ');
            String name;
            Map<String, String> labels = new TreeMap<>();
            String rest;
            if (brace >= 0 && brace < space) {
                name = line.substring(0, brace);
                int close = line.indexOf('}', brace);
                for (String pair : line.substring(brace + 1, close).split(",")) {
                    if (pair.isEmpty()) {
                        continue;
                    }
                    int eq = pair.indexOf('=');
                    labels.put(pair.substring(0, eq), pair.substring(eq + 2, pair.length() - 1));
                }
                rest = line.substring(close + 1).strip();
            } else {
                name = line.substring(0, space);
                rest = line.substring(space + 1).strip();
            }
            t.samples.put(key(name, labels), Double.parseDouble(rest.split(" ")[0]));
        }
        return t;
    }

    private static String key(String name, Map<String, String> labels) {
        return name + new TreeMap<>(labels);
    }

    /** The sample with exactly these labels (name, value, name, value, ...), or null. */
    public Double get(String name, String... labels) {
        Map<String, String> m = new TreeMap<>();
        for (int i = 0; i < labels.length; i += 2) {
            m.put(labels[i], labels[i + 1]);
        }
        return samples.get(key(name, m));
    }

    /** Like {@link #get}, but 0 for a sample that is not there. */
    public double value(String name, String... labels) {
        Double v = get(name, labels);
        return v == null ? 0 : v;
    }

    /** The {@code # TYPE} of a metric ("counter", "gauge", "histogram"), or null. */
    public String type(String name) {
        return types.get(name);
    }

    @Override
    public String toString() {
        return samples.toString();
    }
}
