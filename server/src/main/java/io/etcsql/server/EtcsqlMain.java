package io.etcsql.server;

import io.etcsql.server.config.ConfigException;
import io.etcsql.server.config.EtcdCommandLine;
import io.etcsql.server.config.ParseResult;

/**
 * The {@code etcsql} command: takes etcd's flags (and ETCD_* environment variables) and runs one
 * member until SIGTERM/SIGINT, which close it cleanly.
 */
public final class EtcsqlMain {
  private EtcsqlMain() {}

  public static void main(String[] args) throws Exception {
    configureLogging();
    if (args.length >= 2 && args[0].equals("snapshot") && args[1].equals("restore")) {
      System.exit(SnapshotRestoreCommand.run(java.util.Arrays.copyOfRange(args, 2, args.length), System.out, System.err));
      return;
    }
    if (args.length >= 1 && args[0].equals("sql")) {
      SqlCommands.shell(java.util.Arrays.copyOfRange(args, 1, args.length));
      return;
    }
    if (args.length >= 1 && args[0].equals("sql-frontend")) {
      System.exit(SqlCommands.frontend(java.util.Arrays.copyOfRange(args, 1, args.length), System.err));
      return;
    }
    ParseResult parsed;
    try {
      parsed = EtcdCommandLine.parse(args, System.getenv());
    } catch (ConfigException e) {
      System.err.println(e.getMessage());
      if (e.printUsage()) {
        System.err.println(EtcdCommandLine.usageText());
      }
      System.exit(e.exitCode());
      return;
    }
    switch (parsed.action()) {
      case PRINT_VERSION -> {
        System.out.println(EtcdCommandLine.versionText());
        return;
      }
      case PRINT_HELP -> {
        System.err.println(EtcdCommandLine.usageText());
        System.out.println(EtcdCommandLine.helpText());
        return;
      }
      default -> { }
    }
    org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(EtcsqlMain.class);
    parsed.infos().forEach(log::info);
    parsed.warnings().forEach(log::warn);
    EtcdNode node;
    try {
      node = EtcdNode.open(parsed.config());
    } catch (Exception e) {
      log.error("etcsql member {} failed to start: {}", parsed.config().name(), e.getMessage());
      log.debug("start-up failure", e);
      System.exit(1);
      return;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        node.close();
      } catch (Exception e) {
        log.warn("error while stopping", e);
      }
    }, "shutdown"));
    try {
      node.serve();
    } catch (Exception e) {
      log.error("etcsql member {} failed to serve clients: {}", parsed.config().name(), e.getMessage());
      log.debug("serve failure", e);
      System.exit(1);
      return;
    }
    log.info("etcsql member {} ready to serve client requests", parsed.config().name());
    node.awaitTermination();
  }

  private static void configureLogging() {
    setDefault("org.slf4j.simpleLogger.defaultLogLevel", "info");
    setDefault("org.slf4j.simpleLogger.showDateTime", "true");
    setDefault("org.slf4j.simpleLogger.dateTimeFormat", "yyyy-MM-dd HH:mm:ss.SSS");
    setDefault("org.slf4j.simpleLogger.log.org.apache.ratis", "warn");
    setDefault("org.slf4j.simpleLogger.log.net.openhft", "warn");
    setDefault("org.slf4j.simpleLogger.log.io.grpc", "warn");
    setDefault("org.slf4j.simpleLogger.log.io.etcsql.kvstore.backend", "warn");
  }

  private static void setDefault(String key, String value) {
    if (System.getProperty(key) == null) {
      System.setProperty(key, value);
    }
  }
}
