package io.etcsql.bench.load;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import io.etcsql.grpcapi.etcdserverpb.KVGrpc;
import io.etcsql.grpcapi.etcdserverpb.PutRequest;
import io.etcsql.grpcapi.etcdserverpb.RangeRequest;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The load tool: etcd's {@code tools/benchmark} in Java, on grpc-java's asynchronous stubs.
 * Each run prints exactly one line of JSON to stdout (everything else goes to stderr) and exits 0;
 * a run that could not be done prints a line with {@code "fatal"} and exits 1.
 *
 * <pre>
 * benchmarks/load.sh put --endpoints 127.0.0.1:2379 --conns 10 --clients 100 --total 100000 \
 *     --key-size 8 --val-size 256 --key-space-size 100000
 * benchmarks/load.sh range KEY [END] --consistency l|s --prefill --val-size 256 --clients 100
 * benchmarks/load.sh txn-put --clients 100 --key-space-size 100000 --val-size 256
 * benchmarks/load.sh watch-latency --watchers 100 --streams 10 --rate 100 --total 1000
 * benchmarks/load.sh lease-keepalive --clients 100 [--stream=false]
 * </pre>
 *
 * Common flags (etcd's names and defaults): {@code --endpoints} (comma list of host:port,
 * 127.0.0.1:2379), {@code --conns} (1), {@code --clients} (1), {@code --total} (10000),
 * {@code --key-size} (8), {@code --val-size} (8), {@code --key-space-size} (1),
 * {@code --sequential-keys}, {@code --rate} (0 = unlimited; watch-latency: 100),
 * {@code --warmup-total} (0: requests sent first and not recorded), {@code --dial-timeout} (10s),
 * {@code --request-timeout} (0 = none), {@code --target NAME} and {@code --label k=v} (copied into
 * the JSON line).
 */
public final class LoadMain {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String USAGE = """
      usage: load.sh COMMAND [ARGS] [flags]; prints one line of JSON
        put              --key-size 8 --val-size 8 --key-space-size 1 [--sequential-keys]
        range KEY [END]  --consistency l|s [--prefill --val-size N]  (prefill: put KEY first)
        txn-put          compare mod_revision then put; --key-size --val-size --key-space-size
        watch-latency    --watchers 100 --streams CONNS --rate 100 (puts/s; or --put-rate) --wait-timeout 10s
        lease-keepalive  --stream=true|false --ttl 100
      common: --endpoints 127.0.0.1:2379 --conns 1 --clients 1 --total 10000 --rate 0 (unlimited)
              --warmup-total 0 --dial-timeout 10s --request-timeout 0 --target NAME --label k=v""";

  private LoadMain() {
  }

  public static void main(String[] argv) throws Exception {
    Map<String, Object> line = new LinkedHashMap<>();
    int exit = 0;
    try {
      LoadOptions o = new LoadOptions(argv.length == 0 ? new String[] {"--help"} : argv);
      if (o.bench.equals("--help") || o.bool("help", false)) {
        System.err.println(USAGE);
        System.exit(0);
      }
      line.put("bench", o.bench);
      if (o.has("target")) {
        line.put("target", o.string("target", ""));
      }
      o.labels.forEach((k, v) -> line.put(k, v.matches("-?\\d+") ? (Object) Long.parseLong(v) : v));
      run(o, line);
    } catch (IllegalArgumentException e) {
      System.err.println("Error: " + e.getMessage());
      System.exit(2);
    } catch (Exception e) {
      System.err.println("load: " + e);
      line.put("fatal", String.valueOf(e.getMessage()));
      exit = 1;
    }
    System.out.println(JSON.writeValueAsString(line));
    System.out.flush();
    System.exit(exit);
  }

  /** CPU time consumed by this process so far (all threads). */
  static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
        .getOperatingSystemMXBean()).getProcessCpuTime();
  }

  private static void run(LoadOptions o, Map<String, Object> line) throws Exception {
    List<String> endpoints = Arrays.asList(o.string("endpoints", "127.0.0.1:2379").split(","));
    int conns = o.positiveInt("conns", 1);
    int clients = o.positiveInt("clients", 1);
    long total = o.positiveInt("total", 10000);
    long warmup = o.number("warmup-total", 0);
    long rate = o.number("rate", 0);
    int keySize = o.positiveInt("key-size", 8);
    int valSize = (int) o.number("val-size", 8);
    long timeout = o.durationNanos("request-timeout", "0");
    Results results = new Results();
    Map<String, Object> extra = new LinkedHashMap<>();
    line.put("clients", clients);
    line.put("conns", conns);
    line.put("total", total);
    double seconds;
    long cpuStart;
    ClosedLoop loop = null;
    switch (o.bench) {
      case "put", "range", "txn-put", "lease-keepalive", "watch-latency" -> {
      }
      default -> throw new IllegalArgumentException("unknown command \"" + o.bench
          + "\": put, range, txn-put, watch-latency or lease-keepalive");
    }
    if (o.bench.equals("range") && (o.args.isEmpty() || o.args.size() > 2)) {
      throw new IllegalArgumentException("usage: range KEY [END] [flags]");
    }
    if (!o.bench.equals("range") && !o.args.isEmpty()) {
      throw new IllegalArgumentException("unexpected argument " + o.args.get(0));
    }
    String consistency = o.string("consistency", "l");
    if (!consistency.equals("l") && !consistency.equals("s")) {
      throw new IllegalArgumentException("--consistency is l (linearizable) or s (serializable), got " + consistency);
    }
    try (Connections c = new Connections(endpoints, o.bench.equals("watch-latency")
        ? conns : Math.min(conns, clients), o.durationNanos("dial-timeout", "10s"))) {
      cpuStart = cpuNanos();
      switch (o.bench) {
        case "put" -> {
          Keys keys = new Keys(keySize, o.positiveInt("key-space-size", 1), o.bool("sequential-keys", false));
          loop = new ClosedLoop(clients, warmup, total, rate,
              new PutWorkload(c, keys, Keys.randomBytes(valSize), timeout), results);
          seconds = loop.run();
          extra.put("key_size", keySize);
          extra.put("val_size", valSize);
          extra.put("key_space_size", keys.size());
        }
        case "range" -> {
          ByteString key = ByteString.copyFromUtf8(o.args.get(0));
          RangeRequest.Builder req = RangeRequest.newBuilder().setKey(key).setSerializable(consistency.equals("s"));
          if (o.args.size() == 2) {
            req.setRangeEnd(ByteString.copyFromUtf8(o.args.get(1)));
          }
          if (o.bool("prefill", false)) {
            KVGrpc.newBlockingStub(c.channel(0)).withDeadlineAfter(30, TimeUnit.SECONDS)
                .put(PutRequest.newBuilder().setKey(key).setValue(Keys.randomBytes(valSize)).build());
          }
          RangeWorkload w = new RangeWorkload(c, req.build(), timeout);
          loop = new ClosedLoop(clients, warmup, total, rate, w, results);
          seconds = loop.run();
          extra.put("consistency", consistency);
          extra.put("kvs", w.lastCount.get());
        }
        case "txn-put" -> {
          Keys keys = new Keys(keySize, o.positiveInt("key-space-size", 1), o.bool("sequential-keys", false));
          TxnPutWorkload w = new TxnPutWorkload(c, keys, Keys.randomBytes(valSize), timeout);
          w.seed(c);
          loop = new ClosedLoop(clients, warmup, total, rate, w, results);
          seconds = loop.run();
          extra.put("succeeded", w.succeeded.sum());
          extra.put("failed_compares", w.failedCompares.sum());
          extra.put("key_space_size", keys.size());
        }
        case "lease-keepalive" -> {
          boolean stream = o.bool("stream", true);
          LeaseKeepAliveWorkload w = new LeaseKeepAliveWorkload(c, clients, stream);
          w.grant(c, o.positiveInt("ttl", 100));
          loop = new ClosedLoop(clients, warmup, total, rate, w, results);
          seconds = loop.run();
          w.close();
          w.revoke(c);
          extra.put("stream", stream);
        }
        default -> {
          int watchers = o.positiveInt("watchers", 100);
          WatchLatency w = new WatchLatency(c, watchers, o.positiveInt("streams", conns), warmup, total,
              o.positiveInt(o.has("put-rate") ? "put-rate" : "rate", 100), keySize, valSize,
              o.durationNanos("wait-timeout", "10s"), results);
          seconds = w.run();
          line.put("clients", watchers);
          extra.putAll(w.fields());
        }
      }
    }
    if (warmup > 0) {
      line.put("warmup_total", warmup);
    }
    line.putAll(results.fields(seconds));
    line.putAll(extra);
    // CPU the load tool took while measuring (watch-latency: from connected to done): it shares
    // the machine with the servers
    line.put("client_cpu_s", Results.round((loop != null ? loop.cpuNanos() : cpuNanos() - cpuStart) / 1e9));
  }
}
