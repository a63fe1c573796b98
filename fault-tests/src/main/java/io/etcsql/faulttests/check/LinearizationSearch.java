package io.etcsql.faulttests.check;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Wing &amp; Gong's search with Lowe's memoization, over the operations of one key.
 *
 * <p>The history is a doubly linked list of call and return entries sorted by time (a call sorts before a return
 * at the same instant, so touching operations count as concurrent). A configuration is the set of linearized
 * operations plus the model state. From the head of the list, every call entry met before the first return entry
 * is a candidate to be linearized next: if the model accepts it and the configuration it leads to is new, the op's
 * two entries are lifted out of the list and the search restarts from the head. Meeting a return entry means the
 * op it belongs to must have been linearized already, so the search backtracks: it pops the last linearized op,
 * puts its entries back (unlift) and tries the next candidate.
 *
 * <pre>
 *   head -&gt; call(a) -&gt; call(b) -&gt; ret(a) -&gt; call(c) -&gt; ret(b) -&gt; ret(c) -&gt; ...
 *           \_____candidates_____/   \_ forces backtracking if a is not linearized yet
 * </pre>
 *
 * <p>UNKNOWN operations never return: their return entries sit at the end of the list (+infinity), so they are
 * candidates from their invocation on and never force anything. The search succeeds as soon as every definite
 * (OK) operation is linearized; the unknown ones not linearized by then are taken not to have happened.
 *
 * <p>Pruning. Lowe's cache keeps every configuration already reached; reaching it again is pointless. With
 * unknown operations that is extended to dominance: configuration (D, U, s) — definite set D, unknown set U,
 * state s — can do nothing that (D, U', s) with U' &sub; U cannot (same real-time constraints, fewer optional ops
 * left), so it is pruned when such a U' was reached. The cache maps (D, s) to the minimal U sets reached.
 *
 * <p>Unknown ops are linearized lazily. The search is a path of nodes, one per linearized definite op. A node
 * first tries the definite candidates from its own configuration; only when those are exhausted does it compute
 * its closure — the configurations reachable by linearizing unknown candidates alone, breadth first so that each
 * is reached with a smallest U — and tries the definite candidates from each closure member in turn. Subsets are
 * thus reached before supersets, which is what makes the dominance check effective: without it, k unknown writes
 * later overwritten give 2^k configurations with equal states. Finally, unknown ops the model made identical
 * ({@link Model#prepare}) are interchangeable, so only the earliest invoked one still available is tried.
 */
final class LinearizationSearch<S> {

  private static final class Entry {
    final int op;
    final boolean call;
    final long time;
    Entry match;
    Entry prev;
    Entry next;

    Entry(int op, boolean call, long time) {
      this.op = op;
      this.call = call;
      this.time = time;
    }
  }

  private final String key;
  private final Model<S> model;
  /** The operations as the model sees them ({@link Model#prepare}). */
  private final Op[] ops;
  /** The same operations as recorded, for reports. */
  private final Op[] shown;
  /** Unknown ops of the same class are interchangeable (by {@code op - definite}). */
  private final int[] unknownClass;
  private final int[] classStamp;
  private int stamp;
  /** Ops [0, definite) are OK ops; [definite, ops.length) are UNKNOWN ones. */
  private final int definite;
  private final long originNanos;
  private final Entry head = new Entry(-1, false, Long.MIN_VALUE);

  /** Call entries of the unknown ops, by {@code op - definite}. */
  private final Entry[] unknownCall;
  private final long[] definiteBits;
  private final long[] unknownBits;
  private final long[] zobrist;
  private long definiteHash;
  private final ConfigurationCache<S> cache = new ConfigurationCache<>();

  private int bestDepth = -1;
  private List<Op> bestPrefix = List.of();
  private S bestState;
  private List<Op> bestStuck = List.of();

  /**
   * @param key         the key, for the result
   * @param model       the sequential specification
   * @param keyOps      the key's operations, already without FAIL ops and UNKNOWN read-only ops
   * @param originNanos time origin for reports
   */
  LinearizationSearch(String key, Model<S> model, List<Op> keyOps, long originNanos) {
    this.key = key;
    this.model = model;
    this.originNanos = originNanos;
    List<Op> prepared = model.prepare(keyOps);
    if (prepared.size() != keyOps.size()) {
      throw new IllegalStateException(model + ".prepare changed the number of operations");
    }
    List<Integer> order = new ArrayList<>(keyOps.size());
    for (int pass = 0; pass < 2; pass++) { // definite ops first, then unknown ones
      for (int i = 0; i < keyOps.size(); i++) {
        if (keyOps.get(i).result().isUnknown() == (pass == 1)) {
          order.add(i);
        }
      }
    }
    this.ops = order.stream().map(prepared::get).toArray(Op[]::new);
    this.shown = order.stream().map(keyOps::get).toArray(Op[]::new);
    this.definite = (int) keyOps.stream().filter(op -> !op.result().isUnknown()).count();
    this.unknownClass = new int[ops.length - definite];
    Map<List<Object>, Integer> classes = new HashMap<>();
    for (int u = 0; u < unknownClass.length; u++) {
      Op op = ops[definite + u];
      unknownClass[u] = classes.computeIfAbsent(
          Arrays.asList(op.kind(), op.value(), op.expectedModRevision()), c -> classes.size());
    }
    this.classStamp = new int[classes.size()];
    this.unknownCall = new Entry[ops.length - definite];
    this.definiteBits = new long[(definite + 63) >>> 6];
    this.unknownBits = new long[(ops.length - definite + 63) >>> 6];
    SplittableRandom random = new SplittableRandom(0x5eed_1abe11edL);
    this.zobrist = new long[definite];
    for (int i = 0; i < definite; i++) {
      zobrist[i] = random.nextLong();
    }
    buildEntryList();
  }

  private void buildEntryList() {
    List<Entry> entries = new ArrayList<>(2 * ops.length);
    for (int i = 0; i < ops.length; i++) {
      Entry call = new Entry(i, true, ops[i].invokeNanos());
      Entry ret = new Entry(i, false, i < definite ? ops[i].completeNanos() : Long.MAX_VALUE);
      call.match = ret;
      if (i >= definite) {
        unknownCall[i - definite] = call;
      }
      ret.match = call;
      entries.add(call);
      entries.add(ret);
    }
    entries.sort(Comparator.<Entry>comparingLong(e -> e.time)
        .thenComparing(e -> !e.call) // calls first at the same instant: touching ops are concurrent
        .thenComparingInt(e -> e.op));
    Entry last = head;
    for (Entry e : entries) {
      last.next = e;
      e.prev = last;
      last = e;
    }
  }

  /** A configuration reached from a node's base by linearizing only unknown ops. */
  private record ClosureMember<S>(int[] unknownOps, S state) {
  }

  /** Runs the search until it decides or {@code deadlineNanos} ({@link System#nanoTime()}) passes. */
  KeyResult run(long deadlineNanos) {
    // Node d of the path: the configuration after the d-th linearized definite op, plus the closure members
    // (same definite set, more unknown ops) tried from it in turn. Node 0 is the initial configuration.
    int maxDepth = definite + 1;
    Entry[] nodeEntry = new Entry[maxDepth];
    Object[] nodeState = new Object[maxDepth];
    @SuppressWarnings("unchecked")
    List<ClosureMember<S>>[] nodeClosure = new List[maxDepth];
    int[] nodeActive = new int[maxDepth];
    int depth = 0;
    long configurations = 0;
    long iterations = 0;

    S initial = model.initialState();
    nodeState[0] = initial;
    nodeActive[0] = -1;
    cache.addIfNotDominated(definiteBits, definiteHash, unknownBits, initial);
    S state = initial;
    Entry entry = head.next;
    while (depth < definite) {
      if ((++iterations & 0x3ff) == 0 && System.nanoTime() - deadlineNanos > 0) {
        recordIfDeepest(nodeEntry, nodeClosure, nodeActive, depth, state, null);
        return result(CheckResult.Status.UNKNOWN, configurations);
      }
      if (entry.call) {
        int i = entry.op;
        if (i < definite) {
          S next = model.step(state, ops[i]);
          if (next != null) {
            setBit(i, true);
            if (cache.addIfNotDominated(definiteBits, definiteHash, unknownBits, next)) {
              configurations++;
              lift(entry);
              depth++;
              nodeEntry[depth] = entry;
              nodeState[depth] = next;
              nodeClosure[depth] = null;
              nodeActive[depth] = -1;
              state = next;
              entry = head.next;
              continue;
            }
            setBit(i, false);
          }
        }
        entry = entry.next;
        continue;
      }
      // A return entry: the active configuration of this node cannot go further. Try its next closure member.
      recordIfDeepest(nodeEntry, nodeClosure, nodeActive, depth, state, entry);
      if (nodeClosure[depth] == null) {
        nodeClosure[depth] = closure(castState(nodeState[depth]));
        configurations += nodeClosure[depth].size();
      }
      List<ClosureMember<S>> closure = nodeClosure[depth];
      if (nodeActive[depth] >= 0) {
        unapply(closure.get(nodeActive[depth]));
      }
      int nextMember = ++nodeActive[depth];
      if (nextMember < closure.size()) {
        apply(closure.get(nextMember));
        state = closure.get(nextMember).state();
        entry = head.next;
        continue;
      }
      // Node exhausted: backtrack to its parent's active configuration.
      if (depth == 0) {
        return result(CheckResult.Status.NOT_LINEARIZABLE, configurations);
      }
      Entry top = nodeEntry[depth];
      nodeEntry[depth] = null;
      nodeState[depth] = null;
      nodeClosure[depth] = null;
      depth--;
      setBit(top.op, false);
      unlift(top);
      int active = nodeActive[depth];
      state = active < 0 ? castState(nodeState[depth]) : nodeClosure[depth].get(active).state();
      entry = top.next;
    }
    bestPrefix = prefix(nodeEntry, nodeClosure, nodeActive, depth);
    bestState = state;
    bestStuck = List.of();
    return result(CheckResult.Status.LINEARIZABLE, configurations);
  }

  /**
   * The configurations reachable from the current one (with state {@code base}) by linearizing only unknown ops
   * that are candidates now, breadth first so that each is reached with a smallest set of unknown ops; dominated
   * ones are dropped (and recorded in the cache when new).
   */
  private List<ClosureMember<S>> closure(S base) {
    List<Entry> candidates = new ArrayList<>();
    for (Entry e = head.next; e.call; e = e.next) {
      if (e.op >= definite) {
        candidates.add(e);
      }
    }
    if (candidates.isEmpty()) {
      return List.of();
    }
    List<ClosureMember<S>> members = new ArrayList<>();
    List<ClosureMember<S>> level = List.of(new ClosureMember<>(new int[0], base));
    // State each candidate leads to straight from the base. A longer sequence ending with the same candidate in
    // the same state is dominated by it (or by what dominated it), so it is skipped without a cache look-up.
    Object[] direct = new Object[classStamp.length]; // by class
    boolean firstLevel = true;
    while (!level.isEmpty()) {
      List<ClosureMember<S>> nextLevel = new ArrayList<>();
      for (ClosureMember<S> from : level) {
        for (int u : from.unknownOps()) {
          setBit(u, true);
        }
        stamp++;
        for (int c = 0; c < candidates.size(); c++) {
          int u = candidates.get(c).op;
          if (isSet(u) || classStamp[unknownClass[u - definite]] == stamp) {
            continue; // linearized, or an earlier-invoked interchangeable op is available
          }
          classStamp[unknownClass[u - definite]] = stamp;
          S next = model.step(from.state(), ops[u]);
          if (firstLevel) {
            direct[unknownClass[u - definite]] = next;
          }
          if (next == null || !firstLevel && next.equals(direct[unknownClass[u - definite]])) {
            continue;
          }
          setBit(u, true);
          if (cache.addIfNotDominated(definiteBits, definiteHash, unknownBits, next)) {
            int[] sequence = Arrays.copyOf(from.unknownOps(), from.unknownOps().length + 1);
            sequence[sequence.length - 1] = u;
            ClosureMember<S> member = new ClosureMember<>(sequence, next);
            members.add(member);
            nextLevel.add(member);
          }
          setBit(u, false);
        }
        for (int u : from.unknownOps()) {
          setBit(u, false);
        }
      }
      level = nextLevel;
      firstLevel = false;
    }
    return members;
  }

  private void apply(ClosureMember<S> member) {
    for (int u : member.unknownOps()) {
      setBit(u, true);
      lift(unknownCall[u - definite]);
    }
  }

  private void unapply(ClosureMember<S> member) {
    int[] sequence = member.unknownOps();
    for (int k = sequence.length - 1; k >= 0; k--) {
      setBit(sequence[k], false);
      unlift(unknownCall[sequence[k] - definite]);
    }
  }

  @SuppressWarnings("unchecked")
  private S castState(Object state) {
    return (S) state;
  }

  private KeyResult result(CheckResult.Status status, long configurations) {
    List<Op> stuck = status == CheckResult.Status.NOT_LINEARIZABLE ? bestStuck : List.of();
    String state = bestState == null ? model.describe(model.initialState()) : model.describe(bestState);
    return new KeyResult(key, status, ops.length, configurations, bestPrefix, state, stuck, originNanos);
  }

  /**
   * Remembers the current configuration if it is the deepest seen. {@code blocking} is the return entry that
   * stopped the search here (null on timeout).
   */
  private void recordIfDeepest(Entry[] nodeEntry, List<ClosureMember<S>>[] nodeClosure, int[] nodeActive,
                               int depth, S state, Entry blocking) {
    // Deepest = most definite ops; at equal depth the base configuration (visited first) is kept, so the
    // explanation does not end with unknown ops tried in vain.
    if (depth <= bestDepth) {
      return;
    }
    bestDepth = depth;
    bestPrefix = prefix(nodeEntry, nodeClosure, nodeActive, depth);
    bestState = state;
    if (blocking == null) {
      bestStuck = List.of();
      return;
    }
    List<Op> stuck = new ArrayList<>();
    stuck.add(shown[blocking.op]);
    for (Entry e = head.next; e != blocking; e = e.next) {
      if (e.call && e.op < definite && e.op != blocking.op) {
        stuck.add(shown[e.op]);
      }
    }
    bestStuck = stuck;
  }

  /** The linearization along the current path, closure members included. */
  private List<Op> prefix(Entry[] nodeEntry, List<ClosureMember<S>>[] nodeClosure, int[] nodeActive, int depth) {
    List<Op> prefix = new ArrayList<>();
    for (int d = 0; d <= depth; d++) {
      if (d > 0) {
        prefix.add(shown[nodeEntry[d].op]);
      }
      if (nodeActive[d] >= 0) {
        for (int u : nodeClosure[d].get(nodeActive[d]).unknownOps()) {
          prefix.add(shown[u]);
        }
      }
    }
    return prefix;
  }

  private boolean isSet(int op) {
    int u = op - definite;
    return (unknownBits[u >>> 6] & (1L << u)) != 0;
  }

  private void setBit(int op, boolean on) {
    if (op < definite) {
      long mask = 1L << op;
      definiteBits[op >>> 6] = on ? definiteBits[op >>> 6] | mask : definiteBits[op >>> 6] & ~mask;
      definiteHash ^= zobrist[op];
    } else {
      int u = op - definite;
      long mask = 1L << u;
      unknownBits[u >>> 6] = on ? unknownBits[u >>> 6] | mask : unknownBits[u >>> 6] & ~mask;
    }
  }

  /** Removes a call entry and its return entry from the list. */
  private static void lift(Entry call) {
    unlink(call);
    unlink(call.match);
  }

  /** Undoes {@link #lift} (must be called in reverse order of the lifts). */
  private static void unlift(Entry call) {
    relink(call.match);
    relink(call);
  }

  private static void unlink(Entry e) {
    e.prev.next = e.next;
    if (e.next != null) {
      e.next.prev = e.prev;
    }
  }

  private static void relink(Entry e) {
    e.prev.next = e;
    if (e.next != null) {
      e.next.prev = e;
    }
  }

  @Override
  public String toString() {
    return "LinearizationSearch[" + key + ", " + definite + " ok + " + (ops.length - definite) + " unknown ops, "
        + "deepest " + bestDepth + "]";
  }
}
