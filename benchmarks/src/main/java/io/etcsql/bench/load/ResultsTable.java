package io.etcsql.bench.load;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Renders the results file of {@code benchmarks/run.sh} (JSON lines) as Markdown tables of ratios
 * etcsql / etcd: one row per matrix cell and member count (the lines' {@code cell} and
 * {@code members} fields), and one per resource measure (lines with {@code "bench":"resources"}).
 * A cell measured on one server only still gets its row, with "-" for the other.
 *
 * <pre>java -cp ... io.etcsql.bench.load.ResultsTable results.jsonl</pre>
 */
public final class ResultsTable {
  private static final String[][] RESOURCES = {
      {"peak_rss_max_kb", "peak RSS, largest member (MB)", "1024"},
      {"peak_rss_sum_kb", "peak RSS, all members (MB)", "1024"},
      {"data_dir_bytes", "data directories, all members (MB)", "1048576"}};

  private ResultsTable() {
  }

  public static void main(String[] args) throws IOException {
    ObjectMapper json = new ObjectMapper();
    // (cell, members) -> target -> line, in the order the cells were first run
    Map<String, Map<String, JsonNode>> cells = new LinkedHashMap<>();
    Map<String, Map<String, JsonNode>> resources = new LinkedHashMap<>();
    for (String text : Files.readAllLines(Path.of(args[0]))) {
      if (text.isBlank()) {
        continue;
      }
      JsonNode n = json.readTree(text);
      String members = n.path("members").asText("?");
      String target = n.path("target").asText("?");
      if (n.path("bench").asText().equals("resources")) {
        resources.computeIfAbsent(members, k -> new LinkedHashMap<>()).put(target, n);
      } else {
        String cell = n.path("cell").asText(n.path("bench").asText());
        cells.computeIfAbsent(cell + "\t" + members, k -> new LinkedHashMap<>()).put(target, n);
      }
    }
    System.out.println("| benchmark | members | etcd ops/s | etcsql ops/s | etcsql / etcd | etcd p99 ms"
        + " | etcsql p99 ms | p99 etcsql / etcd | errors etcd / etcsql |");
    System.out.println("|---|---|---|---|---|---|---|---|---|");
    cells.forEach((key, byTarget) -> {
      String[] cm = key.split("\t");
      JsonNode e = byTarget.get("etcd");
      JsonNode s = byTarget.get("etcsql");
      System.out.printf(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %s | %s | %s / %s |%n", cm[0], cm[1],
          num(e, "ops_per_s", 0), num(s, "ops_per_s", 0), ratio(s, e, "ops_per_s"),
          num(e, "p99_ms", 2), num(s, "p99_ms", 2), ratio(s, e, "p99_ms"), errors(e), errors(s));
    });
    if (resources.isEmpty()) {
      return;
    }
    System.out.println();
    System.out.println("| measure | members | etcd | etcsql | etcsql / etcd |");
    System.out.println("|---|---|---|---|---|");
    resources.forEach((members, byTarget) -> {
      JsonNode e = byTarget.get("etcd");
      JsonNode s = byTarget.get("etcsql");
      for (String[] r : RESOURCES) {
        double unit = Double.parseDouble(r[2]);
        System.out.printf(Locale.ROOT, "| %s | %s | %s | %s | %s |%n", r[1], members, scaled(e, r[0], unit),
            scaled(s, r[0], unit), ratio(s, e, r[0]));
      }
    });
  }

  private static boolean has(JsonNode n, String field) {
    return n != null && n.path(field).isNumber();
  }

  private static String num(JsonNode n, String field, int decimals) {
    if (n != null && n.has("fatal")) {
      return "failed";
    }
    return has(n, field) ? String.format(Locale.ROOT, "%,." + decimals + "f", n.path(field).asDouble()) : "-";
  }

  private static String scaled(JsonNode n, String field, double unit) {
    return has(n, field) ? String.format(Locale.ROOT, "%,.1f", n.path(field).asDouble() / unit) : "-";
  }

  private static String ratio(JsonNode s, JsonNode e, String field) {
    if (!has(s, field) || !has(e, field) || e.path(field).asDouble() == 0) {
      return "-";
    }
    return String.format(Locale.ROOT, "%.2f", s.path(field).asDouble() / e.path(field).asDouble());
  }

  private static String errors(JsonNode n) {
    if (n == null) {
      return "-";
    }
    return n.has("fatal") ? "fatal" : Long.toString(n.path("errors").asLong() + n.path("missed_events").asLong());
  }
}
