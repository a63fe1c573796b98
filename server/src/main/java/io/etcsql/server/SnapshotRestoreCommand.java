package io.etcsql.server;

import io.etcsql.kvstore.KvStore;
import io.etcsql.server.config.ConfigException;
import io.etcsql.server.config.EtcdCommandLine;
import io.etcsql.server.config.NodeConfig;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code etcsql snapshot restore <file> [flags]}: etcdctl's {@code snapshot restore} for
 * snapshots saved from etcsql members ({@code etcdctl snapshot save} against etcsql). It creates
 * the data directory of one member of a new cluster holding the snapshot's keys, history and
 * leases; run it once per member with that member's flags, then start every member with the same
 * {@code --initial-cluster}, {@code --initial-cluster-token} and {@code --initial-cluster-state
 * new}. Flags (as etcdctl's): --name, --data-dir, --initial-cluster, --initial-cluster-token,
 * --initial-advertise-peer-urls, --skip-hash-check.
 */
final class SnapshotRestoreCommand {
  private static final Set<String> FLAGS = Set.of("name", "data-dir", "initial-cluster", "initial-cluster-token",
      "initial-advertise-peer-urls");

  private SnapshotRestoreCommand() {}

  /** Runs the command; returns the process exit code. */
  static int run(String[] args, PrintStream out, PrintStream err) {
    try {
      String file = null;
      boolean skipHashCheck = false;
      List<String> etcdFlags = new ArrayList<>();
      for (int i = 0; i < args.length; i++) {
        String a = args[i];
        if (!a.startsWith("-")) {
          if (file != null) {
            throw new IllegalArgumentException("snapshot restore requires exactly one argument");
          }
          file = a;
          continue;
        }
        String name = a.replaceFirst("^--?", "");
        String value = null;
        int eq = name.indexOf('=');
        if (eq >= 0) {
          value = name.substring(eq + 1);
          name = name.substring(0, eq);
        }
        if (name.equals("skip-hash-check")) {
          skipHashCheck = value == null || Boolean.parseBoolean(value);
        } else if (FLAGS.contains(name)) {
          if (value == null) {
            if (i + 1 >= args.length) {
              throw new IllegalArgumentException("flag needs an argument: --" + name);
            }
            value = args[++i];
          }
          etcdFlags.add("--" + name + "=" + value);
        } else {
          throw new IllegalArgumentException("unknown flag: --" + name);
        }
      }
      if (file == null) {
        throw new IllegalArgumentException("snapshot restore requires exactly one argument");
      }
      NodeConfig config = EtcdCommandLine.parse(etcdFlags.toArray(String[]::new), Map.of()).config();
      Path dataDir = config.dataDir();
      if (Files.exists(dataDir)) {
        throw new IllegalArgumentException("data-dir \"" + dataDir + "\" exists");
      }
      Path snapshot = Path.of(file);
      if (!Files.isRegularFile(snapshot)) {
        throw new IllegalArgumentException("open " + file + ": no such file or directory");
      }
      long revision;
      try {
        revision = KvStore.restore(dataDir.resolve("member").resolve("kv"), snapshot, !skipHashCheck);
      } catch (java.io.IOException | RuntimeException e) {
        deleteTree(dataDir); // nothing half-restored is left behind
        throw new IllegalArgumentException(e.getMessage(), e);
      }
      out.println("restored snapshot " + file + " (revision " + revision + ") into " + dataDir + " for member "
          + config.name() + " of a new cluster; start it with --initial-cluster-state new");
      return 0;
    } catch (ConfigException e) {
      err.println("Error: " + e.getMessage());
      return 1;
    } catch (IllegalArgumentException e) {
      err.println("Error: " + e.getMessage());
      return 1;
    }
  }

  private static void deleteTree(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (var paths = Files.walk(dir)) {
      paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (java.io.IOException e) {
      // best effort
    }
  }
}
