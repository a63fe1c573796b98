package io.etcsql.bench.load;

import io.grpc.Status;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * What a run measured: the latency of each answered request (an HdrHistogram, nanoseconds, 3
 * significant digits, safe for concurrent recording) and the errors by gRPC status code. As in
 * etcd's benchmark, errors have no latency and do not count as operations.
 */
final class Results {
  private final Recorder latencies = new Recorder(3);
  private final LongAdder ops = new LongAdder();
  private final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
  /** The first error message seen for each code, to tell what failed. */
  private final Map<String, String> samples = new ConcurrentHashMap<>();

  void success(long nanos) {
    latencies.recordValue(Math.max(0, nanos));
    ops.increment();
  }

  void error(Throwable t) {
    String code = t instanceof LeaseKeepAliveWorkload.LeaseNotFound ? "LEASE_NOT_FOUND"
        : Status.fromThrowable(t).getCode().name();
    errors.computeIfAbsent(code, c -> new LongAdder()).increment();
    samples.putIfAbsent(code, String.valueOf(t.getMessage()));
  }

  long ops() {
    return ops.sum();
  }

  long errorCount() {
    return errors.values().stream().mapToLong(LongAdder::sum).sum();
  }

  /** The common fields of the JSON line, in etcd's benchmark's terms (ops/s over answered requests). */
  Map<String, Object> fields(double seconds) {
    Histogram h = latencies.getIntervalHistogram();
    Map<String, Object> f = new LinkedHashMap<>();
    long n = ops();
    f.put("ops", n);
    f.put("errors", errorCount());
    Map<String, Long> byCode = new TreeMap<>();
    errors.forEach((code, count) -> byCode.put(code, count.sum()));
    f.put("errors_by_code", byCode);
    if (!samples.isEmpty()) {
      f.put("error_samples", new TreeMap<>(samples));
    }
    f.put("seconds", round(seconds));
    f.put("ops_per_s", round(seconds > 0 ? n / seconds : 0));
    f.put("p50_ms", ms(h.getValueAtPercentile(50)));
    f.put("p90_ms", ms(h.getValueAtPercentile(90)));
    f.put("p99_ms", ms(h.getValueAtPercentile(99)));
    f.put("p999_ms", ms(h.getValueAtPercentile(99.9)));
    f.put("max_ms", ms(h.getMaxValue()));
    f.put("mean_ms", n == 0 ? 0.0 : round(h.getMean() / 1e6));
    return f;
  }

  private static double ms(long nanos) {
    return round(nanos / 1e6);
  }

  static double round(double v) {
    return Math.round(v * 1000) / 1000.0;
  }
}
