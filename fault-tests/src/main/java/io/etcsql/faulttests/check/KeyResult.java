package io.etcsql.faulttests.check;

import java.util.List;

/**
 * The verdict for one key (one partition of the history).
 *
 * <p>For NOT_LINEARIZABLE (and for UNKNOWN, as far as the search got) it explains the failure the way Knossos and
 * Porcupine do: the longest linearization the search found, the state it leads to, and the operations none of
 * which could be linearized next.
 *
 * @param key                    the key
 * @param status                 the verdict for this key
 * @param operations             operations searched (FAIL ops and UNKNOWN reads are dropped before searching)
 * @param configurationsExplored search steps taken (linearization attempts that reached a new configuration)
 * @param longestPrefix          LINEARIZABLE: a linearization of all OK operations (and the UNKNOWN ones it
 *                               includes); otherwise the longest linearization found, in linearization order
 * @param stateAfterPrefix       the model state after {@code longestPrefix}
 * @param stuck                  NOT_LINEARIZABLE: the operations that could be next after the prefix, none of
 *                               which the model accepts in that state; the first one is the op whose completion
 *                               forbids going further without it. Empty otherwise.
 * @param originNanos            time origin used for printing (the earliest invocation of the whole history)
 */
public record KeyResult(String key, CheckResult.Status status, int operations, long configurationsExplored,
                        List<Op> longestPrefix, String stateAfterPrefix, List<Op> stuck, long originNanos) {

  /** How many of the last operations of the prefix {@link #describe()} prints. */
  public static final int PREFIX_TAIL_SHOWN = 10;

  public KeyResult {
    longestPrefix = List.copyOf(longestPrefix);
    stuck = List.copyOf(stuck);
  }

  /** A printable explanation, a few lines for LINEARIZABLE and about a screen for a violation. */
  public String describe() {
    StringBuilder out = new StringBuilder();
    out.append("key ").append(key).append(": ").append(status).append(" (").append(operations)
        .append(" ops, ").append(configurationsExplored).append(" configurations explored)\n");
    if (status == CheckResult.Status.LINEARIZABLE) {
      return out.toString();
    }
    out.append("  longest linearizable prefix: ").append(longestPrefix.size()).append(" ops");
    int from = Math.max(0, longestPrefix.size() - PREFIX_TAIL_SHOWN);
    out.append(from > 0 ? ", last " + (longestPrefix.size() - from) + ":\n" : ":\n");
    for (Op op : longestPrefix.subList(from, longestPrefix.size())) {
      out.append("    ").append(op.describe(originNanos)).append('\n');
    }
    out.append("  state after prefix: ").append(stateAfterPrefix).append('\n');
    if (!stuck.isEmpty()) {
      out.append("  none of these can be linearized next:\n");
      for (Op op : stuck) {
        out.append("    ").append(op.describe(originNanos)).append('\n');
      }
    }
    return out.toString();
  }
}
