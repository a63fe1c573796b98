package io.etcsql.examples.audit;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.sql.Types;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Calendar;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TimeZone;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs SQL report files against an etcsql SQL endpoint and prints each one's result as an aligned
 * table. A report file is one query; its header comment's first line is the report's title, and
 * its lines {@code -- @param NAME} or {@code -- @param NAME = DEFAULT} declare the placeholders
 * {@code ${NAME}} of the query, replaced by the value of {@code --set NAME=VALUE} or the default.
 *
 * <pre>
 * AuditReports [--url jdbc:etcsql://127.0.0.1:8765] [--user NAME --password PW] [--set NAME=VALUE]... FILE.sql...
 * </pre>
 *
 * Exit code 0 when every report ran, 1 when one failed or was skipped (a parameter without a value), 2 for bad usage.
 */
public final class AuditReports {

    private static final Pattern PARAM = Pattern.compile("^--\\s*@param\\s+(\\w+)\\s*(?:=\\s*(.*?))?\\s*$");
    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{(\\w+)}");
    private static final Calendar UTC = Calendar.getInstance(TimeZone.getTimeZone("UTC"));
    private static final DateTimeFormatter TIMESTAMP = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS")
            .withZone(ZoneOffset.UTC);

    private AuditReports() {
    }

    public static void main(String[] args) throws Exception {
        String url = "jdbc:etcsql://127.0.0.1:8765";
        String user = null;
        String password = null;
        Map<String, String> values = new LinkedHashMap<>();
        List<Path> files = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            boolean hasValue = i + 1 < args.length;
            switch (a) {
                case "--url" -> url = hasValue ? args[++i] : usage("--url needs a value");
                case "--user" -> user = hasValue ? args[++i] : usage("--user needs a value");
                case "--password" -> password = hasValue ? args[++i] : usage("--password needs a value");
                case "--set" -> {
                    String nv = hasValue ? args[++i] : usage("--set needs NAME=VALUE");
                    int eq = nv.indexOf('=');
                    if (eq <= 0) {
                        usage("--set needs NAME=VALUE, not " + nv);
                    }
                    // a later --set of the same name wins: run puts the sample's values before the user's
                    values.put(nv.substring(0, eq), nv.substring(eq + 1));
                }
                default -> {
                    if (a.startsWith("--")) {
                        usage("unknown option " + a);
                    }
                    files.add(Paths.get(a));
                }
            }
        }
        if (files.isEmpty()) {
            usage("no report files");
        }
        Properties props = new Properties();
        if (user != null) {
            props.setProperty("user", user);
            props.setProperty("password", password == null ? "" : password);
        }
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        int failed = 0;
        try (Connection conn = DriverManager.getConnection(url, props)) {
            for (Path f : files) {
                if (!runReport(conn, f, values, out)) {
                    failed++;
                }
            }
        }
        System.exit(failed == 0 ? 0 : 1);
    }

    private static String usage(String problem) {
        System.err.println("AuditReports: " + problem + "\nusage: AuditReports [--url JDBC_URL] [--user NAME --password PW]"
                + " [--set NAME=VALUE]... FILE.sql...");
        System.exit(2);
        return null;
    }

    /** Prints one report's title, parameters and result table; false if it could not run. */
    static boolean runReport(Connection conn, Path file, Map<String, String> values, PrintStream out)
            throws IOException {
        String text = Files.readString(file, StandardCharsets.UTF_8);
        String title = null;
        Map<String, String> params = new LinkedHashMap<>();
        List<String> missing = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (title == null && line.startsWith("--")) {
                title = line.replaceFirst("^--\\s*", "");
            }
            Matcher m = PARAM.matcher(line);
            if (m.matches()) {
                String value = values.getOrDefault(m.group(1), m.group(2));
                if (value == null) {
                    missing.add(m.group(1));
                }
                params.put(m.group(1), value);
            }
        }
        StringBuilder shown = new StringBuilder();
        params.forEach((k, v) -> shown.append(shown.length() == 0 ? "" : ", ").append(k).append('=')
                .append(v == null ? "?" : v));
        out.println("== " + file.getFileName() + ": " + title + (params.isEmpty() ? "" : "  [" + shown + "]"));
        if (!missing.isEmpty()) {
            out.println("skipped: no value for " + String.join(", ", missing) + " (run --set NAME=VALUE)");
            out.println();
            return false;
        }
        // ${NAME} becomes the value with its quotes doubled: placeholders sit inside SQL string
        // literals ('${key}') or stand for numbers (kv_at(${rev}))
        Matcher m = PLACEHOLDER.matcher(text);
        StringBuilder sql = new StringBuilder();
        while (m.find()) {
            if (!params.containsKey(m.group(1))) {
                out.println("error: ${" + m.group(1) + "} is not declared with -- @param in " + file);
                out.println();
                return false;
            }
            m.appendReplacement(sql, Matcher.quoteReplacement(params.get(m.group(1)).replace("'", "''")));
        }
        m.appendTail(sql);
        // JDBC takes one statement without its terminator
        String query = sql.toString().strip().replaceFirst(";$", "");
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(query)) {
            printTable(rs, out);
            out.println();
            return true;
        } catch (SQLException e) {
            // Avatica's message repeats the whole query before the server's own words
            String msg = e.getMessage();
            int at = msg.indexOf("Remote driver error: ");
            out.println("error: " + (at >= 0 ? msg.substring(at + "Remote driver error: ".length()) : msg)
                    + " (SQLState " + e.getSQLState() + ")");
            out.println();
            return false;
        }
    }

    /** The rows of {@code rs} as a table, numbers right-aligned, NULL as an empty cell, then "(N rows)". */
    static void printTable(ResultSet rs, PrintStream out) throws SQLException {
        ResultSetMetaData md = rs.getMetaData();
        int n = md.getColumnCount();
        String[] head = new String[n];
        boolean[] right = new boolean[n];
        int[] width = new int[n];
        for (int i = 0; i < n; i++) {
            head[i] = md.getColumnLabel(i + 1);
            right[i] = isNumber(md.getColumnType(i + 1));
            width[i] = head[i].length();
        }
        List<String[]> rows = new ArrayList<>();
        while (rs.next()) {
            String[] row = new String[n];
            for (int i = 0; i < n; i++) {
                String v;
                if (md.getColumnType(i + 1) == Types.TIMESTAMP) {
                    // committed_at is UTC; read without the JVM's time zone, print with milliseconds
                    Timestamp t = rs.getTimestamp(i + 1, UTC);
                    v = t == null ? null : TIMESTAMP.format(t.toInstant());
                } else {
                    v = rs.getString(i + 1);
                }
                row[i] = v == null ? "" : v;
                width[i] = Math.max(width[i], row[i].length());
            }
            rows.add(row);
        }
        StringBuilder border = new StringBuilder("+");
        for (int w : width) {
            border.append("-".repeat(w + 2)).append('+');
        }
        out.println(border);
        out.println(line(head, width, new boolean[n]));
        out.println(border);
        for (String[] row : rows) {
            out.println(line(row, width, right));
        }
        out.println(border);
        out.println("(" + rows.size() + (rows.size() == 1 ? " row)" : " rows)"));
    }

    private static String line(String[] cells, int[] width, boolean[] right) {
        StringBuilder b = new StringBuilder("|");
        for (int i = 0; i < cells.length; i++) {
            String pad = " ".repeat(width[i] - cells[i].length());
            b.append(' ').append(right[i] ? pad + cells[i] : cells[i] + pad).append(" |");
        }
        return b.toString();
    }

    private static boolean isNumber(int type) {
        return switch (type) {
            case Types.TINYINT, Types.SMALLINT, Types.INTEGER, Types.BIGINT, Types.DECIMAL, Types.NUMERIC,
                 Types.REAL, Types.FLOAT, Types.DOUBLE -> true;
            default -> false;
        };
    }
}
