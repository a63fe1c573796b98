package io.etcsql.faulttests.check;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * An etcd key as a register holding a value and its mod_revision.
 *
 * <p>Revisions are global across keys in etcd, so within one key the model cannot predict the revision a write
 * creates; it takes the revision the client saw and checks only what one key can tell:
 * <ul>
 *   <li>a READ returns exactly the value and mod_revision of the state left by the last linearized write / CAS of
 *       that key (absent = null with revision 0);</li>
 *   <li>revisions of one key strictly increase in linearization order (a write's revision is above the current
 *       mod_revision);</li>
 *   <li>a CAS succeeds iff the current mod_revision equals the expected one (expected 0 = key absent).</li>
 * </ul>
 *
 * <p>A write whose result is UNKNOWN (or whose revision was not reported) leaves an <em>unpinned</em> state: its
 * revision is not known, only bounded below: {@code State(value, lowerBound, false)}. A later read that observes
 * it pins the revision.
 *
 * <p>Workload assumptions, which keep the search small and which the etcsql workload satisfies:
 * <ul>
 *   <li>values written are unique, so that a value identifies its write;</li>
 *   <li>a CAS expects a revision that some client observed (a read's mod_revision or a write's returned
 *       revision), never a guess. So a CAS compare cannot hold against an unpinned revision: had a client observed
 *       it, the observing operation would have pinned it. Without this, every chain "unknown write, then unknown
 *       CAS expecting its unseen revision" is a candidate and the search grows exponentially with the number of
 *       unknown operations.</li>
 * </ul>
 */
public final class RegisterModel implements Model<RegisterModel.State> {

  /**
   * Value and mod_revision of a key.
   *
   * @param value         the value, or null when the key is absent
   * @param modRevision   the mod_revision when {@code revisionKnown}; otherwise an exclusive lower bound of it
   * @param revisionKnown whether {@code modRevision} is exact
   */
  public record State(String value, long modRevision, boolean revisionKnown) {

    public static final State ABSENT = new State(null, 0, true);

    /** Whether a read may observe {@code revision} as the mod_revision. */
    boolean mayHaveRevision(long revision) {
      return revisionKnown ? modRevision == revision : revision > modRevision;
    }

    /** Whether a CAS expecting {@code expected} can hold: only against a pinned revision (class comment). */
    boolean compareHolds(long expected) {
      return revisionKnown && modRevision == expected;
    }

    @Override
    public String toString() {
      if (value == null) {
        return "absent";
      }
      if (UNOBSERVED.equals(value)) {
        return "<value of an unknown write no read returned>@rev>" + modRevision;
      }
      return '"' + value + "\"@" + (revisionKnown ? "rev=" + modRevision : "rev>" + modRevision);
    }
  }

  /**
   * Value given to UNKNOWN writes whose value no OK read returned: such writes can only matter by replacing the
   * state with an unpinned one, so they are interchangeable and the search tries one of them instead of each.
   */
  static final String UNOBSERVED = "\u0000etcsql-check: value of an unknown write no read returned";

  @Override
  public List<Op> prepare(List<Op> keyOps) {
    Set<String> read = new HashSet<>();
    for (Op op : keyOps) {
      if (op.kind() == Op.Kind.READ && op.result().isOk() && op.result().value() != null) {
        read.add(op.result().value());
      }
    }
    List<Op> prepared = new ArrayList<>(keyOps.size());
    for (Op op : keyOps) {
      boolean anonymous = op.kind() == Op.Kind.WRITE && op.result().isUnknown() && !read.contains(op.value());
      prepared.add(anonymous ? new Op(op.process(), op.invokeNanos(), op.completeNanos(), op.key(), op.kind(),
          UNOBSERVED, 0, op.result()) : op);
    }
    return prepared;
  }

  @Override
  public State initialState() {
    return State.ABSENT;
  }

  @Override
  public boolean isReadOnly(Op op) {
    return op.kind() == Op.Kind.READ;
  }

  @Override
  public State step(State state, Op op) {
    Result result = op.result();
    return switch (op.kind()) {
      case READ -> result.isUnknown() ? state : read(state, result.value(), result.revision());
      case WRITE -> result.isUnknown() ? unpinned(op.value(), state.modRevision())
          : put(state, op.value(), result.revision());
      case CAS -> cas(state, op, result);
    };
  }

  private static State read(State state, String value, long revision) {
    if (!Objects.equals(state.value(), value) || !state.mayHaveRevision(revision)) {
      return null;
    }
    return state.revisionKnown() ? state : new State(value, revision, true);
  }

  /** A put that created {@code revision} (or an unreported revision when it is <= 0). */
  private static State put(State state, String value, long revision) {
    if (revision <= 0) {
      return unpinned(value, state.modRevision());
    }
    return revision > state.modRevision() ? new State(value, revision, true) : null;
  }

  private static State cas(State state, Op op, Result result) {
    long expected = op.expectedModRevision();
    boolean compareHolds = state.compareHolds(expected);
    if (result.isUnknown()) {
      // If it took effect its compare held; "took effect but compare failed" is the same state as not taking
      // effect at all, which the checker explores by dropping the op.
      return compareHolds ? unpinned(op.value(), expected) : null;
    }
    if (!result.succeeded()) {
      return compareHolds ? null : state;
    }
    return compareHolds ? put(state, op.value(), result.revision()) : null;
  }

  private static State unpinned(String value, long revisionLowerBound) {
    return new State(value, revisionLowerBound, false);
  }
}
