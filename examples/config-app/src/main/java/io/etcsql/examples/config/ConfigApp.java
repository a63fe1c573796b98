package io.etcsql.examples.config;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.pool.HikariPool;
import java.io.PrintStream;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import javax.sql.DataSource;

/**
 * An application that keeps its configuration in etcsql, written as any JDBC application is: a
 * HikariCP pool, prepared statements, try-with-resources, and read-modify-write transactions that
 * are run again when COMMIT fails with SQLState 40001 (etcsql's transactions are optimistic: a
 * COMMIT fails when a row the transaction read changed in the meantime).
 *
 * <pre>
 * ConfigApp [--url JDBC_URL] [--user USER] [--password PASSWORD] COMMAND
 *   init                 writes the default configuration; keys that exist are left alone
 *   show [PREFIX]        the keys under PREFIX (default /config/), their values and mod_revision
 *   get KEY              the value of KEY
 *   set KEY VALUE        creates or overwrites KEY
 *   increment KEY N      adds 1 to the number in KEY, N times, one transaction each
 * </pre>
 */
public final class ConfigApp {

    static final String DEFAULT_URL = "jdbc:etcsql://127.0.0.1:8765";
    static final String DRIVER = "io.etcsql.jdbc.EtcsqlDriver";

    /** SQLState of an INSERT whose key exists. */
    static final String DUPLICATE_KEY = "23505";
    /** SQLState of a COMMIT whose reads are no longer current: run the transaction again. */
    static final String WRITE_CONFLICT = "40001";
    /** How many times one increment is tried before giving up. */
    static final int MAX_ATTEMPTS = 50;

    /** What {@code init} writes, in this order. */
    static final Map<String, String> DEFAULTS = new LinkedHashMap<>();

    static {
        DEFAULTS.put("/config/app/db.url", "jdbc:postgresql://db.internal:5432/orders");
        DEFAULTS.put("/config/app/db.pool.size", "10");
        DEFAULTS.put("/config/app/http.port", "8080");
        DEFAULTS.put("/config/app/cache.ttl.seconds", "300");
        DEFAULTS.put("/config/app/feature.new-checkout", "false");
        DEFAULTS.put("/config/app/log.level", "INFO");
        DEFAULTS.put("/config/app/counter", "0");
    }

    private static final String USAGE = String.join("\n",
            "usage: ConfigApp [--url JDBC_URL] [--user USER] [--password PASSWORD] COMMAND",
            "  init                 write the default configuration under /config/app/ (existing keys are kept)",
            "  show [PREFIX]        list the keys under PREFIX (default /config/) with value and mod_revision",
            "  get KEY              print the value of KEY",
            "  set KEY VALUE        create or overwrite KEY",
            "  increment KEY N      add 1 to the number in KEY, N times, each in its own transaction",
            "The URL defaults to $ETCSQL_JDBC_URL, else " + DEFAULT_URL + "; user and password to",
            "$ETCSQL_JDBC_USER and $ETCSQL_JDBC_PASSWORD (needed only when etcd auth is on).");

    /** A failure to report to the user as it is, without a stack trace. */
    static final class Failure extends Exception {
        Failure(String message) {
            super(message);
        }
    }

    private ConfigApp() {
    }

    public static void main(String[] args) throws InterruptedException {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs one command; returns the exit code (0 done, 1 failed, 2 wrong usage). */
    static int run(String[] args, PrintStream out, PrintStream err) throws InterruptedException {
        String url = envOr("ETCSQL_JDBC_URL", DEFAULT_URL);
        String user = envOr("ETCSQL_JDBC_USER", null);
        String password = envOr("ETCSQL_JDBC_PASSWORD", null);
        List<String> words = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String name = a.contains("=") ? a.substring(0, a.indexOf('=')) : a;
            boolean option = name.equals("--url") || name.equals("--user") || name.equals("--password");
            if (a.equals("-h") || a.equals("--help") || a.equals("help")) {
                out.println(USAGE);
                return 0;
            } else if (option) {
                String value;
                if (a.contains("=")) {
                    value = a.substring(a.indexOf('=') + 1);
                } else if (i + 1 < args.length) {
                    value = args[++i];
                } else {
                    err.println("config-app: " + a + " needs a value\n" + USAGE);
                    return 2;
                }
                switch (name) {
                    case "--url" -> url = value;
                    case "--user" -> user = value;
                    default -> password = value;
                }
            } else if (a.startsWith("--")) {
                err.println("config-app: unknown option " + a + "\n" + USAGE);
                return 2;
            } else {
                words.add(a);
            }
        }
        if (words.isEmpty()) {
            err.println(USAGE);
            return 2;
        }
        if (!validArity(words)) {
            err.println("config-app: unknown command or wrong arguments: " + String.join(" ", words) + "\n" + USAGE);
            return 2;
        }

        try (HikariDataSource pool = pool(url, user, password)) {
            String key = words.size() > 1 ? words.get(1) : null;
            switch (words.get(0)) {
                case "init" -> init(pool, out);
                case "show" -> show(pool, out, words.size() > 1 ? words.get(1) : "/config/");
                case "get" -> get(pool, out, key);
                case "set" -> set(pool, out, key, words.get(2));
                default -> increment(pool, out, key, count(words.get(2)));
            }
            return 0;
        } catch (SQLException e) {
            err.println("config-app: " + e.getMessage() + " (SQLState " + e.getSQLState() + ")");
            return 1;
        } catch (HikariPool.PoolInitializationException e) {
            // the pool opens its first connection at once, so an unreachable URL ends up here
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            String state = cause instanceof SQLException s ? " (SQLState " + s.getSQLState() + ")" : "";
            err.println("config-app: cannot connect to " + url + ": " + cause.getMessage() + state);
            return 1;
        } catch (Failure e) {
            err.println("config-app: " + e.getMessage());
            return 1;
        }
    }

    private static boolean validArity(List<String> words) {
        int n = words.size();
        return switch (words.get(0)) {
            case "init" -> n == 1;
            case "show" -> n <= 2;
            case "get" -> n == 2;
            case "set", "increment" -> n == 3;
            default -> false;
        };
    }

    private static int count(String s) throws Failure {
        try {
            int n = Integer.parseInt(s);
            if (n >= 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new Failure("increment: N must be a number >= 0, not '" + s + "'");
    }

    private static String envOr(String name, String fallback) {
        String v = System.getenv(name);
        return v == null || v.isEmpty() ? fallback : v;
    }

    /** A small pool: a command uses one connection at a time. */
    static HikariDataSource pool(String url, String user, String password) {
        HikariConfig cfg = new HikariConfig();
        cfg.setPoolName("config-app");
        cfg.setDriverClassName(DRIVER);
        cfg.setJdbcUrl(url);
        if (user != null) {
            // sent as HTTP basic credentials; the SQL endpoint then acts as this etcd user
            cfg.setUsername(user);
            cfg.setPassword(password == null ? "" : password);
        }
        cfg.setMaximumPoolSize(2);
        cfg.setMinimumIdle(1);
        cfg.setConnectionTimeout(10_000);
        return new HikariDataSource(cfg);
    }

    /**
     * One INSERT per default key, each committed on its own: a key that exists fails with 23505 and
     * keeps the value someone gave it.
     */
    static void init(DataSource ds, PrintStream out) throws SQLException {
        int inserted = 0;
        int kept = 0;
        try (Connection c = ds.getConnection();
             PreparedStatement insert = c.prepareStatement("INSERT INTO kv (key, value) VALUES (?, ?)")) {
            for (Map.Entry<String, String> e : DEFAULTS.entrySet()) {
                insert.setString(1, e.getKey());
                insert.setString(2, e.getValue());
                try {
                    insert.executeUpdate();
                    out.println("inserted " + e.getKey() + " = " + e.getValue());
                    inserted++;
                } catch (SQLException ex) {
                    if (!DUPLICATE_KEY.equals(ex.getSQLState())) {
                        throw ex;
                    }
                    out.println("kept     " + e.getKey() + " (exists)");
                    kept++;
                }
            }
        }
        out.println("init: " + inserted + " inserted, " + kept + " kept");
    }

    /** The keys under {@code prefix} as aligned columns. '%' and '_' in the prefix are LIKE's wildcards. */
    static void show(DataSource ds, PrintStream out, String prefix) throws SQLException {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"KEY", "VALUE", "MOD_REVISION"});
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement(
                     "SELECT key, value, mod_revision FROM kv WHERE key LIKE ? ORDER BY key")) {
            ps.setString(1, prefix + "%");
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    rows.add(new String[] {rs.getString(1), rs.getString(2), Long.toString(rs.getLong(3))});
                }
            }
        }
        if (rows.size() == 1) {
            out.println("no keys under " + prefix);
            return;
        }
        int keyWidth = 0;
        int valueWidth = 0;
        for (String[] r : rows) {
            keyWidth = Math.max(keyWidth, r[0].length());
            valueWidth = Math.max(valueWidth, r[1].length());
        }
        for (String[] r : rows) {
            out.println(String.format("%-" + keyWidth + "s  %-" + valueWidth + "s  %s", r[0], r[1], r[2]));
        }
        out.println((rows.size() - 1) + (rows.size() == 2 ? " key" : " keys"));
    }

    static void get(DataSource ds, PrintStream out, String key) throws SQLException, Failure {
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT value FROM kv WHERE key = ?")) {
            ps.setString(1, key);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new Failure(key + ": not found");
                }
                out.println(rs.getString(1));
            }
        }
    }

    static void set(DataSource ds, PrintStream out, String key, String value) throws SQLException {
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("UPSERT INTO kv (key, value) VALUES (?, ?)")) {
            ps.setString(1, key);
            ps.setString(2, value);
            ps.executeUpdate();
        }
        out.println(key + " = " + value);
    }

    /**
     * {@code n} read-modify-write transactions on {@code key}. Another writer may change the key
     * between our SELECT and our COMMIT; the COMMIT then fails with 40001, writes nothing, and the
     * whole transaction runs again on the new value. So no increment is lost, however many run at once.
     */
    static void increment(DataSource ds, PrintStream out, String key, int n)
            throws SQLException, Failure, InterruptedException {
        long value = 0;
        int commits = 0;
        int retries = 0;
        for (int i = 0; i < n; i++) {
            for (int attempt = 1; ; attempt++) {
                try (Connection c = ds.getConnection()) {
                    value = incrementOnce(c, key);
                    commits++;
                    break;
                } catch (SQLException e) {
                    if (!WRITE_CONFLICT.equals(e.getSQLState()) || attempt == MAX_ATTEMPTS) {
                        throw e;
                    }
                    retries++;
                    // a short random pause, so that writers that just collided do not collide again
                    Thread.sleep(ThreadLocalRandom.current().nextLong(1, 5L * Math.min(attempt, 10) + 2));
                }
            }
        }
        out.println(key + " = " + value + " after " + n + " increments: " + commits + " commits, "
                + retries + " retries (SQLState " + WRITE_CONFLICT + ")");
    }

    /** One transaction: read the number, write it plus one, commit. Returns the new value. */
    private static long incrementOnce(Connection c, String key) throws SQLException, Failure {
        // no setAutoCommit(true) afterwards: HikariCP restores auto-commit when the connection goes back to the pool
        c.setAutoCommit(false);
        try (PreparedStatement read = c.prepareStatement("SELECT value FROM kv WHERE key = ?");
             PreparedStatement write = c.prepareStatement("UPDATE kv SET value = ? WHERE key = ?")) {
            read.setString(1, key);
            long next;
            try (ResultSet rs = read.executeQuery()) {
                if (!rs.next()) {
                    throw new Failure(key + ": not found (run init, or set it to a number first)");
                }
                String current = rs.getString(1);
                try {
                    next = Long.parseLong(current.trim()) + 1;
                } catch (NumberFormatException e) {
                    throw new Failure(key + " holds '" + current + "', not a number");
                }
            }
            write.setString(1, Long.toString(next));
            write.setString(2, key);
            write.executeUpdate();
            c.commit();
            return next;
        } catch (SQLException | Failure | RuntimeException e) {
            // drops what the transaction buffered (after a failed COMMIT there is nothing left to drop)
            try {
                c.rollback();
            } catch (SQLException r) {
                e.addSuppressed(r);
            }
            throw e;
        }
    }
}
