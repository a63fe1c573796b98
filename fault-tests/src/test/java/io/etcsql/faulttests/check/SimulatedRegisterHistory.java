package io.etcsql.faulttests.check;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Generates histories of a real linearizable etcd-like store (one global revision counter over all keys) under a
 * concurrent workload, and corrupts them.
 *
 * <p>Each process issues operations one after another with random durations. Every operation that takes effect
 * does so at a random instant inside its interval (its linearization point); an UNKNOWN one takes effect with
 * probability 1/2, possibly long after the client gave up; a FAIL one never does. Replaying the operations that
 * take effect in linearization-point order against a map gives the results, so the history is linearizable by
 * construction. Like a real workload, a CAS expects a revision that an OK operation observed (see
 * {@link RegisterModel}).
 */
final class SimulatedRegisterHistory {

  /** Shape of a generated history. */
  record Workload(int operations, int processes, int keys, double unknownRate, double failRate, long seed) {
  }

  private record Pending(Op.Kind kind, int process, long invoke, long complete, String key, String value,
                         Result.Status status, boolean takesEffect, long linearizedAt) {
  }

  private record Cell(String value, long modRevision) {
  }

  private SimulatedRegisterHistory() {
  }

  static List<Op> generate(Workload w) {
    SplittableRandom random = new SplittableRandom(w.seed());
    List<Pending> pending = new ArrayList<>(w.operations());
    long[] clock = new long[w.processes()];
    for (int n = 0; n < w.operations(); n++) {
      int p = random.nextInt(w.processes());
      long invoke = clock[p] + random.nextLong(0, 2_000);
      long duration = random.nextInt(20) == 0 ? random.nextLong(5_000, 50_000) : random.nextLong(100, 5_000);
      long complete = invoke + duration;
      clock[p] = complete;
      int k = random.nextInt(w.keys());
      Op.Kind kind = Op.Kind.values()[random.nextInt(3)];
      double roll = random.nextDouble();
      Result.Status status = roll < w.unknownRate() ? Result.Status.UNKNOWN
          : roll < w.unknownRate() + w.failRate() ? Result.Status.FAIL : Result.Status.OK;
      boolean takesEffect = status == Result.Status.OK || status == Result.Status.UNKNOWN && random.nextBoolean();
      long latest = status == Result.Status.UNKNOWN ? complete + random.nextLong(0, 100_000) : complete;
      long linearizedAt = random.nextLong(invoke, latest + 1);
      pending.add(new Pending(kind, p, invoke, complete, "key" + k, "p" + p + "-" + n, status, takesEffect,
          linearizedAt));
    }
    return replay(pending, random);
  }

  /** Applies the operations that take effect in linearization order and builds the observed history. */
  private static List<Op> replay(List<Pending> pending, SplittableRandom random) {
    List<Pending> order = new ArrayList<>(pending);
    order.sort(Comparator.comparingLong(Pending::linearizedAt));
    Map<String, Cell> store = new HashMap<>();
    Map<String, Long> lastSeenRevision = new HashMap<>(); // by "process/key" and by key: revisions OK ops saw
    long revision = 0;
    List<Op> history = new ArrayList<>(pending.size());
    for (Pending op : order) {
      Cell cell = store.getOrDefault(op.key(), new Cell(null, 0));
      String seenKey = op.process() + "/" + op.key();
      Result result;
      Op.Kind kind = op.kind();
      long expected = 0;
      if (kind == Op.Kind.CAS) {
        // A revision some client observed: the latest any OK op saw on this key, or this process's own.
        expected = random.nextInt(3) == 0 ? lastSeenRevision.getOrDefault(seenKey, 0L)
            : lastSeenRevision.getOrDefault(op.key(), 0L);
      }
      if (!op.takesEffect()) {
        result = op.status() == Result.Status.FAIL ? Result.fail() : Result.unknown();
      } else {
        switch (kind) {
          case READ -> result = Result.read(cell.value(), cell.modRevision());
          case WRITE -> {
            revision++;
            store.put(op.key(), new Cell(op.value(), revision));
            result = Result.written(revision);
          }
          default -> {
            if (cell.modRevision() == expected) {
              revision++;
              store.put(op.key(), new Cell(op.value(), revision));
              result = Result.casSucceeded(revision);
            } else {
              result = Result.casFailed();
            }
          }
        }
        if (op.status() == Result.Status.UNKNOWN) {
          result = Result.unknown();
        } else if (kind == Op.Kind.READ || result.succeeded()) { // a failed compare reveals no revision
          Cell after = store.getOrDefault(op.key(), new Cell(null, 0));
          lastSeenRevision.put(seenKey, after.modRevision());
          lastSeenRevision.put(op.key(), after.modRevision());
        }
      }
      history.add(new Op(op.process(), op.invoke(), op.complete(), op.key(), kind,
          kind == Op.Kind.READ ? null : op.value(), expected, result));
    }
    history.sort(Comparator.comparingLong(Op::invokeNanos));
    return history;
  }

  /**
   * Replaces the result of one OK read by a stale one: the value and revision of an OK write of the same key that
   * a definite write with a higher revision had overwritten before the read was invoked (or "absent" before any
   * write). No linearization can produce it, since revisions of a key only grow.
   *
   * @return the index of the corrupted read, or -1 if the history has no such read
   */
  static int corruptOneRead(List<Op> history, SplittableRandom random) {
    List<Integer> candidates = new ArrayList<>();
    List<Op> staleSources = new ArrayList<>();
    for (int i = 0; i < history.size(); i++) {
      Op read = history.get(i);
      if (read.kind() != Op.Kind.READ || !read.result().isOk()) {
        continue;
      }
      Op newest = null; // the definite write of this key with the highest revision completed before the read
      for (Op w : history) {
        if (w.key().equals(read.key()) && writesDefinitely(w) && w.completeNanos() < read.invokeNanos()
            && (newest == null || w.result().revision() > newest.result().revision())) {
          newest = w;
        }
      }
      if (newest == null) {
        continue;
      }
      Op source = null; // an older definite write, or null meaning "absent"
      for (Op w : history) {
        if (w.key().equals(read.key()) && writesDefinitely(w) && w.result().revision() < newest.result().revision()
            && random.nextInt(4) == 0) {
          source = w;
        }
      }
      candidates.add(i);
      staleSources.add(source);
    }
    if (candidates.isEmpty()) {
      return -1;
    }
    int pick = random.nextInt(candidates.size());
    int index = candidates.get(pick);
    Op source = staleSources.get(pick);
    Result stale = source == null ? Result.read(null, 0) : Result.read(source.value(), source.result().revision());
    Op read = history.get(index);
    history.set(index, new Op(read.process(), read.invokeNanos(), read.completeNanos(), read.key(), read.kind(),
        null, 0, stale));
    return index;
  }

  /** Replaces the result of one OK read by a value nobody wrote. */
  static int corruptOneReadWithNeverWrittenValue(List<Op> history, SplittableRandom random) {
    List<Integer> reads = new ArrayList<>();
    for (int i = 0; i < history.size(); i++) {
      if (history.get(i).kind() == Op.Kind.READ && history.get(i).result().isOk()) {
        reads.add(i);
      }
    }
    int index = reads.get(random.nextInt(reads.size()));
    Op read = history.get(index);
    history.set(index, new Op(read.process(), read.invokeNanos(), read.completeNanos(), read.key(), read.kind(),
        null, 0, Result.read("never-written", Math.max(1, read.result().revision()))));
    return index;
  }

  private static boolean writesDefinitely(Op op) {
    return op.result().isOk() && (op.kind() == Op.Kind.WRITE || op.kind() == Op.Kind.CAS && op.result().succeeded());
  }
}
