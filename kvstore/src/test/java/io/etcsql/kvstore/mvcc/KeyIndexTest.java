package io.etcsql.kvstore.mvcc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Ports the tables of etcd's {@code mvcc/key_index_test.go} (TestKeyIndexGet,
 * TestKeyIndexCompactAndKeep, TestKeyIndexCompactOnFurtherRev, TestKeyIndexTombstone). etcd's
 * keyIndex also tracks create revision and version per generation; etcsql keeps those in the
 * stored records, so only the revisions are compared here.
 */
class KeyIndexTest {

  private static Revision r(long main) {
    return new Revision(main, 0);
  }

  private static Revision r(long main, int sub) {
    return new Revision(main, sub);
  }

  /**
   * etcd's newTestKeyIndex: key "foo", generations
   * {2, 4, t6} {8, 10, t12} {14, 14.1, t16} {}.
   */
  private static KeyIndex testKeyIndex() {
    KeyIndex ki = new KeyIndex(ByteString.copyFromUtf8("foo"));
    ki.put(2, 0);
    ki.put(4, 0);
    ki.tombstone(6, 0);
    ki.put(8, 0);
    ki.put(10, 0);
    ki.tombstone(12, 0);
    ki.put(14, 0);
    ki.put(14, 1);
    ki.tombstone(16, 0);
    return ki;
  }

  private static final List<Revision> ALL =
      List.of(r(2), r(4), r(6), r(8), r(10), r(12), r(14), r(14, 1), r(16));

  // ---------------------------------------------------------------- get

  static Stream<Arguments> getAfterCompactAt4() {
    // rev -> the revision holding the value at rev (null = etcd's ErrRevisionNotFound)
    return Stream.of(
        Arguments.of(17, null),
        Arguments.of(16, null),
        Arguments.of(15, r(14, 1)),
        Arguments.of(14, r(14, 1)),
        Arguments.of(13, null),
        Arguments.of(12, null),
        Arguments.of(11, r(10)),
        Arguments.of(10, r(10)),
        Arguments.of(9, r(8)),
        Arguments.of(8, r(8)),
        Arguments.of(7, null),
        Arguments.of(6, null),
        Arguments.of(5, r(4)),
        Arguments.of(4, r(4)),
        Arguments.of(3, null),
        Arguments.of(2, null),
        Arguments.of(1, null),
        Arguments.of(0, null));
  }

  @ParameterizedTest(name = "get({0}) = {1}")
  @MethodSource("getAfterCompactAt4")
  void getMatchesEtcdAfterCompaction(long rev, Revision want) {
    KeyIndex ki = testKeyIndex();
    ki.compact(4, new ArrayList<>());
    assertEquals(want, ki.get(rev));
  }

  @Test
  void getWithoutCompactionSeesTheFirstGeneration() {
    KeyIndex ki = testKeyIndex();
    assertEquals(r(2), ki.get(2));
    assertEquals(r(2), ki.get(3));
    assertNull(ki.get(1));
    assertNull(ki.get(6), "deleted at 6");
    assertEquals(r(14, 1), ki.get(15));
    assertNull(ki.get(100), "deleted at 16 for good");
  }

  // ---------------------------------------------------------------- put / tombstone

  @Test
  void putAndTombstoneBuildGenerations() {
    KeyIndex ki = new KeyIndex(ByteString.copyFromUtf8("foo"));
    assertFalse(ki.isLive());
    ki.put(5, 0);
    assertTrue(ki.isLive());
    ki.put(7, 0);
    assertEquals(List.of(r(5), r(7)), ki.revisions());
    ki.tombstone(9, 0);
    assertFalse(ki.isLive());
    ki.put(11, 0);
    ki.put(11, 2);
    assertTrue(ki.isLive());
    assertEquals(List.of(r(5), r(7), r(9), r(11), r(11, 2)), ki.revisions());
    assertEquals(r(7), ki.get(8));
    assertNull(ki.get(10));
    assertEquals(r(11, 2), ki.get(11));
  }

  @Test
  void tombstoneOfADeletedKeyIsRejected() {
    // etcd: tombstone on an empty generation returns ErrRevisionNotFound
    KeyIndex fresh = new KeyIndex(ByteString.copyFromUtf8("foo"));
    assertThrows(IllegalStateException.class, () -> fresh.tombstone(3, 0));

    KeyIndex ki = testKeyIndex();
    assertThrows(IllegalStateException.class, () -> ki.tombstone(17, 0));
    assertEquals(ALL, ki.revisions(), "a rejected tombstone changes nothing");
  }

  // ---------------------------------------------------------------- compact

  /** etcd's TestKeyIndexCompactAndKeep table: compact revision -> revisions still indexed. */
  static final List<Object[]> COMPACT_TABLE = List.of(
      new Object[] {1L, ALL},
      new Object[] {2L, ALL},
      new Object[] {3L, ALL},
      new Object[] {4L, ALL.subList(1, 9)},
      new Object[] {5L, ALL.subList(1, 9)},
      new Object[] {6L, ALL.subList(3, 9)},
      new Object[] {7L, ALL.subList(3, 9)},
      new Object[] {8L, ALL.subList(3, 9)},
      new Object[] {9L, ALL.subList(3, 9)},
      new Object[] {10L, ALL.subList(4, 9)},
      new Object[] {11L, ALL.subList(4, 9)},
      new Object[] {12L, ALL.subList(6, 9)},
      new Object[] {13L, ALL.subList(6, 9)},
      new Object[] {14L, ALL.subList(7, 9)},
      new Object[] {15L, ALL.subList(7, 9)},
      new Object[] {16L, List.of()});

  @SuppressWarnings("unchecked")
  private static List<Revision> wantAfter(int row) {
    return (List<Revision>) COMPACT_TABLE.get(row)[1];
  }

  /** Compacts and checks what is kept, what is reported removed and the "key is gone" result. */
  private static void compactAndCheck(KeyIndex ki, int row, String mode) {
    long at = (Long) COMPACT_TABLE.get(row)[0];
    List<Revision> before = ki.revisions();
    List<Revision> removed = new ArrayList<>();
    boolean gone = ki.compact(at, removed);
    List<Revision> want = wantAfter(row);
    assertEquals(want, ki.revisions(), mode + " compact(" + at + ") keeps");
    List<Revision> wantRemoved = new ArrayList<>(before);
    wantRemoved.removeAll(want);
    assertEquals(wantRemoved, removed.stream().sorted().toList(), mode + " compact(" + at + ") removes");
    assertEquals(want.isEmpty(), gone, mode + " compact(" + at + ") reports the key gone");
  }

  @Test
  void continuousCompaction() {
    KeyIndex ki = testKeyIndex();
    for (int i = 0; i < COMPACT_TABLE.size(); i++) {
      compactAndCheck(ki, i, "continuous");
    }
  }

  @Test
  void jumpCompaction() {
    KeyIndex ki = testKeyIndex();
    for (int i = 0; i < COMPACT_TABLE.size(); i++) {
      if ((i % 2 == 0 && i < 6) || (i % 2 == 1 && i > 6)) {
        compactAndCheck(ki, i, "jump");
      }
    }
  }

  @Test
  void onceCompaction() {
    for (int i = 0; i < COMPACT_TABLE.size(); i++) {
      compactAndCheck(testKeyIndex(), i, "once");
    }
  }

  @Test
  void compactBeyondTheLastModificationKeepsTheLiveValue() {
    // etcd TestKeyIndexCompactOnFurtherRev
    KeyIndex ki = new KeyIndex(ByteString.copyFromUtf8("foo"));
    ki.put(1, 0);
    ki.put(2, 0);
    List<Revision> removed = new ArrayList<>();
    assertFalse(ki.compact(3, removed));
    assertEquals(List.of(r(2)), ki.revisions());
    assertEquals(List.of(r(1)), removed);
    assertEquals(r(2), ki.get(3));
    assertEquals(r(2), ki.get(100));
  }

  @Test
  void compactKeepsReadsAtTheCompactRevision() {
    KeyIndex ki = testKeyIndex();
    ki.compact(11, new ArrayList<>());
    assertEquals(r(10), ki.get(11), "a read exactly at or above the compaction point still works");
    assertEquals(r(14, 1), ki.get(15));
    ki.put(20, 0);
    assertEquals(r(20), ki.get(20), "a key re-created after compaction is live again");
  }
}
