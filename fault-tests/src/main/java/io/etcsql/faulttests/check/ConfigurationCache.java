package io.etcsql.faulttests.check;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Configurations the search has reached, for Lowe's memoization extended with dominance over unknown operations:
 * for each (definite set, state) it keeps the minimal unknown sets reached, and a configuration is new only if no
 * kept unknown set is a subset of its own. See {@link LinearizationSearch}.
 */
final class ConfigurationCache<S> {

  private static final class Key {
    long[] definite;
    long hash;
    Object state;

    Key(long[] definite, long hash, Object state) {
      this.definite = definite;
      this.hash = hash;
      this.state = state;
    }

    @Override
    public int hashCode() {
      return Long.hashCode(hash) * 31 + state.hashCode();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Key k && k.hash == hash && Arrays.equals(k.definite, definite)
          && Objects.equals(k.state, state);
    }
  }

  private final Map<Key, List<long[]>> reached = new HashMap<>();
  /** Reused for look-ups so that only insertions copy the bitset. */
  private final Key probe = new Key(null, 0, null);

  /**
   * Records the configuration unless it is dominated by one already recorded.
   *
   * @param definite     bitset of the linearized definite ops (not retained)
   * @param definiteHash a hash of {@code definite} maintained incrementally by the caller
   * @param unknown      bitset of the linearized unknown ops (not retained)
   * @param state        the model state
   * @return true if the configuration is new (not dominated), false if the search should not enter it
   */
  boolean addIfNotDominated(long[] definite, long definiteHash, long[] unknown, S state) {
    probe.definite = definite;
    probe.hash = definiteHash;
    probe.state = state;
    List<long[]> minimal = reached.get(probe);
    probe.definite = null;
    probe.state = null;
    if (minimal == null) {
      minimal = new ArrayList<>(1);
      reached.put(new Key(definite.clone(), definiteHash, state), minimal);
    } else {
      for (long[] kept : minimal) {
        if (isSubset(kept, unknown)) {
          return false;
        }
      }
      minimal.removeIf(kept -> isSubset(unknown, kept));
    }
    minimal.add(unknown.clone());
    return true;
  }

  int size() {
    return reached.size();
  }

  private static boolean isSubset(long[] a, long[] b) {
    for (int i = 0; i < a.length; i++) {
      if ((a[i] & ~b[i]) != 0) {
        return false;
      }
    }
    return true;
  }
}
