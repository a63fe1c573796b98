package io.etcsql.faulttests.check;

/**
 * One client operation of a history: what was invoked, when, and what the client saw.
 *
 * <p>Times are {@link System#nanoTime()} readings of one JVM (any common origin works). An operation with an OK or
 * FAIL result must have {@code completeNanos >= invokeNanos}; the completion time of an UNKNOWN operation is
 * recorded for reports but the checker treats it as +infinity.
 *
 * <pre>
 *   READ(key)                              -&gt; ok(value, modRevision) | fail | unknown
 *   WRITE(key, value)                      -&gt; ok(newRevision) | fail | unknown
 *   CAS(key, expectedModRevision, value)   -&gt; ok(succeeded, newRevision if succeeded) | fail | unknown
 * </pre>
 * A CAS is the workload's Txn "if mod_revision(key) == expected then put(key, value)"; {@code expected == 0} means
 * "if the key is absent" (create_revision == 0).
 *
 * @param process             client (thread) that issued the operation; only used in reports
 * @param invokeNanos         when the request was sent
 * @param completeNanos       when the response (or the error) was received
 * @param key                 the key operated on; the checker checks each key independently
 * @param kind                READ, WRITE or CAS
 * @param value               WRITE / CAS: the value to store (never null); READ: null
 * @param expectedModRevision CAS: the mod_revision the compare expects (0 = absent); otherwise 0
 * @param result              what the client saw
 */
public record Op(int process, long invokeNanos, long completeNanos, String key, Kind kind, String value,
                 long expectedModRevision, Result result) {

  /** Operation kinds of the register workload. */
  public enum Kind { READ, WRITE, CAS }

  public Op {
    if (key == null || kind == null || result == null) {
      throw new IllegalArgumentException("key, kind and result are required");
    }
    if (kind != Kind.READ && value == null) {
      throw new IllegalArgumentException(kind + " needs a value (a delete is not a write)");
    }
    if (!result.isUnknown() && completeNanos < invokeNanos) {
      throw new IllegalArgumentException("completes before it is invoked: " + invokeNanos + " > " + completeNanos);
    }
  }

  public static Op read(int process, long invokeNanos, long completeNanos, String key, Result result) {
    return new Op(process, invokeNanos, completeNanos, key, Kind.READ, null, 0, result);
  }

  public static Op write(int process, long invokeNanos, long completeNanos, String key, String value,
                         Result result) {
    return new Op(process, invokeNanos, completeNanos, key, Kind.WRITE, value, 0, result);
  }

  public static Op cas(int process, long invokeNanos, long completeNanos, String key, long expectedModRevision,
                       String value, Result result) {
    return new Op(process, invokeNanos, completeNanos, key, Kind.CAS, value, expectedModRevision, result);
  }

  /**
   * One line for a report, times in milliseconds relative to {@code originNanos}, e.g.
   * {@code p3 [12.041, 13.337] ms  CAS k1 if rev=17 then "p3-9" -> ok succeeded rev=21}.
   */
  public String describe(long originNanos) {
    String complete = result.isUnknown() ? "?" : millis(completeNanos - originNanos);
    return "p" + process + " [" + millis(invokeNanos - originNanos) + ", " + complete + "] ms  "
        + call() + " -> " + outcome();
  }

  @Override
  public String toString() {
    return describe(0);
  }

  private String call() {
    return switch (kind) {
      case READ -> "READ " + key;
      case WRITE -> "WRITE " + key + " " + quote(value);
      case CAS -> "CAS " + key + " if " + (expectedModRevision == 0 ? "absent" : "rev=" + expectedModRevision)
          + " then " + quote(value);
    };
  }

  private String outcome() {
    if (result.status() != Result.Status.OK) {
      return result.status().name().toLowerCase();
    }
    return switch (kind) {
      case READ -> "ok " + (result.value() == null ? "absent" : quote(result.value()) + " rev=" + result.revision());
      case WRITE -> "ok rev=" + result.revision();
      case CAS -> result.succeeded() ? "ok succeeded rev=" + result.revision() : "ok compare failed";
    };
  }

  private static String quote(String s) {
    return s == null ? "null" : '"' + s + '"';
  }

  private static String millis(long nanos) {
    return String.format(java.util.Locale.ROOT, "%.3f", nanos / 1e6);
  }
}
