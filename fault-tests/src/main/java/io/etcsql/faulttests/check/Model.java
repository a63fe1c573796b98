package io.etcsql.faulttests.check;

import java.util.List;

/**
 * The sequential specification of one key (one partition of the history): a deterministic state machine that
 * says whether an operation with its observed result is possible in a state, and what state follows.
 *
 * <p>Implementations must be pure and thread-safe (partitions are checked in parallel), and states must be
 * immutable values with {@code equals}/{@code hashCode}: the checker memoizes (linearized set, state) pairs and
 * prunes configurations it has already explored.
 *
 * @param <S> the state type
 */
public interface Model<S> {

  /** The state of a key before the first operation of the history. */
  S initialState();

  /**
   * Applies {@code op} as if it took effect atomically in {@code state}.
   *
   * <p>Called for operations whose result is OK, and for operations whose result is UNKNOWN to mean "suppose it
   * took effect" (the checker separately considers the alternative that it did not, so for an UNKNOWN op the model
   * only has to describe the case where it did). Never called for FAIL operations.
   *
   * @return the next state, or null if the result {@code op.result()} is impossible in {@code state}
   */
  S step(S state, Op op);

  /**
   * Whether {@code op} never changes the state (a read). Read-only operations with an UNKNOWN result constrain
   * nothing, so the checker drops them before searching.
   */
  default boolean isReadOnly(Op op) {
    return false;
  }

  /**
   * Optionally rewrites the operations of one key into ones that are equivalent for checking, to help the search;
   * the default keeps them. The result must have the same size and order (reports show the original operations).
   * UNKNOWN operations that become equal in kind, value and expected revision are treated as interchangeable: the
   * search only ever linearizes the earliest invoked one still available, which removes symmetric branches.
   */
  default List<Op> prepare(List<Op> keyOps) {
    return keyOps;
  }

  /** Text of a state for reports. */
  default String describe(S state) {
    return String.valueOf(state);
  }
}
