package io.etcsql.kvstore.mvcc;

/**
 * A point in the store's history: the main revision (one per committed write transaction) and
 * the sub revision (the position of a change inside that transaction).
 */
public record Revision(long main, int sub) implements Comparable<Revision> {
  @Override
  public int compareTo(Revision o) {
    int c = Long.compare(main, o.main);
    return c != 0 ? c : Integer.compare(sub, o.sub);
  }

  @Override
  public String toString() {
    return main + "_" + sub;
  }
}
