package io.etcsql.server.config;

/**
 * A command line or environment that etcsql cannot start with. The message is etcd 3.4's own
 * wording where etcd has one (e.g. {@code flag provided but not defined: -bogus}), otherwise an
 * {@code etcsql: ...} message.
 *
 * <p>How etcd reports it, and how the caller should: print {@link #getMessage()} on stderr, then,
 * if {@link #printUsage()}, {@link EtcdCommandLine#usageText()} on stderr, and exit with
 * {@link #exitCode()} (2 for flag syntax errors, which Go's flag package reports before anything
 * else; 1 for everything etcd detects later).
 */
public final class ConfigException extends Exception {

    private static final long serialVersionUID = 1L;

    /** Exit code etcd uses for flag syntax errors (Go's flag package, ContinueOnError then exit 2). */
    public static final int EXIT_FLAG_SYNTAX = 2;
    /** Exit code etcd uses for errors found after the flags parsed. */
    public static final int EXIT_INVALID = 1;

    private final int exitCode;
    private final boolean printUsage;

    public ConfigException(String message, int exitCode, boolean printUsage) {
        super(message);
        this.exitCode = exitCode;
        this.printUsage = printUsage;
    }

    /** An error found after flag parsing (exit code 1, no usage). */
    public static ConfigException invalid(String message) {
        return new ConfigException(message, EXIT_INVALID, false);
    }

    /** A flag syntax error as Go's flag package reports it (exit code 2, usage follows). */
    public static ConfigException syntax(String message) {
        return new ConfigException(message, EXIT_FLAG_SYNTAX, true);
    }

    public int exitCode() {
        return exitCode;
    }

    public boolean printUsage() {
        return printUsage;
    }
}
